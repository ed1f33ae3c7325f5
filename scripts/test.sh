#!/usr/bin/env bash
# Install everything the tests need into .venv (and Debian's Chromium for the browser tests), then run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; })
  else
    echo "note: /usr/bin/chromium is missing; install Debian's chromium (sudo apt-get install chromium) for the browser tests" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"
