"""SetHandler apitoken-status: counters since start, as text and in the
Prometheus exposition format, shared by every httpd process.  Known traffic
is sent in parallel under prefork (so several processes serve it) and the
deltas of the counters must match it exactly."""

import concurrent.futures
import os
import re
import time

import pytest

from httpd_server import (ALLOW_AUTHZ, ALLOW_DB_DOWN, STANDARD_CONF,
                          start_env)

STATUS_CONF = STANDARD_CONF + """
CustomLog "@ROOT@/logs/pid_log" "%P %>s %U"
<Location /status>
    SetHandler apitoken-status
    Require ip 127.0.0.1
</Location>
"""

PROM_LINE = re.compile(r'^([a-z_]+)(\{([a-z]+)="([^"]*)"\})? (\S+)$')


def text_status(h):
    r = h.get("/status")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    vals = {}
    for line in r.text.splitlines():
        k, v = line.split(": ", 1)
        vals[k] = v
    return vals


def prom_status(h):
    r = h.get("/status?format=prometheus")
    assert r.status_code == 200, r.text
    assert "version=0.0.4" in r.headers["Content-Type"]
    samples, types, helps = {}, {}, set()
    for line in r.text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split()
            types[name] = typ
            continue
        m = PROM_LINE.match(line)
        assert m, f"not an exposition line: {line!r}"
        name, _, label, lval, value = m.groups()
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert base in types or name in types, f"no # TYPE for {name}"
        assert base in helps or name in helps, f"no # HELP for {name}"
        samples[(name, label and f"{label}={lval}")] = float(value)
    return samples, types


def counts(h):
    t = text_status(h)
    return {k: int(v) for k, v in t.items()
            if re.fullmatch(r"\d+", v) and k != "Uptime"}


def delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after}


@pytest.fixture(scope="module")
def env(request):
    # Several idle children from the start, so the traffic spreads.
    e = start_env(request, "sqlite3", mpm="prefork", conf=STATUS_CONF,
                  global_conf="StartServers 4\nMinSpareServers 4")
    yield e
    e.close()


def test_400_counts_after_known_traffic(env):
    st, h = env.store, env.httpd
    good = st.create("alice", scopes=["dns"])
    bob = st.create("bob", scopes=["dns"])
    revoked = st.create("alice", scopes=["dns"])
    st.revoke(revoked["id"])
    tok = good["token"]
    bad_sum = tok[:-1] + ("A" if tok[-1] != "A" else "B")
    h.mark()
    before = counts(h)
    N, M, K = 40, 7, 5
    work = ([(tok, "/api/dns/ok.txt", 200)] * N
            + [(revoked["token"], "/api/dns/ok.txt", 401)] * M
            + [(bad_sum, "/api/dns/ok.txt", 401)] * K
            + [(tok, "/api/email/ok.txt", 403)] * 3
            + [(tok, "/allof/ok.txt", 403)] * 2
            + [(bob["token"], "/user/ok.txt", 403)] * 2
            + [(None, "/api/dns/ok.txt", 401)] * 4
            + [("a$b", "/api/dns/ok.txt", 400)] * 3)

    def one(case):
        t, path, want = case
        return h.get(path, token=t).status_code, want, path

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as ex:
        results = list(ex.map(one, work))
    assert all(got == want for got, want, _ in results), \
        [r for r in results if r[0] != r[1]][:5]

    d = delta(before, counts(h))
    assert d["granted"] == N
    assert d["denied.revoked"] == M
    assert d["denied.bad_checksum"] == K
    assert d["denied.insufficient_scope"] == 5
    assert d["denied.authz_refused"] == 2
    assert d["denied.no_credentials"] == 4
    assert d["denied.invalid_request"] == 3
    for k in ("denied.expired", "denied.unknown_id", "denied.wrong_secret",
              "db_unavailable", "db.errors"):
        assert d[k] == 0, k
    # Every token that parsed was looked up (or served from a cache).
    looked = N + M + 3 + 2 + 2
    assert d["db.queries"] + d["cache.hit"] + d["cache.negative_hit"] \
        >= looked
    assert d["db.query_seconds_le_+Inf"] == d["db.queries"]

    # Several processes served the traffic, and their counts add up.
    pids = set()
    with open(os.path.join(h.root, "logs", "pid_log")) as f:
        for line in f:
            pid, status, path = line.split()
            if path.startswith("/api/dns") and status == "200":
                pids.add(pid)
    assert len(pids) >= 2, pids
    h.check_logs(st.secrets, allow=ALLOW_AUTHZ)


def test_400_prometheus_format(env):
    st, h = env.store, env.httpd
    good = st.create("alice", scopes=["dns"])
    s0, types = prom_status(h)
    for _ in range(6):
        assert h.get("/api/dns/ok.txt",
                     token=good["token"]).status_code == 200
    assert h.get("/api/dns/ok.txt",
                 token=good["token"][:-1] + "!").status_code in (400, 401)
    s1, types = prom_status(h)
    assert types["apitoken_requests_total"] == "counter"
    assert types["apitoken_denied_total"] == "counter"
    assert types["apitoken_db_query_seconds"] == "histogram"
    assert types["apitoken_change_marker_age_seconds"] == "gauge"
    assert types["apitoken_cache_lookups_total"] == "counter"
    g = ("apitoken_requests_total", "result=granted")
    assert s1[g] - s0[g] == 6
    for reason in ("revoked", "bad_checksum", "expired", "unknown_id",
                   "insufficient_scope", "no_credentials",
                   "invalid_request", "wrong_secret"):
        assert ("apitoken_denied_total", f"reason={reason}") in s1
    # Histogram: cumulative buckets in order, +Inf == _count.
    les = [k[1] for k in s1 if k[0] == "apitoken_db_query_seconds_bucket"]
    assert les[0] == "le=0.0005" and les[-1] == "le=+Inf"
    assert "le=0.001" in les and "le=0.25" in les
    vals = [s1[("apitoken_db_query_seconds_bucket", le)] for le in les]
    assert vals == sorted(vals)
    assert vals[-1] == s1[("apitoken_db_query_seconds_count", None)]
    assert s1[("apitoken_db_query_seconds_count", None)] \
        - s0[("apitoken_db_query_seconds_count", None)] >= 1 \
        or s1.get(("apitoken_cache_lookups_total", "result=hit"), 0) \
        > s0.get(("apitoken_cache_lookups_total", "result=hit"), 0)
    assert s1[("apitoken_db_query_seconds_sum", None)] >= 0
    assert s1[("apitoken_start_time_seconds", None)] <= time.time()


def test_400_db_down_counts_503(env):
    st, h = env.store, env.httpd
    good = st.create("alice", scopes=["dns"])
    assert h.get("/api/dns/ok.txt", token=good["token"]).status_code == 200
    h.mark()
    before = counts(h)
    env.db_down()
    try:
        got = [h.get("/api/dns/ok.txt", token=good["token"]).status_code
               for _ in range(5)]
    finally:
        env.db_up()
    assert got == [503] * 5
    deadline = time.monotonic() + 20
    while h.get("/api/dns/ok.txt", token=good["token"]).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    d = delta(before, counts(h))
    assert d["db_unavailable"] == 5
    assert d["db.errors"] >= 5
    assert d["granted"] >= 1
    h.check_logs(st.secrets, allow=ALLOW_DB_DOWN)


def test_400_bad_query_and_method(env):
    h = env.httpd
    assert h.get("/status?format=xml").status_code == 400
    import requests
    r = requests.post(h.url("/status"), timeout=30)
    assert r.status_code == 405
    t = text_status(h)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t["Started"])
    assert t["change_marker_age_seconds"] == "never" or \
        float(t["change_marker_age_seconds"]) >= 0


def wait_restarted(h, old_pids, timeout=20):
    """Wait until the status page answers from new children."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = h.get("/status", timeout=5)
            if r.status_code == 200:
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise AssertionError("httpd did not come back")


def test_400_graceful_keeps_full_restart_zeroes(env):
    import signal
    st, h = env.store, env.httpd
    good = st.create("alice", scopes=["dns"])
    for _ in range(3):
        assert h.get("/api/dns/ok.txt", token=good["token"]).status_code \
            == 200
    before = text_status(h)
    assert int(before["granted"]) >= 3
    h.mark()
    os.kill(h.proc.pid, signal.SIGUSR1)          # graceful restart
    h.wait_log(r"AH00171: Graceful restart(.|\n)*resuming normal")
    wait_restarted(h, None)
    after = text_status(h)
    assert after["Started"] == before["Started"]
    assert int(after["granted"]) >= int(before["granted"])
    assert h.get("/api/dns/ok.txt", token=good["token"]).status_code == 200
    assert int(text_status(h)["granted"]) == int(after["granted"]) + 1
    h.mark()
    os.kill(h.proc.pid, signal.SIGHUP)           # full restart
    h.wait_log(r"AH00173: SIGHUP received(.|\n)*resuming normal")
    time.sleep(0.5)
    wait_restarted(h, None)
    fresh = text_status(h)
    assert int(fresh["granted"]) == 0
    assert int(fresh["db.queries"]) == 0
