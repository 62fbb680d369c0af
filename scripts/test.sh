#!/usr/bin/env bash
# README command 2: engines (built on a cold machine), dependencies, then every test against the real servers.
#   npm test                  all suites
#   npm test -- test/unit     only some (paths or globs under test/)
set -euo pipefail
cd "$(dirname "$0")/.."
docker_was_running=0
docker info >/dev/null 2>&1 && docker_was_running=1
bash scripts/setup.sh --tests
source scripts/lib.sh
# Leave the machine as we found it: a Docker engine this run started is stopped at the end.
cleanup() {
  if [ "$docker_was_running" = 0 ] && [ -f "$HOME/.cache/noteshub-deploy/dockerd.pid" ]; then
    echo "[test] stopping the dockerd this run started"
    kill "$(cat "$HOME/.cache/noteshub-deploy/dockerd.pid")" 2>/dev/null || true
    rm -f "$HOME/.cache/noteshub-deploy/dockerd.pid"
  fi
}
trap cleanup EXIT
npm run --silent build
if [ $# -eq 0 ]; then
  set -- test/unit/*.test.ts test/policy/*.test.ts test/components/*.test.ts test/providers/*.test.ts test/e2e/*.test.ts
else
  # Directories stand for the test files in them.
  files=(); for a in "$@"; do if [ -d "$a" ]; then files+=("$a"/*.test.ts); else files+=("$a"); fi; done; set -- "${files[@]}"
fi
# One file at a time: the provider and end-to-end suites share one Docker engine.
node --import tsx --test --test-concurrency=1 "$@"
