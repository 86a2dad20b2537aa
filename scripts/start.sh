#!/usr/bin/env bash
# Quick start: installs what Gantry needs (npm packages, a local Docker engine), compiles the server
# (npm run build: TypeScript to dist/) and starts it from the compiled JavaScript.
# Extra arguments go to "gantry serve" (see: node bin/gantry.js serve --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/setup-docker.sh
node --import tsx scripts/build-web.ts
npm run build --silent
exec node --max-semi-space-size=4 bin/gantry.js serve "$@"
