#!/usr/bin/env bash
# The full check, as CI runs it: formatting, clippy, then unit and
# integration tests against MariaDB (started privately when none answers),
# on replyd's fixture schema for each API-key generation, then on ITFlow's
# real 2.4.4 and 2.6.7 dumps when ../shared/itflow-schema/ is present; then
# the benchmark in smoke mode. Stops at the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/db.sh
. scripts/db.sh

step() { printf '\n==> %s\n' "$*"; }

legacy_dump=../shared/itflow-schema/legacy-keys-2.4.4.sql
user_keys_dump=../shared/itflow-schema/user-keys-2.6.7.sql
schemas_run=()

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

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

# The fixture run ignores any REPLYD_TEST_SCHEMA from the caller.
step "cargo test --all-targets   (schema: replyd's fixture DDL, compat-tests/fixtures/schema.sql)"
env -u REPLYD_TEST_SCHEMA cargo test --all-targets
schemas_run+=("fixture DDL (compat-tests/fixtures/schema.sql): all targets")

step "cargo test --test api   (schema: fixture DDL with ITFlow 2.4.7-2.6.7's changes, user-tied keys)"
REPLYD_TEST_SCHEMA=fixture-user-keys cargo test --test api
schemas_run+=("fixture DDL + compat-tests/fixtures/schema-user-keys.sql: --test api")

# ITFlow's real dumps, when ../shared is beside the checkout. Creating their
# ~140 tables per test is bound by the server's disk syncs, not by CPU, so
# more test threads than cores shorten these runs.
for dump in "$legacy_dump" "$user_keys_dump"; do
    if [ -f "$dump" ]; then
        dump_abs="$(cd "$(dirname "$dump")" && pwd)/$(basename "$dump")"
        step "cargo test --test api   (schema: ITFlow dump $dump_abs)"
        REPLYD_TEST_SCHEMA=$dump_abs cargo test --test api -- --test-threads=6
        schemas_run+=("ITFlow dump $dump_abs: --test api")
    else
        step "SKIPPED: integration tests on $dump (not found)"
    fi
done

# The benchmark must keep working; its numbers are never asserted.
step "scripts/bench.sh --smoke   (1000 replies, 2 s per measurement; numbers not checked)"
bash scripts/bench.sh --smoke >/dev/null

step "All checks passed. Test runs, by schema:"
printf '    - %s\n' "${schemas_run[@]}"
