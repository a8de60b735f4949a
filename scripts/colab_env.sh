#!/usr/bin/env bash
# The Colab-like test environment, .venv-colab: Python 3.13 with Colab's own versions of what it
# preinstalls (.ci/colab-requirements.txt under .ci/colab-constraints.txt, Colab's whole pip
# freeze and its source). Then, as a Colab user would, `pip install <the package's wheel>` with
# no constraints, failing with a list if that changed the version of any package present before
# (scripts/check_preinstalled.py; also against Colab's pins for what it added). Then the test
# tools, under the constraints (no pin may move).
#
# Idempotent: the environment is rebuilt from scratch only when this script, the pin files or
# pyproject.toml (the dependencies) changed since it was built (.venv-colab/.stamp); otherwise
# only the package itself is reinstalled from a fresh wheel, and nothing else may change.
# Python 3.13: $PYTHON313, else python3.13 on PATH, else /root/.pyenv/versions/3.13*/bin/python3.13.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-colab
CONSTRAINTS=.ci/colab-constraints.txt
REQUIREMENTS=.ci/colab-requirements.txt
# test tools Colab lacks (pytest is preinstalled); installed under the constraints
TEST_TOOLS=(hypothesis playwright)

find_python313() {
  local candidate
  for candidate in "${PYTHON313:-}" "$(command -v python3.13 || true)" \
    /root/.pyenv/versions/3.13*/bin/python3.13; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "colab_env.sh: no Python 3.13 found (Colab's version). Set PYTHON313=/path/to/python3.13," \
    "put python3.13 on PATH or install it (e.g. pyenv install 3.13)." >&2
  return 1
}

quiet_pip() {  # pip's output without the harmless notes about absent local index folders
  "$VENV/bin/python" -m pip "$@" 2>&1 | { grep -v "^WARNING: Location 'file://" || true; }
}

python313=$(find_python313)
stamp=$(cat "$0" "$CONSTRAINTS" "$REQUIREMENTS" pyproject.toml | sha256sum | cut -d' ' -f1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building the package's wheel"
"$python313" -m pip wheel --quiet --no-deps --wheel-dir "$work/wheel" . 2>&1 |
  { grep -v "^WARNING: Location 'file://" || true; }
wheel=$(ls "$work"/wheel/dpc_widgets-*.whl)

if [ -f "$VENV/.stamp" ] && [ "$(cat "$VENV/.stamp")" = "$stamp" ]; then
  echo "== $VENV is up to date; reinstalling only the package"
  "$VENV/bin/python" -m pip freeze --all >"$work/before.txt"
  quiet_pip install --quiet --no-deps --force-reinstall "$wheel"
  "$VENV/bin/python" -m pip freeze --all >"$work/after.txt"
  grep -iv '^dpc[-_]widgets' "$work/before.txt" >"$work/before-others.txt" || true
  grep -iv '^dpc[-_]widgets' "$work/after.txt" >"$work/after-others.txt" || true
  "$VENV/bin/python" scripts/check_preinstalled.py "$work/before-others.txt" "$work/after-others.txt"
  exit 0
fi

echo "== $VENV from scratch with $("$python313" --version) and Colab's pins"
rm -rf "$VENV"
"$python313" -m venv "$VENV"
quiet_pip install --quiet -r "$REQUIREMENTS" -c "$CONSTRAINTS"
"$VENV/bin/python" -m pip freeze --all >"$VENV/colab-freeze.txt"

echo "== pip install <wheel>, as in Colab (no constraints)"
quiet_pip install --quiet "$wheel"
"$VENV/bin/python" -m pip freeze --all >"$VENV/installed-freeze.txt"
"$VENV/bin/python" scripts/check_preinstalled.py --pins "$CONSTRAINTS" \
  "$VENV/colab-freeze.txt" "$VENV/installed-freeze.txt"

echo "== test tools under Colab's pins: ${TEST_TOOLS[*]}"
quiet_pip install --quiet "${TEST_TOOLS[@]}" -c "$CONSTRAINTS"
"$VENV/bin/python" -m pip freeze --all >"$work/tools-freeze.txt"
"$VENV/bin/python" scripts/check_preinstalled.py "$VENV/installed-freeze.txt" "$work/tools-freeze.txt"
"$VENV/bin/python" -c 'import ipywidgets; assert ipywidgets.__version__ == "7.7.1", ipywidgets.__version__'
echo "$stamp" >"$VENV/.stamp"
