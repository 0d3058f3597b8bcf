#!/usr/bin/env bash
# The image's build steps, in one script: deploy/Dockerfile runs exactly this, CI runs it into a
# throw-away prefix, and a systemd host runs it once (see README, Deployment).
#
#   deploy/install.sh PREFIX [CACHE_DIR]
#
# PREFIX     the virtual environment to create (e.g. /opt/dutybot)
# CACHE_DIR  jieba's dictionary cache and matplotlib's font cache, built here now; the bot must
#            run with TMPDIR=CACHE_DIR and MPLCONFIGDIR=CACHE_DIR/matplotlib to use them
#            (default: PREFIX/cache)
#
# Steps: a CJK font (apt's fonts-noto-cjk when missing), the locked dependencies and the package, the
# caches, then a smoke test of the installed command (migrations packaged, schema without drift).
# Every step either succeeds or stops the script with a message: nothing is skipped silently.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${1:?usage: deploy/install.sh PREFIX [CACHE_DIR]}"
CACHE="${2:-$PREFIX/cache}"
PYTHON="${PYTHON:-python3}"

step() { printf '==> %s\n' "$*"; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

has_cjk_font() { command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh family)" ]; }

step "CJK font"
if has_cjk_font; then
  echo "present: $(fc-list :lang=zh family | head -n 1)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-noto-cjk fontconfig
  rm -rf /var/lib/apt/lists/*
  has_cjk_font || fail "fonts-noto-cjk was installed but fontconfig does not list a Chinese font"
else
  fail "no Chinese font found and cannot install fonts-noto-cjk (run as root on Debian/Ubuntu, or install it)"
fi

step "Python $("$PYTHON" -c 'import sys; print(sys.version.split()[0])') -> virtual environment $PREFIX"
"$PYTHON" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' \
  || fail "Python 3.11 to 3.13 is required"
"$PYTHON" -m venv "$PREFIX"
"$PREFIX/bin/python" -m pip install --quiet --upgrade pip
# The pinned, hash-checked dependencies from the lock (requirements.lock, for Python 3.11 on Linux;
# refresh it as deploy/README.md says), then the package alone: what runs is what CI tested.
LOCK="${LOCK:-$SRC/requirements.lock}"
[ -f "$LOCK" ] || fail "lock file $LOCK not found"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || echo "install.sh: note: the lock is resolved for Python 3.11; this is $("$PYTHON" -V)" >&2
"$PREFIX/bin/python" -m pip install --quiet --require-hashes -r "$LOCK"
"$PREFIX/bin/python" -m pip install --quiet --no-deps "$SRC"
"$PREFIX/bin/python" -m pip check

step "caches in $CACHE"
mkdir -p "$CACHE/matplotlib"
cd "$PREFIX"  # import the installed package, not the source tree
TMPDIR="$CACHE" MPLCONFIGDIR="$CACHE/matplotlib" "$PREFIX/bin/python" - <<'PY'
import datetime as dt
import os

import matplotlib.font_manager as fm

from bot.parsing import Parser, load_rules

result = Parser(load_rules(None)).parse("今天组织主题党日，参加18人", dt.datetime(2026, 11, 27, 10, 0))
assert result.records, "the packaged rules recognise a plain check-in"
cache = os.path.join(os.environ["TMPDIR"], "jieba.cache")
assert os.path.getsize(cache) > 1_000_000, f"jieba cache missing at {cache}"
chinese = [f.name for f in fm.fontManager.ttflist if "CJK" in f.name or "WenQuanYi" in f.name]
assert chinese, "matplotlib sees no Chinese font"
print(f"jieba cache {cache}; matplotlib font {chinese[0]}")
PY

step "smoke test"
SMOKE="$(mktemp -d)"
trap 'rm -rf "$SMOKE"' EXIT
export DATABASE_URL="sqlite+aiosqlite:///$SMOKE/smoke.sqlite3"
"$PREFIX/bin/dutybot" --help >/dev/null
"$PREFIX/bin/dutybot" db upgrade
"$PREFIX/bin/dutybot" db check
"$PREFIX/bin/dutybot" backup "$SMOKE/backup.sqlite3"
step "installed into $PREFIX"
