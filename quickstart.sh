#!/bin/bash
# Builds mod_apitoken, creates a SQLite token store in a private directory,
# issues a restricted, a full-access and a one-zone token, starts httpd on
# 127.0.0.1 with a demo API protected by the module and the "Manage API Tokens" page behind a
# demo login (Basic auth, a password generated into the private directory),
# and prints curl lines that work.
#
#   ./quickstart.sh            (as root on Debian 12)
#   QUICKSTART_DIR=/path PORT=8080 ./quickstart.sh
#   ./quickstart.sh stop
set -euo pipefail
cd "$(dirname "$0")"
top=$(pwd)
dir=${QUICKSTART_DIR:-/tmp/apitoken-quickstart}
conf="$dir/httpd.conf"

if [ "${1:-}" = stop ]; then
    if [ -f "$dir/httpd.pid" ]; then
        /usr/sbin/apache2 -f "$conf" -k stop && echo "stopped"
    else
        echo "not running (no $dir/httpd.pid)"
    fi
    exit 0
fi

scripts/install-deps.sh build runtime

if [ ! -x configure ]; then autoreconf -fi; fi
if [ ! -f config.status ]; then ./configure; fi
make -j"$(nproc)" >/dev/null

tool="$top/tools/apitoken"
module="$top/mod_apitoken/.libs/mod_apitoken.so"

# A running quickstart server is replaced, not duplicated.
if [ -f "$dir/httpd.pid" ] && kill -0 "$(cat "$dir/httpd.pid")" 2>/dev/null; then
    /usr/sbin/apache2 -f "$conf" -k stop || true
    for _ in $(seq 50); do [ -f "$dir/httpd.pid" ] || break; sleep 0.1; done
fi
rm -rf "$dir"
mkdir -p "$dir/db" "$dir/htdocs" "$dir/cgi-bin" "$dir/logs" "$dir/run"
chmod 755 "$dir"

# The page, copied where httpd's user can read it (a checkout under /root is
# not), and a demo login with a fresh password kept in the private dir.
cp -r "$top/manage" "$dir/manage"
chmod -R a+rX "$dir/manage"
demo_pw=$(openssl rand -base64 18 | tr -d '/+=' | cut -c1-20)
umask 077
printf '%s\n' "$demo_pw" > "$dir/demo-password"
printf 'demo:{SHA}%s\n' \
    "$(printf '%s' "$demo_pw" | openssl dgst -sha1 -binary | base64)" \
    > "$dir/htpasswd"
umask 022
chgrp www-data "$dir/htpasswd"
chmod 640 "$dir/htpasswd"

# The store: the directory belongs to www-data so httpd can use SQLite's WAL
# files; root (the tool) can write it too.
db="sqlite3://$dir/db/tokens.db"
"$tool" --db "$db" init >/dev/null
chown -R www-data:www-data "$dir/db"
chmod 750 "$dir/db"

token_of() { sed -n 's/.*"token": *"\([^"]*\)".*/\1/p'; }
restricted=$("$tool" --db "$db" --json create --owner demo --name dns-script \
    --scope dns --expires +30d | token_of)
full=$("$tool" --db "$db" --json create --owner demo --name admin-script \
    --full-access | token_of)
# Limited to one resource: the zone example.com (see /api/zones/ below).
zone=$("$tool" --db "$db" --json create --owner demo --name zone-script \
    --scope dns --resource example.com --expires +30d | token_of)
chown -R www-data:www-data "$dir/db"

if [ -z "${PORT:-}" ]; then
    PORT=8080
    while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
        PORT=$((PORT + 1))
    done
fi

cat > "$dir/cgi-bin/api" <<'CGI'
#!/bin/sh
printf 'Content-Type: application/json\r\n\r\n'
printf '{"feature": "%s", "user": "%s", "token_id": "%s", "token_name": "%s", "scopes": "%s"}\n' \
    "$(basename "$(dirname "${SCRIPT_NAME:-/x/unknown}")")" "$REMOTE_USER" \
    "$APITOKEN_ID" "$APITOKEN_NAME" "$APITOKEN_SCOPES"
CGI
chmod 755 "$dir/cgi-bin/api"

mods=/usr/lib/apache2/modules
cat > "$conf" <<CONF
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
PidFile "$dir/httpd.pid"
DefaultRuntimeDir "$dir/run"
ErrorLog "$dir/logs/error.log"
LogLevel warn authz_core:crit
TraceEnable off
User www-data
Group www-data
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authn_core_module $mods/mod_authn_core.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_user_module $mods/mod_authz_user.so
LoadModule auth_basic_module $mods/mod_auth_basic.so
LoadModule authn_file_module $mods/mod_authn_file.so
LoadModule alias_module $mods/mod_alias.so
LoadModule cgid_module $mods/mod_cgid.so
LoadModule mime_module $mods/mod_mime.so
LoadModule setenvif_module $mods/mod_setenvif.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule apitoken_module $module
TypesConfig /etc/mime.types
ScriptSock "$dir/run/cgid.sock"
LogFormat "%h %u %t \"%r\" %>s %b" common
CustomLog "$dir/logs/access.log" common
DocumentRoot "$dir/htdocs"

ApiTokenDB "$db"

<Location /api/>
    AuthType apitoken
    AuthName "Demo API"
    # 403 (not 401) when a good token lacks the scope, as RFC 6750 says.
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept bearer scheme:cpanel basic header:X-API-Token
    ApiTokenTrackUsage On
    ApiTokenStripCredentials On
</Location>

# The self-service page for the demo account (no trailing slash: /tokens
# redirects to /tokens/).
<Location /tokens>
    AuthType Basic
    AuthName "Demo token management"
    AuthBasicProvider file
    AuthUserFile "$dir/htpasswd"
    Require valid-user
    SetHandler apitoken-manage
    ApiTokenManage On
    ApiTokenManageAssets "$dir/manage"
    ApiTokenFeature dns   "DNS zones and records" read write
    ApiTokenFeature email "Mailboxes and forwarders" read write
    ApiTokenFeature files "Files in the web space"
    ApiTokenManageDefaultExpiry 30d
    ApiTokenManageMaxExpiry 365d
    ApiTokenTrackUsage On
</Location>
CONF
for feature in dns email files; do
    cat >> "$conf" <<CONF
ScriptAlias /api/$feature/ "$dir/cgi-bin/"
<Location /api/$feature/>
    Require apitoken-scope $feature
</Location>
CONF
done

cat >> "$conf" <<CONF
# DNS zones: /api/zones/ZONE/ is a resource, the zone from the URL.  A token
# with resource patterns gets only the zones they match.
ScriptAliasMatch "^/api/zones/[^/]+/" "$dir/cgi-bin/api"
<Location /api/zones/>
    SetEnvIf Request_URI "^/api/zones/([^/]+)/" ZONE=\$1
    ApiTokenResource "%{env:ZONE}"
    <RequireAll>
        Require apitoken-scope dns
        Require apitoken-resource
    </RequireAll>
</Location>
CONF

/usr/sbin/apache2 -f "$conf" -k start
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.1
done

base="http://127.0.0.1:$PORT"
check() {  # expected-status curl-args...
    local want=$1; shift
    local got
    got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
    printf '  curl'
    local a
    for a in "$@"; do
        case "$a" in *[[:space:]]*) printf " '%s'" "$a" ;; *) printf ' %s' "$a" ;; esac
    done
    printf '\n      -> %s' "$got"
    if [ "$got" = "$want" ]; then echo; else echo "  (expected $want)"; fail=1; fi
}
fail=0
echo
echo "httpd is running on $base with the token store $db"
echo
echo "A restricted token (scope dns, expires in 30 days) and a full-access token:"
echo "  RESTRICTED=$restricted"
echo "  FULL=$full"
echo "A token for the DNS zone example.com only (scope dns, resource example.com):"
echo "  ZONE=$zone"
echo
echo "Try:"
check 200 -H "Authorization: Bearer $restricted" "$base/api/dns/api"
check 403 -H "Authorization: Bearer $restricted" "$base/api/email/api"
check 200 -H "Authorization: Bearer $full" "$base/api/files/api"
check 200 -H "Authorization: cpanel demo:$full" "$base/api/email/api"
check 200 -u "demo:$restricted" "$base/api/dns/api"
check 401 "$base/api/dns/api"
check 200 -H "Authorization: Bearer $zone" "$base/api/zones/example.com/"
check 403 -H "Authorization: Bearer $zone" "$base/api/zones/example.net/"
check 200 -u "demo:$demo_pw" "$base/tokens/"
echo
echo "Manage tokens in a browser: $base/tokens/"
echo "  user demo, password $demo_pw (also in $dir/demo-password)"
echo "Manage tokens:  $tool --db $db list"
if [ -n "${QUICKSTART_DIR:-}" ]; then
    echo "Stop httpd:     QUICKSTART_DIR=$dir $0 stop"
else
    echo "Stop httpd:     $0 stop"
fi
exit "$fail"
