#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the project's pulumi (built by setup.sh unless one is on PATH), its local state
# backend and the staging passphrase default. Use it exactly like pulumi: npm run pulumi -- stack history
set -euo pipefail
source "$(dirname "$0")/lib.sh"
use_stack_passphrase "$(stack_of_args "$@")"
cd "$ROOT"
exec pulumi "$@"
