"""Token lifecycle seen through a running httpd (cache off): revocation and
expiry take effect at once, rotation grace, allowed networks, last-used
tracking.  SQLite, PostgreSQL and MariaDB."""

import datetime
import time

import pytest

from httpd_server import ALLOW_AUTHZ, start_env

KINDS = ["sqlite3",
         pytest.param("pgsql", marks=pytest.mark.external),
         pytest.param("mysql", marks=pytest.mark.external)]


@pytest.fixture(scope="module", params=KINDS)
def env(request):
    e = start_env(request, request.param,
                  global_conf="ApiTokenUsageInterval 60")
    yield e
    e.close()


@pytest.fixture(autouse=True)
def oracle(env):
    env.httpd.mark()
    yield
    env.httpd.check_logs(env.store.secrets, allow=ALLOW_AUTHZ)


def status(env, tok, path="/api/dns/ok.txt"):
    return env.httpd.get(path, token=tok).status_code


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_230_revocation_is_immediate(env):
    t = env.store.create("alice", scopes=["dns"])
    assert status(env, t["token"]) == 200
    env.store.revoke(t["id"])
    assert status(env, t["token"]) == 401
    env.httpd.wait_log(t["id"] + ": revoked")


def test_230_expiry(env):
    t = env.store.create("alice", scopes=["dns"])
    soon = datetime.datetime.now(datetime.timezone.utc) \
        + datetime.timedelta(seconds=3)
    env.store.expire(t["id"], iso(soon))
    assert status(env, t["token"]) == 200
    deadline = time.monotonic() + 10
    while status(env, t["token"]) == 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status(env, t["token"]) == 401
    env.httpd.wait_log(t["id"] + ": expired")
    # An expiry moved back into the future revives it.
    env.store.expire(t["id"], "+1d")
    assert status(env, t["token"]) == 200


def test_230_scope_change_is_immediate(env):
    t = env.store.create("alice", scopes=["dns"])
    assert status(env, t["token"], "/api/files/ok.txt") == 403
    env.store.tool("scope", t["id"], "--add", "files")
    assert status(env, t["token"], "/api/files/ok.txt") == 200
    env.store.tool("scope", t["id"], "--remove", "files")
    assert status(env, t["token"], "/api/files/ok.txt") == 403


def test_230_allowed_networks(env):
    far = env.store.create("alice", scopes=["dns"], allow_ip=["10.0.0.0/8"])
    assert status(env, far["token"]) == 401
    env.httpd.wait_log(far["id"] + ": address_not_allowed")
    near = env.store.create("alice", scopes=["dns"],
                            allow_ip=["127.0.0.1/32"])
    assert status(env, near["token"]) == 200
    both = env.store.create("alice", scopes=["dns"],
                            allow_ip=["10.0.0.0/8", "127.0.0.0/8"])
    assert status(env, both["token"]) == 200


def test_230_rotation_grace(env):
    t = env.store.create("alice", scopes=["dns"])
    new = env.store.rotate(t["id"], "4s")
    assert new["id"] == t["id"] and new["token"] != t["token"]
    assert status(env, t["token"]) == 200
    assert status(env, new["token"]) == 200
    deadline = time.monotonic() + 12
    while status(env, t["token"]) == 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status(env, t["token"]) == 401
    env.httpd.wait_log(t["id"] + ": (rotated_out|wrong_secret)")
    assert status(env, new["token"]) == 200


def test_230_rotation_without_grace(env):
    t = env.store.create("alice", scopes=["dns"])
    new = env.store.rotate(t["id"], "0s")
    assert status(env, t["token"]) == 401
    assert status(env, new["token"]) == 200


def _last_used(env, tid, before, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = env.store.show(tid)
        if doc["last_used_at"] != before:
            return doc
        time.sleep(0.2)
    return env.store.show(tid)


def test_230_track_usage(env):
    t = env.store.create("alice", scopes=["dns"])
    assert env.store.show(t["id"])["last_used_at"] is None
    # /notrack/ says ApiTokenTrackUsage Off.
    assert status(env, t["token"], "/notrack/ok.txt") == 200
    time.sleep(1)
    assert env.store.show(t["id"])["last_used_at"] is None
    # /api/ says nothing: tracking is on by default.
    assert status(env, t["token"]) == 200
    doc = _last_used(env, t["id"], None)
    assert doc["last_used_at"] is not None
    assert doc["last_used_addr"] == "127.0.0.1"
    first = doc["last_used_at"]
    # Throttled for the node: further uses within ApiTokenUsageInterval,
    # whichever process serves them, write nothing.
    time.sleep(1.2)
    for _ in range(6):
        r = env.httpd.get("/usage/ok.txt", token=t["token"],
                          headers={"Connection": "close"})
        assert r.status_code == 200
    time.sleep(1)
    assert env.store.show(t["id"])["last_used_at"] == first


def test_230_track_usage_unthrottled(request):
    e = start_env(request, "sqlite3", global_conf="ApiTokenUsageInterval 0")
    try:
        t = e.store.create("alice", scopes=["dns"])
        e.httpd.mark()
        assert status(e, t["token"], "/usage/ok.txt") == 200
        first = _last_used(e, t["id"], None)["last_used_at"]
        assert first is not None
        time.sleep(1.2)
        assert status(e, t["token"], "/usage/ok.txt") == 200
        assert _last_used(e, t["id"], first)["last_used_at"] != first
        e.httpd.check_logs(e.store.secrets)
    finally:
        e.close()
