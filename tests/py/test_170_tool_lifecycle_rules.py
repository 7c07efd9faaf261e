"""The tool's lifecycle conventions: --grace 0, revoke --reason, rotating
during a grace period, list --status expiring, prune --dry-run, changes
that change nothing, and verify without --from on an address-bound token.
Each runs on SQLite, PostgreSQL and MariaDB."""

import json

import pytest

from conftest import TOKEN_RE
from httpd_server import open_store


@pytest.fixture(params=["sqlite3", "pgsql", "mysql"])
def store(request):
    st = open_store(request, request.param)
    yield st
    st.close()


def tool(st, *args, check=True):
    return st.tool(*args, check=check)


def log_actions(st, tid):
    return [e["action"] for e in json.loads(tool(st, "log", tid).stdout)]


def test_170_grace_zero_is_no_grace(store):
    t = store.create(scopes=["dns"])
    doc = json.loads(tool(store, "rotate", t["id"], "--grace", "0").stdout)
    store.secrets.append(doc["token"])
    assert doc["previous_secret_until"] is None
    r = tool(store, "verify", t["token"], check=False)
    assert r.returncode == 1 and "wrong_secret" in r.stderr


def test_171_revoke_one_with_reason(store):
    t = store.create(scopes=["dns"])
    doc = json.loads(tool(store, "revoke", t["id"], "--reason",
                          "found in a public paste").stdout)
    assert doc["status"] == "revoked"
    ev = json.loads(tool(store, "log", t["id"]).stdout)[-1]
    assert ev["action"] == "revoke"
    assert "found in a public paste" in ev["detail"]
    r = tool(store, "revoke", t["id"], "--reason", "bad\x01", check=False)
    assert r.returncode == 2 and "\\x01" in r.stderr


def test_172_rotate_during_grace_needs_force(store):
    t = store.create(scopes=["dns"])
    r1 = store.rotate(t["id"], "1h")
    before = store.show(t["id"])
    r = tool(store, "rotate", t["id"], check=False)
    assert r.returncode == 1
    assert "grace" in r.stderr and "--force" in r.stderr
    assert not TOKEN_RE.search(r.stdout)
    assert store.show(t["id"]) == before
    assert log_actions(store, t["id"]).count("rotate") == 1
    r = tool(store, "rotate", t["id"], "--grace", "10m", "--force")
    doc = json.loads(r.stdout)
    store.secrets.append(doc["token"])
    assert "stopped working now" in r.stderr
    # The first secret is gone, the second now has the grace.
    assert tool(store, "verify", t["token"], check=False).returncode == 1
    assert tool(store, "verify", r1["token"], check=False).returncode == 0
    assert "ended at once" in json.loads(
        tool(store, "log", t["id"]).stdout)[-1]["detail"]


def test_173_list_expiring(store):
    soon = store.create(owner="exp", scopes=["dns"], expires="+2d")
    later = store.create(owner="exp", scopes=["dns"], expires="+20d")
    store.create(owner="exp", scopes=["dns"])          # never
    gone = store.create(owner="exp", scopes=["dns"], expires="+1d")
    store.revoke(gone["id"])

    def ids(*args):
        r = tool(store, "list", "--owner", "exp", "--status", "expiring",
                 *args)
        return {d["id"] for d in json.loads(r.stdout)}

    assert ids() == {soon["id"]}
    assert ids("--within", "30d") == {soon["id"], later["id"]}
    assert ids("--within", "1h") == set()
    for bad in (("--within", "3"), ("--within", "0s")):
        r = tool(store, "list", "--status", "expiring", *bad, check=False)
        assert r.returncode == 2, r.stderr
    r = tool(store, "list", "--within", "3d", check=False)
    assert r.returncode == 2 and "--status expiring" in r.stderr


def test_174_prune_dry_run(store):
    t = store.create(owner="pr", scopes=["dns"])
    store.revoke(t["id"])
    keep = store.create(owner="pr", scopes=["dns"])
    before = tool(store, "log").stdout
    doc = json.loads(tool(store, "prune", "--dry-run").stdout)
    assert t["id"] in doc["ids"] and keep["id"] not in doc["ids"]
    assert doc["would_delete"] == len(doc["ids"])
    assert store.show(t["id"])["status"] == "revoked"
    assert tool(store, "log").stdout == before
    text = store.tool("prune", "--dry-run", json_out=False).stdout
    assert text.startswith("Would prune")
    doc = json.loads(tool(store, "prune").stdout)
    assert t["id"] in doc["ids"]


@pytest.mark.parametrize("change", [
    ("rename", "{name}"), ("scope", "--add", "dns"),
    ("scope", "--full-access", "--remove", "dns", "--add", "dns"),
    ("expire", "never"), ("edit", "--name", "{name}"),
    ("edit", "--any-address"), ("edit", "--description", "")])
def test_175_change_to_the_same_is_no_change(store, change):
    t = store.create(scopes=["dns"])
    name = store.show(t["id"])["name"]
    args = [a.format(name=name) for a in change]
    before = store.show(t["id"])
    n = len(log_actions(store, t["id"]))
    r = tool(store, args[0], t["id"], *args[1:], check=False)
    if "--full-access" in args:
        # Not a no-op: full access is new.  The control case.
        assert r.returncode == 0, r.stderr
        assert len(log_actions(store, t["id"])) == n + 1
        return
    assert r.returncode == 0, r.stderr
    assert "nothing changed" in r.stderr
    assert store.show(t["id"]) == before
    assert len(log_actions(store, t["id"])) == n


def test_176_verify_says_address_matters(store):
    t = store.create(scopes=["dns"], allow_ip=["192.0.2.0/24"])
    r = tool(store, "verify", t["token"])
    assert "depends on the client address" in r.stderr
    assert "192.0.2.0/24" in r.stderr
    doc = json.loads(r.stdout)
    assert doc["depends_on_address"] is True
    r = tool(store, "verify", t["token"], "--from", "192.0.2.7")
    assert "depends" not in r.stderr
    assert json.loads(r.stdout)["depends_on_address"] is False
    r = tool(store, "verify", t["token"], "--from", "198.51.100.1",
             check=False)
    assert r.returncode == 1 and "address" in r.stderr
    plain = store.create(scopes=["dns"])
    r = tool(store, "verify", plain["token"])
    assert "depends" not in r.stderr


def test_177_log_filters(store):
    a = store.create(owner="flt", scopes=["dns"])
    b = store.create(owner="flt2", scopes=["dns"])
    store.revoke(a["id"])
    store.revoke(b["id"])

    def events(*args):
        return json.loads(tool(store, "log", *args).stdout)

    revs = events("--action", "revoke")
    assert {e["token_id"] for e in revs} >= {a["id"], b["id"]}
    assert all(e["action"] == "revoke" for e in revs)
    mine = events("--owner", "flt", "--action", "revoke")
    assert [e["token_id"] for e in mine] == [a["id"]]
    assert events("--since", "2099-01-01") == []
    recent = events("--since", "1h", "--owner", "flt")
    assert [e["action"] for e in recent] == ["create", "revoke"]
    assert len(events("--since", "2000-01-01")) == len(events())
    for bad, msg in ((("--action", "bogus"), "unknown --action"),
                     (("--since", "yesterday"), "--since"),
                     (("--since", "never"), "needs a date")):
        r = tool(store, "log", *bad, check=False)
        assert r.returncode == 2 and msg in r.stderr, r.stderr
