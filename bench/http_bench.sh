#!/bin/bash
# Licensed under the Apache License, Version 2.0 (see COPYING).
#
# HTTP benchmark of mod_apitoken against no authentication and httpd's own
# authentication, with wrk.  Prints a table; asserts nothing.
#
#   sudo bench/http_bench.sh            (from a built tree; needs root for
#                                        User www-data and PostgreSQL)
#
# Environment: ROUNDS (3), SECS (3, per scenario and round), CONNS (16),
# MEM_REQUESTS (1000000), MEM_MAX_SECS (180), TRIALS (20), BIG (1000000),
# UNKNOWN_N (4000 distinct unknown ids in the flood), NO_PG=1 skips
# PostgreSQL.  Everything runs on 127.0.0.1 from a private
# directory under /tmp that is removed at the end.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
MODULE=${APITOKEN_MODULE:-$TOP/mod_apitoken/.libs/mod_apitoken.so}
TOOL=$TOP/tools/apitoken
MODDIR=/usr/lib/apache2/modules
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
CONNS=${CONNS:-16}
MEM_REQUESTS=${MEM_REQUESTS:-1000000}
MEM_MAX_SECS=${MEM_MAX_SECS:-180}
TRIALS=${TRIALS:-20}
BIG=${BIG:-1000000}
PG_BIN=${APITOKEN_PG_BIN:-/usr/lib/postgresql/15/bin}

for x in wrk htpasswd sqlite3 curl /usr/sbin/apache2 "$TOOL" "$MODULE"; do
    command -v "$x" >/dev/null 2>&1 || [ -e "$x" ] \
        || { echo "missing: $x" >&2; exit 2; }
done

W=$(mktemp -d /tmp/apitoken-bench.XXXXXX)
chmod 755 "$W"
PIDS=()
PGDATA=""
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    sleep 1
    for p in "${PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    if [ -n "$PGDATA" ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w \
            stop >/dev/null 2>&1
    fi
    rm -rf "$W"
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); \
s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- stores -----------------------------------------------------------
sqlite_store() {   # DIR -> prints the URL; the directory belongs to www-data
    mkdir -p "$1"
    "$TOOL" --db "sqlite3://$1/tokens.db" init >/dev/null || exit 3
    echo "sqlite3://$1/tokens.db"
}

new_token() {      # URL NAME -> prints "ID TOKEN"
    "$TOOL" --db "$1" --json create --owner alice --name "$2" --scope dns \
        | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); \
print(d["id"], d["token"])'
}

# Rows 'apitoken init'-compatible; ids b00000000001..., digest valid hex.
fill_sqlite() {    # DB N
    sqlite3 "$1" >/dev/null <<EOF
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO apitoken_tokens (id, owner, name, digest, scopes, full_access,
  created_at, expires_at, revoked_at, last_used_at, last_used_addr,
  allowed_nets, description, prev_digest, prev_until)
SELECT printf('b%011d', i), 'bulk', 'n' || i, printf('%064d', i), 'dns', 0,
  1700000000, 0, 0, 0, '', '', '', '', 0 FROM n;
COMMIT;
EOF
}

DBUSER=$W/users
mkdir -p "$DBUSER"
BIGDIR=$W/big SMALLDIR=$W/small MAINDIR=$W/main
MAIN_URL=$(sqlite_store "$MAINDIR")
read -r TID TOKEN <<<"$(new_token "$MAIN_URL" bench)"
read -r GONE_ID GONE <<<"$(new_token "$MAIN_URL" gone)"
"$TOOL" --db "$MAIN_URL" delete "$GONE_ID" >/dev/null
# Well-formed tokens (right prefix, length and checksum) with ids no store
# holds, rotated by wrk so the flood measures the negative cache, not one
# hot entry.
UNKNOWN_N=${UNKNOWN_N:-4000}
/usr/bin/python3 - "${TOKEN%%_*}" "$UNKNOWN_N" >"$W/unknown.txt" <<'PYEOF'
import secrets, sys, zlib
b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
prefix, n = sys.argv[1], int(sys.argv[2])
for _ in range(n):
    body = prefix + "_" + "".join(secrets.choice(b62) for _ in range(44))
    v, sum_ = zlib.crc32(body.encode()), ""
    for _ in range(6):
        sum_ = b62[v % 62] + sum_
        v //= 62
    print(body + sum_)
PYEOF
cat >"$W/unknown.lua" <<LUAEOF
local toks, i = {}, 0
for line in io.lines("$W/unknown.txt") do toks[#toks + 1] = line end
function init(args)
    math.randomseed(os.time() + math.random(1000))
    i = math.random(#toks)
end
function request()
    i = i % #toks + 1
    return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. toks[i]})
end
LUAEOF
# The same token with its last checksum character changed.
last=${TOKEN: -1}
[ "$last" = "A" ] && sub=B || sub=A
BADCK=${TOKEN%?}$sub

echo "filling stores of 1,000 and $BIG tokens..." >&2
SMALL_URL=$(sqlite_store "$SMALLDIR")
fill_sqlite "$SMALLDIR/tokens.db" 999
read -r _ SMALLTOK <<<"$(new_token "$SMALL_URL" probe)"
BIG_URL=$(sqlite_store "$BIGDIR")
t0=$(date +%s)
fill_sqlite "$BIGDIR/tokens.db" $((BIG - 1))
read -r _ BIGTOK <<<"$(new_token "$BIG_URL" probe)"
echo "  $BIG rows in $(( $(date +%s) - t0 )) s" >&2

# Basic users: SHA1 and bcrypt in files, SHA1 in SQLite for mod_authn_dbd.
htpasswd -cbs "$DBUSER/sha1" bob secretpw 2>/dev/null
htpasswd -cbB "$DBUSER/bcrypt" bob secretpw 2>/dev/null
SHA1_HASH=$(cut -d: -f2 "$DBUSER/sha1")
sqlite3 "$DBUSER/users.db" "CREATE TABLE users (user TEXT PRIMARY KEY, \
password TEXT); INSERT INTO users VALUES ('bob', '$SHA1_HASH');"
BASIC="Basic $(printf bob:secretpw | base64)"
chown -R www-data:www-data "$W"

# --- httpd ------------------------------------------------------------
start_httpd() {    # NAME DB_URL [MAXCHILDREN] -> sets PORT_<NAME>
    local name=$1 url=$2 children=${3:-2} root=$W/httpd-$1 port
    port=$(free_port)
    mkdir -p "$root"/{conf,logs,run,htdocs}
    for d in static tc t0 sha1 bcrypt dbd sock; do
        mkdir -p "$root/htdocs/$d"
        printf 'ok\n' >"$root/htdocs/$d/ok.txt"
    done
    chown -R www-data:www-data "$root/run"
    cat >"$root/conf/httpd.conf" <<EOF
ServerRoot "$root"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
User www-data
Group www-data
PidFile "$root/run/httpd.pid"
DefaultRuntimeDir "$root/run"
ErrorLog "$root/logs/error_log"
LogLevel warn
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
StartServers $children
ServerLimit $children
ThreadsPerChild 25
MaxRequestWorkers $((children * 25))
MinSpareThreads 25
MaxSpareThreads $((children * 25))
MaxConnectionsPerChild 0
KeepAliveTimeout 30
MaxKeepAliveRequests 0
EOF
    for m in authn_core authz_core authz_user auth_basic authn_file dbd \
             authn_dbd authn_socache socache_shmcb mime dir; do
        echo "LoadModule ${m}_module $MODDIR/mod_$m.so"
    done >>"$root/conf/httpd.conf"
    cat >>"$root/conf/httpd.conf" <<EOF
LoadModule apitoken_module $MODULE
TypesConfig /etc/mime.types
DocumentRoot "$root/htdocs"
ApiTokenDB "$url"
DBDriver sqlite3
DBDParams "$DBUSER/users.db"
AuthnCacheSOCache shmcb
<Location /tc/>
    AuthType apitoken
    AuthName api
    ApiTokenCacheTTL 300
    Require valid-user
</Location>
<Location /t0/>
    AuthType apitoken
    AuthName api
    ApiTokenCacheTTL 0
    Require valid-user
</Location>
<Location /sha1/>
    AuthType Basic
    AuthName b
    AuthBasicProvider file
    AuthUserFile "$DBUSER/sha1"
    Require valid-user
</Location>
<Location /bcrypt/>
    AuthType Basic
    AuthName b
    AuthBasicProvider file
    AuthUserFile "$DBUSER/bcrypt"
    Require valid-user
</Location>
<Location /dbd/>
    AuthType Basic
    AuthName b
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "SELECT password FROM users WHERE user = %s"
    Require valid-user
</Location>
<Location /sock/>
    AuthType Basic
    AuthName b
    AuthBasicProvider socache dbd
    AuthnCacheProvideFor dbd
    AuthnCacheTimeout 300
    AuthDBDUserPWQuery "SELECT password FROM users WHERE user = %s"
    Require valid-user
</Location>
EOF
    /usr/sbin/apache2 -f "$root/conf/httpd.conf" -DFOREGROUND \
        </dev/null >"$root/logs/stderr" 2>&1 &
    PIDS+=($!)
    eval "PORT_$name=$port"
    eval "ROOT_$name=$root"
    eval "PID_$name=$!"
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/static/ok.txt" && return
        sleep 0.1
    done
    echo "httpd $name did not start:" >&2
    cat "$root/logs/stderr" "$root/logs/error_log" >&2
    exit 1
}

# wrk: one run; prints requests per second.  AUTH "" = no header.
rate() {           # PORT PATH AUTH [SECS]; AUTH lua:FILE = a wrk script
    local hdr=()
    case "$3" in
        lua:*) hdr=(-s "${3#lua:}") ;;
        ?*) hdr=(-H "Authorization: $3") ;;
    esac
    wrk -t2 -c"$CONNS" -d"${4:-$SECS}s" "${hdr[@]}" \
        "http://127.0.0.1:$1$2" 2>/dev/null \
        | awk '/^Requests\/sec:/ {print $2}'
}

check() {          # PORT PATH AUTH WANT
    local got
    got=$(curl -s -o /dev/null -w '%{http_code}' ${3:+-H "Authorization: $3"} \
          "http://127.0.0.1:$1$2")
    [ "$got" = "$4" ] || echo "warning: $2 answered $got, not $4" >&2
}

start_httpd main "$MAIN_URL"
start_httpd small "$SMALL_URL"
start_httpd big "$BIG_URL"
PM=$PORT_main
check "$PM" /tc/ok.txt "Bearer $TOKEN" 200
check "$PM" /tc/ok.txt "Bearer $BADCK" 401
check "$PM" /tc/ok.txt "Bearer $GONE" 401
check "$PM" /dbd/ok.txt "$BASIC" 200
check "$PM" /sock/ok.txt "$BASIC" 200
check "$PORT_big" /t0/ok.txt "Bearer $BIGTOK" 200

PG_URL=""
if [ -z "${NO_PG:-}" ]; then
    echo "starting PostgreSQL..." >&2
    PG=$W/pg PGPORT=$(free_port)
    mkdir -p "$PG/data" "$PG/sock"
    chown -R postgres:postgres "$PG"
    chmod 700 "$PG/data"
    PGPW=pw$RANDOM$RANDOM
    if runuser -u postgres -- "$PG_BIN/initdb" -D "$PG/data" -U postgres \
           -E UTF8 --locale=C.UTF-8 --auth-local=trust \
           --auth-host=scram-sha-256 >/dev/null 2>&1; then
        printf "listen_addresses = '127.0.0.1'\nport = %s\n\
unix_socket_directories = '%s'\nfsync = off\n" "$PGPORT" "$PG/sock" \
            >>"$PG/data/postgresql.conf"
        PGDATA=$PG/data
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PG/log" \
            -w start >/dev/null
        psql_() { runuser -u postgres -- "$PG_BIN/psql" -X -q -h "$PG/sock" \
                  -p "$PGPORT" -U postgres "$@"; }
        psql_ -d postgres -c "CREATE ROLE bench LOGIN PASSWORD '$PGPW'"
        psql_ -d postgres -c "CREATE DATABASE bench OWNER bench"
        PG_URL="pgsql://bench:$PGPW@127.0.0.1:$PGPORT/bench"
        "$TOOL" --db "$PG_URL" init >/dev/null
        read -r _ PGTOK <<<"$(new_token "$PG_URL" bench)"
        start_httpd pg "$PG_URL"
        check "$PORT_pg" /tc/ok.txt "Bearer $PGTOK" 200
    else
        echo "PostgreSQL could not be set up; skipping it" >&2
    fi
fi

# --- throughput, rounds interleaved ---------------------------------------
SCEN=(none tc t0 sha1 bcrypt dbd sock badck unknown small big)
declare -A ARGS=(
    [none]="$PM|/static/ok.txt|"
    [tc]="$PM|/tc/ok.txt|Bearer $TOKEN"
    [t0]="$PM|/t0/ok.txt|Bearer $TOKEN"
    [sha1]="$PM|/sha1/ok.txt|$BASIC"
    [bcrypt]="$PM|/bcrypt/ok.txt|$BASIC"
    [dbd]="$PM|/dbd/ok.txt|$BASIC"
    [sock]="$PM|/sock/ok.txt|$BASIC"
    [badck]="$PM|/tc/ok.txt|Bearer $BADCK"
    [unknown]="$PM|/tc/ok.txt|lua:$W/unknown.lua"
    [small]="$PORT_small|/t0/ok.txt|Bearer $SMALLTOK"
    [big]="$PORT_big|/t0/ok.txt|Bearer $BIGTOK"
)
if [ -n "$PG_URL" ]; then
    SCEN+=(pgnone pgtc pgt0)
    ARGS[pgnone]="$PORT_pg|/static/ok.txt|"
    ARGS[pgtc]="$PORT_pg|/tc/ok.txt|Bearer $PGTOK"
    ARGS[pgt0]="$PORT_pg|/t0/ok.txt|Bearer $PGTOK"
fi
declare -A SUM
for s in "${SCEN[@]}"; do SUM[$s]=0; done
echo "throughput: $ROUNDS rounds x ${#SCEN[@]} scenarios x ${SECS}s..." >&2
for r in $(seq "$ROUNDS"); do
    for s in "${SCEN[@]}"; do
        IFS='|' read -r port path auth <<<"${ARGS[$s]}"
        v=$(rate "$port" "$path" "$auth")
        SUM[$s]=$(echo "${SUM[$s]} + ${v:-0}" | bc -l)
    done
done
avg() { echo "${SUM[$1]} / $ROUNDS" | bc -l; }
ratio() { echo "$(avg "$1") / $(avg "$2")" | bc -l; }

# --- revoke to first 401, under load ---------------------------------------
echo "revoke to first 401: $TRIALS trials under load..." >&2
LOADTOK=$(new_token "$MAIN_URL" load | cut -d' ' -f2)
wrk -t1 -c8 -d600s -H "Authorization: Bearer $LOADTOK" \
    "http://127.0.0.1:$PM/tc/ok.txt" >/dev/null 2>&1 &
LOADPID=$!
PIDS+=($LOADPID)
REVOKE=$(/usr/bin/python3 - "$TOOL" "$MAIN_URL" "$PM" "$TRIALS" <<'EOF'
import http.client, json, statistics, subprocess, sys, time
tool, url, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def get(tok):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/tc/ok.txt", headers={"Authorization": "Bearer " + tok})
    s = c.getresponse().status
    c.close()
    return s
after = []
for i in range(n):
    d = json.loads(subprocess.run([tool, "--db", url, "--json", "create",
        "--owner", "alice", "--name", f"rv{i}-{time.time_ns()}", "--scope",
        "dns"], capture_output=True, text=True).stdout)
    time.sleep(0.6)            # past the create's own change mark
    for _ in range(5):
        get(d["token"])
    subprocess.run([tool, "--db", url, "revoke", d["id"]],
                   capture_output=True)
    t = time.monotonic()
    while get(d["token"]) != 401 and time.monotonic() - t < 10:
        time.sleep(0.005)
    after.append(time.monotonic() - t)
print(f"{max(after):.3f} {statistics.median(after):.3f}")
EOF
)
kill "$LOADPID" 2>/dev/null

# --- memory of the children ---------------------------------------------
children_rss() {   # PARENT_PID -> "kB kB ..."
    local c out=""
    for c in $(pgrep -P "$1"); do
        out="$out $(awk '/^VmRSS/ {print $2}' "/proc/$c/status" 2>/dev/null)"
    done
    echo "$out"
}
echo "memory: 10,000 then up to $MEM_REQUESTS requests..." >&2
start_httpd mem "$MAIN_URL" 1
PMEM=$PORT_mem
done_req=0
reqs() {           # SECS AUTH PATH -> adds to done_req
    local n
    n=$(wrk -t2 -c"$CONNS" -d"$1s" -H "Authorization: $2" \
        "http://127.0.0.1:$PMEM$3" 2>/dev/null \
        | awk '/requests in/ {print $1}')
    done_req=$((done_req + ${n:-0}))
}
# Mixed: the cached path and the uncached one (libdbi) share the child.
while [ $done_req -lt 10000 ]; do
    reqs 1 "Bearer $TOKEN" /tc/ok.txt
    reqs 1 "Bearer $TOKEN" /t0/ok.txt
done
N1=$done_req
RSS1=$(children_rss "$PID_mem")
t0=$(date +%s)
r1=$(rate "$PMEM" /tc/ok.txt "Bearer $TOKEN" 2)
r2=$(rate "$PMEM" /t0/ok.txt "Bearer $TOKEN" 2)
mixed=$(echo "($r1 + $r2) / 2" | bc)
need=$(( (MEM_REQUESTS - done_req) / (mixed > 0 ? mixed : 1) / 2 + 1 ))
[ $need -gt $((MEM_MAX_SECS / 2)) ] && need=$((MEM_MAX_SECS / 2))
reqs "$need" "Bearer $TOKEN" /tc/ok.txt
reqs "$need" "Bearer $TOKEN" /t0/ok.txt
N2=$((done_req + 4 * mixed))   # the two 2-second rate probes above
RSS2=$(children_rss "$PID_mem")
MEMSECS=$(( $(date +%s) - t0 ))

# --- report ---------------------------------------------------------------
f2() { printf '%.2f' "$1"; }
fr() { printf '%.0f' "$1"; }
row() { printf '| %-48s | %9s | %6s | %-22s |\n' "$1" "$2" "$3" "$4"; }
echo
echo "Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo);" \
     "$(/usr/sbin/apache2 -v | awk -F'/' '/version/ {print $2}' | cut -d' ' -f1)" \
     "event MPM; wrk -t2 -c$CONNS, $ROUNDS rounds x ${SECS}s, interleaved"
echo
row "scenario" "req/s" "ratio" "target"
row "------------------------------------------------" "---------" "------" "----------------------"
row "no auth" "$(fr "$(avg none)")" "1.00" ""
row "token, cache on (TTL 300)" "$(fr "$(avg tc)")" "$(f2 "$(ratio tc none)")" ">= 0.95, > authn_socache"
row "token, ApiTokenCacheTTL 0 (SQLite)" "$(fr "$(avg t0)")" "$(f2 "$(ratio t0 none)")" ">= 0.50, aim: dbd"
row "Basic, htpasswd SHA1 (authn_file)" "$(fr "$(avg sha1)")" "$(f2 "$(ratio sha1 none)")" ""
row "Basic, htpasswd bcrypt (authn_file)" "$(fr "$(avg bcrypt)")" "$(f2 "$(ratio bcrypt none)")" ""
row "Basic, mod_authn_dbd on SQLite" "$(fr "$(avg dbd)")" "$(f2 "$(ratio dbd none)")" ""
row "Basic, mod_authn_socache + mod_authn_dbd" "$(fr "$(avg sock)")" "$(f2 "$(ratio sock none)")" ""
row "flood: bad checksums (401)" "$(fr "$(avg badck)")" "$(f2 "$(ratio badck none)")" ">= 0.90"
row "flood: $UNKNOWN_N unknown ids (401, neg. cache)" "$(fr "$(avg unknown)")" "$(f2 "$(ratio unknown none)")" ">= 0.80"
row "TTL 0, store of 1,000 tokens" "$(fr "$(avg small)")" "$(f2 "$(ratio small none)")" ""
row "TTL 0, store of $BIG tokens" "$(fr "$(avg big)")" "$(f2 "$(ratio big none)")" ""
row "  $BIG vs 1,000 tokens" "" "$(f2 "$(ratio big small)")" ">= 0.90"
if [ -n "$PG_URL" ]; then
    row "PostgreSQL: no auth (its own httpd)" "$(fr "$(avg pgnone)")" "1.00" ""
    row "PostgreSQL: token, cache on" "$(fr "$(avg pgtc)")" "$(f2 "$(ratio pgtc pgnone)")" ""
    row "PostgreSQL: token, ApiTokenCacheTTL 0" "$(fr "$(avg pgt0)")" "$(f2 "$(ratio pgt0 pgnone)")" ""
fi
echo
read -r RMAX RMED <<<"$REVOKE"
echo "revoke to first 401 under load ($TRIALS trials, from the tool's exit):" \
     "max ${RMAX} s, median ${RMED} s (target: max <= 1 s)"
echo "VmRSS per child (kB) after $N1 requests:$RSS1"
echo "VmRSS per child (kB) after about $N2 requests:$RSS2 (${MEMSECS} s;" \
     "target: growth < 5 MB per child)"
if [ "$N2" -lt "$MEM_REQUESTS" ]; then
    echo "  (bounded to ${MEM_MAX_SECS} s: fewer than $MEM_REQUESTS requests)"
fi
