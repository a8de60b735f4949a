#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine (Python 3.10+): a virtual environment in .venv with
# the package (editable) and its test, browser and cluster extras; the JS test tooling (npm ci);
# Debian's Chromium for the browser tests. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test,browser,cluster,live,live-sim]"

if [ "${DPC_SKIP_JS:-0}" != "1" ] && [ -f js/package-lock.json ]; then
  (cd js && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "${DPC_SKIP_BROWSER:-0}" != "1" ] && [ -f scripts/install_browser.sh ]; then
  bash scripts/install_browser.sh
fi
