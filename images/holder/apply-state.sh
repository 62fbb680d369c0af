#!/bin/bash
# Swaps in state.json.next: one rename, so a request reads either the old state or the new one, never half a file
# (every nginx instance reads it per request, images/nginx/noteshub.js). No reload: no connection is closed.
# The whole state is checked first, in the one form render/nginx.ts renderState writes (checkState there is the same
# rule): both colours' weights, whole numbers summing to 100, the active colour's share as `traffic`, both versions,
# maintenance mode's message and Retry-After when it is on, and the preview token's digest when there is one.
# Anything else is refused and the current state kept: `{"weights":{}}` must never send everything to one colour.
set -u
dir=/var/lib/noteshub/state
next=$dir/state.json.next
refuse() { echo "noteshub-apply-state: $next $1; kept the current state" >&2; rm -f "$next"; exit 1; }
[ -s "$next" ] || { echo "noteshub-apply-state: $next is missing or empty" >&2; exit 2; }
[ "$(wc -l <"$next")" = 1 ] || refuse "is not one line of JSON"
line=$(cat "$next")
version='v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?'
# Maintenance mode adds the message users get (a JSON string) and Retry-After's seconds; a preview token, its SHA-256.
maintenance=',"maintenance":\{"message":"([^"\\]|\\.)+","retryAfterSec":[1-9][0-9]{0,4}\}'
shape='^\{"stack":"[A-Za-z0-9_.-]+","active":"(blue|green)","traffic":(0|[1-9][0-9]?|100),"weights":\{"blue":(0|[1-9][0-9]?|100),"green":(0|[1-9][0-9]?|100)\},"versions":\{"blue":"'"$version"'","green":"'"$version"'"\}('"$maintenance"')?(,"preview":"[0-9a-f]{64}")?\}$'
[[ $line =~ $shape ]] || refuse "is not a traffic state (both colours' weights and versions, as renderState writes it)"
active=${BASH_REMATCH[1]} traffic=${BASH_REMATCH[2]} blue=${BASH_REMATCH[3]} green=${BASH_REMATCH[4]}
[ $((blue + green)) = 100 ] || refuse "has weights summing to $((blue + green)), not 100"
share=$blue; [ "$active" = green ] && share=$green
[ "$share" = "$traffic" ] || refuse "says $active has $traffic % but weighs it $share"
mv "$next" "$dir/state.json" && echo "traffic state applied"
