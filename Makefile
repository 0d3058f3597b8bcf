# make run   — start the bot (a console chat when no TELEGRAM_BOT_TOKEN is configured)
# make test  — lint, then the whole test suite (PostgreSQL too when TEST_DATABASE_URL is set)
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format eval bench bench-all clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

eval: $(STAMP)
	$(BIN)/python ../shared/parsing/evaluate.py

# The quick benchmarks (about two minutes); bench-all adds the 1,000,000-record digest and, with
# TEST_DATABASE_URL set, the webhook load on PostgreSQL.
bench: $(STAMP)
	$(BIN)/python bench/parse_speed.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/fanout.py --speedup 10
	$(BIN)/python bench/memory.py

bench-all: bench
	$(BIN)/python bench/digest.py
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(BIN)/python bench/load.py; else echo "load: skipped (set TEST_DATABASE_URL)"; fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
