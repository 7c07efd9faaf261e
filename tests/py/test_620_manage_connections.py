"""Database connections per request, under prefork, worker and event: a
request holds at most one pooled connection and gives it back when it ends,
whoever took it (the token check, the cache's change marker, the
management API, usage tracking after the response).  With one connection
per process a second acquire or a lost one shows at once: the request
waits 10 s for a free connection and answers 503.  After
httpd stops, no child has died (an apr_reslist destroyed with a connection
still out aborts the process)."""

import concurrent.futures
import os
import socket
import time

import pytest

from httpd_server import MODDIR
from manage_env import MPMS, ManageEnv

# Well under the 10 s a request waits for a free connection.
PROMPT = 5.0

# The shared cache, so that a token check can pass without the database
# and usage tracking is the first to ask for a connection.
GLOBAL_CONF = f"""LoadModule socache_shmcb_module {MODDIR}/mod_socache_shmcb.so
ApiTokenDBMaxConnections 1
ApiTokenUsageInterval 0
"""

# /open/: the token check asks the database on every request; /tm0/: the
# same, then the management API and usage tracking on the same request.
CONF = """
<Location /open/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    ApiTokenCacheTTL 0
    Require valid-user
</Location>
<Location /tm0/>
    AuthType apitoken
    AuthName "Token management"
    AuthzSendForbiddenOnFailure On
    ApiTokenCacheTTL 0
    ApiTokenTrackUsage On
    Require valid-user
    SetHandler apitoken-manage
    ApiTokenManage On
</Location>
"""


def requests_of(e, mgr, i):
    """(what, call, expected status) of one round: every way a request
    reaches the database."""
    tok = mgr["token"]
    return [
        ("audit", lambda: e.call("alice", "GET", "api/audit"), 200),
        ("audit of a token",
         lambda: e.call("alice", "GET", f"api/audit?token={mgr['id']}"), 200),
        ("list", lambda: e.call("alice", "GET", "api/tokens"), 200),
        ("create", lambda: e.call("alice", "POST", "api/tokens",
                                  {"name": f"c-{i}-{time.monotonic_ns()}",
                                   "scopes": ["dns"]}), 201),
        ("audit with a token, uncached",
         lambda: e.call(None, "GET", "api/audit", base="/tm0/", token=tok),
         200),
        ("list with a token, cached",
         lambda: e.call(None, "GET", "api/tokens", base="/tmanage/",
                        token=tok), 200),
        ("token check, cached",
         lambda: e.api_get("/api/dns/ok.txt", tok), 200),
        ("token check, uncached", lambda: e.api_get("/open/ok.txt", tok),
         200),
        ("token check, cached, usage written after it",
         lambda: e.api_get("/usage/ok.txt", tok), 200),
    ]


def timed(what, call, want):
    t0 = time.monotonic()
    r = call()
    took = time.monotonic() - t0
    assert r.status_code == want, (what, r.status_code, r.text[:300])
    return what, took


def exercise(e, rounds, parallel):
    mgr = e.create(name=f"mgr-{time.monotonic_ns()}",
                   scopes=["tokens", "dns"])
    slow = []
    for i in range(rounds):
        for what, call, want in requests_of(e, mgr, i):
            what, took = timed(what, call, want)
            if took > PROMPT:
                slow.append((what, round(took, 1)))
    assert not slow, slow
    # Cached token checks in a burst (the change marker is read at most
    # every 500 ms): usage tracking takes the request's only connection,
    # in a cleanup of the request's pool.
    for i in range(10):
        what, took = timed("usage burst",
                           lambda: e.api_get("/usage/ok.txt", mgr["token"]),
                           200)
        assert took < PROMPT, (what, took)
    # Concurrent requests share each process's one connection in turn.
    jobs = [job for i in range(parallel)
            for job in requests_of(e, mgr, rounds + i)]
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        done = list(pool.map(lambda job: timed(*job), jobs))
    slow = [(what, round(took, 1)) for what, took in done if took > PROMPT]
    assert not slow, slow
    # Usage tracking wrote (after the response, on the request's pool).
    shown = e.store.show(mgr["id"])
    assert shown["last_used_at"], shown


@pytest.mark.parametrize("mpm", MPMS)
def test_620_one_connection_per_request(request, mpm):
    e = ManageEnv(request, mpm=mpm, conf=CONF, global_conf=GLOBAL_CONF)
    try:
        e.httpd.mark()
        exercise(e, rounds=15, parallel=6)
        e.stop_and_check()
    finally:
        e.close()


@pytest.mark.external
def test_620_one_connection_per_request_postgresql(request):
    e = ManageEnv(request, kind="pgsql", mpm="event", conf=CONF,
                  global_conf=GLOBAL_CONF)
    try:
        e.httpd.mark()
        exercise(e, rounds=8, parallel=4)
        e.stop_and_check()
    finally:
        e.close()


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_620_clean_stop_after_audits(request, mpm):
    """Enough connections that nothing waits: a connection taken and not
    given back shows only when the process exits."""
    e = ManageEnv(request, mpm=mpm, conf=CONF,
                  global_conf=GLOBAL_CONF.replace(
                      "ApiTokenDBMaxConnections 1",
                      "ApiTokenDBMaxConnections 4"))
    try:
        e.httpd.mark()
        for _ in range(3):
            timed("audit", lambda: e.call("alice", "GET", "api/audit"), 200)
        e.stop_and_check()
    finally:
        e.close()


# event keeps a worker blocked in a write to a client that does not read
# until the parent kills it (as without this module).
@pytest.mark.parametrize("mpm", ["prefork", "worker"])
def test_620_stop_with_a_response_in_flight(request, mpm):
    """httpd stops while a request still holds its connection (a large
    response the client does not read): the pool is closed after the
    request gave the connection back, or not at all, never under it."""
    e = ManageEnv(request, mpm=mpm, conf=CONF, global_conf=GLOBAL_CONF)
    try:
        tok = e.create(name="big", scopes=["dns"])["token"]
        with open(os.path.join(e.httpd.root, "htdocs", "open", "big.bin"),
                  "wb") as f:
            f.write(os.urandom(1 << 22))
        e.httpd.mark()
        with socket.create_connection(("127.0.0.1", e.httpd.port),
                                      timeout=30) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(f"GET /open/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: Bearer {tok}\r\n\r\n".encode())
            assert s.recv(64).startswith(b"HTTP/1.1 200 ")
            time.sleep(1)
            e.stop_and_check()
    finally:
        e.close()
