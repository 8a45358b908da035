#!/usr/bin/env bash
# replyd against the database's own limit. For each size: a scratch database
# with the fixture schema seeded with N replies (one ticket with 50, the rest
# about 10 per ticket, 8 clients); read-by-ticket latency before and after
# `replyd doctor --apply`; then each scenario at concurrency 1 and 32,
# driven over HTTP by wrk against release-mode replyd, and the same SQL from
# bench_baseline (same query builder and create transaction, same pool, no
# HTTP), and the HTTP floor between them (bench_baseline serve: actix-web
# running that same SQL and answering fixed bytes, driven by wrk like
# replyd); replyd's peak RSS; CPU time per request of MariaDB, of the
# program measured and of wrk (from /proc and bash's time), which shows
# where each side's requests/s go; database round trips per request,
# counted by a proxy between replyd and MariaDB. Prints a markdown report and writes it
# into BENCHMARKS.md (between the results markers) or --out FILE.
#
#   scripts/bench.sh [--replies N]... [--duration SECS] [--rounds R] [--out FILE]
#   scripts/bench.sh --smoke     # CI: 1000 replies, 2 s, two scenarios, one round
#
# Each measurement is taken R times (default 5), replyd, the floor and the
# baseline in turn (which goes first alternates), and the medians are
# reported: on a small shared machine two runs of the same thing differ by
# 10-30 %, and alternating keeps slow spells from landing on one side.
#
# Numbers are never asserted: the smoke run only has to finish.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/db.sh
. scripts/db.sh

sizes=()
duration=5
rounds=5
out=BENCHMARKS.md
scenarios=(read-ticket v2-read-ticket read-reply read-all create-reply create-status)
smoke=0
while [ $# -gt 0 ]; do
    case $1 in
    --replies) sizes+=("$2"); shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --scenarios) read -ra scenarios <<<"$2"; shift 2 ;;
    --smoke) smoke=1; shift ;;
    *) echo "usage: scripts/bench.sh [--replies N]... [--duration SECS] [--rounds R] [--out FILE] [--scenarios 'a b'] [--smoke]" >&2; exit 2 ;;
    esac
done
target_dir=${CARGO_TARGET_DIR:-target}
if [ $smoke = 1 ]; then
    [ ${#sizes[@]} -gt 0 ] || sizes=(1000)
    duration=2
    rounds=1
    scenarios=(read-ticket v2-read-ticket create-reply)
    [ "$out" != BENCHMARKS.md ] || out=$target_dir/bench-smoke.md
fi
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 100000)

log() { printf '==> %s\n' "$*" >&2; }

replyd_ensure_mariadb
command -v wrk >/dev/null 2>&1 || _replyd_apt_install wrk
command -v curl >/dev/null 2>&1 || _replyd_apt_install curl
if [ $smoke = 1 ]; then
    # The smoke only proves the benchmark runs (its numbers are not
    # checked): skip fat LTO and the single codegen unit, which take most
    # of a cold release build's time, to keep CI short.
    export CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
fi
log "cargo build --release --workspace --bins"
cargo build --release --workspace --bins >&2
bin=$target_dir/release

tmp=$(mktemp -d)
pids=()
dbs=()
cleanup() {
    local p d
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for d in "${dbs[@]}"; do echo "DROP DATABASE IF EXISTS \`$d\`" | replyd_sql || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

server=${REPLYD_TEST_DATABASE_URL%/}
key=globalkey0123456789
bench_ticket=1000  # the ticket with 50 replies
create_ticket=999  # creates go here, so reads see the same rows throughout
pool_max=32
workers=$(($(nproc) / 2))  # replyd's default (`workers = 0`)
[ "$workers" -ge 1 ] || workers=1

# start_replyd DB_URL [ENV=VALUE...]: sets pid and port. Logs at the
# default level (info, one line per request), as in production.
start_replyd() {
    local url=$1 logf
    shift
    logf=$(mktemp "$tmp/replyd.XXXX.log")
    # Rate limits off: the benchmark is one key sending as fast as it can.
    env REPLYD_RATE_LIMIT_PER_SECOND=0 "$@" REPLYD_DATABASE_URL="$url" REPLYD_LISTEN=127.0.0.1:0 \
        REPLYD_DB_POOL_MAX=$pool_max "$bin/replyd" >/dev/null 2>"$logf" &
    pid=$!
    pids+=("$pid")
    port=''
    for _ in $(seq 1 100); do
        port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$logf")
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || { cat "$logf" >&2; return 1; }
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$logf" >&2; return 1; }
}

stop_replyd() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

seed_sql() {
    local n=$1 m step
    step=$((n / 50))
    m=$(((n - 50) / 10))
    [ "$m" -ge 1 ] || m=1
    cat <<SQL
INSERT INTO clients (client_id, client_name, client_currency_code, client_net_terms)
  SELECT 100 + seq, CONCAT('Bench client ', seq), 'USD', 30 FROM seq_1_to_8;
INSERT INTO tickets (ticket_id, ticket_prefix, ticket_number, ticket_subject, ticket_details,
  ticket_status, ticket_created_by, ticket_assigned_to, ticket_client_id, ticket_contact_id) VALUES
  ($create_ticket, 'TCK-', $create_ticket, 'Bench: create target', 'x', 2, 1, 2, 1, 1),
  ($bench_ticket, 'TCK-', $bench_ticket, 'Bench: the 50-reply ticket', 'x', 2, 1, 2, 1, 1);
INSERT INTO tickets (ticket_id, ticket_prefix, ticket_number, ticket_subject, ticket_details,
  ticket_status, ticket_created_by, ticket_assigned_to, ticket_client_id, ticket_contact_id)
  SELECT $bench_ticket + seq, 'TCK-', $bench_ticket + seq, CONCAT('Bench ticket ', seq), 'x',
    2, 1, 2, 101 + seq % 8, 0 FROM seq_1_to_$m;
INSERT INTO ticket_replies (ticket_reply, ticket_reply_type, ticket_reply_created_at,
  ticket_reply_by, ticket_reply_ticket_id)
  SELECT CONCAT('<p>Bench reply ', seq, ': ', REPEAT('lorem ipsum dolor ', 10), '</p>'),
    ELT(1 + seq % 3, 'Internal', 'Public', 'Client'),
    TIMESTAMP '2026-01-01 00:00:00' + INTERVAL seq SECOND,
    IF(seq % 3 = 2, 1, 1 + seq % 2),
    IF(seq % $step = 0, $bench_ticket, $bench_ticket + 1 + seq % $m)
  FROM seq_1_to_$n;
ANALYZE TABLE ticket_replies, tickets;
SQL
}

# ms VALUE: wrk's "1.23ms" / "456.00us" / "1.02s" in milliseconds.
ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
        printf "%.3f", n }'
}

# CPU time used so far by process PID (all its threads), in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
clk_tck=$(getconf CLK_TCK)
TIMEFORMAT='%3U %3S'

# wrk_run PORT SCENARIO CONCURRENCY SECS: prints "rps p50 p99 errors
# requests wrk_cpu_seconds".
# One wrk thread at every concurrency: it drives 32 connections at well
# over 20,000 requests/s, and a second thread would only take CPU from
# replyd and MariaDB on the same machine.
wrk_run() {
    local port=$1 scenario=$2 c=$3 secs=$4 url threads=1 script=() o
    case $scenario in
    read-ticket) url="/api/v1/tickets/replies/read.php?api_key=$key&ticket_id=$bench_ticket" ;;
    v2-read-ticket)
        url="/api/v2/tickets/$bench_ticket/replies?limit=50"
        script=(-H "Authorization: Bearer $key")
        ;;
    read-reply) url="/api/v1/tickets/replies/read.php?api_key=$key&reply_id=$bench_reply" ;;
    read-all) url="/api/v1/tickets/replies/read.php?api_key=$key" ;;
    create-reply | create-status)
        url=/api/v1/tickets/replies/create.php
        script=(-s "$tmp/$scenario.lua")
        ;;
    esac
    { time wrk -t"$threads" -c"$c" -d"${secs}s" --latency "${script[@]}" "http://127.0.0.1:$port$url" >"$tmp/wrk.out"; } 2>"$tmp/wrk.time"
    o=$(cat "$tmp/wrk.out")
    printf '%s %s %s %s %s %s\n' \
        "$(awk '/^Requests\/sec:/ {print $2}' <<<"$o")" \
        "$(ms "$(awk '$1 == "50%" {print $2}' <<<"$o")")" \
        "$(ms "$(awk '$1 == "99%" {print $2}' <<<"$o")")" \
        "$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {n += 1} END {print n + 0}' <<<"$o")" \
        "$(awk '/requests in/ {print $1}' <<<"$o")" \
        "$(awk '{print $1 + $2}' "$tmp/wrk.time")"
}

# base_run DB_URL SCENARIO CONCURRENCY SECS: prints "rps p50 p99 errors
# requests baseline_cpu_seconds".
base_run() {
    { time "$bin/bench_baseline" run --url "$1" --scenario "$2" --concurrency "$3" --duration "$4" \
        --pool-max $pool_max --ticket-id $bench_ticket --reply-id "$bench_reply" \
        --create-ticket-id $create_ticket >"$tmp/base.out"; } 2>"$tmp/base.time"
    printf '%s %s\n' \
        "$(sed 's/requests=\([0-9]*\) rps=\([^ ]*\) p50_ms=\([^ ]*\) p99_ms=\([^ ]*\) errors=\([^ ]*\)/\2 \3 \4 \5 \1/' "$tmp/base.out")" \
        "$(awk '{print $1 + $2}' "$tmp/base.time")"
}

# start_floor DB_URL SCENARIO: the HTTP floor (bench_baseline serve) for
# SCENARIO, answering with replyd's own answer; sets floor_pid, floor_port.
start_floor() {
    "$bin/bench_baseline" serve --url "$1" --scenario "$2" --body-file "$tmp/$2.body" \
        --workers "$workers" --pool-max $pool_max --ticket-id $bench_ticket \
        --reply-id "$bench_reply" --create-ticket-id $create_ticket >"$tmp/floor.out" &
    floor_pid=$!
    pids+=("$floor_pid")
    floor_port=''
    for _ in $(seq 100); do
        floor_port=$(sed -n 's/^listening on port //p' "$tmp/floor.out")
        [ -n "$floor_port" ] && break
        sleep 0.1
    done
    [ -n "$floor_port" ] || { echo "bench: the HTTP floor did not start" >&2; return 1; }
}

# One request of SCENARIO with curl; fails unless it succeeded.
curl_once() {
    local port=$1 scenario=$2 body
    case $scenario in
    read-ticket) body=$(curl -sf "http://127.0.0.1:$port/api/v1/tickets/replies/read.php?api_key=$key&ticket_id=$bench_ticket") ;;
    v2-read-ticket) body=$(curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/api/v2/tickets/$bench_ticket/replies?limit=50") ;;
    read-reply) body=$(curl -sf "http://127.0.0.1:$port/api/v1/tickets/replies/read.php?api_key=$key&reply_id=$bench_reply") ;;
    read-all) body=$(curl -sf "http://127.0.0.1:$port/api/v1/tickets/replies/read.php?api_key=$key") ;;
    create-reply) body=$(curl -sf -d "api_key=$key&ticket_id=$create_ticket&ticket_reply=bench+reply" "http://127.0.0.1:$port/api/v1/tickets/replies/create.php") ;;
    create-status) body=$(curl -sf -d "api_key=$key&ticket_id=$create_ticket&status=2" "http://127.0.0.1:$port/api/v1/tickets/replies/create.php") ;;
    esac
    [[ $body == '{"success":"True"'* || $body == '{"data":[{'* ]] || { echo "bench: $scenario answered: $body" >&2; return 1; }
    printf '%s' "$body" >"$tmp/$scenario.body"
}

cat >"$tmp/create-reply.lua" <<LUA
wrk.method = "POST"
wrk.body = "api_key=$key&ticket_id=$create_ticket&ticket_reply=bench+reply"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
cat >"$tmp/create-status.lua" <<LUA
wrk.method = "POST"
wrk.body = "api_key=$key&ticket_id=$create_ticket&status=2"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

# medians "RPS P50 P99 [CPU µs...]"...: the median of each column (of the
# middle two for an even count).
medians() {
    printf '%s\n' "$@" | awk '
        { for (i = 1; i <= NF; i++) v[i, NR] = $i; if (NF > nf) nf = NF }
        END {
            for (i = 1; i <= nf; i++) {
                for (a = 1; a <= NR; a++) x[a] = v[i, a]
                for (a = 2; a <= NR; a++) for (b = a; b > 1 && x[b - 1] > x[b]; b--) { t = x[b]; x[b] = x[b - 1]; x[b - 1] = t }
                m = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
                printf (i == 1 ? "%.1f" : i <= 3 ? " %.3f" : " %.0f"), m
            }
            print ""
        }'
}

# per_request REQUESTS TICKS SECONDS: CPU µs per request, from clock ticks
# (of /proc/PID/stat) plus seconds (of `time`).
per_request() {
    awk -v n="$1" -v t="$2" -v s="$3" -v hz="$clk_tck" 'BEGIN { printf "%.0f", (n > 0 ? (t / hz + s) * 1e6 / n : 0) }'
}

# The database server's pid, for its CPU time per request (`n/a` where its
# pid file cannot be read).
mariadb_pid=$(cat "$(echo 'SELECT @@pid_file' | replyd_sql | tail -1)" 2>/dev/null || true)
db_ticks() { if [ -n "$mariadb_pid" ]; then cpu_ticks "$mariadb_pid"; else echo 0; fi; }

# measure SIDE SCENARIO C: one measurement of SIDE (replyd, floor or
# baseline); prints "rps p50 p99 errors db_us program_us wrk_us", the last
# three CPU µs per request of MariaDB, of the program measured and of wrk.
measure() {
    local side=$1 scenario=$2 c=$3 d0 d1 p0=0 p1=0 rps p50 p99 err req secs
    d0=$(db_ticks)
    case $side in
    replyd) p0=$(cpu_ticks "$pid"); read -r rps p50 p99 err req secs < <(wrk_run "$port" "$scenario" "$c" "$duration"); p1=$(cpu_ticks "$pid") ;;
    floor) p0=$(cpu_ticks "$floor_pid"); read -r rps p50 p99 err req secs < <(wrk_run "$floor_port" "$scenario" "$c" "$duration"); p1=$(cpu_ticks "$floor_pid") ;;
    baseline) read -r rps p50 p99 err req secs < <(base_run "$url" "$scenario" "$c" "$duration") ;;
    esac
    d1=$(db_ticks)
    if [ "$side" = baseline ]; then
        echo "$rps $p50 $p99 $err $(per_request "$req" $((d1 - d0)) 0) $(per_request "$req" 0 "$secs") 0"
    else
        echo "$rps $p50 $p99 $err $(per_request "$req" $((d1 - d0)) 0) $(per_request "$req" $((p1 - p0)) 0) $(per_request "$req" 0 "$secs")"
    fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

report=$tmp/report.md
scaling=$tmp/scaling.md
trips=$tmp/trips.md
cpu_table=$tmp/cpu.md
{
    echo "| replies | scenario | conc. | replyd run: MariaDB | replyd | wrk | floor run: MariaDB | floor | wrk | baseline run: MariaDB | baseline |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$cpu_table"
{
    echo "| replies | scenario | conc. | replyd req/s | replyd p50 ms | replyd p99 ms | baseline req/s | baseline p50 ms | baseline p99 ms | req/s ratio | ratio by round | p99 ratio | HTTP floor req/s | floor ratio | floor p99 ms | target |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |"
} >"$report"
{
    echo "| replies | index | replyd req/s (c=1) | replyd p50 ms | replyd p99 ms | baseline p50 ms | baseline p99 ms |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
} >"$scaling"
{
    echo "| replies | scenario | key cache | requests | commands sent to MariaDB (by kind) | round trips per request |"
    echo "| ---: | --- | --- | ---: | --- | ---: |"
} >"$trips"
v2_table=$tmp/v2.md
{
    echo "| replies | conc. | v1 read.php req/s | v1 p99 ms | v2 req/s | v2 p99 ms | v2 ÷ v1 | by round | target ≥ 1.00 |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
} >"$v2_table"
rss_lines=()

for n in "${sizes[@]}"; do
    db=replyd_bench_$$_$n
    dbs+=("$db")
    url=$server/$db
    log "seeding $db with $n replies"
    echo "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci" | replyd_sql
    t0=$(date +%s)
    { cat compat-tests/fixtures/schema.sql compat-tests/fixtures/seed.sql compat-tests/fixtures/seed-client-keys.sql; seed_sql "$n"; } | replyd_sql "$db" >/dev/null
    log "seeded in $(($(date +%s) - t0)) s"
    bench_reply=$(echo "SELECT MAX(ticket_reply_id) FROM ticket_replies WHERE ticket_reply_ticket_id = $bench_ticket" | replyd_sql "$db" | tail -1)

    # Read by ticket without, then with, the index.
    for phase in without with; do
        if [ $phase = with ]; then
            log "replyd doctor --apply"
            REPLYD_DATABASE_URL=$url "$bin/replyd" doctor --apply >&2
            echo "ANALYZE TABLE ticket_replies" | replyd_sql "$db" >/dev/null
        fi
        start_replyd "$url"
        curl_once "$port" read-ticket
        read -r r p50 p99 _ < <(wrk_run "$port" read-ticket 1 "$duration")
        read -r _ bp50 bp99 _ < <(base_run "$url" read-ticket 1 "$duration")
        echo "| $n | $phase | $r | $p50 | $p99 | $bp50 | $bp99 |" >>"$scaling"
        log "read-ticket, $phase index: replyd $r req/s p50 $p50 ms; baseline p50 $bp50 ms"
        if [ $phase = without ]; then stop_replyd; fi
    done

    # Every scenario against replyd (still running, index present) and the baseline.
    for scenario in "${scenarios[@]}"; do
        curl_once "$port" "$scenario"
        start_floor "$url" "$scenario"
        for c in 1 32; do
            mine=() theirs=() floors=() rounds_rr=() e=0 be=0
            for ((k = 1; k <= rounds; k++)); do
                order='replyd floor baseline'
                ((k % 2)) || order='baseline floor replyd'
                for side in $order; do
                    read -r x1 x2 x3 x4 x5 x6 x7 < <(measure "$side" "$scenario" "$c")
                    case $side in
                    replyd) mine+=("$x1 $x2 $x3 $x5 $x6 $x7"); e=$((e + x4)) ;;
                    floor) floors+=("$x1 $x2 $x3 $x5 $x6 $x7"); be=$((be + x4)) ;;
                    baseline) theirs+=("$x1 $x2 $x3 $x5 $x6"); be=$((be + x4)) ;;
                    esac
                done
                rounds_rr+=("$(ratio "${mine[-1]%% *}" "${theirs[-1]%% *}")")
            done
            read -r r p50 p99 rdb rme rwrk < <(medians "${mine[@]}")
            read -r br bp50 bp99 bdb bme < <(medians "${theirs[@]}")
            read -r fr _ fp99 fdb fme fwrk < <(medians "${floors[@]}")
            [ -n "$mariadb_pid" ] || rdb=n/a fdb=n/a bdb=n/a
            echo "| $n | $scenario | $c | $rdb | $rme | $rwrk | $fdb | $fme | $fwrk | $bdb | $bme |" >>"$cpu_table"
            rr=$(ratio "$r" "$br")
            fratio=$(ratio "$fr" "$br")
            pr=$(ratio "$p99" "$bp99")
            case $scenario in
            read-ticket | v2-read-ticket) want=0.80 ;;
            create-*) want=0.70 ;;
            *) want='' ;;
            esac
            verdict=''
            if [ -n "$want" ]; then
                verdict=$(awk -v r="$rr" -v w="$want" 'BEGIN { print (r >= w ? "req/s ok" : "req/s MISS") }')
            fi
            if [ "$c" = 32 ]; then
                verdict="$verdict${verdict:+, }$(awk -v p="$pr" 'BEGIN { print (p <= 2 ? "p99 ok" : "p99 MISS") }')"
            fi
            [ "$e" = 0 ] && [ "$be" = 0 ] || verdict="$verdict (errors: replyd $e, baseline or floor $be)"
            echo "| $n | $scenario | $c | $r | $p50 | $p99 | $br | $bp50 | $bp99 | $rr | ${rounds_rr[*]} | $pr | $fr | $fratio | $fp99 | $verdict |" >>"$report"
            log "$scenario c=$c: replyd $r req/s p99 $p99 ms; baseline $br req/s p99 $bp99 ms; HTTP floor $fr req/s p99 $fp99 ms"
        done
        kill "$floor_pid"; wait "$floor_pid" 2>/dev/null || true
    done
    # v2's read by ticket against v1's, on the same replyd, in turns
    # (which goes first alternates): the target is v2 at least as fast.
    if [[ " ${scenarios[*]} " == *" v2-read-ticket "* && " ${scenarios[*]} " == *" read-ticket "* ]]; then
        for c in 1 32; do
            v1s=() v2s=() by_round=()
            for ((k = 1; k <= rounds; k++)); do
                order='read-ticket v2-read-ticket'
                ((k % 2)) || order='v2-read-ticket read-ticket'
                for scenario in $order; do
                    read -r x1 x2 x3 _ < <(wrk_run "$port" "$scenario" "$c" "$duration")
                    if [ "$scenario" = read-ticket ]; then v1s+=("$x1 $x2 $x3"); else v2s+=("$x1 $x2 $x3"); fi
                done
                by_round+=("$(ratio "${v2s[-1]%% *}" "${v1s[-1]%% *}")")
            done
            read -r r1 _ p1 < <(medians "${v1s[@]}")
            read -r r2 _ p2 < <(medians "${v2s[@]}")
            vr=$(ratio "$r2" "$r1")
            verdict=$(awk -v r="$vr" 'BEGIN { print (r >= 1 ? "ok" : "MISS") }')
            echo "| $n | $c | $r1 | $p1 | $r2 | $p2 | $vr | ${by_round[*]} | $verdict |" >>"$v2_table"
            log "v2 vs v1 read by ticket c=$c: v1 $r1 req/s, v2 $r2 req/s (ratio $vr)"
        done
    fi
    rss_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    rss_lines+=("| $n | $((rss_kb / 1024)) MB ($rss_kb kB) |")
    stop_replyd

    # Round trips: replyd behind a counting proxy; 20 warm-up requests, then 100 counted.
    "$bin/bench_baseline" count-proxy --listen 0 --stats 0 \
        --upstream "${server#mysql://*@}" >"$tmp/proxy.out" &
    proxy_pid=$!
    pids+=("$proxy_pid")
    for _ in $(seq 50); do [ -s "$tmp/proxy.out" ] && break; sleep 0.1; done
    proxy_port=$(sed -n 's/^listen=\([0-9]*\) .*/\1/p' "$tmp/proxy.out")
    stats_port=$(sed -n 's/.* stats=\([0-9]*\)$/\1/p' "$tmp/proxy.out")
    proxied=mysql://${server#mysql://}
    # prefer_socket=false: else mysql_async moves to MariaDB's Unix socket
    # and the proxy sees nothing.
    proxied="${proxied%@*}@127.0.0.1:$proxy_port/$db?prefer_socket=false"
    counts() { exec 3<>"/dev/tcp/127.0.0.1/$stats_port"; cat <&3; exec 3<&-; }
    for ttl in 5 0; do
        start_replyd "$proxied" REPLYD_KEY_CACHE_TTL_SECS=$ttl
        for scenario in "${scenarios[@]}"; do
            [ $ttl = 0 ] && [ "$scenario" != read-ticket ] && continue
            for _ in $(seq 20); do curl_once "$port" "$scenario"; done
            before=$(counts)
            for _ in $(seq 100); do curl_once "$port" "$scenario"; done
            after=$(counts)
            per=$(awk -v b="$before" -v a="$after" 'BEGIN {
                nb = split(b, xb, " "); for (i = 1; i <= nb; i++) { split(xb[i], kv, "="); B[kv[1]] = kv[2] }
                na = split(a, xa, " "); for (i = 1; i <= na; i++) { split(xa[i], kv, "="); d = kv[2] - B[kv[1]]
                    if (d > 0) { s = s (s ? ", " : "") kv[1] " " d; if (kv[1] != "stmt_close" && kv[1] != "quit") rt += d } }
                printf "%s|%.2f", (s ? s : "none"), rt / 100 }')
            cache="ttl ${ttl} s"
            [ $ttl = 0 ] && cache="off (ttl 0)"
            echo "| $n | $scenario | $cache | 100 | ${per%|*} | ${per#*|} |" >>"$trips"
        done
        stop_replyd
    done
    kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true

    echo "DROP DATABASE IF EXISTS \`$db\`" | replyd_sql
done

workers_note="$workers HTTP worker thread(s), the default for $(nproc) CPUs"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
mariadb=$(echo "SELECT VERSION()" | replyd_sql | tail -1)
result=$tmp/result.md
{
    echo "<!-- results begin: generated by scripts/bench.sh; do not edit by hand -->"
    echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'): sizes ${sizes[*]}; each measurement $rounds × ${duration} s, replyd, the HTTP floor and the baseline in turns, medians shown."
    echo "Machine: $(nproc) CPUs ($cpu), $mem RAM, $(uname -sr), MariaDB $mariadb on the same machine;"
    echo "wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}') (one thread), replyd ($workers_note) and bench_baseline release builds, pool of $pool_max connections."
    echo
    echo "### replyd vs the database limit"
    echo
    cat "$report"
    echo
    echo "Targets: read by ticket_id ≥ 0.80 of the baseline's req/s, create ≥ 0.70, p99 at concurrency 32 ≤ 2× the baseline's."
    echo "HTTP floor: actix-web with the same workers running the same SQL and answering replyd's answer as fixed bytes (\`bench_baseline serve\`); floor ratio = floor req/s ÷ baseline req/s, the most any actix-web + mysql_async service could reach here; floor p99 is the tail HTTP alone adds."
    echo
    echo "### v2 read by ticket against v1's"
    echo
    cat "$v2_table"
    echo
    echo "The same replyd, the same ticket's 50 replies: v1's read.php?ticket_id (every column, every value a string) and v2's GET /api/v2/tickets/{id}/replies?limit=50 (typed JSON), driven by wrk in turns, rate limits off."
    echo
    echo "### Where the CPU goes: CPU µs per request (medians)"
    echo
    cat "$cpu_table"
    echo
    echo "MariaDB's CPU time (all its threads, from /proc) and each program's own, over each measurement, divided by the requests it completed; wrk's from bash's time. Every program shares the same $(nproc) CPUs, so at concurrency 32, where they are saturated, the sum of a row's three is about $(nproc) CPU-seconds ÷ req/s."
    echo
    echo "### Peak RSS of replyd (VmHWM, after every scenario above)"
    echo
    echo "| replies | peak RSS |"
    echo "| ---: | ---: |"
    printf '%s\n' "${rss_lines[@]}"
    echo
    echo "### Read by ticket_id as the table grows, without and with the index"
    echo
    cat "$scaling"
    echo
    echo "### Database round trips per request"
    echo
    cat "$trips"
    echo "<!-- results end -->"
} >"$result"
cat "$result"

if [ -f "$out" ] && grep -q '^<!-- results begin' "$out"; then
    awk -v f="$result" '
        /^<!-- results begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
        /^<!-- results end/ { skip = 0; next }
        !skip { print }' "$out" >"$tmp/out.md"
    cat "$tmp/out.md" >"$out"
else
    mkdir -p "$(dirname "$out")"
    cp "$result" "$out"
fi
log "written to $out"
