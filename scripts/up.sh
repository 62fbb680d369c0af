#!/usr/bin/env bash
# README command 1: engines (first run builds them), dependencies, then the stack (default: staging) comes up.
#   npm run up                 staging on the local Docker engine
#   npm run up -- production   another stack (it must have its passphrase and config)
set -euo pipefail
STACK=${1:-staging}
bash "$(dirname "$0")/setup.sh"
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
npm run --silent build
use_stack_passphrase "$STACK"
if ! pulumi stack select "$STACK" 2>/dev/null; then
  echo "[up] creating stack $STACK in $PULUMI_BACKEND_URL"
  pulumi stack init "$STACK" --secrets-provider passphrase
fi
# shellcheck disable=SC2046
pulumi up --yes --stack "$STACK" "${@:2}" $(policy_args up "${@:2}")
echo
echo "[up] $STACK is up: $(pulumi stack output url --stack "$STACK")  (live colour: $(pulumi stack output liveColor --stack "$STACK"))"
