#!/bin/sh
# Installs the Debian 12 packages a role needs; sourced or run as
#   scripts/install-deps.sh build|runtime|test
# Packages already present are not downloaded again. Needs root (or sudo).
set -eu

BUILD_PKGS="build-essential autoconf automake libtool pkg-config apache2-dev \
libapr1-dev libaprutil1-dev libssl-dev libdbi-dev libdbd-sqlite3 libdbd-pgsql \
libdbd-mysql libsqlite3-dev check"
RUNTIME_PKGS="apache2 sqlite3 curl ca-certificates"
TEST_PKGS="python3 python3-pytest python3-requests postgresql mariadb-server \
git wrk valgrind clang libclang-rt-14-dev libaprutil1-dbd-sqlite3 procps \
util-linux chromium chromium-driver python3-selenium debhelper dpkg-dev \
fakeroot python3-pip"

pkgs=""
for role in "$@"; do
    case "$role" in
        build) pkgs="$pkgs $BUILD_PKGS" ;;
        runtime) pkgs="$pkgs $RUNTIME_PKGS" ;;
        test) pkgs="$pkgs $TEST_PKGS" ;;
        *) echo "install-deps.sh: unknown role '$role' (build, runtime, test)" >&2
           exit 2 ;;
    esac
done

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-deps.sh: need root to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi

# Installing must not start system-wide daemons (apache2 on :80, a MariaDB or
# PostgreSQL cluster): our tests start their own on loopback.  A policy-rc.d
# that refuses service starts is in place only while apt runs.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    made_policy=1
fi
cleanup() { [ -z "$made_policy" ] || $SUDO rm -f "$policy"; }
trap cleanup EXIT INT TERM

echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
