#!/usr/bin/env bash
# Sets up what the benchmarks need (npm packages, a Docker engine, the local test images) and runs every
# benchmark in bench/ one after another. Each starts its own Gantry on a temporary data directory, prints
# tables with a baseline measured in the same run, and ends with one JSON line; nothing is asserted.
#
# Usage: scripts/bench.sh [name...]   (api, accept, pipeline, logs, masking; default: all, in that order)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/setup-docker.sh
bash scripts/build-test-images.sh

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(api accept pipeline logs masking)
for name in "${names[@]}"; do
  [ -f "bench/$name.ts" ] || {
    echo "bench: no benchmark bench/$name.ts" >&2
    exit 2
  }
done
for name in "${names[@]}"; do
  echo "== bench/$name.ts"
  node --import tsx "bench/$name.ts"
done
