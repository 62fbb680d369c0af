#!/bin/sh
# Starts this nginx instance. Its own sockets and drain flag start fresh: a stop that was not clean (OOM kill, a host
# crash) leaves them in the container, and nginx would not bind its unix sockets again ("Address already in use").
rm -f /tmp/nginx/status.sock /tmp/nginx/http.sock /tmp/nginx/draining
exec nginx -g 'daemon off;'
