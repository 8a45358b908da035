#!/usr/bin/env bash
# A working replyd to try: (re)creates the database `replyd_demo` with the
# fixture schema and demo data, builds replyd, prints curl commands and runs
# the server in the foreground (Ctrl-C stops it, and any private MariaDB
# server this script started).
#
# Env: REPLYD_LISTEN (default 127.0.0.1:8091); REPLYD_TEST_DATABASE_URL (a
# server URL, no database) to use a given MariaDB; DEMO_NO_RUN=1 to do
# everything but start replyd.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/db.sh
. scripts/db.sh

step() { printf '\n==> %s\n' "$*"; }

demo_db=replyd_demo
listen=${REPLYD_LISTEN:-127.0.0.1:8091}
# Where curl reaches a wildcard listen address.
case $listen in
    0.0.0.0:*) base_host=127.0.0.1:${listen##*:} ;;
    \[::\]:*) base_host="[::1]:${listen##*:}" ;;
    *) base_host=$listen ;;
esac
base=http://$base_host

step "MariaDB"
replyd_ensure_mariadb

if [ "${DEMO_NO_RUN-}" != 1 ] && timeout 3 bash -c "exec 3<>/dev/tcp/${base_host%:*}/${base_host##*:}" 2>/dev/null; then
    printf 'demo.sh: something already listens on %s; stop it or set REPLYD_LISTEN=127.0.0.1:8092\n' "$listen" >&2
    exit 1
fi

step "Database $demo_db: fixture schema + scripts/demo-seed.sql"
replyd_sql <<SQL
DROP DATABASE IF EXISTS \`$demo_db\`;
CREATE DATABASE \`$demo_db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
SQL
replyd_sql "$demo_db" <compat-tests/fixtures/schema.sql
replyd_sql "$demo_db" <scripts/demo-seed.sql

# The server URL with the demo database as its path (keeping any ?options).
server_url=${REPLYD_TEST_DATABASE_URL%%\?*}
query=${REPLYD_TEST_DATABASE_URL#"$server_url"}
scheme=${server_url%%://*}
authority=${server_url#*://}
authority=${authority%%/*}
export REPLYD_DATABASE_URL="$scheme://$authority/$demo_db$query"
export REPLYD_LISTEN=$listen

step "cargo build --release"
cargo build --release

read_url="$base/api/v1/tickets/replies/read.php"
create_url="$base/api/v1/tickets/replies/create.php"
step "Try it (keys: demo-global-key-0000 = every client, demo-acme-key-00000 = Acme Corp only)"
cat <<EOF

# Replies of ticket TCK-1 (ticket_id 1), with the global key
curl -sS '$read_url?api_key=demo-global-key-0000&ticket_id=1'

# Every reply the Acme key may see (Acme Corp's tickets only)
curl -sS '$read_url?api_key=demo-acme-key-00000'

# Internal reply to TCK-1, form body
curl -sS -X POST '$create_url' \\
  -d api_key=demo-global-key-0000 -d ticket_id=1 \\
  --data-urlencode 'ticket_reply=<p>Replaced the jam sensor.</p>'

# Public reply to TCK-2 (Globex), JSON body
curl -sS -X POST '$create_url' -H 'Content-Type: application/json' \\
  -d '{"api_key":"demo-global-key-0000","ticket_id":2,"ticket_reply":"<p>The VPN is back up.</p>","public_reply_type":1}'

# Resolve TCK-3 without a reply (status 4 = Resolved), with the Acme key
curl -sS -X POST '$create_url' \\
  -d api_key=demo-acme-key-00000 -d ticket_id=3 -d status=4

# Reply with time worked (1 h 30 min 15 s), moving TCK-1 to On Hold (status 3)
curl -sS -X POST '$create_url' \\
  -d api_key=demo-global-key-0000 -d ticket_id=1 -d public_reply_type=1 \\
  --data-urlencode 'ticket_reply=<p>Ordered a new sensor.</p>' \\
  -d hours=1 -d minutes=30 -d seconds=15 -d status=3

EOF

printf 'replyd: %s  (database %s)\n' "$base" "$REPLYD_DATABASE_URL"
if [ "${DEMO_NO_RUN-}" = 1 ]; then
    printf 'DEMO_NO_RUN=1: not starting replyd. Start it with:\n'
    printf '  REPLYD_DATABASE_URL=%q REPLYD_LISTEN=%q target/release/replyd\n' \
        "$REPLYD_DATABASE_URL" "$REPLYD_LISTEN"
    if [ -n "${REPLYD_PRIVATE_DB_DIR-}" ]; then
        printf '(the private MariaDB server stops when this script exits; set REPLYD_TEST_DATABASE_URL to a lasting one)\n'
    fi
    exit 0
fi

step "Running replyd on $base (Ctrl-C to stop)"
if [ -z "${REPLYD_PRIVATE_DB_DIR-}" ]; then
    exec target/release/replyd
fi
# With a private MariaDB server, replyd runs as a child so that this shell
# outlives it and its EXIT trap stops the server. Ctrl-C or a kill of this
# script stops replyd (SIGTERM: graceful shutdown) first.
target/release/replyd &
replyd_pid=$!
# shellcheck disable=SC2317 # called from the traps
stop_replyd() {
    kill -TERM "$replyd_pid" 2>/dev/null || true
    wait "$replyd_pid" 2>/dev/null || true
}
trap 'stop_replyd; exit 130' INT
trap 'stop_replyd; exit 143' TERM
trap 'stop_replyd; exit 129' HUP
rc=0
wait "$replyd_pid" || rc=$?
exit "$rc"
