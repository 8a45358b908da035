#!/usr/bin/env bash
# The full check, as CI runs it: formatting, clippy, then unit and
# integration tests against MariaDB (started privately when none answers),
# first on replyd's fixture schema, then on ITFlow's real 2.4.4 dump when
# ../shared/itflow-schema/ is present. Stops at the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/db.sh
. scripts/db.sh

step() { printf '\n==> %s\n' "$*"; }

legacy_dump=../shared/itflow-schema/legacy-keys-2.4.4.sql
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

if [ -f "$legacy_dump" ]; then
    legacy_abs="$(cd "$(dirname "$legacy_dump")" && pwd)/$(basename "$legacy_dump")"
    step "cargo test --test api   (schema: ITFlow 2.4.4 dump, $legacy_abs)"
    REPLYD_TEST_SCHEMA=$legacy_abs cargo test --test api
    schemas_run+=("ITFlow 2.4.4 dump ($legacy_abs): --test api")
else
    step "SKIPPED: integration tests on ITFlow's 2.4.4 dump ($legacy_dump not found)"
fi

step "All checks passed. Test runs, by schema:"
printf '    - %s\n' "${schemas_run[@]}"
