#!/bin/sh
# From now on this instance answers every request with `Connection: close` (noteshub.js draining), so each client
# finishes its request and reconnects, landing on the instance that replaces this one (infra/docker/handover.ts).
exec touch /tmp/nginx/draining
