"""The management API's privilege rules for callers signed in with an API
token (issue: the management API never hands out more than its caller
holds).

Generated callers (scopes with levels, an expiry, allowed networks, full
access) send every kind of request the API has, with the scopes, expiry
and networks written in every form the JSON allows (strings and arrays,
separators inside elements, escapes, duplicate keys, upper case).  The
oracle is independent of the module: what the store holds afterwards is
read with the tool and compared with the caller in Python (scopes by the
feature[:level] rule, times as ISO strings, networks with the ipaddress
module).  Positive controls show the caller can still do what it holds.
Runs under prefork, worker and event."""

import ipaddress
import itertools
import json
import subprocess

import pytest

from httpd_server import TOOL
from manage_env import MPMS, started_env


@pytest.fixture(scope="module", params=MPMS)
def env(request):
    yield from started_env(request, request.param)


# -- the oracle ---------------------------------------------------------------

def satisfies(granted, full, required):
    if full:
        return True
    for g in granted:
        if g == required or (":" not in g and required.startswith(g + ":")):
            return True
    return False


def net_of(text):
    n = ipaddress.ip_network(text, strict=False)
    if n.version == 6 and n.prefixlen >= 96 and n.network_address.ipv4_mapped:
        n = ipaddress.ip_network(
            (n.network_address.ipv4_mapped, n.prefixlen - 96), strict=False)
    return n


def nets_within(inner, outer):
    if not outer:
        return True
    if not inner:
        return False
    outs = [net_of(o) for o in outer]
    for i in map(net_of, inner):
        if not any(i.version == o.version and i.subnet_of(o) for o in outs):
            return False
    return True


def within(child, caller):
    """Why child reaches beyond caller, or None.  Both are the tool's JSON
    objects."""
    if child["full_access"] and not caller["full_access"]:
        return "full access"
    for s in child["scopes"]:
        if not satisfies(caller["scopes"], caller["full_access"], s):
            return f"scope {s}"
    if caller["expires_at"] and (not child["expires_at"] or
                                 child["expires_at"] > caller["expires_at"]):
        return f"expiry {child['expires_at']}"
    if not nets_within(child["allowed_networks"], caller["allowed_networks"]):
        return f"networks {child['allowed_networks']}"
    return None


def test_610_oracle_is_strict():
    # The oracle itself can say no: otherwise the tests below prove nothing.
    caller = {"full_access": False, "scopes": ["dns", "email:read"],
              "expires_at": "2030-01-01T00:00:00Z",
              "allowed_networks": ["127.0.0.0/8"]}
    ok = {"full_access": False, "scopes": ["dns:write", "email:read"],
          "expires_at": "2029-01-01T00:00:00Z",
          "allowed_networks": ["127.0.0.1", "::ffff:127.1.0.0/112"]}
    assert within(ok, caller) is None
    for k, v in (("full_access", True), ("scopes", ["email"]),
                 ("scopes", ["email:write"]), ("expires_at", None),
                 ("expires_at", "2031-01-01T00:00:00Z"),
                 ("allowed_networks", []), ("allowed_networks", ["10.0.0.0/8"]),
                 ("allowed_networks", ["127.0.0.0/7"]), ("allowed_networks", ["::1"])):
        assert within(dict(ok, **{k: v}), caller), (k, v)


# -- helpers ------------------------------------------------------------------

CALLERS = [
    {"scopes": ["tokens", "dns"]},
    {"scopes": ["tokens", "dns:read", "email"], "expires": "+2d"},
    {"scopes": ["tokens", "dns"], "allow_ip": ["127.0.0.1"]},
    {"scopes": ["tokens", "email:read"], "expires": "+1d",
     "allow_ip": ["127.0.0.0/8", "::1"]},
    {"full": True, "expires": "+3d", "allow_ip": ["127.0.0.0/24"]},
]
CALLER_IDS = ["scopes", "levels+expiry", "one-address", "all-limits",
              "full+limits"]

# Scopes as a request can write them.  Some are within every restricted
# caller above only by accident of the caller's scopes; the oracle decides.
SCOPE_FORMS = [
    '["dns:x\\temail"]', '["dns:x,files"]', '["dns:x files"]',
    '"dns:x email"', '"dns, files"', '"tokens"', '["DNS", "Email"]',
    '["dns:read"]', '["dns\\u0009files"]', '["d\\u006es:write"]',
    '["email"]', '["files"]', '["tokens"]', '["dns:read", "dns"]',
    '["tokens,email:write"]', '["TOKENS\\u002cFILES"]',
]
EXPIRY_FORMS = ['null', '"never"', '"+400d"', '"+1h"', '"9999-12-31"']
NET_FORMS = ['null', '[]', '["0.0.0.0/1", "128.0.0.0/1"]', '"127.0.0.0/8"',
             '["::ffff:127.0.0.0/104"]', '["127.0.0.1"]', '["10.0.0.0/8"]',
             '"127.0.0.1, ::1"', '["127.0.0.1\\t10.0.0.1"]']

_seq = itertools.count()


def uniq(prefix):
    return f"{prefix}-{next(_seq)}"


def tool(env, *args):
    r = subprocess.run([str(TOOL), "--db", env.store.url, "--json"] +
                       list(args), capture_output=True, text=True,
                       timeout=60)
    return r


def show(env, tid):
    r = tool(env, "show", tid)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def without_last_use(doc):
    return {k: v for k, v in doc.items()
            if k not in ("last_used_at", "last_used_addr")}


def by_name(env, name, owner="alice"):
    r = tool(env, "list", "--owner", owner, "--status", "all")
    assert r.returncode == 0, r.stderr
    hits = [t for t in json.loads(r.stdout) if t["name"] == name]
    return hits[0] if hits else None


def make_caller(env, spec):
    doc = env.store.create(owner="alice", name=uniq("caller"),
                           scopes=spec.get("scopes", ()),
                           full=spec.get("full", False),
                           expires=spec.get("expires"),
                           allow_ip=spec.get("allow_ip", ()))
    return doc


def tcall(env, caller, method, path, raw=None):
    return env.call(None, method, path, base="/tmanage/",
                    token=caller["token"], raw=raw)


def assert_refused_cleanly(r):
    assert r.status_code in (400, 403, 409, 422), (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    assert '"token"' not in r.text


def check_result(env, caller, r, name):
    """A create either made a token within the caller or made nothing."""
    made = by_name(env, name)
    if r.status_code == 201:
        assert made, r.text
        why = within(show(env, made["id"]), caller)
        assert why is None, (f"created beyond the caller: {why}", r.text)
        return True
    assert_refused_cleanly(r)
    assert made is None, made
    return False


# -- create -------------------------------------------------------------------

@pytest.mark.parametrize("spec", CALLERS, ids=CALLER_IDS)
def test_611_create_within_caller(env, spec):
    caller = make_caller(env, spec)
    created = 0
    bodies = []
    for sc in SCOPE_FORMS:
        bodies.append(f'"scopes": {sc}')
    base = '"scopes": ["tokens"]'
    for ex in EXPIRY_FORMS:
        bodies.append(f'{base}, "expires": {ex}')
    for nets in NET_FORMS:
        bodies.append(f'{base}, "allowed_networks": {nets}')
    bodies += ['"full_access": true',
               '"full_access": true, "expires": null',
               # Duplicate keys: refused, or the one the store reads.
               '"scopes": ["tokens"], "scopes": ["files"]',
               '"scopes": ["tokens"], "full_access": false, '
               '"full_access": true',
               '"scopes": ["tokens"], "expires": "+1h", "expires": null']
    for b in bodies:
        name = uniq("child")
        r = tcall(env, caller, "POST", "api/tokens",
                  raw=f'{{"name": "{name}", {b}}}')
        created += check_result(env, caller, r, name)
    # Positive control: what the caller holds it can hand out.
    name = uniq("control")
    r = tcall(env, caller, "POST", "api/tokens",
              raw=json.dumps({"name": name, "scopes": ["tokens"]}))
    assert r.status_code == 201, r.text
    child = show(env, r.json()["id"])
    assert within(child, caller) is None
    # Limits are inherited when none are given.
    assert child["expires_at"] == caller["expires_at"]
    assert child["allowed_networks"] == caller["allowed_networks"]
    assert created >= 1


# -- PATCH --------------------------------------------------------------------

@pytest.mark.parametrize("spec", CALLERS, ids=CALLER_IDS)
def test_612_patch_within_caller(env, spec):
    caller = make_caller(env, spec)
    patches = [f'"scopes": {sc}' for sc in SCOPE_FORMS]
    patches += [f'"expires": {ex}' for ex in EXPIRY_FORMS]
    patches += [f'"allowed_networks": {n}' for n in NET_FORMS]
    patches += ['"description": "d", "allowed_networks": []',
                '"description": null, "expires": null']
    patches += ['"full_access": true', '"full_access": true, "scopes": []',
                '"full_access": false, "scopes": ["files"]',
                '"name": "renamed-%s", "scopes": ["files"]',
                '"scopes": ["tokens"], "scopes": ["files"]']
    for p in patches:
        # A fresh child within the caller for each change.
        r = tcall(env, caller, "POST", "api/tokens",
                  raw=json.dumps({"name": uniq("pchild"),
                                  "scopes": ["tokens"]}))
        assert r.status_code == 201, r.text
        before = show(env, r.json()["id"])
        body = "{" + (p % before["id"] if "%s" in p else p) + "}"
        r = tcall(env, caller, "PATCH", f"api/tokens/{before['id']}",
                  raw=body)
        after = show(env, before["id"])
        if r.status_code == 200:
            why = within(after, caller)
            assert why is None, (f"patched beyond the caller: {why}", body)
        else:
            assert_refused_cleanly(r)
            # One transaction: a refused PATCH changes no field at all.
            assert after == before, body


@pytest.mark.parametrize("spec", CALLERS, ids=CALLER_IDS)
def test_613_caller_cannot_widen_itself(env, spec):
    caller = make_caller(env, spec)
    orig = before = show(env, caller["id"])
    widen = ['"expires": null', '"expires": "never"', '"expires": "+400d"',
             '"full_access": true', '"scopes": ["files"]',
             '"scopes": ["dns:x\\temail", "tokens"]',
             '"scopes": "tokens files"', '"allowed_networks": []',
             '"allowed_networks": null', '"allowed_networks": "0.0.0.0/1"',
             '"allowed_networks": ["127.0.0.0/8", "10.0.0.0/8"]']
    for p in widen:
        r = tcall(env, caller, "PATCH", f"api/tokens/{caller['id']}",
                  raw="{" + p + "}")
        after = show(env, caller["id"])
        if r.status_code == 200:
            # Accepted: still within what the caller held at the start.
            assert within(after, orig) is None, p
        else:
            assert_refused_cleanly(r)
            # Nothing changed but the last use of the calling token itself
            # (ApiTokenTrackUsage is On by default).
            assert without_last_use(after) == without_last_use(before), p
        before = after
    if orig["allowed_networks"]:
        assert show(env, caller["id"])["allowed_networks"] == orig["allowed_networks"]


# -- operations on more powerful tokens of the same account ------------------

def targets_beyond(env, spec):
    """Tokens of alice that reach beyond a caller made from spec."""
    out = [env.store.create(owner="alice", name=uniq("t-full"), full=True),
           env.store.create(owner="alice", name=uniq("t-files"),
                            scopes=["tokens", "files"])]
    same = dict(scopes=spec.get("scopes", ()), full=spec.get("full", False))
    if spec.get("expires"):
        out.append(env.store.create(owner="alice", name=uniq("t-noexp"),
                                    allow_ip=spec.get("allow_ip", ()),
                                    **same))
    if spec.get("allow_ip"):
        out.append(env.store.create(owner="alice", name=uniq("t-nonets"),
                                    expires=spec.get("expires"), **same))
    return out


def still_works(env, token):
    r = subprocess.run([str(TOOL), "--db", env.store.url, "verify", token],
                       capture_output=True, text=True, timeout=60)
    return r.returncode == 0


@pytest.mark.parametrize("spec", CALLERS, ids=CALLER_IDS)
def test_614_no_action_on_stronger_tokens(env, spec):
    caller = make_caller(env, spec)
    cdoc = show(env, caller["id"])
    targets = [t for t in targets_beyond(env, spec)
               if within(show(env, t["id"]), cdoc)]
    assert targets, "no target beyond the caller was made"
    for t in targets:
        tid = t["id"]
        before = show(env, tid)
        for method, path, body in (
                ("POST", f"api/tokens/{tid}/rotate", "{}"),
                ("POST", f"api/tokens/{tid}/rotate", '{"grace": "1h"}'),
                ("POST", f"api/tokens/{tid}/revoke", "{}"),
                ("PATCH", f"api/tokens/{tid}", '{"name": "stolen"}'),
                ("PATCH", f"api/tokens/{tid}", '{"expires": "+1h"}'),
                ("PATCH", f"api/tokens/{tid}", '{"scopes": ["tokens"]}'),
                ("DELETE", f"api/tokens/{tid}", "{}")):
            r = tcall(env, caller, method, path, raw=body)
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["error"] == "insufficient_scope"
            assert '"token"' not in r.text
            assert show(env, tid) == before, (method, path)
        assert still_works(env, t["token"])
    # Positive control: a token within the caller can be rotated by it, and
    # the new secret works.
    mine = tcall(env, caller, "POST", "api/tokens",
                 raw=json.dumps({"name": uniq("own"), "scopes": ["tokens"]}))
    assert mine.status_code == 201, mine.text
    r = tcall(env, caller, "POST", f"api/tokens/{mine.json()['id']}/rotate")
    assert r.status_code == 200, r.text
    assert still_works(env, r.json()["token"])


def test_615_password_caller_acts_as_account(env):
    # Signed in with a password, the account may rotate its full token.
    t = env.store.create(owner="alice", name=uniq("acct-full"), full=True)
    r = env.call("alice", "POST", f"api/tokens/{t['id']}/rotate")
    assert r.status_code == 200, r.text
    assert still_works(env, r.json()["token"])
    r = env.call("alice", "POST", "api/tokens",
                 {"name": uniq("acct-new"), "full_access": True})
    assert r.status_code == 201, r.text
    assert r.json()["expires_at"] is None
    assert r.json()["allowed_networks"] == []


# -- one rule each ------------------------------------------------------------

def test_616_patch_full_access_with_scopes_refused(env):
    t = env.create(name=uniq("fa"), scopes=["dns"])
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"full_access": True, "scopes": ["dns"]})
    assert r.status_code == 400, r.text
    assert "not both" in r.json()["message"]
    assert show(env, t["id"])["full_access"] is False
    # As create does.
    r = env.call("alice", "POST", "api/tokens",
                 {"name": uniq("fa2"), "full_access": True,
                  "scopes": ["dns"]})
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("grace", ['"367d"', '"100y"', '"36500d"',
                                   '31708801', '1e9', '"53w"'])
def test_617_grace_capped_in_both_forms(env, grace):
    t = env.create(name=uniq("g"), scopes=["dns"])
    r = env.call("alice", "POST", f"api/tokens/{t['id']}/rotate",
                 raw='{"grace": %s}' % grace)
    assert r.status_code == 400, r.text
    assert show(env, t["id"])["previous_secret_until"] is None
    for ok in ('"366d"', str(366 * 86400)):
        r = env.call("alice", "POST", f"api/tokens/{t['id']}/rotate",
                     raw='{"grace": %s, "force": true}' % ok)
        assert r.status_code == 200, r.text


def test_618_tool_grace_capped(env):
    t = env.store.create(owner="alice", name=uniq("tg"), scopes=["dns"])
    r = tool(env, "rotate", t["id"], "--grace", "400d")
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "366 days" in r.stderr
    assert show(env, t["id"])["previous_secret_until"] is None


# -- description and networks (editable, one transaction) ----------------------

def test_619_patch_description_and_networks(env):
    t = env.create(name=uniq("dn"), scopes=["dns"], description="old")
    tid = t["id"]
    r = env.call("alice", "PATCH", f"api/tokens/{tid}",
                 {"description": "new text", "allowed_networks":
                  ["127.0.0.1", "10.0.0.0/8"]})
    assert r.status_code == 200, r.text
    doc = show(env, tid)
    assert doc["description"] == "new text"
    assert doc["allowed_networks"] == ["127.0.0.1", "10.0.0.0/8"]
    # Host bits set: refused with the network meant, nothing changed.
    r = env.call("alice", "PATCH", f"api/tokens/{tid}",
                 {"name": uniq("dn2"), "allowed_networks": ["10.1.2.3/8"]})
    assert r.status_code == 400, r.text
    assert "host bits" in r.json()["message"]
    assert "10.0.0.0/8" in r.json()["message"]
    assert show(env, tid) == doc
    # Cleared by null or [].
    r = env.call("alice", "PATCH", f"api/tokens/{tid}",
                 {"description": None, "allowed_networks": []})
    assert r.status_code == 200, r.text
    doc = show(env, tid)
    assert doc["description"] == "" and doc["allowed_networks"] == []
    # Create refuses host bits as well.
    r = env.call("alice", "POST", "api/tokens",
                 {"name": uniq("hb"), "scopes": ["dns"],
                  "allowed_networks": "2001:db8::1/32"})
    assert r.status_code == 400 and "host bits" in r.json()["message"]
    ev = env.call("alice", "GET", f"api/audit?token={tid}").json()["events"]
    assert [e["action"] for e in ev][-4:] == ["describe", "networks",
                                              "describe", "networks"]
