"""The token management API (SetHandler apitoken-manage): every operation,
ownership, the catalogue, the rules for callers signed in with a token,
and the answers to every error, under prefork, worker and event.  One
httpd per MPM for the module; each test uses its own token names."""

import json
import re
import subprocess
import time

import pytest
import requests

from conftest import TOKEN_RE
from manage_env import CSRF, MPMS, ManageEnv, started_env

ID_RE = re.compile(r"^[0-9A-Za-z]{12}$")


@pytest.fixture(scope="module", params=MPMS)
def mpm(request):
    return request.param


@pytest.fixture(scope="module")
def env(request, mpm):
    yield from started_env(request, mpm)


def names(env, user="alice", owner=None):
    path = "api/tokens" + (f"?owner={owner}" if owner else "")
    r = env.call(user, "GET", path)
    assert r.status_code == 200, r.text
    return {t["name"]: t for t in r.json()["tokens"]}


def error_of(r, status, code):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["error"] == code, doc
    assert doc["message"]
    return doc["message"]


# -- the page ---------------------------------------------------------------

def test_600_page_and_headers(env):
    r = env.call("alice", "GET", "")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<dialog id=\"secret-dialog\"" in r.text
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    # No inline script or handler in the page: the CSP would block it.
    assert not re.search(r"<script(?![^>]*\bsrc=)", r.text)
    assert not re.search(r"\son[a-z]+=", r.text)
    for name, ctype in (("manage.js", "text/javascript"),
                        ("manage.css", "text/css"),
                        ("index.html", "text/html")):
        r = env.call("alice", "GET", name)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(
            ctype), (name, r.status_code)
    for bad in ("nope.html", "manage.js.bak", "sub/index.html.x"):
        assert env.call("alice", "GET", bad).status_code == 404
    # httpd itself refuses an encoded slash before the handler runs.
    assert env.call("alice", "GET", "..%2fconf%2fhtpasswd",
                    check_headers=False).status_code == 404
    r = env.call("alice", "POST", "")
    error_of(r, 405, "method_not_allowed")


def test_600_needs_login(env):
    r = env.call(None, "GET", "api/tokens")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    r = env.call(None, "GET", "")
    assert r.status_code == 401


def test_600_features(env):
    r = env.call("alice", "GET", "api/features")
    assert r.status_code == 200
    doc = r.json()
    assert doc["user"] == "alice" and doc["admin"] is False
    assert doc["catalogue"] is True
    assert [f["name"] for f in doc["features"]] == ["dns", "email", "files",
                                                    "tokens"]
    assert doc["features"][0]["description"] == "DNS zones and records"
    assert env.call("root", "GET", "api/features").json()["admin"] is True


# -- operations ---------------------------------------------------------------

def test_601_create_restricted_and_use(env):
    r = env.call("alice", "POST", "api/tokens",
                 {"name": "deploy", "scopes": ["dns", "email:read"],
                  "description": "the deploy script", "expires": "+90d",
                  "allowed_networks": ["127.0.0.1", "::1/128"]})
    assert r.status_code == 201, r.text
    t = r.json()
    assert TOKEN_RE.fullmatch(t["token"])
    assert ID_RE.match(t["id"]) and t["token"][4:16] == t["id"]
    assert r.headers["Location"] == "tokens/" + t["id"]
    assert t["scopes"] == ["dns", "email:read"] and not t["full_access"]
    assert t["owner"] == "alice" and t["status"] == "active"
    assert t["allowed_networks"] == ["127.0.0.1", "::1/128"]
    assert t["description"] == "the deploy script"
    assert t["expires_at"] and t["created_at"]
    assert env.api_get("/api/dns/ok.txt", t["token"]).status_code == 200
    assert env.api_get("/api/email/ok.txt", t["token"]).status_code == 403
    assert env.api_get("/api/files/ok.txt", t["token"]).status_code == 403
    # Listed, never with the secret.
    r = env.call("alice", "GET", "api/tokens")
    assert t["token"] not in r.text and '"token"' not in r.text
    listed = {x["id"]: x for x in r.json()["tokens"]}[t["id"]]
    assert listed["name"] == "deploy"
    # The tool sees the same token and the web user as the actor.
    tool = env.store.tool("log", t["id"])
    ev = json.loads(tool.stdout)
    assert ev[0]["action"] == "create" and ev[0]["actor"] == "web:alice"


def test_601_create_full_and_never(env):
    t = env.create(name="full-one", full_access=True, scopes=None,
                   expires=None)
    assert t["full_access"] and t["scopes"] == [] and t["expires_at"] is None
    for p in ("/api/dns/ok.txt", "/api/email/ok.txt", "/api/files/ok.txt"):
        assert env.api_get(p, t["token"]).status_code == 200
    t2 = env.create(name="never-two", expires="never")
    assert t2["expires_at"] is None


def test_602_rename_scopes_expiry(env):
    t = env.create(name="patch-me", scopes=["dns"])
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"name": "patched"})
    assert r.status_code == 200 and r.json()["name"] == "patched"
    assert "token" not in r.json()
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"scopes": ["files", "email"]})
    assert r.json()["scopes"] == ["email", "files"]
    assert env.api_get("/api/dns/ok.txt", t["token"]).status_code == 403
    assert env.api_get("/api/files/ok.txt", t["token"]).status_code == 200
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"full_access": True})
    assert r.json()["full_access"] is True and r.json()["scopes"] == []
    assert env.api_get("/api/dns/ok.txt", t["token"]).status_code == 200
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"full_access": False, "scopes": ["dns"]})
    assert r.json()["full_access"] is False and r.json()["scopes"] == ["dns"]
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"expires": "+2d"})
    assert r.json()["status"] == "expiring_soon"
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"expires": "2020-01-01"})
    assert r.json()["status"] == "expired"
    assert env.api_get("/api/dns/ok.txt", t["token"]).status_code == 401
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"expires": None})
    assert r.json()["status"] == "active" and r.json()["expires_at"] is None
    actions = [e["action"] for e in env.call(
        "alice", "GET", f"api/audit?token={t['id']}").json()["events"]]
    assert actions == ["create", "rename", "scope", "scope", "scope",
                       "expire", "expire", "expire"]


def test_603_revoke_rotate_delete(env):
    t = env.create(name="cycle", scopes=["dns"])
    r = env.call("alice", "POST", f"api/tokens/{t['id']}/rotate",
                 {"grace": "1h"})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["id"] == t["id"] and new["token"] != t["token"]
    assert new["previous_secret_until"]
    assert env.api_get("/api/dns/ok.txt", t["token"]).status_code == 200
    assert env.api_get("/api/dns/ok.txt", new["token"]).status_code == 200
    # Again within the grace: that would end the old secret at once, so it
    # needs "force"; refused, nothing changes.
    msg = error_of(env.call("alice", "POST", f"api/tokens/{t['id']}/rotate"),
                   409, "conflict")
    assert "force" in msg
    assert env.api_get("/api/dns/ok.txt", t["token"]).status_code == 200
    r = env.call("alice", "POST", f"api/tokens/{t['id']}/rotate",
                 {"force": True})
    assert r.status_code == 200, r.text
    newer = r.json()
    assert env.api_get("/api/dns/ok.txt", t["token"]).status_code == 401
    assert env.api_get("/api/dns/ok.txt", new["token"]).status_code == 401
    assert env.api_get("/api/dns/ok.txt", newer["token"]).status_code == 200
    r = env.call("alice", "POST", f"api/tokens/{t['id']}/revoke")
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert env.api_get("/api/dns/ok.txt", newer["token"]).status_code == 401
    # Again: no change, same time.
    r2 = env.call("alice", "POST", f"api/tokens/{t['id']}/revoke")
    assert r2.json()["revoked_at"] == r.json()["revoked_at"]
    error_of(env.call("alice", "POST", f"api/tokens/{t['id']}/rotate"),
             409, "conflict")
    r = env.call("alice", "DELETE", f"api/tokens/{t['id']}")
    assert r.status_code == 200 and r.json() == {"deleted": t["id"]}
    error_of(env.call("alice", "DELETE", f"api/tokens/{t['id']}"), 404,
             "not_found")
    assert "cycle" not in names(env)
    # The audit log keeps the deleted token's history.
    ev = env.call("alice", "GET", f"api/audit?token={t['id']}").json()
    assert [e["action"] for e in ev["events"]] == [
        "create", "rotate", "rotate", "revoke", "delete"]
    assert all(e["actor"] == "web:alice" for e in ev["events"])


def test_603_rotate_grace_numbers(env):
    t = env.create(name="grace-num")
    r = env.call("alice", "POST", f"api/tokens/{t['id']}/rotate",
                 {"grace": 60})
    assert r.status_code == 200 and r.json()["previous_secret_until"]
    for bad in ({"grace": -1}, {"grace": "soon"}, {"grace": 1.5},
                {"grace": [1]}, {"later": 1}):
        error_of(env.call("alice", "POST", f"api/tokens/{t['id']}/rotate",
                          bad), 400, "invalid")


# -- ownership ----------------------------------------------------------------

def test_604_other_owner_is_not_found(env):
    b = env.create("bob", name="bobs")
    for method, path, body in (
            ("PATCH", f"api/tokens/{b['id']}", {"name": "mine"}),
            ("DELETE", f"api/tokens/{b['id']}", None),
            ("POST", f"api/tokens/{b['id']}/revoke", None),
            ("POST", f"api/tokens/{b['id']}/rotate", None),
            ("GET", f"api/audit?token={b['id']}", None)):
        error_of(env.call("alice", method, path, body), 404, "not_found")
    # Same answer as an id nobody has.
    error_of(env.call("alice", "DELETE", "api/tokens/AAAAAAAAAAAA"), 404,
             "not_found")
    assert "bobs" not in names(env)
    assert b["id"] not in env.call("alice", "GET", "api/audit").text
    assert env.api_get("/api/dns/ok.txt", b["token"]).status_code == 200
    error_of(env.call("alice", "GET", "api/tokens?owner=bob"), 403,
             "forbidden")
    error_of(env.call("alice", "POST", "api/tokens?owner=bob",
                      {"name": "x", "scopes": ["dns"]}), 403, "forbidden")
    assert env.call("alice", "GET", "api/tokens?owner=alice").status_code \
        == 200


def test_604_admin_any_owner(env):
    b = env.create("bob", name="bob-admin-view")
    assert "bob-admin-view" in names(env, "root", owner="bob")
    assert "bob-admin-view" not in names(env, "root")
    r = env.call("root", "POST", f"api/tokens/{b['id']}/revoke?owner=bob")
    assert r.status_code == 200
    # Without ?owner= the admin acts on its own tokens only.
    error_of(env.call("root", "DELETE", f"api/tokens/{b['id']}"), 404,
             "not_found")
    r = env.call("root", "POST", "api/tokens?owner=bob",
                 {"name": "made-by-root", "scopes": ["files"]})
    assert r.status_code == 201 and r.json()["owner"] == "bob"
    ev = env.call("bob", "GET", "api/audit").json()["events"]
    by = {(e["action"], e["token_id"]): e["actor"] for e in ev}
    assert by[("revoke", b["id"])] == "web:root"
    assert by[("create", r.json()["id"])] == "web:root"
    error_of(env.call("root", "GET", "api/tokens?owner=a%3Ab"), 400,
             "invalid")


# -- refusals -----------------------------------------------------------------

def test_605_validation_errors(env):
    env.create(name="taken")
    error_of(env.call("alice", "POST", "api/tokens",
                      {"name": "taken", "scopes": ["dns"]}), 409,
             "name_exists")
    t = env.create(name="rename-clash")
    error_of(env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                      {"name": "taken"}), 409, "name_exists")
    msg = error_of(env.call("alice", "POST", "api/tokens",
                            {"name": "u1", "scopes": ["dns", "billing"]}),
                   422, "unknown_feature")
    assert "billing" in msg
    error_of(env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                      {"scopes": ["ftp:read"]}), 422, "unknown_feature")
    cases = [
        {"scopes": ["dns"]},                                   # no name
        {"name": "", "scopes": ["dns"]},
        {"name": "a\u0001b", "scopes": ["dns"]},
        {"name": "x" * 129, "scopes": ["dns"]},
        {"name": "v1", "scopes": ["DNS!"]},
        {"name": "v2", "scopes": []},
        {"name": "v3"},
        {"name": "v4", "scopes": ["dns"], "full_access": True},
        {"name": "v5", "scopes": ["dns"], "expires": "2001-01-01"},
        {"name": "v6", "scopes": ["dns"], "expires": "tomorrow"},
        {"name": "v7", "scopes": ["dns"], "expires": 5},
        {"name": "v8", "scopes": ["dns"], "allowed_networks": ["10.0.0.0/33"]},
        {"name": "v9", "scopes": "dns", "full_access": "yes"},
        {"name": 7, "scopes": ["dns"]},
        {"name": "v10", "scopes": [["dns"]]},
        {"name": "v12", "scopes": ["dns"], "owner": "bob"},
        {"name": "v13", "scopes": ["dns"], "description": "x" * 1025},
    ]
    for body in cases:
        error_of(env.call("alice", "POST", "api/tokens", body), 400,
                 "invalid")
    # Scope lists are read as the tool reads --scope: an element or a string
    # may hold several, separated by spaces, commas or tabs.
    for n, sc in (("list1", ["dns email"]), ("list2", "dns,email"),
                  ("list3", ["dns\temail"])):
        r = env.call("alice", "POST", "api/tokens", {"name": n, "scopes": sc})
        assert r.status_code == 201, r.text
        assert r.json()["scopes"] == ["dns", "email"]
    for body in ({}, {"name": None, "id": "x"}, {"scopes": []},
                 {"name": ""}):
        error_of(env.call("alice", "PATCH", f"api/tokens/{t['id']}", body),
                 400, "invalid")
    assert not any(n.startswith("v") and n[1:].isdigit()
                   for n in names(env))


def test_605_bad_json(env):
    for raw in ("", "{", "{\"name\": \"a\",}", "[]", "\"x\"", "null",
                "{\"name\": \"a\", \"name\": \"b\", \"scopes\": [\"dns\"]}",
                "{'name': 'a'}", "{\"name\": \"\\ud800\"}",
                "{\"name\": \"a\\u0000b\", \"scopes\": [\"dns\"]}",
                "[" * 100 + "]" * 100, b"{\"name\": \"\xff\"}"):
        if raw == "":
            continue  # an empty body reads as {} (tested below)
        error_of(env.call("alice", "POST", "api/tokens", raw=raw), 400,
                 "bad_json")
    error_of(env.call("alice", "POST", "api/tokens", raw=""), 400, "invalid")


def test_606_csrf(env):
    body = {"name": "csrf", "scopes": ["dns"]}
    # No anti-CSRF header (no Origin either).
    error_of(env.call("alice", "POST", "api/tokens", body,
                      headers={"X-Requested-With": None}), 403, "csrf")
    error_of(env.call("alice", "POST", "api/tokens", body,
                      headers={"X-Requested-With": "XMLHttpRequest"}), 403,
             "csrf")
    # A foreign Origin, even with the header.
    for origin in ("http://evil.example", "null",
                   f"https://127.0.0.1:{env.httpd.port}",
                   f"http://127.0.0.1:{env.httpd.port + 1}",
                   f"http://127.0.0.1:{env.httpd.port}.evil.example"):
        error_of(env.call("alice", "POST", "api/tokens", body,
                          headers={"Origin": origin}), 403, "csrf")
    error_of(env.call("alice", "POST", "api/tokens", body,
                      headers={"Sec-Fetch-Site": "cross-site"}), 403, "csrf")
    # What an HTML form can send: no custom header, form content types.
    for ctype in ("application/x-www-form-urlencoded", "multipart/form-data",
                  "text/plain"):
        error_of(env.call("alice", "POST", "api/tokens",
                          raw="name=csrf&scopes=dns",
                          headers={"Content-Type": ctype,
                                   "X-Requested-With": None,
                                   "Origin": "http://evil.example"}),
                 403, "csrf")
        error_of(env.call("alice", "POST", "api/tokens",
                          raw=json.dumps(body),
                          headers={"Content-Type": ctype}), 415,
                 "unsupported_media_type")
    error_of(env.call("alice", "POST", "api/tokens", raw=json.dumps(body),
                      headers={"Content-Type": None}), 415,
             "unsupported_media_type")
    assert "csrf" not in names(env)
    t = env.create(name="csrf-target")
    error_of(env.call("alice", "DELETE", f"api/tokens/{t['id']}",
                      headers={"X-Requested-With": None}), 403, "csrf")
    error_of(env.call("alice", "POST", f"api/tokens/{t['id']}/revoke",
                      headers={"Origin": "http://evil.example"}), 403, "csrf")
    assert names(env)["csrf-target"]["status"] == "active"
    # The same origin, as the page sends it, is fine.
    r = env.call("alice", "POST", "api/tokens",
                 {"name": "csrf-ok", "scopes": ["dns"]},
                 headers={"Origin": env.origin,
                          "Content-Type": "application/json; charset=utf-8",
                          "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 201, r.text


def test_607_methods_and_routes(env):
    for method, path, allow in (("PUT", "api/tokens", "GET, HEAD, POST"),
                                ("DELETE", "api/tokens", "GET, HEAD, POST"),
                                ("POST", "api/features", "GET, HEAD"),
                                ("POST", "api/audit", "GET, HEAD"),
                                ("GET", "api/tokens/AAAAAAAAAAAA",
                                 "PATCH, DELETE"),
                                ("PUT", "api/tokens/AAAAAAAAAAAA",
                                 "PATCH, DELETE"),
                                ("GET", "api/tokens/AAAAAAAAAAAA/revoke",
                                 "POST")):
        r = env.call("alice", method, path)
        error_of(r, 405, "method_not_allowed")
        assert r.headers["Allow"] == allow
    for path in ("api/nothing", "api/tokens/short",
                 "api/tokens/AAAAAAAAAAAA/explode",
                 "api/tokens/AAAAAAAAAAA%21"):
        error_of(env.call("alice", "POST", path), 404, "not_found")
    r = env.call("alice", "HEAD", "api/tokens")
    assert r.status_code == 200 and r.text == ""


def test_607_body_too_large(env):
    big = json.dumps({"name": "big", "scopes": ["dns"],
                      "description": "x" * 70000})
    error_of(env.call("alice", "POST", "api/tokens", raw=big), 413,
             "too_large")

    def chunks():
        yield b'{"name": "big2", "description": "'
        for _ in range(20):
            yield b"y" * 4096
        yield b'"}'
    error_of(env.call("alice", "POST", "api/tokens", raw=chunks()), 413,
             "too_large")
    assert "big" not in names(env) and "big2" not in names(env)


# -- callers signed in with a token ----------------------------------------------

def test_608_token_caller(env):
    mgr = env.create(name="manager", scopes=["tokens", "dns", "email:read"])
    tok = mgr["token"]

    def tcall(method, path, body=None, token=tok):
        return env.call(None, method, path, body, base="/tmanage/",
                        token=token)

    r = tcall("GET", "api/tokens")
    assert r.status_code == 200 and "manager" in r.text
    r = tcall("POST", "api/tokens", {"name": "minted", "scopes": ["dns"]})
    assert r.status_code == 201, r.text
    minted = r.json()
    r = tcall("POST", "api/tokens", {"name": "minted-read",
                                     "scopes": ["email:read", "DNS:write"]})
    assert r.status_code == 201, r.text
    # More than it holds: refused, nothing written.
    for body in ({"name": "over1", "scopes": ["files"]},
                 {"name": "over2", "scopes": ["email"]},
                 {"name": "over3", "scopes": ["email:write"]},
                 {"name": "over4", "full_access": True}):
        error_of(tcall("POST", "api/tokens", body), 403,
                 "insufficient_scope")
    error_of(tcall("PATCH", f"api/tokens/{minted['id']}",
                   {"scopes": ["files"]}), 403, "insufficient_scope")
    error_of(tcall("PATCH", f"api/tokens/{minted['id']}",
                   {"full_access": True}), 403, "insufficient_scope")
    assert not any(n.startswith("over") for n in names(env))
    ev = tcall("GET", f"api/audit?token={minted['id']}").json()["events"]
    assert ev[0]["actor"] == "web:alice"
    # Without the management scope: nothing at all.
    plain = env.create(name="no-manage", scopes=["dns"])
    error_of(tcall("GET", "api/tokens", token=plain["token"]), 403,
             "insufficient_scope")
    error_of(tcall("POST", "api/tokens", {"name": "x", "scopes": ["dns"]},
                   token=plain["token"]), 403, "insufficient_scope")
    # A full-access token may mint full access.
    full = env.create(name="full-manager", full_access=True, scopes=None)
    r = tcall("POST", "api/tokens", {"name": "minted-full",
                                     "full_access": True},
              token=full["token"])
    assert r.status_code == 201, r.text
    # No credentials: the module's own challenge.
    r = env.call(None, "GET", "api/tokens", base="/tmanage/")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_609_rate_limit(env):
    # A fixed one-minute window: start early in a minute.
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)
    made = []
    for i in range(3):
        r = env.call("carol", "POST", "api/tokens",
                     {"name": f"rl-{i}", "scopes": ["dns"]}, base="/limited/")
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    r = env.call("carol", "POST", "api/tokens",
                 {"name": "rl-3", "scopes": ["dns"]}, base="/limited/")
    error_of(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Counted per account: another account is not held back.
    r = env.call("dave", "POST", "api/tokens",
                 {"name": "rl-dave", "scopes": ["dns"]}, base="/limited/")
    assert r.status_code == 201
    # Other operations go on.
    r = env.call("carol", "POST", f"api/tokens/{made[0]}/revoke",
                 base="/limited/")
    assert r.status_code == 200
    assert "rl-3" not in names(env, "carol")


def apr_hash(name):
    """APR's apr_hashfunc_default: "times 33" over the bytes, 32 bits."""
    h = 0
    for b in name.encode():
        h = (h * 33 + b) & 0xffffffff
    return h


def slot_collision(prefix, slots=1024):
    """Two names whose hashes differ but fall in the same of the slots."""
    import itertools
    import string
    seen = {}
    for t in itertools.product(string.ascii_lowercase, repeat=3):
        n = prefix + "".join(t)
        k = apr_hash(n) % slots
        if k in seen and apr_hash(seen[k]) != apr_hash(n):
            return seen[k], n
        seen.setdefault(k, n)
    raise AssertionError("no collision found")


def add_users(env, names, pw="pw"):
    """More Basic accounts in the running httpd's password file (read on
    every request)."""
    import base64
    import hashlib
    import os
    digest = base64.b64encode(hashlib.sha1(pw.encode()).digest()).decode()
    with open(os.path.join(env.httpd.root, "conf", "htpasswd"), "a") as f:
        for n in names:
            f.write(f"{n}:{{SHA}}{digest}\n")


def early_in_minute(room=45):
    if time.time() % 60 > 60 - room:
        time.sleep(61 - time.time() % 60)


def test_609_rate_limit_slots_are_not_shared(env):
    """Two accounts whose hashes share a slot of the table keep their own
    counts: alternating creates do not reset each other."""
    a, b = slot_collision("slot-")
    add_users(env, [a, b])
    early_in_minute()
    got = {a: [], b: []}
    for i in range(5):
        for user in (a, b):
            r = requests.post(env.url("api/tokens", base="/limited/"),
                              auth=(user, "pw"), timeout=30,
                              headers=dict(CSRF, **{"Content-Type":
                                                    "application/json"}),
                              data=json.dumps({"name": f"alt-{i}",
                                               "scopes": ["dns"]}))
            got[user].append(r.status_code)
            m = re.search(r'"token": "([^"]+)"', r.text)
            if m:
                env.secrets.append(m.group(1))
    assert got[a] == [201, 201, 201, 429, 429], got
    assert got[b] == [201, 201, 201, 429, 429], got


def test_610_tool_and_web_share_rules(env):
    t = env.create(name="shared")
    # A change by the tool shows in the page's list, and the web's in the
    # tool's.
    env.store.tool("rename", t["id"], "shared-by-tool")
    assert "shared-by-tool" in names(env)
    env.call("alice", "PATCH", f"api/tokens/{t['id']}", {"scopes": ["email"]})
    shown = json.loads(env.store.tool("show", t["id"]).stdout)
    assert shown["scopes"] == ["email"]
    log = json.loads(env.store.tool("log", t["id"]).stdout)
    assert [(e["action"], e["actor"]) for e in log][-1] == ("scope",
                                                             "web:alice")
    detail = log[-1]["detail"]
    assert detail == "restricted, scopes email"


# -- database down ------------------------------------------------------------

def test_611_database_down(request, mpm):
    e = ManageEnv(request, mpm=mpm)
    try:
        t = e.create(name="before")
        e.httpd.mark()
        e.db_down()
        r = e.call("alice", "GET", "api/tokens")
        error_of(r, 503, "database_unavailable")
        error_of(e.call("alice", "POST", "api/tokens",
                        {"name": "during", "scopes": ["dns"]}), 503,
                 "database_unavailable")
        error_of(e.call("alice", "POST", f"api/tokens/{t['id']}/revoke"),
                 503, "database_unavailable")
        # The page itself does not need the database.
        assert e.call("alice", "GET", "").status_code == 200
        assert e.call("alice", "GET", "api/features").status_code == 200
        e.db_up()
        deadline = time.monotonic() + 20
        while True:
            r = e.call("alice", "GET", "api/tokens")
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert r.status_code == 200 and "before" in r.text
        e.stop_and_check(extra=[r"APT04004", r"APT06005", r"APT04005"])
    finally:
        e.close()


def test_607_location_without_slash(env):
    # <Location /panel>, as the directive reference writes it.
    r = env.call("alice", "GET", "?owner=alice", base="/panel")
    assert r.status_code == 301
    assert r.headers["Location"] == env.httpd.url("/panel/?owner=alice")
    assert env.call("alice", "GET", "", base="/panel/").status_code == 200
    assert env.call("alice", "GET", "api/tokens",
                    base="/panel/").status_code == 200


# -- configuration ------------------------------------------------------------

BAD_CONF = [
    ("ApiTokenFeature DNS \"upper case\"", "invalid feature name DNS"),
    ("ApiTokenFeature dns:read \"a level\"", "invalid feature name"),
    ("ApiTokenFeature dns one\nApiTokenFeature dns two", "listed twice"),
    ("ApiTokenManageCreateLimit -1", "not a number"),
    ("ApiTokenManageCreateLimit lots", "not a number"),
    ("ApiTokenManageScope \"to kens\"", "invalid scope"),
    ("ApiTokenManageAdmins", "needs at least one"),
    ("ApiTokenManageAdmins a:b", "invalid account"),
    ("ApiTokenManageAssets /nonexistent/dir", "is not a directory"),
]


@pytest.mark.parametrize("line,why", BAD_CONF)
def test_612_bad_directives_stop_httpd(line, why):
    from httpd_server import Httpd
    h = Httpd("sqlite3:///nonexistent/tokens.db",
              conf=f"<Location /m/>\n SetHandler apitoken-manage\n"
                   f"{line}\n</Location>\n")
    try:
        rc, out = h.configtest()
        assert rc != 0 and why in out, out
        assert "httpd.conf" in out
    finally:
        h.close()


def test_612_not_in_htaccess(request, mpm):
    """A user allowed AuthConfig in .htaccess cannot make themselves an
    admin or lift the limit."""
    import os
    from httpd_server import Httpd
    h = Httpd("sqlite3:///nonexistent/tokens.db", mpm=mpm, conf="""
<Directory "@ROOT@/htdocs/ht">
    AllowOverride All
</Directory>
""")
    try:
        d = os.path.join(h.root, "htdocs", "ht")
        os.makedirs(d, 0o755)
        with open(os.path.join(d, "ok.txt"), "w") as f:
            f.write("ok\n")
        for line in ("ApiTokenManage On",
                     "ApiTokenManageAdmins eve", "ApiTokenManageCreateLimit 0",
                     "ApiTokenManageScope x", "ApiTokenFeature x y",
                     "ApiTokenManageAssets /tmp"):
            with open(os.path.join(d, ".htaccess"), "w") as f:
                f.write(line + "\n")
            os.chmod(os.path.join(d, ".htaccess"), 0o644)
            if not h.proc:
                h.start()
            h.mark()
            assert h.get("/ht/ok.txt").status_code == 500, line
            assert "not allowed here" in h.log_since_mark(), line
    finally:
        h.close()


HT_HTACCESS = """SetHandler apitoken-manage
AuthType Basic
AuthName "mine"
AuthBasicProvider file
AuthUserFile "{pw}"
Require valid-user
"""


def test_613_htaccess_cannot_enable_the_handler(request):
    """SetHandler apitoken-manage in an .htaccess, with the author's own
    AuthUserFile claiming the admin account, acts as nobody: the handler
    refuses where the main configuration did not set ApiTokenManage On,
    and says why in the log.  The configured location keeps working."""
    import os
    from manage_env import USERS
    extra = """
ApiTokenManageAdmins root
<Directory "@ROOT@/htdocs/ht">
    AllowOverride All
</Directory>
<Directory "@ROOT@/htdocs/listed">
    AllowOverride All
    AllowOverrideList ApiTokenManage ApiTokenManageAdmins
</Directory>
<Location /off/>
    AuthType Basic
    AuthName "off"
    AuthBasicProvider file
    AuthUserFile "@ROOT@/conf/htpasswd"
    Require valid-user
    SetHandler apitoken-manage
    ApiTokenManage Off
</Location>
<Location /manage/closed/>
    ApiTokenManage Off
</Location>
"""
    e = ManageEnv(request, conf=extra)
    try:
        alice = e.create("alice", name="ht-victim")
        ht = os.path.join(e.httpd.root, "htdocs", "ht")
        os.makedirs(ht, 0o755)
        pw = os.path.join(ht, "mine.passwd")
        import base64
        import hashlib
        digest = base64.b64encode(hashlib.sha1(b"x").digest()).decode()
        with open(pw, "w") as f:
            f.write(f"root:{{SHA}}{digest}\nalice:{{SHA}}{digest}\n")
        with open(os.path.join(ht, ".htaccess"), "w") as f:
            f.write(HT_HTACCESS.format(pw=pw))
        for p in (pw, os.path.join(ht, ".htaccess")):
            os.chmod(p, 0o644)
        e.httpd.mark()
        for user in ("root", "alice"):
            for method, path in (("GET", "api/tokens?owner=alice"),
                                 ("GET", "api/tokens"), ("GET", ""),
                                 ("GET", "api/features"),
                                 ("POST", f"api/tokens/{alice['id']}/rotate"),
                                 ("DELETE", f"api/tokens/{alice['id']}")):
                h = dict(CSRF) if method != "GET" else {}
                h["Content-Type"] = "application/json"
                r = requests.request(method, e.httpd.url("/ht/" + path),
                                     auth=(user, "x"), headers=h, data="{}",
                                     timeout=30, allow_redirects=False)
                error_of(r, 403, "not_enabled")
                assert alice["id"] not in r.text and '"token"' not in r.text
        log = e.httpd.log_since_mark()
        assert re.search(r"APT06051: refused /ht/api/tokens: SetHandler "
                         r"apitoken-manage where the server configuration "
                         r"does not set ApiTokenManage On", log), log
        # Off in the main configuration refuses too, for real accounts.
        r = e.call("alice", "GET", "api/tokens", base="/off/")
        error_of(r, 403, "not_enabled")
        assert "APT06051: refused /off/api/tokens" in e.httpd.log_since_mark()
        # An inner section's Off wins over the outer On.
        r = e.call("alice", "GET", "api/tokens", base="/manage/closed/")
        error_of(r, 403, "not_enabled")
        # Nothing changed, and the configured location answers as before.
        mine = names(e, "alice")
        assert mine["ht-victim"]["id"] == alice["id"]
        assert mine["ht-victim"]["status"] == "active"
        r = e.call("alice", "GET", "api/tokens", base="/manage/")
        assert r.status_code == 200
        r = e.call("root", "GET", "api/tokens?owner=alice")
        assert r.status_code == 200 and alice["id"] in r.text
        # Even a directive AllowOverrideList names stays out of .htaccess.
        listed = os.path.join(e.httpd.root, "htdocs", "listed")
        os.makedirs(listed, 0o755)
        with open(os.path.join(listed, "ok.txt"), "w") as f:
            f.write("ok\n")
        for line in ("ApiTokenManage On", "ApiTokenManageAdmins eve"):
            with open(os.path.join(listed, ".htaccess"), "w") as f:
                f.write(HT_HTACCESS.format(pw=pw) + line + "\n")
            os.chmod(os.path.join(listed, ".htaccess"), 0o644)
            e.httpd.mark()
            r = requests.get(e.httpd.url("/listed/api/tokens"),
                             auth=("root", "x"), timeout=30)
            assert r.status_code == 500, (line, r.status_code, r.text)
            assert (line.split()[0] + " is not allowed in .htaccess files"
                    in e.httpd.log_since_mark()), line
        e.check_logs(extra=[r"APT06051: refused",
                            r"is not allowed in \.htaccess files"])
    finally:
        e.close()


def test_614_create_limit_table_full(request):
    """Once every slot counts another account this minute, a new account
    is refused (fail closed, with a log line); accounts already counted
    keep their counts."""
    import concurrent.futures
    e = ManageEnv(request)
    try:
        users = [f"full-{i:04d}" for i in range(1025)]
        add_users(e, users)
        early_in_minute(room=40)
        e.httpd.mark()

        def create(user, name=""):
            # An empty name is refused after the limit counted the create:
            # no row is written.
            with requests.Session() as sess:
                r = sess.post(e.url("api/tokens", base="/limited/"),
                              auth=(user, "pw"), timeout=30,
                              headers=dict(CSRF, **{"Content-Type":
                                                    "application/json"}),
                              data=json.dumps({"name": name,
                                               "scopes": ["dns"]}))
            return r.status_code

        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            codes = list(ex.map(create, users[:1024]))
        assert codes == [400] * 1024, sorted(set(codes))
        assert create(users[1024]) == 429
        assert "APT06052: create limit table full" in e.httpd.log_since_mark()
        # Counted accounts go on to their own limit of 3.
        assert [create(users[0]) for _ in range(3)] == [400, 400, 429]
        assert time.time() // 60 == t0 // 60, "the minute ended too soon"
        e.check_logs(extra=[r"APT06052"])
    finally:
        e.close()


def test_615_c1_controls_escaped_in_errors(env):
    """The API's error messages show C1 controls (U+0080 to U+009F) as the
    \\xNN of their UTF-8 bytes, as they do C0 controls."""
    c1 = "\u009b"
    cases = [({"name": f"n{c1}31m", "scopes": ["dns"]}, "'n\\xc2\\x9b31m'"),
             ({"name": "ok", "description": f"d\u0085", "scopes": ["dns"]},
              "'d\\xc2\\x85'"),
             ({"name": "ok", f"fi\u0080eld": 1}, "'fi\\xc2\\x80eld'"),
             ({"name": "ok", "scopes": ["dns"], "expires": f"+1d{c1}"},
              "'+1d\\xc2\\x9b'")]
    for body, want in cases:
        r = env.call("alice", "POST", "api/tokens", body)
        msg = error_of(r, 400, "invalid")
        assert want in msg, (body, msg)
        assert not any(0x80 <= ord(ch) <= 0x9f for ch in msg), msg
        assert b"\xc2\x9b" not in r.content and b"\\u009b" not in r.content


def test_616_longest_account_names(env):
    """Accounts of 125 to 128 bytes (the owner limit) change their tokens
    through the API like any other: the actor "web:NAME" fits."""
    import base64
    import hashlib
    import os
    accounts = ["l" * 125, "m" * 128, "\u00e9" * 64, "x" * 124 + "\u00e9\u00e9"]
    digest = base64.b64encode(hashlib.sha1(b"long-pw").digest()).decode()
    with open(os.path.join(env.httpd.root, "conf", "htpasswd"), "a") as f:
        for a in accounts:
            f.write(f"{a}:{{SHA}}{digest}\n")
    for account in accounts:
        assert len(account.encode()) in (125, 128)
        auth = (account.encode(), b"long-pw")

        def call(method, path, body=None):
            r = requests.request(method, env.url(path), auth=auth,
                                 headers=dict(CSRF, **{"Content-Type":
                                                       "application/json"}),
                                 data=json.dumps(body or {}), timeout=30)
            m = re.search(r'"token": "([^"]+)"', r.text)
            if m:
                env.secrets.append(m.group(1))
            return r

        r = call("POST", "api/tokens", {"name": "long", "scopes": ["dns"]})
        assert r.status_code == 201, (len(account.encode()), r.text)
        tid = r.json()["id"]
        assert r.json()["owner"] == account
        for method, path, body in (("PATCH", f"api/tokens/{tid}",
                                    {"name": "longer", "expires": "+1d"}),
                                   ("POST", f"api/tokens/{tid}/rotate", {}),
                                   ("POST", f"api/tokens/{tid}/revoke", {}),
                                   ("DELETE", f"api/tokens/{tid}", {})):
            r = call(method, path, body)
            assert r.status_code == 200, (method, path, r.text)
        r = requests.get(env.url(f"api/audit?token={tid}"), auth=auth,
                         timeout=30)
        evs = r.json()["events"]
        assert [e["action"] for e in evs] == ["create", "rename", "expire",
                                              "rotate", "revoke", "delete"]
        assert {e["actor"] for e in evs} == {"web:" + account}
