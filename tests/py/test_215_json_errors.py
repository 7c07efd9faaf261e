"""JSON errors for JSON clients: when Accept prefers application/json, our
400/401/403 bodies are {"error": ..., "error_description": ...} with
Content-Type: application/json; otherwise httpd's page as before.  Only our
own refusals: a 503 for the database, a handler's 403 after authz granted,
a 404, an ErrorDocument the administrator set keep httpd's answer.  HEAD
gets no body.  Event, prefork and worker."""

import os
import socket
import time

import pytest

from httpd_server import (ALLOW_AUTHZ, ALLOW_DB_DOWN, STANDARD_CONF,
                          challenge, start_env)

JSON = {"Accept": "application/json"}
GENERIC = "the access token is not valid"

CONF = STANDARD_CONF + """
<Location /either/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    <RequireAny>
        Require apitoken-scope dns
        Require apitoken-scope email
    </RequireAny>
</Location>
<Location /errdoc/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    ErrorDocument 401 "administrator's text"
    Require valid-user
</Location>
<Location /noforbid/>
    AuthType apitoken
    AuthName "Hosting API"
    Require apitoken-scope email
</Location>
"""
# The startup warning for /noforbid/ (401 insufficient_scope there).
ALLOW = ALLOW_AUTHZ + [r"APT01001: .*AuthType apitoken without",
                       r"AH00035: access to /either/secret.txt denied",
                       r"AH00132: file permissions deny server access"]


@pytest.fixture(scope="module", params=["event", "prefork", "worker"])
def env(request):
    e = start_env(request, "sqlite3", request.param, conf=CONF)
    docs = os.path.join(e.httpd.root, "htdocs")
    for d in ("either", "errdoc", "noforbid"):
        os.makedirs(os.path.join(docs, d), exist_ok=True)
        with open(os.path.join(docs, d, "ok.txt"), "w") as f:
            f.write("ok\n")
    secret = os.path.join(docs, "either", "secret.txt")
    with open(secret, "w") as f:
        f.write("no\n")
    os.chmod(secret, 0)
    yield e
    e.close()


@pytest.fixture(autouse=True)
def oracle(env):
    env.httpd.mark()
    yield
    env.httpd.check_logs(env.store.secrets, allow=ALLOW + ALLOW_DB_DOWN)


@pytest.fixture(scope="module")
def dns(env):
    return env.store.create("alice", scopes=["dns"])


def ctype(r):
    return r.headers.get("Content-Type", "")


def assert_json(r, status, error, desc, scope=None):
    assert r.status_code == status, r.text
    assert ctype(r) == "application/json", ctype(r)
    want = {"error": error, "error_description": desc}
    if scope:
        want["scope"] = scope
    assert r.json() == want
    assert "Accept" in r.headers.get("Vary", "")


def assert_html(r, status):
    assert r.status_code == status
    assert ctype(r).startswith("text/html"), ctype(r)
    assert r.text.lstrip().startswith("<!DOCTYPE HTML"), r.text[:80]


def test_215_no_credentials(env):
    r = env.httpd.get("/api/dns/ok.txt", headers=JSON)
    # RFC 6750 3.1: no error code when the request had no credentials.
    assert_json(r, 401, None, "this resource needs an access token")
    assert challenge(r) == 'Bearer realm="Hosting API"'


def test_215_invalid_request(env, dns):
    r = env.httpd.get("/multi/ok.txt", token=dns["token"],
                      headers=dict(JSON, **{"X-API-Token": dns["token"]}))
    assert_json(r, 400, "invalid_request",
                "credentials in both Authorization and X-API-Token")
    assert challenge(r) == 'Bearer realm="Hosting API", ' \
                           'error="invalid_request"'


def test_215_generic_before_the_secret(env, dns):
    t = dns["token"]
    gone = env.store.create("alice", scopes=["dns"])
    env.store.tool("delete", gone["id"])
    rotated = env.store.create("alice", scopes=["dns"])
    env.store.rotate(rotated["id"], "0s")
    for bad in (t[:-1] + ("A" if t[-1] != "A" else "B"),   # bad checksum
                "zzz_" + t.split("_", 1)[1],               # not ours
                gone["token"],                             # unknown id
                rotated["token"]):                         # wrong secret
        r = env.httpd.get("/api/dns/ok.txt", token=bad, headers=JSON)
        assert_json(r, 401, "invalid_token", GENERIC)
        assert challenge(r) == 'Bearer realm="Hosting API", ' \
                               'error="invalid_token"'


def test_215_reason_after_the_secret(env):
    t = env.store.create("alice", scopes=["dns"])
    env.store.expire(t["id"], "2020-01-01T00:00:00Z")
    r = env.httpd.get("/api/dns/ok.txt", token=t["token"], headers=JSON)
    desc = "the token expired at 2020-01-01T00:00:00Z"
    assert_json(r, 401, "invalid_token", desc)
    assert challenge(r).endswith(f'error_description="{desc}"')
    a = env.store.create("alice", scopes=["dns"], allow_ip=["10.0.0.0/8"])
    r = env.httpd.get("/api/dns/ok.txt", token=a["token"], headers=JSON)
    assert_json(r, 401, "invalid_token",
                "the token may not be used from 127.0.0.1")


def test_215_insufficient_scope(env, dns):
    r = env.httpd.get("/api/email/ok.txt", token=dns["token"], headers=JSON)
    assert_json(r, 403, "insufficient_scope",
                "the token does not hold a scope this resource requires",
                scope="email:write")


def test_215_insufficient_scope_as_401(env, dns):
    # Without AuthzSendForbiddenOnFailure httpd answers 401: still ours.
    r = env.httpd.get("/noforbid/ok.txt", token=dns["token"], headers=JSON)
    assert_json(r, 401, "insufficient_scope",
                "the token does not hold a scope this resource requires",
                scope="email")


@pytest.mark.parametrize("accept,json_body", [
    ("application/json", True),
    ("application/json; charset=utf-8", True),
    ("application/json, text/plain, */*", True),
    ("text/html;q=0.9, application/json", True),
    ("application/*", True),
    ("application/json;q=0", False),
    ("application/json;q=0.5, text/html", False),
    ("*/*", False),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
     False),
    (None, False),
])
def test_215_accept(env, accept, json_body):
    headers = {"Accept": accept} if accept else {}
    r = env.httpd.get("/api/dns/ok.txt", token="hello", headers=headers)
    if json_body:
        assert_json(r, 401, "invalid_token", GENERIC)
    else:
        assert_html(r, 401)
        assert "Accept" in r.headers.get("Vary", "")


def test_215_success_unchanged(env, dns):
    r = env.httpd.get("/api/dns/ok.txt", token=dns["token"], headers=JSON)
    assert r.status_code == 200
    assert r.text == "ok\n"
    assert ctype(r).startswith("text/plain")


def test_215_other_errors_unchanged(env, dns):
    # A 404 behind a good token is the file system's answer, not ours.
    r = env.httpd.get("/api/dns/missing.txt", token=dns["token"],
                      headers=JSON)
    assert_html(r, 404)
    # Our scope line refused, the next one granted, then the core refused
    # the file (403): httpd's page, no challenge.
    email = env.store.create("alice", scopes=["email"])
    assert env.httpd.get("/either/ok.txt", token=email["token"],
                         headers=JSON).status_code == 200
    r = env.httpd.get("/either/secret.txt", token=email["token"],
                      headers=JSON)
    assert_html(r, 403)
    assert challenge(r) is None


def test_215_error_document_wins(env):
    r = env.httpd.get("/errdoc/ok.txt", headers=JSON)
    assert r.status_code == 401
    assert r.text == "administrator's text"


def raw(h, method, path, headers):
    req = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
           + "Connection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", h.port), timeout=30) as s:
        s.sendall(req.encode("latin-1"))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def test_215_head_has_no_body(env, dns):
    head, body = raw(env.httpd, "HEAD", "/api/dns/ok.txt",
                     {"Accept": "application/json"})
    assert head.startswith("HTTP/1.1 401 "), head
    assert "Content-Type: application/json" in head, head
    assert 'WWW-Authenticate: Bearer realm="Hosting API"' in head
    assert body == b""
    head, body = raw(env.httpd, "HEAD", "/api/email/ok.txt",
                     {"Accept": "application/json",
                      "Authorization": "Bearer " + dns["token"]})
    assert head.startswith("HTTP/1.1 403 "), head
    assert body == b""
    # GET on the same connection shape does carry the body.
    head, body = raw(env.httpd, "GET", "/api/dns/ok.txt",
                     {"Accept": "application/json"})
    assert body.startswith(b'{"error": null'), body


def test_215_database_down_is_503_as_before(env, dns):
    env.db_down()
    try:
        deadline = time.monotonic() + 20
        while True:
            r = env.httpd.get("/api/dns/ok.txt", token=dns["token"],
                              headers=JSON)
            if r.status_code != 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert r.status_code == 503
        assert ctype(r).startswith("text/html")
        assert challenge(r) is None
    finally:
        env.db_up()
    deadline = time.monotonic() + 20
    while env.httpd.get("/api/dns/ok.txt", token=dns["token"]).status_code \
            != 200:
        assert time.monotonic() < deadline, "no recovery"
        time.sleep(0.2)
