#!/usr/bin/env bash
# The full check, as CI runs it: formatting, clippy, then unit and
# integration tests against MariaDB (started privately when none answers),
# first on replyd's fixture schema, then on ITFlow's real 2.4.4 dump when
# ../shared/itflow-schema/ is present; then the benchmark in smoke mode.
# Stops at the first failure.
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

# The benchmark must keep working; its numbers are never asserted.
step "scripts/bench.sh --smoke   (1000 replies, 2 s per measurement; numbers not checked)"
bash scripts/bench.sh --smoke >/dev/null

step "All checks passed. Test runs, by schema:"
printf '    - %s\n' "${schemas_run[@]}"
