#!/bin/sh
# Ready = this instance answers on its own sockets (no other instance shares them) and routes through its njs as a
# user's request would: with a traffic state, /lb/status and /lb/route answer 200; before the first state is written
# (a new stack), /lb/status says there is none. A new image that fails here never takes over (infra/docker/handover.ts).
ask() { curl -s -o /tmp/nginx/ready.body -w '%{http_code}' --unix-socket /tmp/nginx/http.sock "http://instance$1"; }
curl -sf --unix-socket /tmp/nginx/status.sock http://instance/ >/dev/null || { echo "no answer on the status socket"; exit 1; }
if [ -f /var/lib/noteshub/state/state.json ]; then
  for path in /lb/status /lb/route; do
    code=$(ask "$path") || { echo "no answer on the routes"; exit 1; }
    [ "$code" = 200 ] || { echo "routing fails: $path answered $code: $(head -c 200 /tmp/nginx/ready.body)"; exit 1; }
  done
  exit 0
fi
code=$(ask /lb/status) || { echo "no answer on the routes"; exit 1; }
[ "$code" = 503 ] && grep -q 'no traffic state' /tmp/nginx/ready.body && exit 0
echo "routing fails: /lb/status answered $code: $(head -c 200 /tmp/nginx/ready.body)"
exit 1
