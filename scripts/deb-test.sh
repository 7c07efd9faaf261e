#!/bin/bash
# Builds the Debian package from a clean copy of the tracked files, installs
# it, enables the module with a2enmod, serves a protected location from a
# private httpd (never the system one) on a free 127.0.0.1 port, checks 401
# without a token, 200 with one and 403 without the scope, then removes and
# purges the package and checks that nothing is left.  Needs root.
#
#   scripts/deb-test.sh            build, install, serve, purge
#   KEEP=1 scripts/deb-test.sh     keep the work directory for a look
#   DEB_TEST_CHECK=1 ...           also run `make check` in the build
#
# Exits non-zero on the first failure.  The system's apache2 is not started,
# stopped or reloaded by this script.
set -euo pipefail

PKG=libapache2-mod-apitoken
MODDIR=/usr/lib/apache2/modules
CONFDIR=/etc/apache2/mods-available
top=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)

say() { printf 'deb-test: %s\n' "$*"; }
die() { printf 'deb-test: FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (dpkg -i, a2enmod)"
for t in dpkg-buildpackage dh dh_apache2 fakeroot curl python3 a2enmod \
         /usr/sbin/apache2; do
    command -v "$t" >/dev/null 2>&1 || die "missing $t (apt-get install -y \
--no-install-recommends debhelper dpkg-dev fakeroot apache2-dev apache2 curl)"
done

work=$(mktemp -d /tmp/deb-test.XXXXXX)
chmod 755 "$work"
httpd_pid=""
installed_here=0

cleanup() {
    rc=$?
    set +e
    if [ -n "$httpd_pid" ] && kill -0 "$httpd_pid" 2>/dev/null; then
        kill "$httpd_pid"
        for _ in $(seq 1 50); do
            kill -0 "$httpd_pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$httpd_pid" 2>/dev/null && kill -9 "$httpd_pid"
    fi
    if [ "$installed_here" = 1 ] && dpkg -s "$PKG" >/dev/null 2>&1; then
        a2dismod -q apitoken >/dev/null 2>&1
        dpkg --purge "$PKG" >/dev/null 2>&1
    fi
    if [ $rc -ne 0 ] && [ -f "$work/httpd/logs/error.log" ]; then
        echo "--- error.log" >&2
        tail -n 30 "$work/httpd/logs/error.log" >&2
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        say "kept $work"
    else
        rm -rf "$work"
    fi
    exit $rc
}
trap cleanup EXIT

# A leftover from an interrupted run would hide what this build installs.
if dpkg -s "$PKG" >/dev/null 2>&1; then
    say "purging a previously installed $PKG"
    dpkg --purge "$PKG" >/dev/null
fi

say "copying the tracked files"
mkdir "$work/src"
(cd "$top" && git ls-files -z | while IFS= read -r -d '' f; do
     [ -e "$f" ] && printf '%s\0' "$f"; done) \
    | (cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$work/src"
[ -x "$work/src/debian/rules" ] || die "debian/rules is not tracked"

say "building the package (dpkg-buildpackage -us -uc -b)"
opts="parallel=$(nproc)"
[ "${DEB_TEST_CHECK:-0}" = 1 ] || opts="$opts nocheck"
if ! (cd "$work/src" && DEB_BUILD_OPTIONS="$opts" \
        dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
    tail -n 40 "$work/build.log" >&2
    die "dpkg-buildpackage failed (log: $work/build.log)"
fi
deb=$(ls "$work"/${PKG}_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || die "no ${PKG}_*.deb was built"
say "built $(basename "$deb")"

# The package declares what a2enmod and httpd need.
depends=$(dpkg-deb -f "$deb" Depends)
for d in apache2-api-20120211 libdbi1 libdbd-sqlite3; do
    case "$depends" in *"$d"*) ;; *) die "Depends lacks $d: $depends" ;; esac
done
contents=$(dpkg-deb -c "$deb")
for f in "$MODDIR/mod_apitoken.so" /usr/bin/apitoken \
         /usr/share/mod_apitoken/manage/index.html \
         /usr/share/man/man1/apitoken.1.gz \
         /usr/share/man/man8/mod_apitoken.8.gz \
         "$CONFDIR/apitoken.load" "$CONFDIR/apitoken.conf"; do
    grep -q " \.$f\$" <<<"$contents" || die "$f is not in the package"
done
if grep -q '\.la$' <<<"$contents"; then die "a libtool .la is packaged"; fi

say "installing it (dpkg -i)"
installed_here=1
if ! dpkg -i "$deb" >"$work/install.log" 2>&1; then
    say "dpkg -i needs dependencies; apt-get -f install"
    DEBIAN_FRONTEND=noninteractive apt-get -y -f install \
        >>"$work/install.log" 2>&1 || { cat "$work/install.log" >&2;
        die "installation failed"; }
fi
dpkg -s "$PKG" | grep -q '^Status: install ok installed' \
    || die "$PKG is not installed"
for f in "$MODDIR/mod_apitoken.so" /usr/bin/apitoken "$CONFDIR/apitoken.load" \
         "$CONFDIR/apitoken.conf"; do
    [ -f "$f" ] || die "$f missing after install"
done
man -w apitoken >/dev/null 2>&1 || die "man cannot find apitoken(1)"
man -w 8 mod_apitoken >/dev/null 2>&1 || die "man cannot find mod_apitoken(8)"

say "a2enmod apitoken"
a2enmod -q apitoken >/dev/null || die "a2enmod apitoken failed"
[ -L /etc/apache2/mods-enabled/apitoken.load ] \
    || die "a2enmod made no mods-enabled/apitoken.load"

# The token store, made by the installed tool.  httpd (www-data) needs the
# directory for SQLite's journal.
mkdir -m 750 "$work/db"
db="sqlite3://$work/db/tokens.db"
/usr/bin/apitoken --db "$db" init >/dev/null || die "apitoken init failed"
tok=$(/usr/bin/apitoken --db "$db" --json create --owner alice \
        --name deb-test --scope dns --expires +1d \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') \
    || die "apitoken create failed"
[ -n "$tok" ] || die "apitoken create printed no token"
chown -R www-data:www-data "$work/db"

# A private httpd: only the module's own files come from /etc/apache2 (the
# ones a2enmod linked), everything else is written here.
h="$work/httpd"
mkdir -p "$h/logs" "$h/run" "$h/htdocs/api/dns" "$h/htdocs/api/email"
echo "dns ok" >"$h/htdocs/api/dns/ok.txt"
echo "email ok" >"$h/htdocs/api/email/ok.txt"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
db_line="ApiTokenDB \"$db\""
# The modules apitoken.load declares for a2enmod ("# Depends:"), plus the
# shared cache the module uses by default.
deps=$(sed -n 's/^#[[:space:]]*Depends:[[:space:]]*//p' "$CONFDIR/apitoken.load")
loads=""
for m in mpm_event $deps socache_shmcb; do
    case " $loads " in *" $m "*) continue ;; esac
    [ -f "$MODDIR/mod_$m.so" ] || die "apitoken.load depends on missing $m"
    loads="$loads $m"
done
load_lines=$(for m in $loads; do
    echo "LoadModule ${m}_module $MODDIR/mod_$m.so"; done)
# apitoken.conf may already set ApiTokenDB (it can be given once); then
# this test's store goes there instead of a second ApiTokenDB line.
if grep -Eq '^[[:space:]]*ApiTokenDB[[:space:]]' "$CONFDIR/apitoken.conf"; then
    die "apitoken.conf sets ApiTokenDB; a test store cannot be configured"
fi
cat >"$h/httpd.conf" <<EOF
ServerRoot "$h"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
User www-data
Group www-data
PidFile "$h/run/httpd.pid"
DefaultRuntimeDir "$h/run"
Mutex file:$h/run default
ErrorLog "$h/logs/error.log"
LogLevel warn
$load_lines
Include /etc/apache2/mods-enabled/apitoken.load
IncludeOptional /etc/apache2/mods-enabled/apitoken.conf
$db_line
DocumentRoot "$h/htdocs"
<Directory "$h/htdocs">
    Require all granted
</Directory>
<Location /api>
    AuthType apitoken
    AuthName "deb test"
    AuthzSendForbiddenOnFailure On
</Location>
<Location /api/dns>
    Require apitoken-scope dns
</Location>
<Location /api/email>
    Require apitoken-scope email
</Location>
<Location /apitoken-status>
    SetHandler apitoken-status
    Require all granted
</Location>
EOF
chmod -R a+rX "$h"

/usr/sbin/apache2 -t -f "$h/httpd.conf" >"$work/configtest.log" 2>&1 \
    || { cat "$work/configtest.log" >&2; die "apache2 -t failed"; }
say "config test: $(tail -n 1 "$work/configtest.log")"

say "starting a private httpd on 127.0.0.1:$port"
/usr/sbin/apache2 -f "$h/httpd.conf" -k start >"$work/start.log" 2>&1 \
    || { cat "$work/start.log" >&2; die "httpd did not start"; }
for _ in $(seq 1 100); do
    [ -s "$h/run/httpd.pid" ] && break
    sleep 0.1
done
[ -s "$h/run/httpd.pid" ] || die "httpd wrote no PID file"
httpd_pid=$(cat "$h/run/httpd.pid")
up=0
for _ in $(seq 1 100); do
    if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
        up=1; break
    fi
    sleep 0.1
done
[ "$up" = 1 ] || die "httpd does not answer on 127.0.0.1:$port"

status() {  # URL [curl args...] -> HTTP status
    local url=$1; shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" \
        "http://127.0.0.1:$port$url"
}
s=$(status /api/dns/ok.txt)
[ "$s" = 401 ] || die "no token: expected 401, got $s"
challenge=$(curl -s -D - -o /dev/null --max-time 10 \
            "http://127.0.0.1:$port/api/dns/ok.txt" | tr -d '\r' \
            | grep -i '^WWW-Authenticate:' || true)
grep -qi 'Bearer realm="deb test"' <<<"$challenge" \
    || die "no Bearer challenge: $challenge"
s=$(status /api/dns/ok.txt -H "Authorization: Bearer ${tok}x")
[ "$s" = 401 ] || die "bad token: expected 401, got $s"
body=$(curl -s --max-time 10 -H "Authorization: Bearer $tok" \
       "http://127.0.0.1:$port/api/dns/ok.txt")
[ "$body" = "dns ok" ] || die "with the token: expected the file, got '$body'"
s=$(status /api/dns/ok.txt -H "Authorization: Bearer $tok")
[ "$s" = 200 ] || die "with the token: expected 200, got $s"
s=$(status /api/email/ok.txt -H "Authorization: Bearer $tok")
[ "$s" = 403 ] || die "scope missing: expected 403, got $s"
say "401 without a token, 200 with it, 403 without the scope"
metrics=$(curl -s --max-time 10 \
          "http://127.0.0.1:$port/apitoken-status?format=prometheus")
granted=$(sed -n 's/^apitoken_requests_total{result="granted"} \([0-9]*\)$/\1/p' \
          <<<"$metrics")
[ "${granted:-0}" -ge 2 ] \
    || die "apitoken-status: expected >= 2 granted requests, got '$granted'"
say "apitoken-status counts $granted granted requests"
if grep -qF "$tok" "$h/logs/error.log"; then die "the token is in the error log"; fi

say "stopping httpd (PID $httpd_pid)"
kill "$httpd_pid"
for _ in $(seq 1 100); do
    kill -0 "$httpd_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$httpd_pid" 2>/dev/null; then die "httpd did not stop"; fi
httpd_pid=""

say "dpkg --remove: the module is disabled, conffiles stay"
dpkg --remove "$PKG" >"$work/remove.log" 2>&1 \
    || { cat "$work/remove.log" >&2; die "dpkg --remove failed"; }
for f in "$MODDIR/mod_apitoken.so" /usr/bin/apitoken \
         /usr/share/man/man1/apitoken.1.gz /usr/share/man/man8/mod_apitoken.8.gz \
         /etc/apache2/mods-enabled/apitoken.load \
         /etc/apache2/mods-enabled/apitoken.conf; do
    if [ -e "$f" ] || [ -L "$f" ]; then die "$f left after dpkg --remove"; fi
done
[ -f "$CONFDIR/apitoken.load" ] || die "dpkg --remove took a conffile"

say "dpkg --purge"
dpkg --purge "$PKG" >"$work/purge.log" 2>&1 \
    || { cat "$work/purge.log" >&2; die "dpkg --purge failed"; }
installed_here=0
for f in "$CONFDIR/apitoken.load" "$CONFDIR/apitoken.conf" \
         /usr/share/doc/$PKG; do
    if [ -e "$f" ]; then die "$f left after dpkg --purge"; fi
done
if dpkg -s "$PKG" >/dev/null 2>&1; then die "$PKG still known to dpkg"; fi

say "passed in $(( $(date +%s) - start )) s"
