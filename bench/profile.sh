#!/bin/bash
# Licensed under the Apache License, Version 2.0 (see COPYING).
#
# Instruction counts per request of one httpd process (apache2 -X) under
# valgrind --tool=callgrind: no auth, token with the cache, token with
# ApiTokenCacheTTL 0, Basic SHA1 from a file, Basic through
# mod_authn_socache in front of mod_authn_dbd, a cached token with 4
# allowed networks (nets4), a well-formed token whose id is unknown
# (neg: a negative cache hit, answered 401), and the zone resource check
# (Require apitoken-resource, ApiTokenResource from a SetEnvIf) with an
# unrestricted cached token (resany) and one limited to three patterns
# (res).  Repeatable where wall-clock throughput
# on a shared machine is not.  Run as root from a built tree:
#
#   bench/profile.sh              (N=2000 requests per scenario)
#
# Prints instructions per request for each scenario (the startup cost is
# taken out by a run of 1 request); keeps the callgrind files in OUT
# (default: a private directory, printed) for callgrind_annotate.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
MODULE=${APITOKEN_MODULE:-$TOP/mod_apitoken/.libs/mod_apitoken.so}
TOOL=$TOP/tools/apitoken
MODDIR=/usr/lib/apache2/modules
N=${N:-2000}
FAST=${FAST:-}      # On|Off: ApiTokenDBFastPath; empty: the default
OUT=${OUT:-$(mktemp -d /tmp/apitoken-profile.XXXXXX)}
mkdir -p "$OUT" && chmod 755 "$OUT" && chown www-data:www-data "$OUT"

for x in ab valgrind htpasswd /usr/sbin/apache2 "$TOOL" "$MODULE"; do
    command -v "$x" >/dev/null 2>&1 || [ -e "$x" ] \
        || { echo "missing: $x" >&2; exit 2; }
done

W=$OUT/w
mkdir -p "$W/db" "$W/htdocs"/{static,tc,t0,sha1,sock,res/example.com} \
    "$W/run" "$W/logs"
for d in static tc t0 sha1 sock res/example.com; do printf 'ok\n' >"$W/htdocs/$d/ok.txt"; done
URL="sqlite3://$W/db/tokens.db"
"$TOOL" --db "$URL" init >/dev/null || exit 3
TOKEN=$("$TOOL" --db "$URL" --json create --owner alice --name prof \
        --scope dns | /usr/bin/python3 -c \
        'import json,sys; print(json.load(sys.stdin)["token"])')
RTOKEN=$("$TOOL" --db "$URL" --json create --owner alice --name prof-res \
        --scope dns --resource www.example.net --resource '*.example.org' \
        --resource example.com | /usr/bin/python3 -c \
        'import json,sys; print(json.load(sys.stdin)["token"])')
NETS=$("$TOOL" --db "$URL" --json create --owner alice --name nets4 \
        --scope dns --allow-ip 10.0.0.0/8 --allow-ip 192.168.0.0/16 \
        --allow-ip ::1 --allow-ip 127.0.0.0/8 | /usr/bin/python3 -c \
        'import json,sys; print(json.load(sys.stdin)["token"])')
# A token of another store with the same prefix: its id is unknown here.
"$TOOL" --db "sqlite3://$W/db/other.db" init >/dev/null || exit 3
UNKNOWN=$("$TOOL" --db "sqlite3://$W/db/other.db" --json create \
        --owner alice --name neg --scope dns | /usr/bin/python3 -c \
        'import json,sys; print(json.load(sys.stdin)["token"])')
htpasswd -cbs "$W/sha1" bob secretpw 2>/dev/null
sqlite3 "$W/users.db" "CREATE TABLE users (user TEXT PRIMARY KEY, \
password TEXT); INSERT INTO users VALUES ('bob', '$(cut -d: -f2 "$W/sha1")');"
BASIC="Basic $(printf bob:secretpw | base64)"
chown -R www-data:www-data "$W"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); \
s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cat >"$W/httpd.conf" <<CONF
ServerRoot "$W"
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
User www-data
Group www-data
PidFile "$W/run/httpd.pid"
DefaultRuntimeDir "$W/run"
ErrorLog "$W/logs/error_log"
LogLevel warn
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
CONF
for m in authn_core authz_core authz_user auth_basic authn_file \
         socache_shmcb mime dbd authn_dbd authn_socache setenvif; do
    echo "LoadModule ${m}_module $MODDIR/mod_$m.so" >>"$W/httpd.conf"
done
cat >>"$W/httpd.conf" <<CONF
LoadModule apitoken_module $MODULE
TypesConfig /etc/mime.types
DocumentRoot "$W/htdocs"
ApiTokenDB "$URL"
$([ -n "$FAST" ] && echo "ApiTokenDBFastPath $FAST")
<Location /tc/>
    AuthType apitoken
    AuthName api
    ApiTokenCacheTTL 300
    AuthzSendForbiddenOnFailure On
    Require valid-user
</Location>
<Location /t0/>
    AuthType apitoken
    AuthName api
    ApiTokenCacheTTL 0
    AuthzSendForbiddenOnFailure On
    Require valid-user
</Location>
<Location /sha1/>
    AuthType Basic
    AuthName b
    AuthBasicProvider file
    AuthUserFile "$W/sha1"
    Require valid-user
</Location>
<Location /res/>
    AuthType apitoken
    AuthName api
    ApiTokenCacheTTL 300
    AuthzSendForbiddenOnFailure On
    SetEnvIf Request_URI "^/res/([^/]+)/" ZONE=\$1
    ApiTokenResource "%{env:ZONE}"
    Require apitoken-resource
</Location>
DBDriver sqlite3
DBDParams "$W/users.db"
AuthnCacheSOCache shmcb
<Location /sock/>
    AuthType Basic
    AuthName b
    AuthBasicProvider socache dbd
    AuthnCacheProvideFor dbd
    AuthnCacheTimeout 300
    AuthDBDUserPWQuery "SELECT password FROM users WHERE user = %s"
    Require valid-user
</Location>
CONF

# One process under callgrind for COUNT requests; prints its instructions.
run() {            # NAME PATH AUTH COUNT
    local pid hdr=() f=$OUT/callgrind.$1.$4
    [ -n "$3" ] && hdr=(-H "Authorization: $3")
    # Created first and owned by the user the process becomes, so that
    # the dump at exit (after the switch from root) can write it.
    rm -f "$f"; touch "$f"; chown www-data:www-data "$f"
    valgrind --tool=callgrind --callgrind-out-file="$f" \
        /usr/sbin/apache2 -X -f "$W/httpd.conf" \
        >"$W/logs/vg.$1.$4" 2>&1 &
    pid=$!
    for _ in $(seq 300); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/static/ok.txt" \
            && break
        sleep 0.1
    done
    ab -q -k -n "$4" -c 1 "${hdr[@]}" "http://127.0.0.1:$PORT$2" \
        >"$W/logs/ab.$1.$4" 2>&1
    [ "$1" != neg ] && grep -q "Non-2xx" "$W/logs/ab.$1.$4" \
        && echo "warning: $1 got non-2xx answers" >&2
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null
    awk '/^summary:|^totals:/ {print $2; exit}' "$f"
}

printf '%-10s %14s\n' scenario "instr/request"
for s in "static|/static/ok.txt|" "tc|/tc/ok.txt|Bearer $TOKEN" \
         "t0|/t0/ok.txt|Bearer $TOKEN" "sha1|/sha1/ok.txt|$BASIC" \
         "sock|/sock/ok.txt|$BASIC" "nets4|/tc/ok.txt|Bearer $NETS" \
         "neg|/tc/ok.txt|Bearer $UNKNOWN" \
         "resany|/res/example.com/ok.txt|Bearer $TOKEN" \
         "res|/res/example.com/ok.txt|Bearer $RTOKEN"; do
    IFS='|' read -r name path auth <<<"$s"
    base=$(run "$name" "$path" "$auth" 1)
    full=$(run "$name" "$path" "$auth" "$((N + 1))")
    per=$(( (full - base) / N ))
    eval "per_$name=$per"
    printf '%-10s %14d\n' "$name" "$per"
done
# What limiting a token to resources costs over the same check for an
# unrestricted token, and the whole check over a plain cached token.
awk -v r="$per_res" -v a="$per_resany" -v t="$per_tc" 'BEGIN {
    printf "res/resany %14.3f\nresany/tc  %14.3f\n", r / a, a / t }'
echo "callgrind files: $OUT (callgrind_annotate $OUT/callgrind.tc.$((N + 1)))"
