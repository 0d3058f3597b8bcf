# make run   — start the bot (the console chat, `dutybot console`, when no TELEGRAM_BOT_TOKEN is configured)
# make demo  — the console chat on a demo office with eight weeks of history
# make test  — lint, then the whole test suite (PostgreSQL too when TEST_DATABASE_URL is set)
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run console demo test lint format eval bench bench-all clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# With a token (in the environment or .env) the bot connects to Telegram; without one it opens the
# local console chat on its own SQLite database (data/console.sqlite3).
run: $(STAMP)
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ] || grep -qsE '^TELEGRAM_BOT_TOKEN=.+' .env; then \
		$(BIN)/python -m bot run; else $(BIN)/python -m bot console; fi

console: $(STAMP)
	$(BIN)/python -m bot console

# The console on a demo office (a 党委, two 总支, six branches, forty people, eight weeks of
# history), rebuilt from nothing each time in data/demo.sqlite3.
demo: $(STAMP)
	$(BIN)/python -m bot demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every shared labelled set, each against the targets (exact >= 95 %, record F1 >= 97 %, no false records).
eval: $(STAMP)
	PY=$(BIN)/python .ci/eval

# The quick benchmarks (about two minutes, the import bench on PostgreSQL too when TEST_DATABASE_URL is set); bench-all adds the 1,000,000-record digest and, with
# TEST_DATABASE_URL set, the webhook load on PostgreSQL.
bench: $(STAMP)
	$(BIN)/python bench/parse_speed.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/fanout.py --speedup 10
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/import.py

bench-all: bench
	$(BIN)/python bench/digest.py
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(BIN)/python bench/load.py; else echo "load: skipped (set TEST_DATABASE_URL)"; fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
