"""ApiTokenTrackUsage per node: under prefork with 20 children, 100 busy
tokens each used from many connections (so many processes serve each)
cost one last-used write per token per ApiTokenUsageInterval for the
whole node, not one per process.  The count is the module's usage_writes
counter (successful writes, summed over the processes in shared memory);
the pid log shows that many processes did serve the load."""

import concurrent.futures
import time

import pytest
import requests

from httpd_server import STANDARD_CONF, start_env

CONF = STANDARD_CONF + """
CustomLog "@ROOT@/logs/pid_log" "%P %U"
<Location /status>
    SetHandler apitoken-status
    Require ip 127.0.0.1
</Location>
"""
# 20 children from the start, none stopped while the test runs.
GLOBAL = """StartServers 20
MinSpareServers 20
MaxSpareServers 40
ApiTokenUsageInterval 600"""
TOKENS = 100
HITS = 8


def usage_writes(h):
    for line in h.get("/status").text.splitlines():
        if line.startswith("usage_writes: "):
            return int(line.split(": ")[1])
    raise AssertionError("no usage_writes in the status")


@pytest.mark.parametrize("kind", [
    "sqlite3",
    pytest.param("pgsql", marks=pytest.mark.external),
    pytest.param("mysql", marks=pytest.mark.external)])
def test_235_one_write_per_token_per_interval(request, kind):
    e = start_env(request, kind, mpm="prefork", conf=CONF,
                  global_conf=GLOBAL)
    try:
        docs = [e.store.create("alice", name=f"t{i}", scopes=["dns"]) for i in range(TOKENS)]
        toks = [d["token"] for d in docs]
        before = usage_writes(e.httpd)
        url = e.httpd.url("/usage/ok.txt")

        def hit(tok):
            # A fresh connection each time, so the children share the load.
            r = requests.get(url, headers={"Authorization": f"Bearer {tok}",
                                           "Connection": "close"},
                             timeout=30)
            return r.status_code

        with concurrent.futures.ThreadPoolExecutor(20) as ex:
            codes = list(ex.map(hit, toks * HITS))
        assert codes == [200] * (TOKENS * HITS)
        with open(e.httpd.root + "/logs/pid_log") as f:
            pids = {ln.split()[0] for ln in f if "/usage/" in ln}
        assert len(pids) >= 5, pids
        # log_transaction writes after the response: let the last finish.
        time.sleep(1.5)
        writes = usage_writes(e.httpd) - before
        assert writes == TOKENS, writes
        for d in docs[:5]:
            assert e.store.show(d["id"])["last_used_at"] is not None
        e.httpd.check_logs(e.store.secrets)
    finally:
        e.close()
