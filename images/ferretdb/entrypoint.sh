#!/bin/bash
# Starts PostgreSQL (data on /data/db/pg, unix socket only) and FerretDB in front of it, and stops both cleanly.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
# An image may keep its data elsewhere (the tests' stand-in for mongo -> FerretDB: the same volume, other files).
PGDATA=${NOTESHUB_PGDATA:-/data/db/pg}
SOCK=/var/run/postgresql
mkdir -p "$SOCK" && chown postgres:postgres "$SOCK" /data/db

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "noteshub-db: initialising PostgreSQL data in $PGDATA"
  su postgres -s /bin/sh -c "$PGBIN/initdb -D $PGDATA --auth=trust --encoding=UTF8 --no-instructions" >/dev/null
fi
# Only the unix socket: FerretDB is the one door in (port 27017), with SCRAM users like MongoDB's.
su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $PGDATA -w -t 60 -l /data/db/pg.log -o \"-c listen_addresses='' -c unix_socket_directories=$SOCK\" start" >/dev/null
su postgres -s /bin/sh -c "psql -h $SOCK -tAc \"SELECT 1 FROM pg_database WHERE datname='ferretdb'\" | grep -q 1 || createdb -h $SOCK ferretdb"

stop() {
  echo "noteshub-db: stopping"
  [ -n "${FERRET_PID:-}" ] && kill -TERM "$FERRET_PID" 2>/dev/null && wait "$FERRET_PID" || true
  su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $PGDATA -m fast -w stop" >/dev/null || true
  exit 0
}
trap stop TERM INT

args=(--listen-addr=:27017 --handler=postgresql --postgresql-url="postgres://postgres@/ferretdb?host=$SOCK"
      --state-dir=/data/db --telemetry=disable --log-level=warn)
if [ -n "${MONGO_INITDB_ROOT_USERNAME:-}" ]; then
  # Users live in admin, as with the mongo image's root user: clients use authSource=admin.
  args+=(--test-enable-new-auth --setup-database=admin --setup-username="$MONGO_INITDB_ROOT_USERNAME")
  export FERRETDB_SETUP_PASSWORD="${MONGO_INITDB_ROOT_PASSWORD:?MONGO_INITDB_ROOT_PASSWORD is required with MONGO_INITDB_ROOT_USERNAME}"
fi
/usr/local/bin/ferretdb "${args[@]}" &
FERRET_PID=$!
wait "$FERRET_PID" || code=$?
su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $PGDATA -m fast -w stop" >/dev/null || true
exit "${code:-0}"
