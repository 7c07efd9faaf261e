#!/bin/bash
# Soak test: a private httpd with mod_apitoken from the build tree under a
# 60-second load on 64 keep-alive connections, mixing valid, revoked,
# expired, wrong-scope and garbage tokens, with revokes during the run.
# Fails on any wrong decision (a revoke has one second to take effect), any
# 5xx or connection error, or a child whose resident memory grew by more
# than SOAK_RSS_MB.  Then, unless SOAK_CREATES=0, the 10,000-create test on
# PostgreSQL (tests/py/test_530, APITOKEN_MANY_CREATES=10000).
#
#   scripts/soak.sh                 SQLite store, event MPM
#   SOAK_KIND=pgsql scripts/soak.sh the same against a private PostgreSQL
#
# Environment: SOAK_SECONDS (60), SOAK_CONNECTIONS (64), SOAK_REVOKES (10),
# SOAK_RSS_MB (4), SOAK_KIND (sqlite3|pgsql|mysql), SOAK_MPM (event),
# SOAK_CREATES (10000; 0 skips it).  Not part of ./test.sh (about 4 min).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -f mod_apitoken/.libs/mod_apitoken.so ] && [ -x tools/apitoken ] \
    || { echo "soak: build first (make)" >&2; exit 2; }

export SOAK_SECONDS=${SOAK_SECONDS:-60} SOAK_CONNECTIONS=${SOAK_CONNECTIONS:-64}
export SOAK_REVOKES=${SOAK_REVOKES:-10} SOAK_RSS_MB=${SOAK_RSS_MB:-4}
export SOAK_KIND=${SOAK_KIND:-sqlite3} SOAK_MPM=${SOAK_MPM:-event}
creates=${SOAK_CREATES:-10000}

status=0
PYTHONPATH="$top/tests/py" /usr/bin/python3 - <<'PY' || status=1
import json
import os
import sys

import dbservers
from hardening_util import ProcTree, mixed_load
from httpd_server import (ALLOW_AUTHZ, STANDARD_CONF, Httpd, server_store,
                          sqlite_store)

secs = int(os.environ["SOAK_SECONDS"])
conns = int(os.environ["SOAK_CONNECTIONS"])
revokes = int(os.environ["SOAK_REVOKES"])
rss_kb = int(os.environ["SOAK_RSS_MB"]) * 1024
kind = os.environ["SOAK_KIND"]
srv = None
if kind == "sqlite3":
    store = sqlite_store()
else:
    srv = (dbservers.PgServer if kind == "pgsql"
           else dbservers.MariaDbServer)()
    store = server_store(srv)
h = Httpd(store.url, mpm=os.environ["SOAK_MPM"], conf=STANDARD_CONF,
          loglevel="warn")
failed = []
try:
    h.start()
    h.mark()
    tree = ProcTree(h.proc.pid)
    rep = mixed_load(store, h, seconds=secs, threads=conns,
                     revokes=revokes)
    if rep["problems"]:
        failed.append(f"{len(rep['problems'])} wrong answers, first: "
                      f"{rep['problems'][:10]}")
    grown = {p: g for p, g in rep["rss_growth_kb"].items() if g > rss_kb}
    if grown:
        failed.append(f"children grew beyond {rss_kb} kB: {grown}")
    try:
        tree.assert_intact(h.log_since_mark())
        h.check_logs(store.secrets, allow=ALLOW_AUTHZ)
    except AssertionError as e:
        failed.append(str(e))
    rep["problems"] = rep["problems"][:20]
    print("soak report: " + json.dumps(rep, sort_keys=True))
finally:
    h.close()
    store.close()
    if srv:
        srv.close()
for f in failed:
    print("soak: FAILED: " + f, file=sys.stderr)
sys.exit(1 if failed else 0)
PY

if [ "$creates" != 0 ]; then
    echo "soak: $creates creates from four parallel tool processes (PostgreSQL)"
    APITOKEN_MANY_CREATES=$creates /usr/bin/python3 -m pytest \
        -p no:cacheprovider -q -s tests/py/test_530_many_nodes.py \
        -k many_creates || status=1
fi
[ $status -eq 0 ] && echo "soak: passed"
exit $status
