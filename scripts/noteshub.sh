#!/usr/bin/env bash
# `npm run noteshub -- <command>`: the operator's commands (cli/main.ts) with the project's pulumi, local state
# backend and the staging passphrase default. The stack: --stack <name>, else the selected one, else staging.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
stack=$(stack_of_args "$@")
export NOTESHUB_STACK=${stack:-staging}
use_stack_passphrase "$NOTESHUB_STACK"
cd "$ROOT"
exec node --import tsx cli/main.ts "$@"
