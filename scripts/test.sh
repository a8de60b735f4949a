#!/usr/bin/env bash
# Runs every test: lint, the Python suite (core, io, widget models, notebooks, real-browser
# end-to-end tests in headless Chromium), the JS unit tests, and the benchmark smoke run; then,
# in the Colab-like environment (scripts/colab_env.sh: Python 3.13, Colab's pins, ipywidgets
# 7.7.1), the tests marked colab_env (list: tests/conftest.py). Arguments go to the first pytest
# run; DPC_SKIP_COLAB=1 skips the second environment.
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

if [ "${DPC_SKIP_COLAB:-0}" != "1" ]; then
  echo "== Colab-like environment: Python 3.13, Colab's pins, ipywidgets 7.7.1 (-m colab_env)"
  start=$SECONDS
  bash scripts/colab_env.sh
  PYTHONPATH="$PWD" .venv-colab/bin/python -m pytest -q -ra -m colab_env
  echo "Colab-like environment: $((SECONDS - start)) s (set-up and tests)"
fi
