#!/usr/bin/env bash
# `npm run bench`: benchmarks that print figures (not timed tests). `npm run bench -- test/bench/flip.bench.ts` runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
source scripts/lib.sh
npm run --silent build
[ $# -gt 0 ] || set -- test/bench/*.bench.ts
for b in "$@"; do
  echo "== $b"
  node --import tsx "$b"
done
