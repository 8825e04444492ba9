#!/usr/bin/env bash
# CI services beside this machine's PostgreSQL (127.0.0.1:5432, trust auth), as a nation runs them
# (docs/scaling.md): PgBouncer in transaction pooling mode on 127.0.0.1:6432, and a streaming
# replica made with `pg_basebackup -R` on 127.0.0.1:5433. Idempotent and quick when both already
# run (a second or less); the first run installs PgBouncer and copies the primary (its size decides
# how long: ~1 GB takes about 10 s). Prints the variables for .ci/run to export.
set -euo pipefail

STATE=${QUIZAPP_CI_STATE:-/var/lib/postgresql/quizapp-ci}
PRIMARY_PORT=5432
BOUNCER_PORT=6432
REPLICA_PORT=5433
REPLICA="$STATE/replica"
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_at() { psql -X -q -At -h 127.0.0.1 -U postgres -p "$1" -d postgres -c "$2"; }
say() { echo "services: $*" >&2; }

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$STATE" && chown postgres:postgres "$STATE"
else
  mkdir -p "$STATE"
fi

# --- PgBouncer ---------------------------------------------------------------------------------
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  say "installing pgbouncer"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq pgbouncer >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null; }
fi
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

# Every database passes through to the primary (tests use `test` and, under xdist, `test_gwN`).
# Transaction pooling: a server connection is the client's only for one transaction, so the app
# makes no server-side prepared statements there (QUIZAPP_DIRECT_DATABASE_URL set: see
# quizapp/database.py) and cannot send a statement timeout at connect: the pool sets it.
cat >"$STATE/pgbouncer.ini.new" <<EOF
[databases]
* = host=127.0.0.1 port=$PRIMARY_PORT connect_query='SET statement_timeout = 30000'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $STATE/userlist.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
reserve_pool_size = 5
server_reset_query =
logfile = $STATE/pgbouncer.log
pidfile = $STATE/pgbouncer.pid
EOF
echo '"postgres" ""' >"$STATE/userlist.txt"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$STATE/pgbouncer.ini.new" "$STATE/userlist.txt"
bouncer_answers() {
  psql -X -q -At -h 127.0.0.1 -p $BOUNCER_PORT -U postgres -d pgbouncer -c "SHOW VERSION" >/dev/null 2>&1
}
if bouncer_answers && cmp -s "$STATE/pgbouncer.ini.new" "$STATE/pgbouncer.ini"; then
  rm -f "$STATE/pgbouncer.ini.new"
else
  mv "$STATE/pgbouncer.ini.new" "$STATE/pgbouncer.ini"
  if [ -f "$STATE/pgbouncer.pid" ] && kill "$(cat "$STATE/pgbouncer.pid")" 2>/dev/null; then
    for _ in $(seq 1 50); do bouncer_answers || break; sleep 0.1; done
  fi
  rm -f "$STATE/pgbouncer.pid"  # gone, or a zombie not yet reaped (which PgBouncer would take for alive)
  say "starting pgbouncer on 127.0.0.1:$BOUNCER_PORT"
  as_postgres "$PGBOUNCER" -d "$STATE/pgbouncer.ini"
  for _ in $(seq 1 50); do bouncer_answers && break; sleep 0.1; done
  bouncer_answers || { say "pgbouncer does not answer:"; tail -n 20 "$STATE/pgbouncer.log" >&2; exit 1; }
fi

# --- The streaming replica ---------------------------------------------------------------------
# The primary must let a replication connection in from 127.0.0.1 ("all" does not match one).
HBA=$(psql_at $PRIMARY_PORT "SHOW hba_file")
if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|postgres)[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$HBA"; then
  say "allowing replication connections from 127.0.0.1 in $HBA"
  # first: the first matching line decides (Debian's default asks replication for a password)
  sed -i "1i # quizapp CI: the streaming replica on port $REPLICA_PORT\\nhost replication all 127.0.0.1/32 trust" "$HBA"
  psql_at $PRIMARY_PORT "SELECT pg_reload_conf()" >/dev/null
fi

replica_streaming() {
  [ "$(psql_at $REPLICA_PORT "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')" 2>/dev/null)" = t ]
}
replica_start() {
  as_postgres "$BIN/pg_ctl" -D "$REPLICA" -l "$STATE/replica.log" -w -t 60 start >/dev/null
}
replica_build() {
  say "copying the primary into $REPLICA (pg_basebackup -R)"
  if [ -f "$REPLICA/postmaster.pid" ]; then as_postgres "$BIN/pg_ctl" -D "$REPLICA" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$REPLICA"
  as_postgres "$BIN/pg_basebackup" -h 127.0.0.1 -p $PRIMARY_PORT -U postgres -D "$REPLICA" -R -X stream -c fast
  # Debian keeps the configuration out of the data directory: the replica gets its own. A hot
  # standby needs at least the primary's value of these.
  local settings
  settings=$(psql_at $PRIMARY_PORT "SELECT string_agg(name || ' = ' || setting, E'\n') FROM pg_settings
    WHERE name IN ('max_connections', 'max_worker_processes', 'max_wal_senders',
                   'max_prepared_transactions', 'max_locks_per_transaction')")
  as_postgres tee "$REPLICA/postgresql.conf" >/dev/null <<EOF
port = $REPLICA_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$STATE'
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 5s
shared_buffers = 64MB
fsync = off
logging_collector = off
$settings
EOF
  as_postgres tee "$REPLICA/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
  : | as_postgres tee "$REPLICA/pg_ident.conf" >/dev/null
  replica_start
}

if replica_streaming; then
  :
elif [ -f "$REPLICA/standby.signal" ]; then
  [ -f "$REPLICA/postmaster.pid" ] || replica_start || true
  # A replica down for long may miss WAL the primary has recycled: it then never streams again.
  for _ in $(seq 1 20); do replica_streaming && break; sleep 0.5; done
  replica_streaming || replica_build
else
  replica_build
fi
for _ in $(seq 1 40); do replica_streaming && break; sleep 0.5; done
replica_streaming || { say "the replica does not stream:"; tail -n 20 "$STATE/replica.log" >&2; exit 1; }

cat <<EOF
export QUIZAPP_TEST_PGBOUNCER_URL=postgresql+psycopg://postgres@127.0.0.1:$BOUNCER_PORT/test
export QUIZAPP_TEST_REPLICA_URL=postgresql+psycopg://postgres@127.0.0.1:$REPLICA_PORT/test
EOF
