#!/usr/bin/env bash
# Engines for noteshub-deploy, from the package registries only (shared/spec/toolchain.md).
# Idempotent: every step checks first and caches its result under $NOTESHUB_CACHE keyed by version,
# so a warm machine passes through in seconds. Prints what it does; long builds show progress.
#
#   scripts/setup.sh            everything (docker engine, base image, pulumi, ferretdb, npm ci, build)
#   scripts/setup.sh --env      print the environment lines (PATH, backend) the other scripts source
#   scripts/setup.sh --tests    also the load generators (wrk, hey), test-host tools (sshd), MinIO and promtool the tests use
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${NOTESHUB_CACHE:-$HOME/.cache/noteshub-deploy}
PULUMI_VERSION=v3.167.0
LANGHOST_SDK_VERSION=v3.68.0   # last sdk module that still contains the nodejs language host
FERRETDB_VERSION=v1.24.2
PULUMI_BIN=$CACHE/pulumi-$PULUMI_VERSION/bin
FERRETDB_BIN=$CACHE/ferretdb-$FERRETDB_VERSION/ferretdb
HEY_VERSION=v0.1.5
HEY_BIN=$CACHE/hey-$HEY_VERSION/hey
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c   # the module proxy's pseudo-version of a 2026-02 MinIO
MINIO_BIN=$CACHE/minio-$MINIO_VERSION/minio
PROMTOOL_VERSION=2.42   # Debian bookworm's prometheus package (2.42.0+ds-5+deb12u1): only its promtool is used
PROMTOOL_BIN=$CACHE/promtool-$PROMTOOL_VERSION/promtool

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

# Runs a long command with its output in a log file, printing a dot every 5 s so the user sees it is alive.
with_progress() {
  local label=$1 log=$2; shift 2
  local start; start=$(date +%s)
  say "$label (log: $log)"
  ( "$@" ) >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do sleep 5; printf '.' >&2; done
  printf '\n' >&2
  if ! wait "$pid"; then tail -n 30 "$log" >&2; die "$label failed after $(elapsed "$start"); full log: $log"; fi
  say "$label done in $(elapsed "$start")"
}

apt_updated=
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${missing[*]} (or install them yourself)"
  if [ -z "$apt_updated" ]; then with_progress "apt-get update" "$CACHE/logs/apt-update.log" apt-get update; apt_updated=1; fi
  with_progress "apt-get install ${missing[*]}" "$CACHE/logs/apt-install.log" \
    env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# The Debian mirror this machine already uses (never a host name written into the repo).
apt_mirror() {
  local m
  m=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$m" ] || m=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$m" ] || die "no Debian mirror found in /etc/apt/sources.list(.d); cannot debootstrap the base image"
  echo "$m"
}

ensure_docker() {
  if docker info >/dev/null 2>&1; then say "docker engine: running ($(docker version -f '{{.Server.Version}}'))"; return; fi
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  if ! docker info >/dev/null 2>&1; then
    say "starting dockerd in the background (log: $CACHE/logs/dockerd.log)"
    nohup dockerd >"$CACHE/logs/dockerd.log" 2>&1 &
    echo $! >"$CACHE/dockerd.pid"
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { tail -n 20 "$CACHE/logs/dockerd.log" >&2; die "dockerd did not become ready in 30 s"; }
  fi
  say "docker engine: running ($(docker version -f '{{.Server.Version}}'))"
}

ensure_base_image() {
  if docker image inspect debian:bookworm-slim >/dev/null 2>&1; then say "base image debian:bookworm-slim: present"; return; fi
  apt_install debootstrap
  local dir=$CACHE/rootfs-bookworm mirror; mirror=$(apt_mirror)
  rm -rf "$dir"
  with_progress "debootstrap bookworm (minbase) from the machine's apt mirror" "$CACHE/logs/debootstrap.log" \
    debootstrap --variant=minbase bookworm "$dir" "$mirror"
  say "docker import -> debian:bookworm-slim"
  tar -C "$dir" -c . | docker import - debian:bookworm-slim >/dev/null
  rm -rf "$dir"
}

# Copies a Go module out of the module cache into a writable directory.
go_module_dir() { GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p'; }

ensure_pulumi() {
  if [ -z "${NOTESHUB_BUILD_PULUMI:-}" ] && p=$(PATH=${PATH//$PULUMI_BIN:/} command -v pulumi 2>/dev/null); then
    say "pulumi: using $p ($("$p" version))"; return
  fi
  if [ -x "$PULUMI_BIN/pulumi" ] && [ -x "$PULUMI_BIN/pulumi-language-nodejs" ] && [ -x "$PULUMI_BIN/pulumi-analyzer-policy" ]; then
    say "pulumi: cached $PULUMI_VERSION in $PULUMI_BIN"; return
  fi
  command -v go >/dev/null 2>&1 || die "no pulumi on PATH and no Go toolchain to build one"
  local work=$CACHE/pulumi-$PULUMI_VERSION/src
  rm -rf "$work"; mkdir -p "$work" "$PULUMI_BIN"
  with_progress "go mod download pulumi pkg+sdk $PULUMI_VERSION, sdk $LANGHOST_SDK_VERSION" "$CACHE/logs/pulumi-download.log" bash -c "
    set -e
    cp -r \"\$(go mod download -json github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION | sed -n 's/^\s*\"Dir\": \"\(.*\)\",\$/\1/p')\" '$work/pkg'
    cp -r \"\$(go mod download -json github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION | sed -n 's/^\s*\"Dir\": \"\(.*\)\",\$/\1/p')\" '$work/sdk'
    cp -r \"\$(go mod download -json github.com/pulumi/pulumi/sdk/v3@$LANGHOST_SDK_VERSION | sed -n 's/^\s*\"Dir\": \"\(.*\)\",\$/\1/p')\" '$work/sdk-langhost'
    chmod -R u+w '$work'"
  with_progress "go build pulumi CLI $PULUMI_VERSION (about 4 min on 2 cores)" "$CACHE/logs/pulumi-build.log" bash -c "
    cd '$work/pkg' && go build -ldflags '-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION' -o '$PULUMI_BIN/pulumi.tmp' ./cmd/pulumi"
  with_progress "go build pulumi-language-nodejs (sdk $LANGHOST_SDK_VERSION)" "$CACHE/logs/langhost-build.log" bash -c "
    cd '$work/sdk-langhost' && go build -o '$PULUMI_BIN/pulumi-language-nodejs' ./nodejs/cmd/pulumi-language-nodejs"
  cp "$work/sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$work/sdk/nodejs/dist/pulumi-analyzer-policy" "$PULUMI_BIN/"
  chmod +x "$PULUMI_BIN"/pulumi-resource-pulumi-nodejs "$PULUMI_BIN"/pulumi-analyzer-policy
  mv "$PULUMI_BIN/pulumi.tmp" "$PULUMI_BIN/pulumi"   # last: its presence marks the cache complete
  rm -rf "$work"
  say "pulumi: built $PULUMI_VERSION into $PULUMI_BIN"
}

ensure_ferretdb() {
  if [ ! -x "$FERRETDB_BIN" ]; then
    command -v go >/dev/null 2>&1 || die "no Go toolchain to build FerretDB"
    local work=$CACHE/ferretdb-$FERRETDB_VERSION/src
    rm -rf "$work"; mkdir -p "$(dirname "$work")"
    with_progress "go build FerretDB $FERRETDB_VERSION" "$CACHE/logs/ferretdb-build.log" bash -c "
      set -e
      cp -r \"\$(go mod download -json github.com/FerretDB/FerretDB@$FERRETDB_VERSION | sed -n 's/^\s*\"Dir\": \"\(.*\)\",\$/\1/p')\" '$work'
      chmod -R u+w '$work'
      echo $FERRETDB_VERSION > '$work/build/version/version.txt'   # without it FerretDB panics at start
      cd '$work' && CGO_ENABLED=0 go build -o '$FERRETDB_BIN.tmp' ./cmd/ferretdb"
    mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"; rm -rf "$work"
  else
    say "ferretdb: cached $FERRETDB_VERSION"
  fi
  # The image's build context takes the binary from here (git-ignored); a hard link costs nothing.
  local dst=$ROOT/images/ferretdb/ferretdb
  if ! cmp -s "$FERRETDB_BIN" "$dst" 2>/dev/null; then ln -f "$FERRETDB_BIN" "$dst" 2>/dev/null || cp "$FERRETDB_BIN" "$dst"; fi
}

ensure_node_modules() {
  local stamp=$ROOT/node_modules/.noteshub-lock-hash want
  local locks=("$ROOT/package-lock.json"); [ -f "$ROOT/policy/package-lock.json" ] && locks+=("$ROOT/policy/package-lock.json")
  want=$(cat "${locks[@]}" | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then say "node_modules: up to date"; return; fi
  with_progress "npm ci" "$CACHE/logs/npm-ci.log" bash -c "cd '$ROOT' && npm ci --no-audit --no-fund"
  if [ -f "$ROOT/policy/package-lock.json" ]; then
    with_progress "npm ci (policy pack)" "$CACHE/logs/npm-ci-policy.log" bash -c "cd '$ROOT/policy' && npm ci --no-audit --no-fund"
  fi
  echo "$want" >"$stamp"
}

print_env() {
  echo "export PATH=\"$PULUMI_BIN:\$PATH\""
  echo "export PULUMI_BACKEND_URL=\"\${PULUMI_BACKEND_URL:-file://\${NOTESHUB_STATE_DIR:-\$HOME/.noteshub-deploy/state}}\""
  echo "export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
  echo "export NOTESHUB_HEY=\${NOTESHUB_HEY:-$HEY_BIN}"
  echo "export NOTESHUB_MINIO=\${NOTESHUB_MINIO:-$MINIO_BIN}"
  echo "export NOTESHUB_PROMTOOL=\${NOTESHUB_PROMTOOL:-$PROMTOOL_BIN}"
  # Type errors are caught by `npm run build` (tsc); the program itself runs transpile-only, seconds faster.
  echo "export PULUMI_NODEJS_TRANSPILE_ONLY=\${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
}

# The load generators the zero-drop tests and benchmarks drive the balancer with (tests and benchmarks only): wrk
# (as fast as it goes) and hey (a fixed rate on keep-alive connections, the issues' measurements).
ensure_load_generators() {
  command -v wrk >/dev/null 2>&1 || apt_install wrk
  if [ ! -x "$HEY_BIN" ]; then
    command -v go >/dev/null 2>&1 || die "no Go toolchain to build hey"
    with_progress "go install hey $HEY_VERSION" "$CACHE/logs/hey-build.log" env GOBIN="$(dirname "$HEY_BIN")" go install "github.com/rakyll/hey@$HEY_VERSION"
  fi
  say "load generators: $(command -v wrk), $HEY_BIN"
}

# What the remote-host tests build their test hosts and registry from (test/helpers/testhost.sh, registry.ts): sshd,
# the registry, htpasswd, ip, openssl. The packages must not start services of their own on this machine: the tests
# start theirs, on test addresses only.
ensure_test_host_tools() {
  local p missing=()
  for p in openssh-server docker-registry apache2-utils; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    local guard=
    if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; guard=1; fi
    apt_install "${missing[@]}"
    [ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d
  fi
  command -v ip >/dev/null 2>&1 || apt_install iproute2
  command -v openssl >/dev/null 2>&1 || apt_install openssl
  say "test hosts: /usr/sbin/sshd, $(command -v docker-registry), $(command -v htpasswd), $(command -v ip), $(command -v openssl)"
}

# The S3 server the shared-state tests keep Pulumi's state and noteshub's lock and log on (issue #14): a stand-in
# for the S3 (or S3-compatible) bucket a team's stacks live in. Tests only; a user's S3 needs nothing from here.
ensure_minio() {
  if [ ! -x "$MINIO_BIN" ]; then
    command -v go >/dev/null 2>&1 || die "no Go toolchain to build minio"
    with_progress "go install minio $MINIO_VERSION (about 3 min on 2 cores)" "$CACHE/logs/minio-build.log" env GOBIN="$(dirname "$MINIO_BIN")" go install "github.com/minio/minio@$MINIO_VERSION"
  fi
  say "shared state: $MINIO_BIN"
}

# promtool checks and unit-tests the alert rules in monitoring/ (tests only). Taken out of Debian's prometheus package
# without installing it: no Prometheus server is set up or started on this machine.
ensure_promtool() {
  if [ ! -x "$PROMTOOL_BIN" ]; then
    local tmp; tmp=$(mktemp -d)
    if ! (cd "$tmp" && apt-get download prometheus >"$CACHE/logs/promtool.log" 2>&1); then
      with_progress "apt-get update" "$CACHE/logs/apt-update.log" apt-get update; apt_updated=1
      (cd "$tmp" && apt-get download prometheus >"$CACHE/logs/promtool.log" 2>&1) || { tail -5 "$CACHE/logs/promtool.log" >&2; rm -rf "$tmp"; die "could not download Debian's prometheus package"; }
    fi
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
    mkdir -p "$(dirname "$PROMTOOL_BIN")"
    cp "$tmp/x/usr/bin/promtool" "$PROMTOOL_BIN"
    rm -rf "$tmp"
  fi
  say "alert rules: $PROMTOOL_BIN ($("$PROMTOOL_BIN" --version 2>&1 | head -1))"
}

main() {
  mkdir -p "$CACHE/logs"
  if [ "${1:-}" = "--env" ]; then print_env; return; fi
  local start; start=$(date +%s)
  ensure_docker
  ensure_base_image
  ensure_pulumi
  ensure_ferretdb
  ensure_node_modules
  if [ "${1:-}" = "--tests" ]; then ensure_load_generators; ensure_test_host_tools; ensure_minio; ensure_promtool; fi
  say "engines ready in $(elapsed "$start")"
}
main "$@"
