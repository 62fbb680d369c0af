#!/usr/bin/env bash
# Test hosts (issue #14, shared/spec/toolchain.md "More hosts"): each is a network namespace with its own address on
# a bridge of this machine, its own Docker engine, and (optionally) an sshd and a TLS endpoint for that engine. Only
# addresses of these namespaces are ever targets. Everything made here is removed by `down` (the last host also takes
# the bridge, the iptables rules and the deploy user), so a run leaves the machine as it found it.
#
#   testhost.sh up <name> <n>      host n (1-50) at 10.77.0.(10+n); prints its facts as KEY=value lines
#   testhost.sh down <name> <n>    stops and removes it
#   testhost.sh down-all           removes every test host and the shared parts (after a crashed run, too)
set -euo pipefail

BRIDGE=nhtbr0
NET=10.77.0
BASE=/var/tmp/noteshub-testhosts
USER_NAME=nhdeploy
say() { printf '[testhost] %s\n' "$*" >&2; }

rule() { # iptables rule, added once / removed while present: rule add|del <table> <chain> <args...>
  local op=$1 table=$2 chain=$3; shift 3
  if [ "$op" = add ]; then iptables -t "$table" -C "$chain" "$@" 2>/dev/null || iptables -t "$table" -I "$chain" "$@"
  else while iptables -t "$table" -C "$chain" "$@" 2>/dev/null; do iptables -t "$table" -D "$chain" "$@"; done; fi
}

shared() { # the bridge, forwarding between test hosts and out to the package mirror (their builds use apt), the user
  local op=$1
  rule "$op" filter FORWARD -i "$BRIDGE" -j ACCEPT
  rule "$op" filter FORWARD -o "$BRIDGE" -j ACCEPT
  rule "$op" nat POSTROUTING -s "$NET.0/24" ! -o "$BRIDGE" -j MASQUERADE
  if [ "$op" = add ]; then
    ip link show "$BRIDGE" >/dev/null 2>&1 || { ip link add "$BRIDGE" type bridge; ip addr add "$NET.1/24" dev "$BRIDGE"; }
    ip link set "$BRIDGE" up
    sysctl -qw net.ipv4.ip_forward=1
    id "$USER_NAME" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir "$BASE" --shell /bin/sh "$USER_NAME"
    # An sshd refuses a locked account; this one has no password at all (keys only, PasswordAuthentication no).
    usermod -p '*' "$USER_NAME"
  else
    ip link del "$BRIDGE" 2>/dev/null || true
    if id "$USER_NAME" >/dev/null 2>&1; then
      pkill -KILL -u "$USER_NAME" 2>/dev/null || true
      for _ in $(seq 1 20); do userdel "$USER_NAME" 2>/dev/null && break; sleep 0.1; done
    fi
    rmdir "$BASE" 2>/dev/null || true
  fi
}

stop_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

certs() { # a CA, the engine's server certificate (for its address) and a client certificate: mutual TLS
  local d=$1 addr=$2
  mkdir -p "$d/tls/client"
  (
    cd "$d/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=noteshub test CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$addr" -keyout server-key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$addr" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=noteshub deployer" -keyout client/key.pem -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile client.ext -out client/cert.pem 2>/dev/null
    cp ca.pem client/ca.pem
  )
}

up() {
  local name=$1 n=$2
  [[ "$name" =~ ^[a-z0-9-]{1,10}$ ]] || { say "name must be 1-10 of a-z0-9-"; exit 2; }
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 50 ] || { say "n must be 1-50"; exit 2; }
  local ns="nht-$name" d="$BASE/$name" addr="$NET.$((10 + n))" veth="nht$n"
  down "$name" "$n" 2>/dev/null || true
  shared add
  mkdir -p "$d/data" "$d/exec" "$d/ssh"
  chmod 0755 "$BASE" "$d"
  ip netns add "$ns"
  ip link add "$veth" type veth peer name "${veth}p"
  ip link set "${veth}p" netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip link set "${veth}p" name eth0
  ip netns exec "$ns" ip addr add "$addr/24" dev eth0
  ip netns exec "$ns" ip link set eth0 up
  ip netns exec "$ns" ip route add default via "$NET.1"
  certs "$d" "$addr"
  # nsenter, not `ip netns exec`: the latter remounts /sys and dockerd then fails (toolchain.md).
  nsenter --net="/var/run/netns/$ns" dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
    -H "unix://$d/docker.sock" -H "tcp://$addr:2376" --tlsverify --tlscacert "$d/tls/ca.pem" \
    --tlscert "$d/tls/server-cert.pem" --tlskey "$d/tls/server-key.pem" \
    --group "$USER_NAME" --bip "10.78.$n.1/24" >"$d/dockerd.log" 2>&1 &
  for _ in $(seq 1 300); do docker -H "unix://$d/docker.sock" info >/dev/null 2>&1 && break; sleep 0.1; done
  docker -H "unix://$d/docker.sock" info >/dev/null 2>&1 || { tail -20 "$d/dockerd.log" >&2; say "the engine of $name did not start"; exit 1; }
  # sshd in the namespace: keys only, for the deploy user, whose `docker` (dial-stdio) reaches this host's engine.
  ssh-keygen -q -t ed25519 -N '' -f "$d/ssh/host_key" -C "$name host key"
  ssh-keygen -q -t ed25519 -N '' -f "$d/ssh/deployer" -C "deployer@$name"
  cp "$d/ssh/deployer.pub" "$d/ssh/authorized_keys"
  chmod 0644 "$d/ssh/authorized_keys"
  chmod 0755 "$d/ssh"
  cat >"$d/ssh/sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey $d/ssh/host_key
PidFile $d/ssh/sshd.pid
AuthorizedKeysFile $d/ssh/authorized_keys
AllowUsers $USER_NAME
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
StrictModes no
SetEnv DOCKER_HOST=unix://$d/docker.sock
EOF
  mkdir -p /run/sshd
  nsenter --net="/var/run/netns/$ns" /usr/sbin/sshd -f "$d/ssh/sshd_config" -E "$d/ssh/sshd.log"
  for _ in $(seq 1 50); do [ -s "$d/ssh/sshd.pid" ] && break; sleep 0.1; done
  echo "ADDR=$addr"
  echo "NETNS=$ns"
  echo "DIR=$d"
  echo "SOCKET=$d/docker.sock"
  echo "TLS_CLIENT_DIR=$d/tls/client"
  echo "SSH_USER=$USER_NAME"
  echo "SSH_KEY=$d/ssh/deployer"
  echo "SSH_HOST_KEY=$d/ssh/host_key.pub"
}

down() {
  local name=$1 n=$2 d="$BASE/$1" ns="nht-$1"
  if [ -S "$d/docker.sock" ]; then # its containers first, so none outlives the engine's shims
    docker -H "unix://$d/docker.sock" ps -aq 2>/dev/null | xargs -r docker -H "unix://$d/docker.sock" rm -f >/dev/null 2>&1 || true
  fi
  stop_pidfile "$d/ssh/sshd.pid"
  stop_pidfile "$d/docker.pid"
  pkill -f -- "--state-dir $d/exec/containerd" 2>/dev/null || true
  # What outlives them in the namespace (the listener's per-connection children: a deployer's session) goes too.
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  for m in $(awk -v p="$d/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  ip link del "nht$n" 2>/dev/null || true
  rm -rf "$d"
  if ! ip netns list 2>/dev/null | grep -q '^nht-'; then shared del; fi
}

down_all() {
  local ns name
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^nht-' || true); do
    name=${ns#nht-}
    down "$name" 0
  done
  for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^nht[0-9]+(@|$)' | cut -d@ -f1 || true); do ip link del "$l" 2>/dev/null || true; done
  [ -d "$BASE" ] && for d in "$BASE"/*/; do [ -d "$d" ] && down "$(basename "$d")" 0; done
  shared del
}

case "${1:-}" in
  up) up "$2" "$3" ;;
  down) down "$2" "$3" ;;
  down-all) down_all ;;
  *) echo "usage: $0 up <name> <n> | down <name> <n> | down-all" >&2; exit 2 ;;
esac
