#!/usr/bin/env bash
# Sets up what the benchmarks need (npm packages, a Docker engine, the local test images), compiles the
# server (the benchmarks measure dist/, as `scripts/start.sh` runs it) and runs benchmarks in bench/ one
# after another. Each starts its own Gantry on a temporary data directory, prints the load average at the
# start of every run, tables with a baseline measured in the same run, and ends with one JSON line;
# nothing is asserted.
#
# Usage: scripts/bench.sh [--runs N] [name...]
#   name: api, accept, pipeline, logs, masking, triggers, metrics-overhead, or issue14 (= accept pipeline
#   logs: the table of issue 14, about 5 minutes with --runs 3); default: api accept pipeline logs masking.
#   --runs N is passed to the benchmarks that repeat runs (accept, pipeline, logs; default 3 each).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=()
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs)
      [ $# -ge 2 ] || { echo "bench: --runs needs a number" >&2; exit 2; }
      runs=(--runs "$2")
      shift 2
      ;;
    --runs=*)
      runs=("$1")
      shift
      ;;
    issue14)
      names+=(accept pipeline logs)
      shift
      ;;
    *)
      names+=("$1")
      shift
      ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(api accept pipeline logs masking)
for name in "${names[@]}"; do
  [ -f "bench/$name.ts" ] || {
    echo "bench: no benchmark bench/$name.ts" >&2
    exit 2
  }
done

bash scripts/install-deps.sh
bash scripts/setup-docker.sh
bash scripts/build-test-images.sh
npm run build --silent

for name in "${names[@]}"; do
  echo "== bench/$name.ts ($(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  case "$name" in
    accept | pipeline | logs) node --import tsx "bench/$name.ts" ${runs[@]+"${runs[@]}"} ;;
    *) node --import tsx "bench/$name.ts" ;;
  esac
done
