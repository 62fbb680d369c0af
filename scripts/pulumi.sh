#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the project's pulumi (built by setup.sh unless one is on PATH), its local state
# backend, the staging passphrase default, and the policy pack on every preview and up (policy/).
# Use it exactly like pulumi: npm run pulumi -- stack history
set -euo pipefail
source "$(dirname "$0")/lib.sh"
use_stack_passphrase "$(stack_of_args "$@")"
cd "$ROOT"
# shellcheck disable=SC2046 # policy_args prints plain words
exec pulumi "$@" $(policy_args "$@")
