"""Faults under load: PostgreSQL stopped with `pg_ctl stop -m immediate`,
MariaDB killed with SIGKILL, SQLite locked by a long writer, a missing or
unreadable SQLite file.  Answers are 503 while the database is away (never
401, never 500), 200 again within two seconds of it coming back, no crash
and no restart of httpd."""

import os
import signal
import subprocess
import time

import pytest

from dbservers import PG_BIN
from hardening_util import Load, ProcTree, wait_status
from httpd_server import (ALLOW_AUTHZ, ALLOW_DB_DOWN, STANDARD_CONF, Httpd,
                          sqlite_store, start_env)

API = "/api/dns/ok.txt"
LOAD_SECONDS = 14
DOWN_AT = 3.0          # seconds into the load
DOWN_FOR = 4.0
RECOVER = 2.0          # 200s again within this long after the database
RESTART_RE = r"AH00493|AH00494|SIGHUP|SIGUSR1|resuming normal operations"


def bearer(tok):
    return {"Authorization": "Bearer " + tok["token"]}


def outage_under_load(env, tok, down, up):
    """Run a bounded load; take the database down at DOWN_AT and bring it
    back DOWN_FOR later.  Returns (results, t_down, (t_starting, t_up)):
    the start of the restart and the moment it returned."""
    h = env.httpd
    h.mark()
    tree = ProcTree(h.proc.pid)
    parent = h.proc.pid
    hdr = bearer(tok)
    load = Load(h.port, lambda i, rnd: (API, hdr, "valid"), threads=4,
                seconds=LOAD_SECONDS).start()
    time.sleep(DOWN_AT)
    t_down = load.elapsed()
    down()
    time.sleep(DOWN_FOR)
    # The server may accept connections before its start command returns:
    # "down" ends when the start begins, recovery counts from its end.
    t_starting = load.elapsed()
    up()
    t_up = load.elapsed()
    res = load.join()
    assert h.proc.pid == parent and h.proc.poll() is None
    tree.assert_intact(h.log_since_mark())
    assert not __import__("re").search(RESTART_RE, h.log_since_mark()), \
        "httpd restarted"
    return res, t_down, (t_starting, t_up)


def check_outage(res, t_down, t_ups):
    t_starting, t_up = t_ups
    assert len(res) > 100, f"only {len(res)} requests"
    statuses = {}
    for t, _, st, _ in res:
        statuses[st] = statuses.get(st, 0) + 1
    bad = [r for r in res if r[2] not in (200, 503)]
    assert not bad, f"{len(bad)} answers other than 200/503, e.g. " \
        f"{bad[:5]}; counts {statuses}"
    during = [r for r in res if t_down + 0.5 < r[0] < t_starting - 0.2]
    assert during and all(r[2] == 503 for r in during), \
        f"not all 503 while down: {[r[2] for r in during][:20]}"
    for t, _, st, www in res:
        if st == 503:
            assert www is None, "503 with a challenge"
    after = [r for r in res if r[0] > t_up + RECOVER]
    assert after, "no requests after recovery"
    late = [r for r in after if r[2] != 200]
    assert not late, f"{len(late)} non-200 more than {RECOVER}s after " \
        f"the database came back, first {late[:3]} (up at {t_up:.2f}s)"
    before = [r for r in res if r[0] < t_down]
    assert before and all(r[2] == 200 for r in before)


@pytest.fixture
def pg_env(request):
    e = start_env(request, "pgsql", "event")
    yield e
    e.close()


@pytest.fixture
def my_env(request):
    e = start_env(request, "mysql", "event")
    yield e
    e.close()


@pytest.mark.external
def test_520_postgresql_immediate_stop_under_load(pg_env):
    srv = pg_env.store.server
    tok = pg_env.store.create("alice", scopes=["dns"])

    def down():
        srv._as_pg([f"{PG_BIN}/pg_ctl", "-D", srv.datadir, "-m",
                    "immediate", "-w", "stop"])

    res, t_down, t_up = outage_under_load(pg_env, tok, down, srv.start)
    check_outage(res, t_down, t_up)
    assert "APT04004" in pg_env.httpd.log_since_mark()
    pg_env.httpd.check_logs(pg_env.store.secrets,
                            allow=ALLOW_DB_DOWN + ALLOW_AUTHZ)


@pytest.mark.external
def test_520_mariadb_killed_under_load(my_env):
    srv = my_env.store.server
    tok = my_env.store.create("alice", scopes=["dns"])

    def down():
        pid = srv.pid
        os.kill(pid, signal.SIGKILL)
        srv.proc.wait(timeout=30)

    res, t_down, t_up = outage_under_load(my_env, tok, down, srv.start)
    check_outage(res, t_down, t_up)
    assert "APT04004" in my_env.httpd.log_since_mark()
    my_env.httpd.check_logs(my_env.store.secrets,
                            allow=ALLOW_DB_DOWN + ALLOW_AUTHZ)


# -- SQLite -------------------------------------------------------------------

@pytest.fixture
def lite(request):
    e = start_env(request, "sqlite3", "event")
    yield e
    e.close()


def hold_lock(path, sql, seconds):
    """A sqlite3 shell as www-data (so no root-owned -wal/-shm appear)
    running sql, then sleeping `seconds` inside it, then committing."""
    script = f".timeout 10000\n{sql}\n.shell sleep {seconds}\nCOMMIT;\n"
    p = subprocess.Popen(["runuser", "-u", "www-data", "--", "sqlite3",
                          path], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(input=script.encode(), timeout=seconds + 30)
    return p.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("journal", [
    # WAL (what the tool and httpd set up; httpd turns a database made by
    # hand with a rollback journal back to WAL): a writer holding an
    # exclusive transaction longer than the busy timeout (5 s) never
    # blocks httpd's readers.
    "wal"])
def test_520_sqlite_long_writer(journal):
    hold = 7
    store = sqlite_store()
    tok = store.create("alice", scopes=["dns"])
    if journal == "delete":
        r = subprocess.run(["runuser", "-u", "www-data", "--", "sqlite3",
                            store.path, "PRAGMA journal_mode=DELETE;"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and "delete" in r.stdout, r
    h = Httpd(store.url, conf=STANDARD_CONF)
    try:
        h.start()
        h.mark()
        tree = ProcTree(h.proc.pid)
        hdr = bearer(tok)
        load = Load(h.port, lambda i, rnd: (API, hdr, "valid"), threads=4,
                    seconds=hold + 5, timeout=15).start()
        time.sleep(1)
        t_lock = load.elapsed()
        rc, out, err = hold_lock(store.path, "BEGIN EXCLUSIVE;\nUPDATE "
                                 "apitoken_meta SET change_seq = "
                                 "change_seq;", hold)
        t_free = load.elapsed()
        assert rc == 0 and not err.strip(), err
        res = load.join()
        tree.assert_intact(h.log_since_mark())
        bad = [r for r in res if r[2] not in (200, 503)]
        assert not bad, f"{len(bad)} answers other than 200/503: {bad[:5]}"
        after = [r for r in res if r[0] > t_free + RECOVER]
        assert after and all(r[2] == 200 for r in after), \
            [r[2] for r in after][:20]
        # Answered within the busy timeout (plus scheduling slack): no
        # request sat longer than that, seen as a gap in the answers.
        times = [r[0] for r in res if t_lock < r[0] < t_free + 1]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert not gaps or max(gaps) < 5.0 + 2.0, max(gaps)
        if journal == "wal":
            assert all(r[2] == 200 for r in res), \
                "WAL readers were blocked by a writer"
        else:
            assert any(r[2] == 503 for r in res), "the lock never bit"
        h.check_logs(store.secrets, allow=ALLOW_DB_DOWN + ALLOW_AUTHZ
                     + [r"APT00001: .*(locked|busy)"])
    finally:
        h.close()
        store.close()


@pytest.mark.parametrize("fault", ["missing", "mode-000", "root-600"])
def test_520_sqlite_file_unusable_at_startup(fault):
    store = sqlite_store()
    tok = store.create("alice", scopes=["dns"])
    path = store.path
    if fault == "missing":
        os.rename(path, path + ".away")
    elif fault == "mode-000":
        os.chmod(path, 0)
    else:
        os.chown(path, 0, 0)
        os.chmod(path, 0o600)
    h = Httpd(store.url, conf=STANDARD_CONF)
    try:
        h.start()
        parent = h.proc.pid
        time.sleep(1.5)
        startup = h.log_since_mark()
        # A clear warning at startup, before any request, naming the file.
        warn = [line for line in startup.splitlines()
                if path in line and ("warn" in line or "error" in line
                                     or "crit" in line)]
        tree = ProcTree(parent)
        r = h.get(API, token=tok["token"])
        assert r.status_code == 503, (r.status_code, h.log_since_mark())
        assert r.headers.get("WWW-Authenticate") is None
        assert h.get(API, token=tok["token"]).status_code == 503
        log = h.log_since_mark()
        assert path in log, log
        tree.assert_intact(log)
        h.check_logs(store.secrets, allow=ALLOW_DB_DOWN + ALLOW_AUTHZ
                     + [r"APT0\d+: .*" + path])
        # Put right, it is used again without a restart.
        if fault == "missing":
            os.rename(path + ".away", path)
        else:
            os.chown(path, 33, 33)
            os.chmod(path, 0o640)
        st, waited = wait_status(
            lambda: h.get(API, token=tok["token"]).status_code, {200},
            timeout=15)
        assert st == 200, (st, h.log_since_mark()[-2000:])
        assert h.proc.pid == parent and h.proc.poll() is None
        assert warn, "no startup warning naming " + path + ":\n" + startup
    finally:
        h.close()
        store.close()
