"""The shared token cache (ApiTokenCache, socache shmcb by default) and the
database change marker: cache hits, every kind of change reaching a running
server within about a second, on SQLite and PostgreSQL, on two nodes
sharing PostgreSQL, the negative cache, the TTL bound, the provider choice
and the outage rule (a marker that cannot be read stops the cache: 503).
"""

import os
import subprocess
import time

import pytest

from hardening_util import wait_status
from httpd_server import (ALLOW_AUTHZ, ALLOW_DB_DOWN, MODDIR, STANDARD_CONF,
                          Httpd, open_store, sqlite_store)

API = "/api/dns/ok.txt"
PROPAGATION = 1.5        # a change reaches every process within this long
SHMCB = f"LoadModule socache_shmcb_module {MODDIR}/mod_socache_shmcb.so"
HIT = "APT05007"
NEG = "APT05008"


def cache_conf(ttl=300):
    return STANDARD_CONF + f"""
<Location /api/>
    ApiTokenCacheTTL {ttl}
</Location>
<Location /api/email/>
    ApiTokenCacheTTL 0
</Location>
"""


def start(store, mpm="event", ttl=300, extra_global=""):
    h = Httpd(store.url, mpm=mpm, conf=cache_conf(ttl),
              global_conf=SHMCB + "\n" + extra_global)
    h.start()
    return h


def status(h, tok, path=API):
    return h.get(path, token=tok["token"]).status_code


def sql(store, text):
    subprocess.run(["sqlite3", store.path], input=text, text=True,
                   check=True, timeout=30, capture_output=True)


@pytest.fixture(scope="module", params=[
    "sqlite3", pytest.param("pgsql", marks=pytest.mark.external)])
def env(request):
    store = open_store(request, request.param)
    h = start(store)
    yield store, h
    h.close()
    store.close()


def test_300_second_request_is_a_cache_hit(env):
    store, h = env
    tok = store.create("alice", scopes=["dns"])
    h.mark()
    assert status(h, tok) == 200
    assert status(h, tok) == 200
    log = h.log_since_mark()
    assert f"{HIT}: token {tok['id']} found in the cache" in log
    # Scopes are re-checked on a hit: the cached record is not a decision.
    tok2 = store.create("alice", scopes=["email"])
    for _ in range(3):
        assert status(h, tok2) == 403
    h.mark()
    # TTL 0 in a location: the database on every request, no hit.
    tok3 = store.create("alice", scopes=["email"])
    for _ in range(3):
        assert status(h, tok3, "/api/email/ok.txt") == 200
    assert f"{HIT}: token {tok3['id']}" not in h.log_since_mark()
    h.check_logs(store.secrets, allow=ALLOW_AUTHZ)


def test_300_networks_checked_on_every_hit(env):
    # Networks are parsed once, when the record is cached; a hit still
    # checks them (event: one process, so the later requests are hits of
    # its own cache).
    store, h = env
    far = store.create("alice", scopes=["dns"], allow_ip=["10.0.0.0/8"])
    near = store.create("alice", scopes=["dns"],
                        allow_ip=["10.0.0.0/8", "::1", "127.0.0.0/8"])
    h.mark()
    for _ in range(4):
        assert status(h, far) == 401
        assert status(h, near) == 200
    log = h.log_since_mark()
    assert f"{HIT}: token {near['id']} found in the cache" in log
    assert f"{HIT}: token {far['id']} found in the cache" in log
    assert log.count(f"token {far['id']}: address_not_allowed") == 4
    h.check_logs(store.secrets, allow=ALLOW_AUTHZ)


def _warm(h, tok, want=200):
    for _ in range(4):
        assert status(h, tok) == want


def _propagates(h, tok, want):
    t0 = time.monotonic()
    st, _ = wait_status(lambda: status(h, tok), {want}, timeout=5,
                        interval=0.02)
    took = time.monotonic() - t0
    assert st == want, f"still {st} after 5 s"
    assert took <= PROPAGATION, f"the change took {took:.2f}s"
    # And it stays (no older entry comes back).
    time.sleep(0.2)
    assert status(h, tok) == want


@pytest.mark.parametrize("change", ["revoke", "rotate", "scope", "expire",
                                    "delete"])
def test_300_change_reaches_server_within_a_second(env, change):
    store, h = env
    tok = store.create("alice", scopes=["dns"])
    _warm(h, tok)
    h.mark()
    assert status(h, tok) == 200
    assert HIT in h.log_since_mark()
    if change == "revoke":
        store.revoke(tok["id"])
        _propagates(h, tok, 401)
    elif change == "rotate":
        new = store.rotate(tok["id"], "0s")
        _propagates(h, tok, 401)
        assert status(h, new) == 200
    elif change == "scope":
        store.tool("scope", tok["id"], "--add", "email", "--remove", "dns")
        _propagates(h, tok, 403)
    elif change == "expire":
        store.expire(tok["id"], "2000-01-01T00:00:00Z")
        _propagates(h, tok, 401)
    else:
        store.tool("delete", tok["id"])
        _propagates(h, tok, 401)


def test_300_two_nodes_on_postgresql(request):
    request.applymarker(pytest.mark.external)
    store = open_store(request, "pgsql")
    hs = []
    try:
        for mpm in ("event", "prefork"):
            hs.append(start(store, mpm=mpm))
        for _ in range(3):
            tok = store.create("alice", scopes=["dns"])
            for h in hs:
                _warm(h, tok)
            store.revoke(tok["id"])
            t0 = time.monotonic()
            for h in hs:
                st, _ = wait_status(lambda: status(h, tok), {401},
                                    timeout=5, interval=0.02)
                took = time.monotonic() - t0
                assert st == 401
                assert took <= PROPAGATION, \
                    f"node {h.port}: revoke took {took:.2f}s"
        for h in hs:
            assert HIT in open(h.error_log).read()
            h.check_logs(store.secrets, allow=ALLOW_AUTHZ)
    finally:
        for h in hs:
            h.close()
        store.close()


@pytest.fixture(scope="module")
def lite():
    store = sqlite_store()
    h = start(store, ttl=3)
    yield store, h
    h.close()
    store.close()


def test_301_negative_cache_and_a_token_that_appears(lite):
    store, h = lite
    tok = store.create("alice", scopes=["dns"])
    tid = tok["id"]
    # Take the row away behind the tool's back, keeping a copy.
    sql(store, f"CREATE TABLE keep AS SELECT * FROM apitoken_tokens "
               f"WHERE id = '{tid}'; DELETE FROM apitoken_tokens "
               f"WHERE id = '{tid}'; UPDATE apitoken_meta "
               f"SET change_seq = change_seq + 1;")
    time.sleep(0.7)
    assert status(h, tok) == 401
    h.mark()
    assert status(h, tok) == 401
    assert f"{NEG}: token {tid} is unknown (cached)" in h.log_since_mark()
    # Back without a change mark: the negative entry still answers.
    sql(store, f"INSERT INTO apitoken_tokens SELECT * FROM keep;")
    time.sleep(0.7)
    assert status(h, tok) == 401
    # The change marker makes it visible within the marker interval.
    sql(store, "UPDATE apitoken_meta SET change_seq = change_seq + 1; "
               "DROP TABLE keep;")
    _propagates(h, tok, 200)


def test_301_negative_entry_ages_out(lite):
    """An unknown id is remembered (in the process and in the shared
    cache) for at most min(TTL, 5 s): a row that appears without a change
    mark is seen once that age has passed, not later."""
    store, h = lite
    tok = store.create("alice", scopes=["dns"])
    tid = tok["id"]
    sql(store, f"CREATE TABLE keep2 AS SELECT * FROM apitoken_tokens "
               f"WHERE id = '{tid}'; DELETE FROM apitoken_tokens "
               f"WHERE id = '{tid}'; UPDATE apitoken_meta "
               f"SET change_seq = change_seq + 1;")
    time.sleep(0.7)
    assert status(h, tok) == 401
    t0 = time.monotonic()
    h.mark()
    for _ in range(5):
        assert status(h, tok) == 401
    assert f"{NEG}: token {tid} is unknown (cached)" in h.log_since_mark()
    sql(store, "INSERT INTO apitoken_tokens SELECT * FROM keep2; "
               "DROP TABLE keep2;")
    st, _ = wait_status(lambda: status(h, tok), {200}, timeout=10,
                        interval=0.1)
    took = time.monotonic() - t0
    assert st == 200, "the unknown id was remembered past its age"
    # The location's TTL is 3 s here: at most that, plus a request.
    assert took <= 3.6, took


def test_301_ttl_bounds_an_entry(lite):
    store, h = lite
    tok = store.create("alice", scopes=["dns"])
    # Past the create's own change mark, so the entry is current.
    time.sleep(0.7)
    _warm(h, tok)
    # A revoke written behind the tool's back (no change mark): only the
    # TTL (3 s here) ends the cached entry.
    sql(store, f"UPDATE apitoken_tokens SET revoked_at = 1000 "
               f"WHERE id = '{tok['id']}';")
    t0 = time.monotonic()
    assert status(h, tok) == 200
    st, _ = wait_status(lambda: status(h, tok), {401}, timeout=8,
                        interval=0.1)
    took = time.monotonic() - t0
    assert st == 401
    assert 1.0 <= took <= 3.5, took


def test_301_database_away_stops_the_cache(lite):
    store, h = lite
    tok = store.create("alice", scopes=["dns"])
    _warm(h, tok)
    h.mark()
    os.rename(store.path, store.path + ".away")
    try:
        t0 = time.monotonic()
        st, _ = wait_status(lambda: status(h, tok), {503}, timeout=8,
                            interval=0.1)
        assert st == 503
        # At most the marker's trust window (2 s) plus a little.
        assert time.monotonic() - t0 <= 3.0
    finally:
        os.rename(store.path + ".away", store.path)
    st, _ = wait_status(lambda: status(h, tok), {200}, timeout=8,
                        interval=0.1)
    assert st == 200
    h.check_logs(store.secrets, allow=ALLOW_DB_DOWN + ALLOW_AUTHZ)


def _configtest(store, global_conf):
    h = Httpd(store.url, conf=cache_conf(), global_conf=global_conf)
    try:
        return h.configtest()
    finally:
        h.close()


def test_302_provider_choice():
    store = sqlite_store()
    try:
        rc, out = _configtest(store, SHMCB + "\nApiTokenCache nosuch")
        assert rc != 0
        assert "ApiTokenCache: unknown socache provider 'nosuch'" in out
        rc, out = _configtest(store, SHMCB + "\nApiTokenCache shmcb:bad(x)")
        assert rc != 0 and "ApiTokenCache shmcb:" in out, out
        rc, out = _configtest(store, "ApiTokenCache shmcb")
        assert rc != 0 and "'shmcb'" in out, out
        rc, out = _configtest(store, SHMCB + "\nApiTokenCache none\n"
                              "ApiTokenCache shmcb")
        assert rc != 0 and "once" in out, out
        tok = store.create("alice", scopes=["dns"])
        sized = 'ApiTokenCache "shmcb:@ROOT@/run/tc(200000)"\n'
        for gc, extra, hits in (
                (SHMCB + "\nApiTokenCache none", "", False),
                ("", "", False),
                (SHMCB + "\nMutex pthread apitoken-cache", "", True),
                (SHMCB, sized, True)):
            h = Httpd(store.url, conf=extra + cache_conf(), global_conf=gc)
            try:
                h.start()
                for _ in range(3):
                    assert status(h, tok) == 200
                log = open(h.error_log).read()
                assert (HIT in log) == hits, (gc, log[-2000:])
                if gc == "":
                    # The default provider is not loaded: said, not warned.
                    assert "APT05001" in log
                h.check_logs(store.secrets)
            finally:
                h.close()
    finally:
        store.close()
