"""Several nodes on one database: two httpd instances sharing one
PostgreSQL (and one MariaDB).  A token made by the tool works on both, a
revoke reaches both within a second, the database going away and coming
back is handled by both.  Concurrent tool processes: eight creating the
same owner and name (exactly one wins), and many creates from four
parallel processes giving distinct ids.

CACHE_TTLS lists the ApiTokenCacheTTL values each node runs with: 0 (every
request asks the database) and 300 (the shared cache, its default); with
either, a revoke reaches both nodes within a second.
"""

import json
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hardening_util import ProcTree, wait_status
from httpd_server import (ALLOW_AUTHZ, ALLOW_DB_DOWN, STANDARD_CONF, TOOL,
                          Httpd, open_store)

CACHE_TTLS = [0, 300]
API = "/api/dns/ok.txt"
PROPAGATION = 1.0     # a revoke reaches every node within this long
# 10,000 in the issue; the tool makes one token per process (about 15 ms
# each with four in parallel on two cores, so 10,000 take about 2.5
# minutes): the default keeps the suite short, scripts/soak.sh runs the
# full count (APITOKEN_MANY_CREATES=10000).
MANY = int(os.environ.get("APITOKEN_MANY_CREATES", "2000"))


def node_conf(ttl):
    return STANDARD_CONF + f"""
<Location />
    ApiTokenCacheTTL {ttl}
</Location>
"""


KINDS = [pytest.param("pgsql", marks=pytest.mark.external),
         pytest.param("mysql", marks=pytest.mark.external)]


@pytest.fixture(scope="module", params=[(k, t) for k in ("pgsql", "mysql")
                                        for t in CACHE_TTLS],
                ids=lambda p: f"{p[0]}-ttl{p[1]}")
def nodes(request):
    kind, ttl = request.param
    request.applymarker(pytest.mark.external)
    store = open_store(request, kind)
    hs = []
    try:
        for mpm in ("event", "prefork"):
            h = Httpd(store.url, mpm=mpm, conf=node_conf(ttl))
            hs.append(h)
            h.start()
        yield store, hs
    finally:
        for h in hs:
            h.close()
        store.server.start()
        store.close()


def status(h, tok):
    return h.get(API, token=tok["token"]).status_code


def test_530_token_works_on_both(nodes):
    store, hs = nodes
    for h in hs:
        h.mark()
    tok = store.create("alice", scopes=["dns"])
    for h in hs:
        assert status(h, tok) == 200
        r = h.get("/api/email/ok.txt", token=tok["token"])
        assert r.status_code == 403
    for h in hs:
        h.check_logs(store.secrets, allow=ALLOW_AUTHZ)


def test_530_revoke_reaches_both_within_a_second(nodes):
    store, hs = nodes
    toks = [store.create("alice", scopes=["dns"]) for _ in range(3)]
    for tok in toks:
        # Warm every node (and any cache) with the token first.
        for _ in range(3):
            for h in hs:
                assert status(h, tok) == 200
        store.revoke(tok["id"])
        t0 = time.monotonic()
        for h in hs:
            st, waited = wait_status(lambda: status(h, tok), {401},
                                     timeout=5, interval=0.02)
            total = time.monotonic() - t0
            assert st == 401, f"node {h.port} still {st} after 5 s"
            assert total <= PROPAGATION, \
                f"revoke took {total:.2f}s to reach node {h.port}"
            r = h.get(API, token=tok["token"])
            assert r.status_code == 401
            assert ('error="invalid_token", error_description="the token '
                    'was revoked at ') in r.headers["WWW-Authenticate"]
        # Still refused a moment later on both (no stale answer returns).
        time.sleep(0.3)
        for h in hs:
            assert status(h, tok) == 401


def test_530_database_away_and_back_on_both(nodes):
    store, hs = nodes
    tok = store.create("alice", scopes=["dns"])
    trees = []
    for h in hs:
        h.mark()
        assert status(h, tok) == 200
        trees.append(ProcTree(h.proc.pid))
    store.server.stop()
    try:
        for h in hs:
            st, _ = wait_status(lambda: status(h, tok), {503}, timeout=20)
            assert st == 503, f"node {h.port}: {st} with the database down"
            r = h.get(API, token=tok["token"])
            assert r.status_code == 503
            assert "WWW-Authenticate" not in r.headers
    finally:
        store.server.start()
    t_up = time.monotonic()
    for h in hs:
        st, _ = wait_status(lambda: status(h, tok), {200}, timeout=20,
                            interval=0.05)
        assert st == 200
        # The second node is measured from the same moment.
        assert time.monotonic() - t_up <= 2.0 + 0.5 * len(hs), \
            f"node {h.port} took {time.monotonic() - t_up:.2f}s"
    for h, tree in zip(hs, trees):
        tree.assert_intact(h.log_since_mark())
        assert "APT04004" in h.log_since_mark()
        h.check_logs(store.secrets, allow=ALLOW_DB_DOWN + ALLOW_AUTHZ)


def _tool(url, *args):
    return subprocess.run([str(TOOL), "--db", url, "--json"] + list(args),
                          capture_output=True, text=True, timeout=120)


def test_530_eight_creates_same_name(nodes):
    store, _ = nodes
    barrier = threading.Barrier(8)

    def one(_):
        barrier.wait(timeout=30)
        return _tool(store.url, "create", "--owner", "race-owner",
                     "--name", "race", "--scope", "dns")

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(one, range(8)))
    codes = sorted(r.returncode for r in results)
    assert codes == [0] + [1] * 7, [(r.returncode, r.stderr)
                                    for r in results]
    for r in results:
        if r.returncode == 1:
            assert r.stdout == ""
            assert r.stderr.count("\n") == 1, r.stderr
            assert "already exists" in r.stderr and "race" in r.stderr
        else:
            store._remember(json.loads(r.stdout))
    docs = json.loads(_tool(store.url, "list", "--owner",
                            "race-owner").stdout)
    assert len(docs) == 1


@pytest.mark.external
def test_530_many_creates_distinct_ids(request):
    store = open_store(request, "pgsql")
    n = MANY
    per = n // 4
    ids = [[] for _ in range(4)]
    errors = []

    def worker(k):
        for i in range(per):
            r = _tool(store.url, "create", "--owner", f"bulk{k}",
                      "--name", f"n{i}", "--scope", "dns")
            if r.returncode != 0:
                errors.append(r.stderr)
                return
            ids[k].append(json.loads(r.stdout)["id"])

    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(worker, range(4)))
    took = time.monotonic() - t0
    print(f"\n{per * 4} creates from 4 parallel tool processes on "
          f"PostgreSQL: {took:.1f}s ({per * 4 / took:.0f}/s)")
    assert not errors, errors[:3]
    flat = [i for k in ids for i in k]
    assert len(flat) == per * 4
    assert len(set(flat)) == len(flat), "duplicate ids"
    rows = store.server.sql("SELECT count(*), count(DISTINCT id) FROM "
                            "apitoken_tokens WHERE owner LIKE 'bulk%'")
    assert rows.strip() == f"{per * 4}|{per * 4}", rows
