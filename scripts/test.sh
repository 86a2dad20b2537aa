#!/usr/bin/env bash
# Sets up everything the tests need (npm packages, a Docker engine, locally built images, a throwaway
# PostgreSQL) and runs the type check and every test: unit tests beside the code, API tests, and
# integration tests against the real Docker engine, real git and a real SQLite database; then the
# store, API and engine tests again on PostgreSQL (TEST_DATABASE=postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/setup-docker.sh
bash scripts/setup-test-tools.sh
bash scripts/build-test-images.sh
bash scripts/setup-browser.sh
eval "$(bash scripts/setup-postgres.sh)"
trap 'bash scripts/setup-postgres.sh stop "$TEST_POSTGRES_DIR"' EXIT
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
echo "== tests (SQLite)"
mapfile -t files < <(find src test -name '*.test.ts' | sort)
status=0
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" || status=$?
echo "== store, API and engine tests on PostgreSQL"
mapfile -t files < <(find test/store test/api test/engine test/scaling -name '*.test.ts' | sort)
TEST_DATABASE=postgres node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" ||
  status=$?
exit "$status"
