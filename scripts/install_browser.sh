#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the real-browser tests (tests/browser/), if it is
# missing. Idempotent: does nothing when /usr/bin/chromium already runs. Playwright's own browser
# download is not used (it needs hosts other than the package registries); the tests launch
# /usr/bin/chromium through the Python playwright package instead.
set -euo pipefail

CHROMIUM=${DPC_CHROMIUM:-/usr/bin/chromium}

if [ -x "$CHROMIUM" ] && "$CHROMIUM" --version >/dev/null 2>&1; then
  echo "chromium present: $("$CHROMIUM" --version 2>/dev/null | tail -n 1)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser.sh: no apt-get; install Chromium yourself and set DPC_CHROMIUM" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core \
  >/dev/null
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null | tail -n 1)"
