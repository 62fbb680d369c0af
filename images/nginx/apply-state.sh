#!/bin/bash
# Swaps in /etc/nginx/noteshub/state.json.next: one rename, so a request reads either the old state or the new one,
# never half a file (noteshub.js reads it per request). No reload: no connection is closed.
set -u
dir=/etc/nginx/noteshub
next=$dir/state.json.next
[ -s "$next" ] || { echo "noteshub-apply-state: $next is missing or empty" >&2; exit 2; }
case "$(head -c1 "$next")$(tail -c2 "$next" | head -c1)" in
  "{}") ;;
  *) echo "noteshub-apply-state: $next is not a JSON object; kept the current state" >&2; rm -f "$next"; exit 1 ;;
esac
mv "$next" "$dir/state.json" && echo "traffic state applied"
