#!/bin/bash
# Build mod_apitoken and the apitoken tool with AddressSanitizer and
# UndefinedBehaviorSanitizer (./configure --enable-sanitizers) in a private
# directory, run the unit tests (make check) and the pytest suite against
# that build, with apache2 started with the sanitizer runtime preloaded, and
# fail on ANY sanitizer report.
#
#   scripts/sanitizer-run.sh [PYTEST ARGS...]     e.g. -k 'test_2 or test_5'
#
# Environment:
#   SAN_RUNDIR     where to build and keep the reports (default: a new
#                  /tmp/apitoken-san.XXXXXX, kept afterwards)
#   SAN_TOOL_LEAKS 1 (default) to let LeakSanitizer check the tool;
#                  httpd always runs with detect_leaks=0 (it leaks by design
#                  at exit)
#   SAN_SKIP_PYTEST=1  only build and make check
#
# The source is copied (the working tree as it is, tracked and untracked
# files not ignored by git) so the build never touches the checkout; the
# build is out of tree (VPATH) next to the copy.  The reports are files
# named RUNDIR/reports/{httpd,tool,unit}-{asan,ubsan}.PID; their presence
# is the failure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run=${SAN_RUNDIR:-$(mktemp -d /tmp/apitoken-san.XXXXXX)}
mkdir -p "$run"
# httpd's children (www-data) write reports here and read the module.
chmod 755 "$run"
src=$run/src
build=$run/build
reports=$run/reports
rm -rf "$src" "$build" "$reports"
mkdir -p "$src" "$build" "$reports"
chmod 1777 "$reports"

step() { printf '\n==== %s\n' "$*"; }

step "copy of the source in $src"
(cd "$top" && git ls-files -z -c -o --exclude-standard \
    | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
    | tar --null -T - -cf -) | tar -C "$src" -xf -
(cd "$src" && autoreconf -fi >"$run/autoreconf.log" 2>&1) || {
    tail -40 "$run/autoreconf.log"; exit 1; }

step "configure --enable-sanitizers (out of tree: $build)"
(cd "$build" && "$src/configure" --enable-sanitizers --enable-werror \
    >"$run/configure.log" 2>&1) || { tail -40 "$run/configure.log"; exit 1; }
grep -q -- '-fsanitize=address' "$build/Makefile" \
    || { echo "sanitizer flags missing from the Makefile" >&2; exit 1; }

step "build"
make -C "$build" -j"$(nproc)" >"$run/build.log" 2>&1 \
    || { tail -60 "$run/build.log"; exit 1; }

libasan=$(gcc -print-file-name=libasan.so)
[ -e "$libasan" ] || { echo "no libasan.so ($libasan)" >&2; exit 1; }

# libdbd-sqlite3 0.9 (Debian 12) leaks inside dbd_query: the error text of
# every failed query (sqlite3_get_table's errmsg) and the table name it
# parses to type columns (14 bytes per "PRAGMA ... -- FROM sqlite_master").
# The driver is dlclose()d at dbi_shutdown, so its frames are unnamed and
# the nearest named frame is libdbi's: suppress leaks under its query
# calls.  The price: an unfreed dbi_result would be hidden here too
# (scripts/valgrind-cli.sh names the driver frames and is stricter).
supp=$run/lsan.supp
cat >"$supp" <<'EOF2'
leak:dbi_conn_queryf
leak:dbi_conn_query
EOF2
export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/unit-ubsan"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0:log_path=$reports/unit-asan"

status=0
step "unit tests (make check)"
if ! make -C "$build" -j"$(nproc)" check >"$run/check.log" 2>&1; then
    tail -60 "$run/check.log"
    cat "$build"/tests/unit/test-suite.log "$build"/tests/test-suite.log \
        2>/dev/null | tail -80
    echo "make check FAILED" >&2
    status=1
fi

if [ "${SAN_SKIP_PYTEST:-0}" != 1 ]; then
    step "pytest with the sanitized module and tool"
    wrapper=$run/apache2-asan
    cat >"$wrapper" <<EOF
#!/bin/sh
# apache2 is not instrumented: the ASan runtime must be loaded first.
LD_PRELOAD="$libasan\${LD_PRELOAD:+ \$LD_PRELOAD}"
ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:verify_asan_link_order=0:log_path=$reports/httpd-asan"
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/httpd-ubsan"
export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
exec /usr/sbin/apache2 "\$@"
EOF
    chmod 755 "$wrapper"
    export APITOKEN_BUILDDIR=$build
    export APITOKEN_HTTPD_WRAPPER=$wrapper
    # Slow unwinding is only needed to match leak suppressions; it makes
    # every malloc slow enough for libpq's connect timeout to expire.
    if [ "${SAN_TOOL_LEAKS:-1}" = 1 ]; then
        unwind=fast_unwind_on_malloc=0
    else
        unwind=fast_unwind_on_malloc=1
    fi
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=${SAN_TOOL_LEAKS:-1}:$unwind:log_path=$reports/tool-asan"
    export APITOKEN_SANITIZED=1
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/tool-ubsan"
    export PYTHONPATH="$src/tests/py${PYTHONPATH:+:$PYTHONPATH}"
    mkdir -p "$run/pytest"
    if ! (cd "$src" && /usr/bin/python3 -m pytest -p no:cacheprovider \
            -p hardening_util -ra --junitxml="$run/pytest/junit.xml" \
            tests/py "$@" 2>&1 | tee "$run/pytest.log"; \
            exit "${PIPESTATUS[0]}"); then
        echo "pytest FAILED (see $run/pytest.log)" >&2
        status=1
    fi
fi

step "sanitizer reports"
shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
    for f in "${found[@]}"; do
        printf '\n---- %s\n' "$f"
        head -60 "$f"
    done
    echo "sanitizer-run: ${#found[@]} sanitizer report(s) in $reports" >&2
    status=1
else
    echo "no sanitizer reports"
fi
# Reports can also end up on stderr (before log_path is read, or from a
# child that lost the option): look in the logs we kept.
if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
        "$run"/check.log "$run"/pytest.log \
        "$build"/tests/unit/*.log 2>/dev/null; then
    echo "sanitizer-run: sanitizer output in the logs above" >&2
    status=1
fi
echo "sanitizer-run: results in $run"
[ $status -eq 0 ] && echo "sanitizer-run: clean"
exit $status
