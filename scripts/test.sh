#!/usr/bin/env bash
# Sets up everything the tests need (npm packages, a Docker engine, locally built images) and runs
# the type check and every test: unit tests beside the code, API tests, and integration tests
# against the real Docker engine, real git and a real SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/setup-docker.sh
bash scripts/setup-test-tools.sh
bash scripts/build-test-images.sh
bash scripts/setup-browser.sh
echo "== type check"
npx tsc -p tsconfig.json --noEmit
npx tsc -p src/web/tsconfig.json --noEmit
echo "== web UI build"
node --import tsx scripts/build-web.ts
echo "== lint"
npx eslint --max-warnings 0 src test bench
echo "== format"
npx prettier --check --log-level warn src test bench eslint.config.js
echo "== build"
npm run build --silent
echo "== tests"
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
