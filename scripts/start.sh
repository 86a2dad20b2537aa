#!/usr/bin/env bash
# Quick start: installs what Gantry needs (npm packages, a local Docker engine) and starts the server.
# Extra arguments go to "gantry serve" (see: node bin/gantry.js serve --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/setup-docker.sh
node --import tsx scripts/build-web.ts
exec node bin/gantry.js serve "$@"
