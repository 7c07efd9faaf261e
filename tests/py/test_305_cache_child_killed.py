"""A child killed with SIGKILL in the middle of requests (possibly while it
holds the cache's lock or is writing an entry) leaves the shared cache
usable: the survivors and the replacement children keep answering from it,
changes still travel through the change marker, nothing answers 5xx."""

import os
import signal
import time

import pytest

from hardening_util import Load, wait_status, worker_children
from httpd_server import ALLOW_AUTHZ, sqlite_store
from test_300_cache import API, HIT, PROPAGATION, start, status

KILLS = 4


@pytest.mark.parametrize("mutex", ["file", "pthread"])
def test_305_child_killed_mid_request_cache_usable(mutex):
    store = sqlite_store()
    toks = [store.create("alice", name=f"t{i}", scopes=["dns"])
            for i in range(4)]
    h = start(store, mpm="prefork",
              extra_global=f"Mutex {mutex} apitoken-cache\n"
                           "StartServers 4\nMinSpareServers 4\n")
    try:
        for t in toks:                      # warm the shared cache
            assert status(h, t) == 200
        auth = [{"Authorization": "Bearer " + t["token"]} for t in toks]
        load = Load(h.port, lambda i, rnd: (API, auth[i % len(auth)], "ok"),
                    threads=6, seconds=6).start()
        killed = []
        for _ in range(KILLS):
            time.sleep(0.8)
            kids = sorted(worker_children(h.proc.pid))
            # mod_cgi is not loaded under prefork here: every child serves.
            if kids:
                os.kill(kids[0], signal.SIGKILL)
                killed.append(kids[0])
        results = load.join()
        assert len(killed) == KILLS, killed
        answered = [r for r in results if r[2] is not None]
        assert len(answered) > 200, len(answered)
        bad = [r for r in answered if r[2] != 200]
        assert not bad, bad[:10]

        # After the kills: hits from the shared cache in fresh children...
        h.mark()
        for t in toks:
            assert status(h, t) == 200
        assert HIT in h.log_since_mark()
        # ...and a revoke still reaches every process through the marker.
        store.revoke(toks[0]["id"])
        st, waited = wait_status(lambda: status(h, toks[0]), {401},
                                 timeout=5)
        assert st == 401 and waited <= PROPAGATION, (st, waited)
        for t in toks[1:]:
            assert status(h, t) == 200
        assert h.proc.poll() is None, "httpd parent died"
        # The parent notes each killed child; nothing worse is allowed.
        h.check_logs(store.secrets,
                     allow=ALLOW_AUTHZ + [r"exit signal Killed \(9\)"])
    finally:
        h.close()
        store.close()
