"""The database going away and coming back: 503 (never 401), one
rate-limited log line, recovery without a restart, and httpd starting while
the database is down."""

import os
import time

import pytest

from httpd_server import (ALLOW_DB_DOWN, Httpd, STANDARD_CONF, challenge,
                          open_store, sqlite_init, sqlite_store, start_env)


def wait_status(h, tok, want, timeout=30, path="/api/dns/ok.txt"):
    deadline = time.monotonic() + timeout
    while True:
        r = h.get(path, token=tok)
        if r.status_code == want or time.monotonic() > deadline:
            return r
        time.sleep(0.3)


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_250_sqlite_unreadable_then_back(request, mpm):
    e = start_env(request, "sqlite3", mpm=mpm)
    try:
        t = e.store.create("alice", scopes=["dns"])
        e.httpd.mark()
        assert e.httpd.get("/api/dns/ok.txt", token=t["token"]).status_code \
            == 200
        os.chmod(e.store.path, 0)
        r = wait_status(e.httpd, t["token"], 503)
        assert r.status_code == 503
        assert challenge(r) is None
        e.httpd.wait_log(r"APT04004: .*not readable")
        os.chmod(e.store.path, 0o640)
        assert wait_status(e.httpd, t["token"], 200).status_code == 200
        e.httpd.check_logs(e.store.secrets, allow=ALLOW_DB_DOWN)
    finally:
        e.close()


def test_250_one_log_line_per_interval(request):
    e = start_env(request, "sqlite3")
    try:
        t = e.store.create("alice", scopes=["dns"])
        e.httpd.mark()
        e.db_down()
        for _ in range(30):
            assert e.httpd.get("/api/dns/ok.txt",
                               token=t["token"]).status_code == 503
        e.httpd.wait_log("APT04004")
        # One process (StartServers 1, light load): one line in 10 s.
        assert e.httpd.log_since_mark().count("APT04004") == 1
        e.db_up()
        assert wait_status(e.httpd, t["token"], 200).status_code == 200
        e.httpd.wait_log("APT04005: token database reachable again")
        e.httpd.check_logs(e.store.secrets, allow=ALLOW_DB_DOWN)
    finally:
        e.close()


def test_250_sqlite_start_while_missing(request):
    st = sqlite_store()
    t = st.create("alice", scopes=["dns"])
    os.rename(st.path, st.path + ".away")
    h = Httpd(st.url, conf=STANDARD_CONF)
    try:
        h.start()
        h.mark()
        r = h.get("/api/dns/ok.txt", token=t["token"])
        assert r.status_code == 503
        assert challenge(r) is None
        h.wait_log(r"APT04004: .*tokens.db")
        r = h.get("/api/dns/ok.txt")
        assert r.status_code == 401    # no credentials: no database needed
        os.rename(st.path + ".away", st.path)
        assert wait_status(h, t["token"], 200).status_code == 200
        h.check_logs(st.secrets, allow=ALLOW_DB_DOWN)
    finally:
        h.close()
        st.close()


def test_250_sqlite_created_after_start(request):
    st = sqlite_store(init=False)
    h = Httpd(st.url, conf=STANDARD_CONF)
    try:
        h.start()
        h.mark()
        sqlite_init(st)
        t = st.create("alice", scopes=["dns"])
        assert wait_status(h, t["token"], 200).status_code == 200
        h.check_logs(st.secrets, allow=ALLOW_DB_DOWN)
    finally:
        h.close()
        st.close()


def test_250_sqlite_start_without_schema(request):
    # A database file without the schema (init never ran): 503 and a hint.
    st = sqlite_store()
    t = st.create("alice", scopes=["dns"])
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(st.path + suffix):
            os.unlink(st.path + suffix)
    open(st.path, "w").close()
    os.chown(st.path, 33, 33)
    h = Httpd(st.url, conf=STANDARD_CONF)
    try:
        h.start()
        h.mark()
        r = h.get("/api/dns/ok.txt", token=t["token"])
        assert r.status_code == 503
        h.wait_log("APT04004: .*apitoken init")
        h.check_logs(st.secrets, allow=ALLOW_DB_DOWN)
    finally:
        h.close()
        st.close()


@pytest.mark.external
@pytest.mark.parametrize("kind", ["pgsql", "mysql"])
def test_250_server_start_while_down(request, kind):
    st = open_store(request, kind)
    t = st.create("alice", scopes=["dns"])
    st.server.stop()
    h = Httpd(st.url, conf=STANDARD_CONF)
    try:
        h.start()
        h.mark()
        r = h.get("/api/dns/ok.txt", token=t["token"])
        assert r.status_code == 503
        assert challenge(r) is None
        h.wait_log("APT04004")
        st.server.start()
        assert wait_status(h, t["token"], 200).status_code == 200
        h.check_logs(st.secrets, allow=ALLOW_DB_DOWN)
    finally:
        h.close()
        st.server.start()
        st.close()


@pytest.mark.external
@pytest.mark.parametrize("kind", ["pgsql", "mysql"])
@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_250_server_restart_under_load(request, kind, mpm):
    e = start_env(request, kind, mpm=mpm)
    try:
        t = e.store.create("alice", scopes=["dns"])
        e.httpd.mark()
        # Warm several pooled connections, then kill them all at once.
        for _ in range(10):
            assert e.httpd.get("/api/dns/ok.txt",
                               token=t["token"]).status_code == 200
        e.db_down()
        r = wait_status(e.httpd, t["token"], 503)
        assert r.status_code == 503
        e.db_up()
        for _ in range(10):
            r = wait_status(e.httpd, t["token"], 200)
            assert r.status_code == 200
        e.httpd.check_logs(e.store.secrets, allow=ALLOW_DB_DOWN)
    finally:
        e.close()
