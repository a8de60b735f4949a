#!/usr/bin/env bash
# Starts the DPC explorer demo: JupyterLab (default) or Voila (--voila) on 127.0.0.1, showing
# notebooks/02_explorer.ipynb on the embedded simulated dataset, and prints the URL to open.
#
#   bash scripts/demo.sh [--voila] [--port N]
#
# On a fresh Debian machine (Python 3.10+, root or not) it first runs scripts/setup.sh, which
# creates .venv with the package and its extras (idempotent; the JS tooling and Chromium are only
# needed for the tests and are skipped here; DPC_SKIP_SETUP=1 skips it altogether). The server
# works on fresh copies of notebooks/ in $DPC_DEMO_DIR (default /tmp/dpc-widgets-demo), so the
# repository's notebooks stay free of outputs. It runs in the foreground (Ctrl-C stops it) and
# listens on 127.0.0.1 only; from another machine use an SSH tunnel, e.g.
#   ssh -L 8888:127.0.0.1:8888 user@host
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

MODE=lab
PORT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --voila) MODE=voila ;;
    --port) PORT=${2:?--port needs a number}; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (use --voila, --port N)" >&2; exit 2 ;;
  esac
  shift
done

if [ "${DPC_SKIP_SETUP:-0}" != "1" ] && [ -f scripts/setup.sh ]; then
  DPC_SKIP_JS=1 DPC_SKIP_BROWSER=1 bash scripts/setup.sh
fi
PY="$REPO/.venv/bin/python"
if [ ! -x "$PY" ]; then
  echo "demo.sh: $PY not found; create the virtual environment first (scripts/setup.sh)" >&2
  exit 1
fi

# A free port from 8888 up (or the one asked for).
if [ -z "$PORT" ]; then
  PORT=$("$PY" - <<'EOF'
import socket
for port in range(8888, 8988):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
EOF
)
fi

STATE=${DPC_DEMO_DIR:-${TMPDIR:-/tmp}/dpc-widgets-demo}
mkdir -p "$STATE/notebooks"
cp -f notebooks/*.ipynb "$STATE/notebooks/"
cd "$STATE"
NOTEBOOK=notebooks/02_explorer.ipynb
echo
echo "Serving fresh copies of the notebooks from $STATE/notebooks"

if [ "$MODE" = voila ]; then
  echo
  echo "Voila dashboard of $NOTEBOOK (the explorer appears once the notebook has run):"
  echo "    http://127.0.0.1:$PORT/"
  echo
  exec "$PY" -m voila "$NOTEBOOK" --no-browser --Voila.ip=127.0.0.1 --port="$PORT"
fi

# JupyterLab with its own settings: start the notebook's kernel without asking, no news or
# update checks (the machine may be offline). A random token protects the server.
mkdir -p "$STATE/settings/@jupyterlab/notebook-extension" \
  "$STATE/settings/@jupyterlab/apputils-extension" "$STATE/workspaces"
echo '{"autoStartDefaultKernel": true}' \
  > "$STATE/settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings"
echo '{"fetchNews": "false", "checkForUpdates": false}' \
  > "$STATE/settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
TOKEN=$("$PY" -c "import secrets; print(secrets.token_hex(16))")

echo
echo "JupyterLab with $NOTEBOOK; open this URL, then Run > Run All Cells:"
echo "    http://127.0.0.1:$PORT/lab/tree/$NOTEBOOK?token=$TOKEN"
echo "(the step-by-step tutorial is notebooks/01_dpc_tutorial.ipynb)"
echo
export JUPYTERLAB_SETTINGS_DIR="$STATE/settings" JUPYTERLAB_WORKSPACES_DIR="$STATE/workspaces"
exec "$PY" -m jupyter lab \
  --ServerApp.ip=127.0.0.1 --ServerApp.port="$PORT" --ServerApp.port_retries=0 \
  --ServerApp.open_browser=False --ServerApp.allow_root=True \
  --ServerApp.root_dir="$STATE" --IdentityProvider.token="$TOKEN" \
  --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
  --LabApp.default_url="/lab/tree/$NOTEBOOK"
