"""One node on PostgreSQL under cached load: prefork with 40 children
serving one hot token from the cache.  The change marker is read for the
node, not per process, so the database sees at most a few transactions a
second and a handful of connections; with a short ApiTokenDBIdleTimeout
the connections are closed once the node idles; a revoke still reaches
every process within a second."""

import time

import pytest

from hardening_util import Load, wait_status
from httpd_server import STANDARD_CONF, Httpd, open_store
from test_300_cache import SHMCB

API = "/api/dns/ok.txt"
CHILDREN = 40
SECONDS = 8
MAX_XACT_PER_S = 5
MAX_CONNS = 10
MAX_IDLE_CONNS = 2
IDLE = 2            # ApiTokenDBIdleTimeout here
PROPAGATION = 1.0

GLOBAL = SHMCB + f"""
StartServers {CHILDREN}
MinSpareServers {CHILDREN}
MaxSpareServers {CHILDREN}
ServerLimit {CHILDREN}
MaxRequestWorkers {CHILDREN}
ApiTokenDBIdleTimeout {IDLE}
"""

CONF = STANDARD_CONF + """
<Location />
    ApiTokenCacheTTL 300
</Location>
"""


def pg_query(store, sql):
    out = store.server._psql("postgres", sql)
    return int(out.strip().splitlines()[-1])


def commits(store):
    return pg_query(store, "SELECT pg_stat_force_next_flush(); "
                    "SELECT xact_commit FROM pg_stat_database "
                    f"WHERE datname = '{store.server.dbname}'")


def conns(store):
    return pg_query(store, "SELECT count(*) FROM pg_stat_activity "
                    f"WHERE datname = '{store.server.dbname}'")


@pytest.mark.external
def test_310_prefork_40_cached_load(request):
    store = open_store(request, "pgsql")
    tok = store.create("alice", scopes=["dns"])
    base_conns = conns(store)
    h = Httpd(store.url, mpm="prefork", conf=CONF, global_conf=GLOBAL,
              loglevel="warn")
    try:
        h.start()
        assert h.get(API, token=tok["token"]).status_code == 200
        auth = {"Authorization": "Bearer " + tok["token"]}
        load = Load(h.port, lambda i, rnd: (API, auth, "ok"),
                    threads=CHILDREN, seconds=SECONDS).start()
        time.sleep(1)
        c0, t0 = commits(store), time.monotonic()
        peak = 0
        while time.monotonic() - t0 < SECONDS - 2:
            peak = max(peak, conns(store) - base_conns)
            time.sleep(0.5)
        c1, t1 = commits(store), time.monotonic()
        results = load.join()
        answered = [r for r in results if r[2] is not None]
        assert len(answered) > 500, len(answered)
        assert all(r[2] == 200 for r in answered)
        rate = (c1 - c0) / (t1 - t0)
        print(f"\nprefork {CHILDREN}, cached load: {rate:.1f} "
              f"transactions/s, at most {peak} connections, "
              f"{len(answered)} requests")
        assert rate <= MAX_XACT_PER_S, rate
        assert peak <= MAX_CONNS, peak

        # A revoke reaches every process (the requests spread over them).
        store.revoke(tok["id"])
        st, waited = wait_status(
            lambda: h.get(API, token=tok["token"]).status_code, {401},
            timeout=5, interval=0.05)
        assert st == 401 and waited <= PROPAGATION, (st, waited)
        probe = Load(h.port, lambda i, rnd: (API, auth, "r"),
                     threads=CHILDREN, seconds=1).start().join()
        assert probe and all(r[2] == 401 for r in probe
                             if r[2] is not None)

        # Idle: the connections close after ApiTokenDBIdleTimeout.
        time.sleep(IDLE + 2.5)
        idle = conns(store) - base_conns
        print(f"after {IDLE + 2.5:.1f}s idle: {idle} connections")
        assert idle <= MAX_IDLE_CONNS, idle
    finally:
        h.close()
        store.close()
