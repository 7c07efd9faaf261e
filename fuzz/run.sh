#!/bin/sh
# Build and run the libFuzzer targets for a bounded time each.
#   fuzz/run.sh [SECONDS_PER_TARGET]        (default 12)
# Builds with clang -fsanitize=fuzzer,address,undefined into $FUZZ_BUILD
# (default /tmp/apitoken-fuzz), never into the source tree; the committed
# seed corpora are copied there and only the copies grow.  Exits non-zero
# on any crash, invariant failure or sanitizer report.
set -eu

SECS=${1:-12}
case "$SECS" in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
SRC="$HERE/../mod_apitoken"
BUILD=${FUZZ_BUILD:-/tmp/apitoken-fuzz}
CC=${FUZZ_CC:-clang}

command -v "$CC" >/dev/null 2>&1 || {
    echo "$0: $CC not found (apt-get install clang)" >&2; exit 2; }

CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
 -fno-sanitize-recover=all -Wall -Wextra -Werror -Wno-unused-parameter
 -I$SRC -I$HERE $(apr-1-config --includes --cppflags) $(apu-1-config --includes)
 $(pkg-config --cflags libcrypto)"
LIBS="-laprutil-1 -lapr-1 $(pkg-config --libs libcrypto)"

# target -> core sources it needs
sources() {
    case "$1" in
        token) echo at_token.c ;;
        cred)  echo at_cred.c ;;
        scope) echo at_scope.c ;;
        time)  echo at_time.c ;;
        dburl) echo at_dburl.c ;;
        json)  echo at_json.c at_store.c at_nets.c at_text.c ;;
        resource) echo at_resource.c ;;
    esac
}

mkdir -p "$BUILD"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"

status=0
for t in token cred scope time dburl json resource; do
    srcs=""
    for s in $(sources $t); do srcs="$srcs $SRC/$s"; done
    # shellcheck disable=SC2086
    $CC $CFLAGS -o "$BUILD/fuzz_$t" "$HERE/fuzz_$t.c" $srcs $LIBS
    rm -rf "$BUILD/corpus_$t" "$BUILD/artifacts_$t"
    mkdir -p "$BUILD/corpus_$t" "$BUILD/artifacts_$t"
    cp "$HERE/corpus/$t/"* "$BUILD/corpus_$t/"
    log="$BUILD/fuzz_$t.log"
    if "$BUILD/fuzz_$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
            -max_len=4096 -artifact_prefix="$BUILD/artifacts_$t/" \
            -print_final_stats=1 "$BUILD/corpus_$t" >"$log" 2>&1 \
        && ! grep -q -e "ERROR: AddressSanitizer" -e "runtime error:" \
                     -e "invariant failed" "$log"; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz_$t: ok, $execs runs in ${SECS}s"
    else
        echo "fuzz_$t: FAILED (log: $log, inputs: $BUILD/artifacts_$t/)" >&2
        grep -m 20 -e "ERROR" -e "runtime error" -e "invariant failed" \
            -e "SUMMARY" "$log" >&2 || true
        status=1
    fi
done
exit $status
