#!/usr/bin/env bash
# Installs Debian's Chromium for the web UI's browser tests (test/browser), driven by playwright-core
# with executablePath /usr/bin/chromium. Nothing downloads a browser from anywhere else.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
[ "$(id -u)" -eq 0 ] || { echo "setup-browser: need root to install chromium" >&2; exit 1; }
echo "setup-browser: installing chromium (apt-get)..." >&2
bash "$(dirname "$0")/apt-install-quiet.sh" chromium fonts-dejavu-core
