"""Every credential form (bearer, scheme:cpanel, basic, header:NAME), and
what the backend sees: identity variables, spoofed headers dropped,
credentials stripped.  SQLite, PostgreSQL and MariaDB; event and prefork
(mod_cgid and mod_cgi)."""

import base64

import pytest

from httpd_server import ALLOW_AUTHZ, cgi_env, challenge, start_env

COMBOS = [
    ("sqlite3", "event"),
    ("sqlite3", "prefork"),
    pytest.param(("pgsql", "event"), marks=pytest.mark.external),
    pytest.param(("mysql", "event"), marks=pytest.mark.external),
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
def tok(env):
    return env.store.create("alice", scopes=["dns"])


def basic(user, password):
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


# -- cPanel style -----------------------------------------------------------

def test_220_cpanel(env, tok):
    r = env.httpd.get("/cpanel/ok.txt", headers={
        "Authorization": "cpanel alice:" + tok["token"]})
    assert r.status_code == 200
    r = env.httpd.get("/cpanel/ok.txt", headers={
        "Authorization": "CPANEL alice:" + tok["token"]})
    assert r.status_code == 200


def test_220_cpanel_user_mismatch(env, tok):
    r = env.httpd.get("/cpanel/ok.txt", headers={
        "Authorization": "cpanel bob:" + tok["token"]})
    assert r.status_code == 401
    # The secret was right: the client is told what to fix.
    assert challenge(r) == ('Bearer realm="cPanel API", '
                            'error="invalid_token", error_description='
                            '"the user name does not match the token\'s '
                            'owner"')
    env.httpd.wait_log("user_mismatch")


def test_220_cpanel_malformed(env, tok):
    for v in ("cpanel " + tok["token"], "cpanel alice:", "cpanel :x"):
        r = env.httpd.get("/cpanel/ok.txt", headers={"Authorization": v})
        assert r.status_code == 400, v
        assert challenge(r).endswith('error="invalid_request"')


def test_220_cpanel_location_refuses_bearer(env, tok):
    r = env.httpd.get("/cpanel/ok.txt", token=tok["token"])
    assert r.status_code == 401
    assert challenge(r) == 'Bearer realm="cPanel API"'


# -- Basic --------------------------------------------------------------------

def test_220_basic(env, tok):
    r = env.httpd.get("/basic/ok.txt",
                      headers={"Authorization": basic("alice", tok["token"])})
    assert r.status_code == 200
    r = env.httpd.get("/basic/ok.txt", auth=("alice", tok["token"]))
    assert r.status_code == 200


def test_220_basic_challenge(env):
    # Bearer as the table says, and Basic so that git and curl -u answer.
    status, head = env.httpd.raw("/basic/ok.txt", [])
    assert status == 401
    lines = [x for x in head.split("\r\n")
             if x.lower().startswith("www-authenticate:")]
    assert lines == ['WWW-Authenticate: Bearer realm="git"',
                     'WWW-Authenticate: Basic realm="git"']


def test_220_basic_wrong_user(env, tok):
    r = env.httpd.get("/basic/ok.txt",
                      headers={"Authorization": basic("bob", tok["token"])})
    assert r.status_code == 401
    assert challenge(r) == ('Bearer realm="git", error="invalid_token", '
                            'error_description="the user name does not '
                            'match the token\'s owner", Basic realm="git"')
    env.httpd.wait_log("user_mismatch")


def test_220_basic_wrong_password(env, tok):
    r = env.httpd.get("/basic/ok.txt",
                      headers={"Authorization": basic("alice", "hunter2")})
    assert r.status_code == 401


def test_220_basic_malformed(env):
    for v in ("Basic !!!notbase64", "Basic " + base64.b64encode(
            b"no-colon").decode()):
        r = env.httpd.get("/basic/ok.txt", headers={"Authorization": v})
        assert r.status_code == 400, v


def test_220_bearer_not_accepted_on_basic_location(env, tok):
    assert env.httpd.get("/basic/ok.txt",
                         token=tok["token"]).status_code == 401


# -- header:NAME ------------------------------------------------------------

def test_220_header(env, tok):
    r = env.httpd.get("/hdr/ok.txt", headers={"X-API-Token": tok["token"]})
    assert r.status_code == 200
    status, _ = env.httpd.raw("/hdr/ok.txt",
                              ["x-api-token: \t " + tok["token"] + " "])
    assert status == 200


def test_220_header_malformed(env, tok):
    for v in ("a b", "tok$en"):
        r = env.httpd.get("/hdr/ok.txt", headers={"X-API-Token": v})
        assert r.status_code == 400, v


def test_220_header_empty(env):
    status, head = env.httpd.raw("/hdr/ok.txt", ["X-API-Token: "])
    assert status in (400, 401)


def test_220_header_location_ignores_bearer(env, tok):
    assert env.httpd.get("/hdr/ok.txt",
                         token=tok["token"]).status_code == 401


def test_220_two_header_values(env, tok):
    status, head = env.httpd.raw("/hdr/ok.txt", [
        "X-API-Token: " + tok["token"], "X-API-Token: " + tok["token"]])
    assert status == 400


def test_220_multi_either_form(env, tok):
    assert env.httpd.get("/multi/ok.txt",
                         token=tok["token"]).status_code == 200
    assert env.httpd.get("/multi/ok.txt", headers={
        "X-API-Token": tok["token"]}).status_code == 200


def test_220_query_string_never(env):
    t = env.store.create("alice", scopes=["dns"])
    r = env.httpd.get("/api/dns/ok.txt?access_token=" + t["token"])
    assert r.status_code == 401
    assert challenge(r) == 'Bearer realm="Hosting API"'
    # The access log holds the URL as sent: this one secret is expected
    # there, so it leaves the oracle (and the store).
    env.store.revoke(t["id"])
    env.store.secrets.remove(t["token"])
    env.store.secrets.remove(t["token"].split("_", 1)[1][12:44])


# -- the backend ----------------------------------------------------------

def test_220_cgi_identity(env):
    t = env.store.create("alice", name="deploy-bot", scopes=["dns", "email"])
    r = env.httpd.get("/cgi/env.cgi", token=t["token"])
    assert r.status_code == 200
    e = cgi_env(r)
    assert e["REMOTE_USER"] == "alice"
    assert e["AUTH_TYPE"] == "apitoken"
    assert e["APITOKEN_ID"] == t["id"]
    assert e["APITOKEN_NAME"] == "deploy-bot"
    assert e["APITOKEN_SCOPES"] == "dns email"
    assert e["HTTP_AUTHORIZATION"] == "Bearer " + t["token"]


def test_220_cgi_full_access(env):
    t = env.store.create("bob", full=True)
    e = cgi_env(env.httpd.get("/cgi/env.cgi", token=t["token"]))
    assert e["APITOKEN_SCOPES"] == "*"
    assert e["REMOTE_USER"] == "bob"


SPOOF = {
    "X-Apitoken-Id": "spoofed", "X-Apitoken-Name": "spoofed",
    "X-Apitoken-Scopes": "*", "Apitoken-Id": "spoofed",
    "Apitoken-Scopes": "*", "X-Remote-User": "root",
    "Remote-User": "root", "Apitoken_Name": "spoofed",
}


def test_220_spoofed_headers_dropped(env, tok):
    t = env.store.create("alice", scopes=["dns"])
    r = env.httpd.get("/cgi/env.cgi", token=t["token"], headers=SPOOF)
    assert r.status_code == 200
    e = cgi_env(r)
    assert e["APITOKEN_ID"] == t["id"]
    assert e["REMOTE_USER"] == "alice"
    assert "spoofed" not in r.text
    assert "root" not in [v for k, v in e.items() if k.startswith("HTTP_")]
    for k in e:
        assert not k.startswith("HTTP_APITOKEN"), k
        assert not k.startswith("HTTP_X_APITOKEN"), k
        assert k not in ("HTTP_REMOTE_USER", "HTTP_X_REMOTE_USER"), k


def test_220_credentials_stripped(env):
    t = env.store.create("alice", scopes=["dns"])
    r = env.httpd.get("/cgi-strip/env.cgi", token=t["token"])
    assert r.status_code == 200
    e = cgi_env(r)
    assert e["REMOTE_USER"] == "alice"
    assert "HTTP_AUTHORIZATION" not in e
    assert t["token"] not in r.text
    r = env.httpd.get("/cgi-strip/env.cgi",
                      headers={"X-API-Token": t["token"],
                               "Authorization": "Digest x=y"})
    assert r.status_code == 200
    e = cgi_env(r)
    assert "HTTP_X_API_TOKEN" not in e
    # Only the credential that was used is removed.
    assert e.get("HTTP_AUTHORIZATION") == "Digest x=y"
    assert t["token"] not in r.text


def test_220_credentials_kept_without_strip(env):
    t = env.store.create("alice", scopes=["dns"])
    e = cgi_env(env.httpd.get("/cgi/env.cgi",
                              headers={"X-API-Token": t["token"]}))
    assert e["HTTP_X_API_TOKEN"] == t["token"]
