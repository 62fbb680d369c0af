#!/bin/sh
# How many client connections this instance still has (its stub_status, less the connection asking).
curl -sf --unix-socket /tmp/nginx/status.sock http://instance/ | awk '/^Active connections/ { print $3 - 1 }'
