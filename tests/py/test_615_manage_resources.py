"""Resource patterns through the management API: "resources" in POST,
PATCH and the token JSON, and the caller rule for token callers (a caller
limited to resources cannot create or widen a token beyond its own; its
new tokens inherit its patterns when none are given).  The oracle is the
tool's view of the store.  Runs under prefork, worker and event."""

import json
import subprocess

import pytest

from httpd_server import TOOL
from manage_env import MPMS, started_env


@pytest.fixture(scope="module", params=MPMS)
def env(request):
    yield from started_env(request, request.param)


def stored(env, tid):
    r = subprocess.run([str(TOOL), "--db", env.store.url, "--json", "show",
                        tid], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["resources"]


def tcall(env, caller, method, path, body):
    return env.call(None, method, path, body, base="/tmanage/",
                    token=caller["token"])


def test_615_account_sets_and_edits_resources(env):
    t = env.create(name="r-acct", resources=["Example.COM", "*.example.org"])
    assert t["resources"] == ["*.example.org", "example.com"]
    assert stored(env, t["id"]) == t["resources"]
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"resources": "a.example.org, b.example.org"})
    assert r.status_code == 200, r.text
    assert r.json()["resources"] == ["a.example.org", "b.example.org"]
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"resources": None})
    assert r.status_code == 200 and r.json()["resources"] == []
    assert stored(env, t["id"]) == []
    for bad in (["a..b"], ["x\u0001"], ["/f/../etc"], [7]):
        r = env.call("alice", "POST", "api/tokens",
                     {"name": "r-bad", "scopes": ["dns"], "resources": bad})
        assert r.status_code == 400, (bad, r.text)


def test_615_token_caller_stays_within_its_resources(env):
    caller = env.store.create("alice", scopes=["tokens", "dns"],
                              resources=["example.com", "*.example.org"])
    # None given: the caller's own patterns.
    r = tcall(env, caller, "POST", "api/tokens",
              {"name": "r-inherit", "scopes": ["dns"]})
    assert r.status_code == 201, r.text
    assert r.json()["resources"] == ["*.example.org", "example.com"]
    # Narrower: fine.
    r = tcall(env, caller, "POST", "api/tokens",
              {"name": "r-narrow", "scopes": ["dns"],
               "resources": ["a.example.org", "*.b.example.org"]})
    assert r.status_code == 201, r.text
    child = r.json()
    # Wider or elsewhere: refused, nothing made.
    for res in (["example.net"], ["*"], ["*.org"], ["example.org"]):
        r = tcall(env, caller, "POST", "api/tokens",
                  {"name": "r-wide", "scopes": ["dns"], "resources": res})
        assert r.status_code == 403, (res, r.text)
        assert r.json()["error"] == "insufficient_scope"
    rc = subprocess.run([str(TOOL), "--db", env.store.url, "--json", "list",
                         "--owner", "alice"], capture_output=True, text=True)
    assert "r-wide" not in rc.stdout
    # Widening a child, or making it unrestricted: refused, unchanged.
    for res in (["example.net"], None, []):
        r = tcall(env, caller, "PATCH", f"api/tokens/{child['id']}",
                  {"resources": res})
        assert r.status_code == 403, (res, r.text)
        assert stored(env, child["id"]) == child["resources"]
    r = tcall(env, caller, "PATCH", f"api/tokens/{child['id']}",
              {"resources": ["example.com"]})
    assert r.status_code == 200 and r.json()["resources"] == ["example.com"]
    # An unrestricted token of the account is beyond the caller already.
    free = env.create(name="r-free")
    r = tcall(env, caller, "PATCH", f"api/tokens/{free['id']}",
              {"resources": ["example.com"]})
    assert r.status_code == 403, r.text
    assert stored(env, free["id"]) == []


def test_615_unrestricted_caller_may_give_any(env):
    caller = env.store.create("alice", scopes=["tokens", "dns"])
    r = tcall(env, caller, "POST", "api/tokens",
              {"name": "r-any", "scopes": ["dns"], "resources": ["*"]})
    assert r.status_code == 201 and r.json()["resources"] == ["*"]
    r = tcall(env, caller, "POST", "api/tokens",
              {"name": "r-none", "scopes": ["dns"]})
    assert r.status_code == 201 and r.json()["resources"] == []
