#!/usr/bin/env bash
# The full check, as CI runs it: formatting, clippy, then one
# `cargo test --all-targets` against MariaDB (started privately when none
# answers): unit tests, and integration and compatibility tests on each
# generation they apply to: replyd's fixture schema for each API-key
# generation, and ITFlow's real 2.4.4 and 2.6.7 dumps from
# ../shared/itflow-schema/ (required under CI=true); then the benchmark in
# smoke mode. Stops at the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/db.sh
. scripts/db.sh

step() { printf '\n==> %s\n' "$*"; }

legacy_dump=../shared/itflow-schema/legacy-keys-2.4.4.sql
user_keys_dump=../shared/itflow-schema/user-keys-2.6.7.sql
test_threads=${REPLYD_TEST_THREADS:-6}

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "MariaDB for the tests"
replyd_ensure_mariadb

# The outage test (tests/api/outage.rs) stops and restarts a MariaDB server
# of its own, never the shared one: it needs the server binaries.
step "mariadbd and mariadb-install-db for the database outage test"
replyd_ensure_exe mariadb-server mariadbd /usr/sbin/mariadbd
replyd_ensure_exe mariadb-server mariadb-install-db /usr/bin/mariadb-install-db
export REPLYD_REQUIRE_MARIADBD=1 # the test fails instead of skipping

# nginx.conf.example is tested in a real nginx: `nginx -t` here, and API
# calls end to end through it in tests/api/nginx.rs (which starts and stops
# its own nginx for each test, and fails when it cannot).
step "nginx -t on a server block that includes nginx.conf.example"
REPLYD_TEST_NGINX=$(replyd_ensure_exe nginx nginx /usr/sbin/nginx)
export REPLYD_TEST_NGINX
nginx_t_example() {
    local dir rc=0
    dir=$(mktemp -d "${TMPDIR:-/tmp}/replyd-nginx-t.XXXXXX")
    cat >"$dir/nginx.conf" <<CONF
pid $dir/nginx.pid;
error_log $dir/error.log;
events {}
http {
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:8080;
        location ~ \.php\$ { return 200; }
        include $PWD/nginx.conf.example;
    }
}
CONF
    "$REPLYD_TEST_NGINX" -t -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" || rc=$?
    rm -rf -- "$dir"
    return "$rc"
}
nginx_t_example

if systemd_analyze=$(_replyd_find_exe systemd-analyze); then
    step "systemd-analyze ($systemd_analyze) checks deploy/replyd.service in the test suite (tests/api/systemd.rs)"
else
    step "SKIPPED: systemd-analyze verify deploy/replyd.service (systemd-analyze not installed)"
fi

# Each test asks for the schema generations it applies to (tests/api/helpers.rs,
# Generation): both fixtures always, ITFlow's dumps when ../shared is beside
# the checkout. CI must run them all: there, a missing dump fails.
if [ -f "$legacy_dump" ] && [ -f "$user_keys_dump" ]; then
    generations="fixture DDL for both key generations, ITFlow's 2.4.4 and 2.6.7 dumps"
    export REPLYD_REQUIRE_DUMPS=1 # a test that cannot find them fails
elif [ "${CI:-}" = true ]; then
    echo "CI=true but ITFlow's schema dumps are missing: $legacy_dump, $user_keys_dump" >&2
    exit 1
else
    generations="fixture DDL for both key generations only (ITFlow's dumps not found in ../shared/itflow-schema/)"
    step "SKIPPED: tests on ITFlow's dumps ($legacy_dump, $user_keys_dump not found)"
fi

# Creating a dump's ~140 tables per test is bound by the server's disk
# syncs, not by CPU, so more test threads than cores shorten the run.
step "cargo test --all-targets -- --test-threads=$test_threads   (generations: $generations)"
cargo test --all-targets -- --test-threads="$test_threads"

# The OpenAPI document against the live service (schemathesis from PyPI,
# installed once into a cached venv): every v2 operation and the v1 reads.
step "scripts/schemathesis.sh   (answers of a live replyd checked against openapi.json)"
bash scripts/schemathesis.sh

# The benchmark must keep working; its numbers are never asserted.
step "scripts/bench.sh --smoke   (1000 replies, 2 s per measurement; numbers not checked)"
bash scripts/bench.sh --smoke >/dev/null

step "All checks passed. Tests ran on: $generations"
