#!/usr/bin/env bash
# Runs every test: lint, the Python suite (core, io, widget models, notebooks, real-browser
# end-to-end tests in headless Chromium), the JS unit tests, and the benchmark smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== ruff"
.venv/bin/ruff check dpc_widgets tests
.venv/bin/ruff format --check dpc_widgets tests

if [ -f js/package.json ]; then
  echo "== js unit tests"
  (cd js && npm test --silent)
fi

echo "== benchmark smoke run (S only; timings are not asserted)"
.venv/bin/python -m dpc_widgets.bench --smoke --out "${TMPDIR:-/tmp}/dpc-bench-smoke.md"

echo "== pytest"
.venv/bin/python -m pytest -q -ra "$@"
