#!/bin/bash
# Applies /etc/nginx/noteshub/routes.conf.next: validate, swap in, reload; on a bad file keep the last good one.
# Returns only once the new routes are what every new connection gets: `nginx -s reload` is asynchronous, and
# until each old worker has closed its listening sockets ("worker process is shutting down") it still accepts
# connections with the old routes.
set -u
dir=/etc/nginx/noteshub
[ -f "$dir/routes.conf.next" ] || { echo "noteshub-apply-config: $dir/routes.conf.next is missing" >&2; exit 2; }

workers() { # pids of workers still accepting connections
  local p cmd
  for p in /proc/[0-9]*; do
    { cmd=$(tr -s '\0' ' ' <"$p/cmdline"); } 2>/dev/null || continue # a process may exit between the glob and the read
    [ "${cmd% }" = "nginx: worker process" ] && echo "${p#/proc/}"
  done
}

# New traffic state first (same upstream names before and after), then the routes.
if [ -f "$dir/state.json.next" ]; then noteshub-apply-state >/dev/null || exit 1; fi
cp "$dir/routes.conf" "$dir/routes.conf.last-good"
mv "$dir/routes.conf.next" "$dir/routes.conf"
if ! out=$(nginx -t 2>&1); then
  mv "$dir/routes.conf.last-good" "$dir/routes.conf"
  echo "nginx rejected the new routes (kept the previous ones): $out" >&2
  exit 1
fi
old=$(workers)
nginx -s reload 2>&1 || exit 1
for _ in $(seq 1 200); do # up to 10 s
  still=$(comm -12 <(echo "$old" | sort) <(workers | sort))
  [ -z "$still" ] && { echo "routes applied"; exit 0; }
  sleep 0.05
done
echo "nginx reloaded, but old workers ($still) still accept connections after 10 s" >&2
exit 1
