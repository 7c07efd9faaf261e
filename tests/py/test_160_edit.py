"""apitoken edit: name, description and allowed networks in one
transaction; networks with host bits set are refused with the network
that was probably meant."""

import json

import pytest

from httpd_server import sqlite_store


@pytest.fixture
def st():
    s = sqlite_store()
    yield s
    s.close()


def test_160_edit_fields(st):
    t = st.create(scopes=["dns"])
    r = st.tool("edit", t["id"], "--name", "renamed", "--description",
                "deploy hook", "--allow-ip", "127.0.0.1",
                "--allow-ip", "10.0.0.0/8,::1")
    doc = json.loads(r.stdout)
    assert doc["name"] == "renamed"
    assert doc["description"] == "deploy hook"
    assert doc["allowed_networks"] == ["127.0.0.1", "10.0.0.0/8", "::1"]
    doc = json.loads(st.tool("edit", t["id"], "--any-address").stdout)
    assert doc["allowed_networks"] == []
    doc = json.loads(st.tool("edit", t["id"], "--description", "").stdout)
    assert doc["description"] == ""
    acts = [e["action"] for e in json.loads(st.tool("log", t["id"]).stdout)]
    assert acts[-5:] == ["rename", "describe", "networks", "networks",
                         "describe"]


@pytest.mark.parametrize("net,meant", [("10.1.2.3/8", "10.0.0.0/8"),
                                       ("192.168.1.1/24", "192.168.1.0/24"),
                                       ("2001:db8::1/32", "2001:db8::/32")])
def test_161_host_bits_refused(st, net, meant):
    t = st.create(scopes=["dns"])
    before = st.show(t["id"])
    for args in (("edit", t["id"], "--name", "x", "--allow-ip", net),
                 ("create", "--owner", "alice", "--name", "hb",
                  "--scope", "dns", "--allow-ip", net)):
        r = st.tool(*args, check=False)
        assert r.returncode == 2, r.stderr
        assert "host bits" in r.stderr and meant in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1
    assert st.show(t["id"]) == before
    r = st.tool("list", "--owner", "alice")
    assert "hb" not in [x["name"] for x in json.loads(r.stdout)]


def test_162_edit_usage_errors(st):
    t = st.create(scopes=["dns"])
    for args, msg in ((("edit", t["id"]), "nothing to change"),
                      (("edit", t["id"], "--allow-ip", "127.0.0.1",
                        "--any-address"), "not both"),
                      (("edit", t["id"], "--allow-ip", "nonsense"),
                       "not an IPv4 or IPv6 address"),
                      (("edit", "short", "--name", "x"), "invalid token id")):
        r = st.tool(*args, check=False)
        assert r.returncode == 2, (args, r.stderr)
        assert msg in r.stderr, r.stderr
    r = st.tool("edit", "AAAAAAAAAAAA", "--name", "x", check=False)
    assert r.returncode == 1


@pytest.mark.parametrize("owner", ["with space", " lead", "trail ",
                                   "user:name"])
def test_163_owner_no_credential_can_carry(st, owner):
    # One rule for the tool and the API: an account that neither Basic nor
    # the cPanel form can present is refused, not stored.
    r = st.tool("create", "--owner", owner, "--name", "x", "--scope", "dns",
                check=False)
    assert r.returncode == 2, r.stderr
    assert "owner" in r.stderr and ("space" in r.stderr or "':'" in
                                    r.stderr), r.stderr
    assert json.loads(st.tool("list").stdout) == []


def test_164_old_rows_stay_writable(st):
    # Rows written before the space and host-bit rules can still be
    # revoked and rotated (the store checks syntax, the input checks
    # policy).
    import sqlite3
    t = st.create(owner="old-owner", scopes=["dns"], allow_ip=["10.0.0.0/8"])
    con = sqlite3.connect(st.path)
    cols = [r[1] for r in con.execute("PRAGMA table_info(apitoken_tokens)")]
    assert "owner" in cols and "allowed_nets" in cols, cols
    con.execute("UPDATE apitoken_tokens SET owner = 'old owner', "
                "allowed_nets = '10.1.2.3/8' WHERE id = ?", (t["id"],))
    con.commit()
    con.close()
    assert st.show(t["id"])["owner"] == "old owner"
    json.loads(st.tool("rotate", t["id"]).stdout)
    doc = json.loads(st.tool("revoke", t["id"]).stdout)
    assert doc["status"] == "revoked"
