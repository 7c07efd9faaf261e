#!/bin/bash
# Run the apitoken tool's pytest tests (tests/py -k test_1) with every tool
# invocation under valgrind memcheck, and fail on any error or definite
# leak.
#
#   scripts/valgrind-cli.sh [PYTEST ARGS...]    default: -k test_1
#
# Environment:
#   VG_RUNDIR      where the valgrind logs go (default: a new
#                  /tmp/apitoken-vg.XXXXXX, kept afterwards)
#   APITOKEN_BUILDDIR  the build tree holding tools/apitoken (default: the
#                  repository; run make first)
#
# conftest.py runs $APITOKEN_BUILDDIR/tools/apitoken; this script points
# APITOKEN_BUILDDIR at a shadow tree whose tools/apitoken is a wrapper that
# execs valgrind on the real binary (everything else in the shadow tree
# links back to the real build tree).  Each run writes RUNDIR/vg.PID.log.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${APITOKEN_BUILDDIR:-$top}" && pwd)
tool=$build/tools/apitoken
[ -x "$tool" ] || { echo "valgrind-cli: $tool not built (run make)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind-cli: valgrind is not installed" >&2; exit 2; }
if head -c 2 "$tool" | grep -q '#!'; then
    # A libtool wrapper script: valgrind the real program.
    real=$build/tools/.libs/apitoken
    export LD_LIBRARY_PATH="$build/mod_apitoken/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
    real=$tool
fi

run=${VG_RUNDIR:-$(mktemp -d /tmp/apitoken-vg.XXXXXX)}
mkdir -p "$run"
rm -f "$run"/vg.*.log
shadow=$run/build
rm -rf "$shadow"
mkdir -p "$shadow/tools"
for f in "$build"/*; do
    [ "$(basename "$f")" = tools ] || ln -s "$f" "$shadow/"
done

# Known leaks of libdbd-sqlite3 0.9 (Debian 12), not ours: the error text
# of every failed query (sqlite3_get_table's errmsg is never freed) and the
# table name the driver parses to type a result's columns.
supp=$run/apitoken.supp
cat >"$supp" <<'EOF'
{
   libdbd-sqlite3: errmsg of a failed sqlite3_get_table is never freed
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   ...
   fun:sqlite3_get_table
   fun:dbd_query
}
{
   libdbd-sqlite3: table name parsed from the query is never freed
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:strdup
   obj:*/libdbdsqlite3.so
   ...
   fun:dbd_query
}
EOF

cat >"$shadow/tools/apitoken" <<EOF
#!/bin/sh
exec valgrind --quiet --tool=memcheck --error-exitcode=99 \\
    --leak-check=full --errors-for-leak-kinds=definite \\
    --show-leak-kinds=definite --keep-debuginfo=yes \\
    --suppressions=$supp --log-file=$run/vg.%p.log "$real" "\$@"
EOF
chmod 755 "$shadow/tools/apitoken"

[ $# -gt 0 ] || set -- -k test_1
status=0
echo "valgrind-cli: tool $real; logs in $run"
(cd "$top" && APITOKEN_BUILDDIR=$shadow /usr/bin/python3 -m pytest \
    -p no:cacheprovider -q -ra tests/py "$@") 2>&1 | tee "$run/pytest.log" \
    || status=1
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

shopt -s nullglob
logs=("$run"/vg.*.log)
bad=()
for f in "${logs[@]}"; do
    # --quiet: a log holds text only when valgrind had something to say.
    if [ -s "$f" ]; then
        bad+=("$f")
    fi
done
echo "valgrind-cli: ${#logs[@]} tool runs under valgrind"
if [ ${#bad[@]} -gt 0 ]; then
    for f in "${bad[@]:0:10}"; do
        printf '\n---- %s\n' "$f"
        head -60 "$f"
    done
    echo "valgrind-cli: ${#bad[@]} run(s) with memcheck errors or definite leaks" >&2
    status=1
fi
[ ${#logs[@]} -gt 0 ] || { echo "valgrind-cli: no tool run was seen" >&2; status=1; }
[ $status -eq 0 ] && echo "valgrind-cli: clean (no errors, no definite leaks)"
exit $status
