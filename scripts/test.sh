#!/usr/bin/env bash
# Sets up everything the tests need (npm packages, a Docker engine, locally built images, a throwaway
# PostgreSQL), builds, type checks, lints, checks formatting and runs every test: unit tests beside the
# code, API tests, and integration tests against the real Docker engine, real git and a real SQLite
# database; then the store, API, engine and scaling tests again on PostgreSQL (TEST_DATABASE=postgres).
#
# What runs side by side, and why it may:
#   - set-up: `npm ci` beside the system set-up (they share nothing). The system scripts run one after
#     another, since each may run apt-get and dpkg takes one lock.
#   - the web UI bundle and the server build (dist/) beside each other. Both must be complete before any
#     test starts: tests start `bin/gantry.js`, which runs dist/ when it is newer than src/, so a half
#     written dist/ must never be visible to them.
#   - the checks (type checks, lint, format) in one lane, one after another, beside the tests.
#   - the test files, each in its own process, several at once, both passes mixed (scripts/run-tests.ts:
#     3 slots, a heavy file takes 1.5). Nothing here must run alone: every test file starts its servers on
#     random ports with their own temporary data directory and database, Docker containers carry each
#     server's own instance label (a server's start-up sweep removes only its own), images a test builds
#     or tags have names of their own (the shared gantry-test/busybox images are only read), and the
#     test registries listen on free ports. The race tests (checkout-race, symlink-race) keep their full
#     windows; with other files beside them, the swapper and the racing checkouts share the CPU alike.
#     More than about three or four at once on a 2-core machine only makes every file slower.
# The summary at the end names every failing check and test (file, line, test); the exit status is
# non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { echo "== $* (at $((SECONDS - started)) s)"; }
logs=$(mktemp -d "${TMPDIR:-/tmp}/gantry-test-logs-XXXXXX")
TEST_POSTGRES_DIR=
cleanup() {
  [ -z "$TEST_POSTGRES_DIR" ] || bash scripts/setup-postgres.sh stop "$TEST_POSTGRES_DIR"
  rm -rf "$logs"
}
trap cleanup EXIT

step "set-up"
bash scripts/install-deps.sh >"$logs/deps.log" 2>&1 &
deps=$!
bash scripts/setup-docker.sh
bash scripts/setup-test-tools.sh
bash scripts/build-test-images.sh
bash scripts/setup-browser.sh
eval "$(bash scripts/setup-postgres.sh)"
deps_status=0
wait "$deps" || deps_status=$?
cat "$logs/deps.log"
[ "$deps_status" -eq 0 ] || { echo "== FAILED: npm packages (scripts/install-deps.sh)"; exit 1; }

step "build: web UI and server"
node --import tsx scripts/build-web.ts >"$logs/web.log" 2>&1 &
web=$!
build_status=0
npm run build --silent || build_status=$?
wait "$web" || build_status=$?
cat "$logs/web.log"
[ "$build_status" -eq 0 ] || { echo "== FAILED: build (npm run build, scripts/build-web.ts)"; exit 1; }

step "checks (type check, lint, format) beside the tests; their output follows the tests'"
(
  set +e
  failed=()
  check() {
    local name=$1
    shift
    echo "== $name: $*"
    "$@" || failed+=("$name")
  }
  check "type check" npx tsc -p tsconfig.json --noEmit
  check "type check (web UI)" npx tsc -p src/web/tsconfig.json --noEmit
  check "lint" npx eslint --max-warnings 0 src test bench
  check "format" npx prettier --check --log-level warn src test bench eslint.config.js
  printf '%s\n' "${failed[@]}" >"$logs/checks.failed"
) >"$logs/checks.log" 2>&1 &
checks=$!

step "tests: every file on SQLite; store, API, engine and scaling again on PostgreSQL"
mapfile -t sqlite_files < <(find src test -name '*.test.ts' | sort)
mapfile -t postgres_files < <(find test/store test/api test/engine test/scaling -name '*.test.ts' | sort)
tests_status=0
node --import tsx scripts/run-tests.ts --slots "${TEST_SLOTS:-3}" ${TEST_TIMES_FILE:+--times "$TEST_TIMES_FILE"} \
  --pass sqlite "${sqlite_files[@]}" --pass postgres "${postgres_files[@]}" || tests_status=$?

wait "$checks" || true
echo
cat "$logs/checks.log"
failed_checks=("checks (they did not finish)")
[ -f "$logs/checks.failed" ] && mapfile -t failed_checks < <(grep -v '^$' "$logs/checks.failed" || true)
echo
step "done"
status=0
for name in "${failed_checks[@]}"; do
  echo "== FAILED: $name (its output is above)"
  status=1
done
if [ "$tests_status" -ne 0 ]; then
  echo "== FAILED: tests (see FAILED TESTS in the test summary above)"
  status=1
fi
[ "$status" -eq 0 ] && echo "== all checks and tests passed"
exit "$status"
