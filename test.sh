#!/bin/bash
# Installs what the build and the tests need, builds with -Werror, and runs
# every test: the Check unit tests, the pytest suites (the tool and the module
# against SQLite, a real PostgreSQL and a real MariaDB started on loopback,
# the management page in headless Chromium), the whole suite again with an
# AddressSanitizer/UBSan build, the tool's tests under valgrind, the fuzzers
# for a bounded time, the Debian package, and make distcheck.
# Longer runs: fuzz/run.sh SECONDS, scripts/soak.sh, bench/http_bench.sh.
#
#   ./test.sh              everything
#   ./test.sh -k test_2    only pytest tests matching the expression (after
#                          the build and the unit tests)
set -eu
cd "$(dirname "$0")"
top=$(pwd)

step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh build runtime test

step "build"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
    autoreconf -fi
fi
if [ ! -f config.status ]; then
    ./configure --enable-werror
fi
make -j"$(nproc)"

step "the shape of the tree (file length, include cycles, repeated code)"
/usr/bin/python3 scripts/check-tree.py

step "unit tests (make check)"
make -j"$(nproc)" check || { cat tests/test-suite.log 2>/dev/null; exit 1; }

step "integration tests (pytest)"
mkdir -p tests/run
junit="$top/tests/run/junit.xml"
# Debian's interpreter: the first python3 on PATH may be another build.
/usr/bin/python3 -m pytest -p no:cacheprovider -ra --junitxml="$junit" \
    tests/py "$@"
# Nothing may be skipped: the PostgreSQL and MariaDB runs are part of the
# contract, not optional extras.
/usr/bin/python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
total = sum(int(s.get("tests", 0)) for s in suites)
print(f"pytest: {total} tests, {skipped} skipped")
sys.exit(1 if skipped else 0)
PY

[ $# -eq 0 ] || exit 0

step "fuzzing (bounded; fuzz/run.sh SECONDS for longer runs)"
fuzz/run.sh 12

step "the whole suite with AddressSanitizer + UBSan"
# The tool's leaks are checked by valgrind below: LeakSanitizer's tracer
# crashes on this kind of machine and its slow unwinding times out libpq.
SAN_TOOL_LEAKS=0 scripts/sanitizer-run.sh

step "the tool's tests under valgrind memcheck"
scripts/valgrind-cli.sh -k "(test_110 or test_120) and sqlite3"

step "Debian package: build, install, serve, purge"
scripts/deb-test.sh

step "make distcheck"
make -j"$(nproc)" distcheck

step "all tests passed"
