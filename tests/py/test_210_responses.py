"""Every row of the RFC 6750 response table, against SQLite, PostgreSQL
and MariaDB, under the event, prefork and worker MPMs."""

import re
import time

import pytest

from httpd_server import (ALLOW_AUTHZ, ALLOW_DB_DOWN, challenge, start_env)

REALM = 'Bearer realm="Hosting API"'

COMBOS = [
    ("sqlite3", "event"),
    ("sqlite3", "prefork"),
    ("sqlite3", "worker"),
    pytest.param(("pgsql", "event"), marks=pytest.mark.external),
    pytest.param(("pgsql", "prefork"), marks=pytest.mark.external),
    pytest.param(("mysql", "event"), marks=pytest.mark.external),
    pytest.param(("mysql", "prefork"), marks=pytest.mark.external),
]


@pytest.fixture(scope="module", params=COMBOS,
                ids=lambda c: f"{c[0]}-{c[1]}")
def env(request):
    kind, mpm = request.param
    e = start_env(request, kind, mpm)
    yield e
    e.close()


@pytest.fixture(autouse=True)
def oracle(env):
    env.httpd.mark()
    yield
    env.httpd.check_logs(env.store.secrets, allow=ALLOW_AUTHZ)


@pytest.fixture(scope="module")
def dns(env):
    return env.store.create("alice", scopes=["dns"])


def test_210_ok(env, dns):
    r = env.httpd.get("/api/dns/ok.txt", token=dns["token"])
    assert r.status_code == 200
    assert r.text == "ok\n"
    assert challenge(r) is None


def test_210_scheme_is_case_insensitive(env, dns):
    r = env.httpd.get("/api/dns/ok.txt", headers={
        "Authorization": "bEaReR " + dns["token"]})
    assert r.status_code == 200


def test_210_no_credentials(env):
    r = env.httpd.get("/api/dns/ok.txt")
    assert r.status_code == 401
    assert challenge(r) == REALM


def test_210_other_scheme_counts_as_none(env):
    r = env.httpd.get("/api/dns/ok.txt", headers={
        "Authorization": "Digest username=x"})
    assert r.status_code == 401
    assert challenge(r) == REALM


@pytest.mark.parametrize("value", ["Bearer", "Bearer ", "Bearer a$b",
                                   "Bearer a b", "Bearer \u00e9t\u00e9",
                                   "Bearer ===="])
def test_210_malformed_bearer(env, value):
    r = env.httpd.get("/api/dns/ok.txt",
                      headers={"Authorization": value.encode("utf-8")})
    assert r.status_code == 400
    assert challenge(r) == REALM + ', error="invalid_request"'


def test_210_two_authorization_headers(env, dns):
    status, head = env.httpd.raw("/api/dns/ok.txt", [
        "Authorization: Bearer " + dns["token"],
        "Authorization: Bearer " + dns["token"]])
    assert status == 400
    assert 'error="invalid_request"' in head


def test_210_two_forms(env, dns):
    r = env.httpd.get("/multi/ok.txt", token=dns["token"],
                      headers={"X-API-Token": dns["token"]})
    assert r.status_code == 400
    assert challenge(r) == REALM + ', error="invalid_request"'
    env.httpd.wait_log(r"APT02001: invalid_request: credentials in both")


def _invalid(env, token, reason, path="/api/dns/ok.txt", headers=None,
             desc=None, realm=REALM):
    """401 invalid_token; desc (a regex) is the error_description a client
    that has shown the secret is given, None where it must get nothing."""
    r = env.httpd.get(path, token=token, headers=headers)
    assert r.status_code == 401, r.text
    if desc is None:
        assert challenge(r) == realm + ', error="invalid_token"'
    else:
        assert re.fullmatch(re.escape(realm + ', error="invalid_token", '
                                      'error_description="') + desc + '"',
                            challenge(r)), challenge(r)
    env.httpd.wait_log(r"APT02002: invalid_token: token \S+: " + reason)


def test_210_wrong_prefix(env, dns):
    _invalid(env, "zzz_" + dns["token"].split("_", 1)[1], "(bad_checksum|"
             "wrong_prefix)")


def test_210_bad_checksum(env, dns):
    t = dns["token"]
    _invalid(env, t[:-1] + ("A" if t[-1] != "A" else "B"), "bad_checksum")


def test_210_not_a_token(env):
    _invalid(env, "hello", "(malformed|wrong_prefix|bad_length)")


def test_210_unknown_id(env):
    t = env.store.create("alice", scopes=["dns"])
    env.store.tool("delete", t["id"])
    _invalid(env, t["token"], "unknown_id")


def test_210_wrong_secret(env):
    # Rotated without grace: the first secret is not kept at all, so it is
    # simply wrong, and nothing more is said.
    t = env.store.create("alice", scopes=["dns"])
    env.store.rotate(t["id"], "0s")
    _invalid(env, t["token"], "wrong_secret")


def test_210_rotated_out(env):
    # The previous secret after its grace period (--grace 0 keeps none).
    t = env.store.create("alice", scopes=["dns"])
    env.store.rotate(t["id"], "1s")
    time.sleep(2.1)
    _invalid(env, t["token"], "rotated_out",
             desc=re.escape("this secret was replaced when the token was "
                            "rotated and its grace period has ended; use "
                            "the new secret"))


def test_210_expired(env):
    t = env.store.create("alice", scopes=["dns"])
    env.store.expire(t["id"], "2020-01-01T00:00:00Z")
    _invalid(env, t["token"], "expired",
             desc=re.escape("the token expired at 2020-01-01T00:00:00Z"))


def test_210_revoked(env):
    t = env.store.create("alice", scopes=["dns"])
    assert env.httpd.get("/api/dns/ok.txt",
                         token=t["token"]).status_code == 200
    env.store.revoke(t["id"])
    _invalid(env, t["token"], "revoked",
             desc=r"the token was revoked at \d{4}-\d\d-\d\dT"
                  r"\d\d:\d\d:\d\dZ")


def test_210_address_not_allowed(env):
    t = env.store.create("alice", scopes=["dns"], allow_ip=["10.0.0.0/8"])
    _invalid(env, t["token"], "address_not_allowed",
             desc=re.escape("the token may not be used from 127.0.0.1"))
    ok = env.store.create("alice", scopes=["dns"],
                          allow_ip=["127.0.0.1/32"])
    assert env.httpd.get("/api/dns/ok.txt",
                         token=ok["token"]).status_code == 200


def test_210_wrong_cpanel_user(env, dns):
    _invalid(env, None, "user_mismatch", path="/cpanel/ok.txt",
             headers={"Authorization": "cpanel mallory:" + dns["token"]},
             realm='Bearer realm="cPanel API"',
             desc=re.escape("the user name does not match the token's "
                            "owner"))


def test_210_insufficient_scope(env, dns):
    r = env.httpd.get("/api/email/ok.txt", token=dns["token"])
    assert r.status_code == 403
    assert challenge(r) == (REALM + ', error="insufficient_scope", '
                            'error_description="the token does not hold a '
                            'scope this resource requires", '
                            'scope="email:write"')
    env.httpd.wait_log(r"APT03002: insufficient_scope: token "
                       + dns["id"] + " lacks email:write")
    env.httpd.check_logs(env.store.secrets, allow=ALLOW_AUTHZ)


def test_210_scope_any_of(env, dns):
    assert env.httpd.get("/anyof/ok.txt",
                         token=dns["token"]).status_code == 200
    files = env.store.create("alice", scopes=["files"])
    r = env.httpd.get("/anyof/ok.txt", token=files["token"])
    assert r.status_code == 403
    assert 'scope="dns email"' in challenge(r)


def test_210_scope_all_of(env, dns):
    r = env.httpd.get("/allof/ok.txt", token=dns["token"])
    assert r.status_code == 403
    assert challenge(r).endswith('scope="email"')
    both = env.store.create("alice", scopes=["dns", "email"])
    assert env.httpd.get("/allof/ok.txt",
                         token=both["token"]).status_code == 200


def test_210_scope_levels(env):
    rd = env.store.create("alice", scopes=["email:read"])
    assert env.httpd.get("/api/email/ok.txt",
                         token=rd["token"]).status_code == 403
    wr = env.store.create("alice", scopes=["email"])
    assert env.httpd.get("/api/email/ok.txt",
                         token=wr["token"]).status_code == 200
    full = env.store.create("carol", full=True)
    for f in ("dns", "email", "files"):
        assert env.httpd.get(f"/api/{f}/ok.txt",
                             token=full["token"]).status_code == 200


def test_210_valid_user_and_user(env, dns):
    assert env.httpd.get("/user/ok.txt", token=dns["token"]).status_code \
        == 200
    bob = env.store.create("bob", scopes=["dns"])
    r = env.httpd.get("/user/ok.txt", token=bob["token"])
    assert r.status_code == 403
    assert env.httpd.get("/api/ok.txt", token=bob["token"]).status_code \
        in (200, 404)


def test_210_database_unreachable(env, dns):
    env.db_down()
    try:
        deadline = time.monotonic() + 20
        while True:
            r = env.httpd.get("/api/dns/ok.txt", token=dns["token"])
            if r.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 503
        assert challenge(r) is None
        # A second request gets 503 again, without a second log line.
        assert env.httpd.get("/api/dns/ok.txt",
                             token=dns["token"]).status_code == 503
    finally:
        env.db_up()
    deadline = time.monotonic() + 20
    while True:
        r = env.httpd.get("/api/dns/ok.txt", token=dns["token"])
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code == 200
    log = env.httpd.log_since_mark()
    assert log.count("APT04004") >= 1
    env.httpd.check_logs(env.store.secrets, allow=ALLOW_DB_DOWN)
