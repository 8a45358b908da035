#!/usr/bin/env bash
# The OpenAPI document against the live service: schemathesis (PyPI) sends
# requests made from /api/openapi.json to a replyd on a scratch database
# with the demo data (compat-tests/fixtures/schema.sql +
# scripts/demo-seed.sql), and checks every answer against the document.
# Runs every v2 operation and the v1 reads (both dialects' read.php and
# attachment.php); never the v1 creates (v2's POST writes to the scratch
# database only). scripts/test.sh runs it after the cargo tests.
#
# schemathesis lives in a venv under
# ${XDG_CACHE_HOME:-$HOME/.cache}/replyd/schemathesis, installed once (pinned
# version) and reused. replyd: target/debug/replyd (which `cargo test`
# builds; `cargo build` here makes sure it is current); REPLYD_BIN (not
# rebuilt) overrides it.
#
# Env: SCHEMATHESIS_MAX_EXAMPLES (default 50 per operation);
# SCHEMATHESIS_WORKERS (default 1: with 2, hypothesis's lambda-source cache,
# shared by the worker threads, now and then fails a run with "AST
# constructor recursion depth mismatch"); SCHEMATHESIS_SEED (fixed by
# default, so that a run can be repeated; `random` for a new one);
# REPLYD_TEST_DATABASE_URL (as scripts/db.sh). About 10 s once installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/db.sh
. scripts/db.sh

step() { printf '\n==> %s\n' "$*"; }

schemathesis_version=4.32.5
venv=${XDG_CACHE_HOME:-$HOME/.cache}/replyd/schemathesis
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-50}
workers=${SCHEMATHESIS_WORKERS:-1}
seed=${SCHEMATHESIS_SEED:-20261130}
key=demo-global-key-0000 # scripts/demo-seed.sql: every client
replyd_bin=${REPLYD_BIN:-target/debug/replyd}

step "schemathesis $schemathesis_version in $venv"
if [ "$("$venv/bin/st" --version 2>/dev/null)" != "st, version $schemathesis_version" ]; then
    rm -rf -- "$venv"
    mkdir -p -- "$(dirname "$venv")"
    # Debian's python3 makes venvs only with python3-venv (ensurepip).
    if ! python3 -m venv "$venv"; then
        rm -rf -- "$venv"
        _replyd_apt_install python3-venv
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi
"$venv/bin/st" --version

if [ -z "${REPLYD_BIN-}" ]; then
    # Up to date after scripts/test.sh's cargo test (a second or two);
    # run alone, never a stale binary with a stale document.
    step "cargo build"
    cargo build
fi

step "MariaDB"
replyd_ensure_mariadb

db=replyd_schemathesis_$$
work=$(mktemp -d "${TMPDIR:-/tmp}/replyd-schemathesis.XXXXXX")
replyd_pid=''
st_pid=''
# shellcheck disable=SC2317 # called from the trap
cleanup() {
    local rc=$?
    if [ -n "$st_pid" ]; then
        kill -TERM "$st_pid" 2>/dev/null || true
        wait "$st_pid" 2>/dev/null || true
    fi
    if [ -n "$replyd_pid" ]; then
        kill -TERM "$replyd_pid" 2>/dev/null || true
        wait "$replyd_pid" 2>/dev/null || true
    fi
    printf 'DROP DATABASE IF EXISTS `%s`;\n' "$db" | replyd_sql || true
    rm -rf -- "$work"
    replyd_stop_private_mariadb # only one this shell started
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

step "Database $db: fixture schema + scripts/demo-seed.sql"
replyd_sql <<SQL
CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
SQL
replyd_sql "$db" <compat-tests/fixtures/schema.sql
replyd_sql "$db" <scripts/demo-seed.sql

# The server URL with the scratch database as its path (keeping any ?options).
server_url=${REPLYD_TEST_DATABASE_URL%%\?*}
query=${REPLYD_TEST_DATABASE_URL#"$server_url"}
authority=${server_url#*://}
authority=${authority%%/*}

db_url="${server_url%%://*}://$authority/$db$query"
# replyd's own table for Idempotency-Key, so that requests carrying one are
# served rather than refused.
REPLYD_DATABASE_URL=$db_url "$replyd_bin" doctor --apply >/dev/null

step "replyd ($replyd_bin) on a free port"
mkdir -p "$work/uploads"
# Port 0: the system picks a free port, replyd logs it. v2's rate limits
# stay on (their headers are checked) but far above what one schemathesis
# worker sends, so that answers are not mostly 429s.
REPLYD_DATABASE_URL=$db_url \
    REPLYD_LISTEN=127.0.0.1:0 REPLYD_UPLOADS_DIR="$work/uploads" \
    REPLYD_RATE_LIMIT_PER_SECOND=100000 REPLYD_RATE_LIMIT_BURST=100000 \
    REPLYD_WORKERS=1 RUST_LOG=${RUST_LOG:-warn,replyd=info} \
    "$replyd_bin" 2>"$work/replyd.log" &
replyd_pid=$!
port=''
for _ in $(seq 1 300); do
    port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$work/replyd.log" | head -n1)
    [ -n "$port" ] && break
    kill -0 "$replyd_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "schemathesis.sh: replyd did not start:" >&2
    cat "$work/replyd.log" >&2
    exit 1
fi
base=http://127.0.0.1:$port
echo "replyd: $base"

# Every request carries the demo key as `Authorization: Bearer` (v1's
# `api_key` query parameter is not generated: a random one would win over
# the header and turn nearly every v1 request into a 401).
#
# Checks: all of schemathesis's, less those that cannot hold here:
# - use_after_free, ensure_resource_availability: need a DELETE (and
#   stateful links) to mean anything; no replyd operation deletes.
# Per run, below:
st_run() {
    local name=$1
    shift
    step "schemathesis: $name (at most $max_examples examples per operation, $workers workers, seed $seed)"
    local seed_args=(--seed "$seed")
    [ "$seed" = random ] && seed_args=()
    # In the scratch folder: schemathesis keeps a cache of failures in its
    # working directory (.schemathesis/), which a run must not inherit.
    # In the background, waited for: a TERM to this script then stops it at
    # once (bash runs a trap only after the foreground command ends).
    (cd "$work" && exec "$venv/bin/st" --config-file "$work/schemathesis.toml" run "$base/api/openapi.json" \
        --header "Authorization: Bearer $key" \
        --checks all \
        --max-examples "$max_examples" \
        --workers "$workers" \
        --request-timeout 30 \
        --generation-database none \
        --generation-with-security-parameters false \
        --output-truncate false \
        "${seed_args[@]}" \
        "$@") &
    st_pid=$!
    local rc=0
    wait "$st_pid" || rc=$?
    st_pid=''
    return "$rc"
}

# positive_data_acceptance: a request valid by the document must not be
# refused, except with 404 (no such ticket: the path's ticket is generated),
# 409 (a closed ticket) and 422: v2 refuses there what a schema cannot say
# (a cursor replyd never gave out, a status not settable on that ticket
# now, `body` blank without a `status`).
# And for v2's create, 400 too: schemathesis's coverage phase sends a
# multipart body with no part at all (despite the document's
# minProperties: 1), which RFC 2046 makes malformed.
cat >"$work/schemathesis.toml" <<'TOML'
[checks.positive_data_acceptance]
expected-statuses = ["2XX", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-operation-id = "v2_create_reply"
checks.positive_data_acceptance.expected-statuses = ["2XX", "400", "401", "403", "404", "409", "422", "429"]
TOML

start=$SECONDS
# v1 reads, every check but the two above and:
# - negative_data_rejection: v1 reads its parameters as ITFlow's PHP does
#   (`intval("abc")` is 0, unknown values are ignored), so a value outside
#   the document's types is not an error there, by design.
# - unsupported_method, allow_header_conformance: v1's 405 is ITFlow's
#   (`Can only send GET requests to this endpoint.`), without the `Allow`
#   header RFC 9110 asks for and these two checks require (v2's has it).
st_run "v1 reads (both dialects, attachment.php)" \
    --include-path-regex '^/api/v1/(tickets/replies/(read|attachment)|ticket_replies/read)\.php$' \
    --exclude-checks use_after_free,ensure_resource_availability,negative_data_rejection,unsupported_method,allow_header_conformance


# v2: every operation, every check but the two above.
st_run "v2, every operation" \
    --include-path-regex '^/api/v2/' \
    --exclude-checks use_after_free,ensure_resource_availability

step "schemathesis: every run passed in $((SECONDS - start)) s"
