# Shared by the project's scripts: the toolchain on PATH, the local state backend, the passphrase rule.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
eval "$(bash "$ROOT/scripts/setup.sh" --env)"
export NOTESHUB_STATE_DIR=${NOTESHUB_STATE_DIR:-$HOME/.noteshub-deploy/state}
mkdir -p "$NOTESHUB_STATE_DIR"

# Staging's secrets use a published default passphrase (its secrets are throwaway); any other stack must be given
# one (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE), or pulumi asks for it at the terminal.
STAGING_PASSPHRASE=noteshub-staging
use_stack_passphrase() {
  local stack=$1
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] && [ "$stack" = staging ]; then
    export PULUMI_CONFIG_PASSPHRASE=$STAGING_PASSPHRASE
  fi
}

# The stack a pulumi command line targets: its --stack/-s argument, else the selected one.
stack_of_args() {
  local prev=
  for a in "$@"; do
    case "$prev" in --stack|-s) echo "$a"; return ;; esac
    case "$a" in --stack=*) echo "${a#--stack=}"; return ;; esac
    prev=$a
  done
  (cd "$ROOT" && pulumi stack --show-name 2>/dev/null) || true
}

# The project's policy pack (policy/) runs with every preview and up the project's commands start, unless the
# command line names its own --policy-pack. Prints the extra arguments for a pulumi command run in $ROOT.
policy_args() {
  local cmd= prev=
  for a in "$@"; do
    case "$a" in --policy-pack|--policy-pack=*) return ;; esac
    case "$prev" in --stack|-s|--cwd|-C) prev=; continue ;; esac
    [ -z "$cmd" ] && case "$a" in -*) ;; *) cmd=$a ;; esac
    prev=$a
  done
  case "$cmd" in preview|up|update) echo "--policy-pack policy" ;; esac
}
