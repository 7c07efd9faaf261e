"""ApiTokenDBFastPath: on SQLite the token lookup by id runs as a prepared
statement on libdbi's sqlite3 handle; Off (and every other database) keeps
libdbi's query interface.  Both must give the same decision, for the same
reason, for every kind of token; a change made by the tool must be seen by
the very next lookup on a reused connection (no stale read snapshot); and
PostgreSQL and MariaDB must use the plain path.
"""

import re
import time

import pytest

from httpd_server import ALLOW_AUTHZ, STANDARD_CONF, Httpd, open_store

PATH_LINE = "APT04010: token lookups on this connection: "
FAST = PATH_LINE + "prepared SQLite statement"
PLAIN = PATH_LINE + "libdbi query"
# The database on every request: no cache in the way of the lookup.
NOCACHE = "ApiTokenCache none"


def start(store, fast):
    h = Httpd(store.url, conf=STANDARD_CONF,
              global_conf=NOCACHE + f"\nApiTokenDBFastPath {fast}")
    h.start()
    return h


def reason_of(h, tid):
    """The reason of the last invalid_token line for token tid."""
    found = re.findall(rf"APT02002: invalid_token: token {tid}: ([^,\n]+)",
                       h.log_since_mark())
    return found[-1].strip() if found else None


def decide(h, token, path="/api/dns/ok.txt"):
    r = h.get(path, token=token)
    return r.status_code, r.headers.get("WWW-Authenticate")


def cases(store):
    """(label, token string, path) for every outcome we know of."""
    out = []
    ok = store.create("alice", scopes=["dns"])
    out.append(("ok", ok["token"], "/api/dns/ok.txt"))
    out.append(("wrong scope", ok["token"], "/api/email/ok.txt"))
    tok = ok["token"]
    # Another secret under the same id, checksum recomputed by no one: the
    # last secret character changed gives a bad checksum; a whole other
    # token's secret under this id gives a bad secret.
    other = store.create("alice", scopes=["dns"])
    out.append(("bad checksum", tok[:-1] + ("A" if tok[-1] != "A" else "B"),
                "/api/dns/ok.txt"))
    swapped = tok.replace(ok["id"], other["id"], 1)
    out.append(("id of another token", swapped, "/api/dns/ok.txt"))
    full = store.create("alice", full=True)
    out.append(("full access", full["token"], "/api/files/ok.txt"))
    rev = store.create("alice", scopes=["dns"])
    store.revoke(rev["id"])
    out.append(("revoked", rev["token"], "/api/dns/ok.txt"))
    exp = store.create("alice", scopes=["dns"])
    store.expire(exp["id"], "2001-01-01T00:00:00Z")
    out.append(("expired", exp["token"], "/api/dns/ok.txt"))
    net_no = store.create("alice", scopes=["dns"], allow_ip=["192.0.2.0/24"])
    out.append(("network refused", net_no["token"], "/api/dns/ok.txt"))
    net_ok = store.create("alice", scopes=["dns"], allow_ip=["127.0.0.1"])
    out.append(("network allowed", net_ok["token"], "/api/dns/ok.txt"))
    rot = store.create("alice", scopes=["dns"])
    new = store.rotate(rot["id"], "1h")
    out.append(("rotated, old in grace", rot["token"], "/api/dns/ok.txt"))
    out.append(("rotated, new", new["token"], "/api/dns/ok.txt"))
    gone = store.create("alice", scopes=["dns"])
    store.tool("delete", gone["id"])
    out.append(("unknown id", gone["token"], "/api/dns/ok.txt"))
    pfx = tok.split("_", 1)
    if len(pfx) == 2:
        out.append(("wrong prefix", "zz" + pfx[0] + "_" + pfx[1],
                    "/api/dns/ok.txt"))
    return out


@pytest.fixture(scope="module")
def both():
    from httpd_server import sqlite_store
    store = sqlite_store()
    fast = start(store, "On")
    plain = start(store, "Off")
    yield store, fast, plain
    fast.close()
    plain.close()
    store.close()


def test_350_same_decisions_and_reasons_on_both_paths(both):
    store, fast, plain = both
    table = cases(store)
    fast.mark()
    plain.mark()
    seen = set()
    for label, token, path in table:
        a = decide(fast, token, path)
        b = decide(plain, token, path)
        assert a == b, f"{label}: fast path {a}, plain path {b}"
        seen.add(a[0])
    # The table really covers granted, refused and invalid tokens.
    assert {200, 401, 403} <= seen
    flog, plog = fast.log_since_mark(), plain.log_since_mark()
    freasons = re.findall(r"APT02002: invalid_token: token (\S+): ([^\n]+)",
                          flog)
    preasons = re.findall(r"APT02002: invalid_token: token (\S+): ([^\n]+)",
                          plog)
    assert len(freasons) >= 6
    assert sorted(freasons) == sorted(preasons)
    # And each server used the path it was told to.
    assert FAST in flog or FAST in fast._read(fast.error_log)
    assert PLAIN in plain._read(plain.error_log)
    assert FAST not in plain._read(plain.error_log)
    fast.check_logs(store.secrets, allow=ALLOW_AUTHZ)
    plain.check_logs(store.secrets, allow=ALLOW_AUTHZ)


def test_351_changes_seen_by_the_next_lookup(both):
    """The prepared statement is reset after every lookup: a pooled
    connection must not keep reading an old snapshot."""
    store, fast, plain = both
    for h in (fast, plain):
        tok = store.create("alice", scopes=["dns"])
        for _ in range(3):
            assert decide(h, tok["token"])[0] == 200
        store.revoke(tok["id"])
        assert decide(h, tok["token"])[0] == 401
        tok2 = store.create("alice", scopes=["email"])
        assert decide(h, tok2["token"])[0] == 403
        store.tool("scope", tok2["id"], "--add", "dns")
        assert decide(h, tok2["token"])[0] == 200
        store.tool("delete", tok2["id"])
        assert decide(h, tok2["token"])[0] == 401


def test_352_database_replaced_then_back(both):
    """A failing lookup closes the connection (and its statement) and the
    next one opens afresh: 503 while the file is away, 200 after."""
    store, fast, plain = both
    tok = store.create("alice", scopes=["dns"])
    assert decide(fast, tok["token"])[0] == 200
    import os
    os.rename(store.path, store.path + ".away")
    try:
        assert decide(fast, tok["token"])[0] == 503
    finally:
        os.rename(store.path + ".away", store.path)
    deadline = time.monotonic() + 10
    while decide(fast, tok["token"])[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)


@pytest.mark.parametrize("kind", [
    pytest.param("pgsql", marks=pytest.mark.external),
    pytest.param("mysql", marks=pytest.mark.external)])
def test_353_servers_use_the_plain_path(request, kind):
    store = open_store(request, kind)
    h = start(store, "On")
    try:
        tok = store.create("alice", scopes=["dns"])
        assert decide(h, tok["token"])[0] == 200
        assert decide(h, tok["token"], "/api/email/ok.txt")[0] == 403
        log = h._read(h.error_log)
        assert PLAIN in log
        assert FAST not in log
        h.check_logs(store.secrets, allow=ALLOW_AUTHZ)
    finally:
        h.close()
        store.close()
