# shellcheck shell=bash
# Database helpers for replyd's scripts. Source it, do not run it:
#
#   . scripts/db.sh
#   replyd_ensure_mariadb            # exports REPLYD_TEST_DATABASE_URL
#   echo 'SELECT 1' | replyd_sql     # SQL from stdin, no database
#   replyd_sql mydb < file.sql       # SQL from stdin, in database mydb
#
# replyd_ensure_mariadb picks, in order:
#   1. REPLYD_TEST_DATABASE_URL when already set (used as is);
#   2. mysql://root@127.0.0.1:3306 when it answers as root with no password;
#   3. a private, throwaway mariadbd (installed with apt-get when missing) on
#      a free 127.0.0.1 port, stopped and deleted when the shell exits.
# REPLYD_FORCE_PRIVATE_DB=1 skips 1 and 2 (to test the private path).

# State of the private server, kept when this file is sourced again by the
# same shell (never taken from the environment).
if [[ $(declare -p REPLYD_PRIVATE_DB_DIR 2>/dev/null) != "declare -- "* ]]; then
    unset REPLYD_PRIVATE_DB_DIR REPLYD_PRIVATE_DB_PID _REPLYD_PRIVATE_URL
    REPLYD_PRIVATE_DB_DIR=''
    REPLYD_PRIVATE_DB_PID=''
fi

_replyd_log() { printf 'db.sh: %s\n' "$*" >&2; }

# apt-get install as root (or through sudo), never prompting.
_replyd_apt_install() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            _replyd_log "need root (or sudo) to install: $*"
            return 1
        fi
    fi
    _replyd_log "installing $* with apt-get"
    # Installing a server package (mariadb-server, nginx) must not start a
    # system daemon (a second MariaDB, nginx on port 80): without a
    # policy-rc.d, add one that refuses service starts during the install.
    local policy=/usr/sbin/policy-rc.d added='' rc=0
    if [ ! -e "$policy" ] &&
        printf '#!/bin/sh\n# added by replyd scripts/db.sh during apt-get install\nexit 101\n' |
        "${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod 755 "$policy"; then
        added=1
    fi
    { "${sudo[@]}" apt-get update -qq </dev/null &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq "$@" </dev/null >/dev/null; } || rc=$?
    if [ -n "$added" ]; then
        "${sudo[@]}" rm -f "$policy"
    fi
    if [ "$rc" -ne 0 ]; then
        _replyd_log "apt-get could not install $*"
        return 1
    fi
}

# replyd_ensure_exe PACKAGE NAME_OR_PATH...: prints the path of the first
# executable found (names in PATH, absolute paths as given), installing
# PACKAGE with apt-get when there is none.
replyd_ensure_exe() {
    local package=$1 found
    shift
    if found=$(_replyd_find_exe "$@"); then
        printf '%s\n' "$found"
        return 0
    fi
    _replyd_apt_install "$package" >&2 || return 1
    _replyd_find_exe "$@"
}

# Prints the path of the first executable among the names (looked up in
# PATH) and absolute paths given; fails when there is none. (`command -v`
# alone may print a file that is not executable.)
_replyd_find_exe() {
    local name path
    for name in "$@"; do
        if [[ $name == /* ]]; then
            path=$name
        else
            path=$(type -P "$name" 2>/dev/null) || continue
        fi
        if [ -f "$path" ] && [ -x "$path" ]; then
            printf '%s\n' "$path"
            return 0
        fi
    done
    return 1
}

# Prints the path of the MariaDB/MySQL client, installing one when none exists.
_replyd_client() {
    _replyd_find_exe mariadb mysql && return 0
    _replyd_apt_install mariadb-client >&2 || return 1
    _replyd_find_exe mariadb mysql
}

# True when something accepts TCP connections on 127.0.0.1:$1.
_replyd_port_open() {
    timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Percent-decoding for URL user names and passwords.
_replyd_urldecode() {
    local s=${1//\\/\\\\}
    printf '%b' "${s//%/\\x}"
}

# Splits a mysql:// URL into the globals _REPLYD_HOST, _REPLYD_PORT,
# _REPLYD_USER, _REPLYD_PASS (any database path or ?query is ignored).
_replyd_parse_url() {
    local url=$1 rest auth hostport
    case $url in
        mysql://* | mariadb://*) rest=${url#*://} ;;
        *)
            _replyd_log "not a mysql:// URL: $url"
            return 1
            ;;
    esac
    rest=${rest%%\?*}
    rest=${rest%%/*}
    if [[ $rest == *@* ]]; then
        auth=${rest%@*}
        hostport=${rest##*@}
    else
        auth=''
        hostport=$rest
    fi
    if [[ $auth == *:* ]]; then
        _REPLYD_USER=$(_replyd_urldecode "${auth%%:*}")
        _REPLYD_PASS=$(_replyd_urldecode "${auth#*:}")
    else
        _REPLYD_USER=$(_replyd_urldecode "${auth:-root}")
        _REPLYD_PASS=''
    fi
    if [[ $hostport == \[* ]]; then # [::1]:3306
        _REPLYD_HOST=${hostport#\[}
        _REPLYD_HOST=${_REPLYD_HOST%%\]*}
        _REPLYD_PORT=${hostport##*\]}
        _REPLYD_PORT=${_REPLYD_PORT#:}
    elif [[ $hostport == *:* ]]; then
        _REPLYD_HOST=${hostport%:*}
        _REPLYD_PORT=${hostport##*:}
    else
        _REPLYD_HOST=$hostport
        _REPLYD_PORT=''
    fi
    _REPLYD_HOST=${_REPLYD_HOST:-127.0.0.1}
    _REPLYD_PORT=${_REPLYD_PORT:-3306}
}

# replyd_sql [DATABASE]: runs the SQL on stdin against the server of
# REPLYD_TEST_DATABASE_URL (over TCP, ignoring ~/.my.cnf), in DATABASE if given.
replyd_sql() {
    local client
    if [ -z "${REPLYD_TEST_DATABASE_URL-}" ]; then
        _replyd_log "replyd_sql: REPLYD_TEST_DATABASE_URL is not set; call replyd_ensure_mariadb first"
        return 1
    fi
    _replyd_parse_url "$REPLYD_TEST_DATABASE_URL" || return 1
    client=$(_replyd_client) || return 1
    MYSQL_PWD=$_REPLYD_PASS "$client" --no-defaults --protocol=TCP \
        --host="$_REPLYD_HOST" --port="$_REPLYD_PORT" --user="$_REPLYD_USER" \
        --default-character-set=utf8mb4 --batch --connect-timeout=10 \
        ${1:+--database="$1"}
}

# True when mysql://root@127.0.0.1:$1 (no password) runs SELECT 1. Without a
# client installed, an open port has to do.
_replyd_root_answers() {
    local port=$1 client
    _replyd_port_open "$port" || return 1
    client=$(_replyd_find_exe mariadb mysql) || return 0
    MYSQL_PWD='' "$client" --no-defaults --protocol=TCP --host=127.0.0.1 \
        --port="$port" --user=root --connect-timeout=5 \
        --batch --skip-column-names -e 'SELECT 1' </dev/null >/dev/null 2>&1
}

# Stops the private server (if this shell started one) and deletes its files.
replyd_stop_private_mariadb() {
    local dir=${REPLYD_PRIVATE_DB_DIR-} pid=${REPLYD_PRIVATE_DB_PID-} i
    [[ $dir == */replyd-mariadb.* ]] || return 0
    if [ -f "$dir/mariadbd.pid" ]; then
        pid=$(cat "$dir/mariadbd.pid" 2>/dev/null || printf '%s' "$pid")
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do # up to 30 s, then force
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
        fi
    fi
    rm -rf -- "$dir"
    _replyd_log "stopped the private MariaDB server and deleted $dir"
    if [ "${REPLYD_TEST_DATABASE_URL-}" = "${_REPLYD_PRIVATE_URL-}" ]; then
        unset REPLYD_TEST_DATABASE_URL
    fi
    REPLYD_PRIVATE_DB_DIR=''
    REPLYD_PRIVATE_DB_PID=''
}

# Starts mariadbd on $1 with the datadir under REPLYD_PRIVATE_DB_DIR; returns
# 0 once it answers on its socket, 2 when the port was taken, 1 otherwise.
_replyd_start_mariadbd() {
    local port=$1 dir=$REPLYD_PRIVATE_DB_DIR mariadbd=$2 client=$3 i
    : >"$dir/error.log"
    # setsid: a terminal's Ctrl-C reaches the scripts, not the server; the
    # EXIT trap stops it. -w keeps $! alive as long as the server if setsid
    # had to fork (an interactive shell with job control).
    setsid -w "$mariadbd" --no-defaults --user=root \
        --datadir="$dir/data" --socket="$dir/mariadbd.sock" --tmpdir="$dir" \
        --pid-file="$dir/mariadbd.pid" --log-error="$dir/error.log" \
        --bind-address=127.0.0.1 --port="$port" --skip-name-resolve \
        --max-connections=1000 --innodb-buffer-pool-size=128M \
        --innodb-flush-log-at-trx-commit=2 \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        </dev/null >>"$dir/error.log" 2>&1 &
    REPLYD_PRIVATE_DB_PID=$!
    for ((i = 0; i < 600; i++)); do # up to 60 s
        if ! kill -0 "$REPLYD_PRIVATE_DB_PID" 2>/dev/null; then
            grep -qiE 'address already in use|bind on tcp/ip port' "$dir/error.log" && return 2
            return 1
        fi
        if [ -S "$dir/mariadbd.sock" ] &&
            "$client" --no-defaults --socket="$dir/mariadbd.sock" --user=root \
                --batch --skip-column-names -e 'SELECT 1' </dev/null >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    _replyd_log "mariadbd did not answer within 60 s"
    kill -KILL "$REPLYD_PRIVATE_DB_PID" 2>/dev/null || true
    return 1
}

# Installs (if needed) and starts a throwaway mariadbd; exports its URL.
_replyd_start_private_mariadb() {
    local mariadbd install_db client port attempt rc=1 trap_cmd
    if ! _replyd_find_exe mariadbd /usr/sbin/mariadbd >/dev/null; then
        _replyd_apt_install mariadb-server || return 1
    fi
    mariadbd=$(_replyd_find_exe mariadbd /usr/sbin/mariadbd) || mariadbd=''
    install_db=$(_replyd_find_exe mariadb-install-db mysql_install_db \
        /usr/bin/mariadb-install-db) || install_db=''
    if [ -z "$mariadbd" ] || [ -z "$install_db" ]; then
        _replyd_log "mariadbd or mariadb-install-db not found even after installing mariadb-server"
        return 1
    fi
    client=$(_replyd_client) || return 1

    REPLYD_PRIVATE_DB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/replyd-mariadb.XXXXXX") || return 1
    # Cleanup on any exit; INT/TERM/HUP turn into an exit so that it runs.
    trap_cmd=$(trap -p EXIT)
    if [ -n "$trap_cmd" ] && [[ $trap_cmd != *replyd_stop_private_mariadb* ]]; then
        _replyd_log "note: replacing an existing EXIT trap ($trap_cmd)"
    fi
    trap replyd_stop_private_mariadb EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP

    _replyd_log "starting a private MariaDB server in $REPLYD_PRIVATE_DB_DIR"
    # --tmpdir of its own: a mariadbd starting up deletes stray #sql* files in
    # its tmpdir, which in /tmp would be another server's live temporary tables.
    if ! "$install_db" --no-defaults --user=root --datadir="$REPLYD_PRIVATE_DB_DIR/data" \
        --tmpdir="$REPLYD_PRIVATE_DB_DIR" \
        --auth-root-authentication-method=normal --skip-test-db \
        </dev/null >"$REPLYD_PRIVATE_DB_DIR/install.log" 2>&1; then
        _replyd_log "mariadb-install-db failed:"
        tail -n 20 "$REPLYD_PRIVATE_DB_DIR/install.log" >&2
        replyd_stop_private_mariadb
        return 1
    fi

    # A free port: start at a random one in 3307..3806 so parallel runs rarely
    # collide, skip ports in use, retry when the bind still fails.
    port=$((3307 + RANDOM % 500))
    for ((attempt = 0; attempt < 20; attempt++)); do
        while _replyd_port_open "$port"; do port=$((port + 1)); done
        _replyd_start_mariadbd "$port" "$mariadbd" "$client" && rc=0 || rc=$?
        [ "$rc" -eq 2 ] || break
        port=$((port + 1))
    done
    if [ "$rc" -ne 0 ]; then
        _replyd_log "the private MariaDB server failed to start; its log:"
        tail -n 30 "$REPLYD_PRIVATE_DB_DIR/error.log" >&2
        replyd_stop_private_mariadb
        return 1
    fi

    # mariadb-install-db normally creates root@127.0.0.1 with no password;
    # make sure of it, then check the URL the tests will use.
    "$client" --no-defaults --socket="$REPLYD_PRIVATE_DB_DIR/mariadbd.sock" --user=root --batch \
        -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
            GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" </dev/null >&2 || true
    if ! _replyd_root_answers "$port"; then
        _replyd_log "the private MariaDB server does not accept root over TCP on port $port"
        replyd_stop_private_mariadb
        return 1
    fi
    _REPLYD_PRIVATE_URL="mysql://root@127.0.0.1:$port"
    export REPLYD_TEST_DATABASE_URL=$_REPLYD_PRIVATE_URL
    _replyd_log "using a private MariaDB server at $REPLYD_TEST_DATABASE_URL (pid $REPLYD_PRIVATE_DB_PID, stopped on exit)"
}

# Makes sure a MariaDB server answers; exports REPLYD_TEST_DATABASE_URL.
replyd_ensure_mariadb() {
    if [ -n "${REPLYD_PRIVATE_DB_DIR-}" ] && [ -n "${_REPLYD_PRIVATE_URL-}" ]; then
        export REPLYD_TEST_DATABASE_URL=$_REPLYD_PRIVATE_URL
        return 0 # this shell's private server is already running
    fi
    if [ "${REPLYD_FORCE_PRIVATE_DB-}" = 1 ]; then
        _replyd_log "REPLYD_FORCE_PRIVATE_DB=1: not using any existing server"
    elif [ -n "${REPLYD_TEST_DATABASE_URL-}" ]; then
        export REPLYD_TEST_DATABASE_URL
        _replyd_log "using the MariaDB server from REPLYD_TEST_DATABASE_URL: $REPLYD_TEST_DATABASE_URL"
        return 0
    elif _replyd_root_answers 3306; then
        export REPLYD_TEST_DATABASE_URL=mysql://root@127.0.0.1:3306
        _replyd_log "using the MariaDB server at $REPLYD_TEST_DATABASE_URL"
        return 0
    else
        _replyd_log "no MariaDB answers as root at 127.0.0.1:3306"
    fi
    _replyd_start_private_mariadb
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    printf 'scripts/db.sh defines functions; source it: . scripts/db.sh\n' >&2
    exit 2
fi
