"""apitoken audit (unused scopes, unused tokens, expiring tokens, full
access; exit 1 when anything is found), revoke-leaked and revoke --owner
--all, on SQLite, PostgreSQL and MariaDB."""

import time

from conftest import run, runjson

DAY = 86400


def tool(backend, *args, rc=0, stdin=None):
    code, doc, err = runjson(list(args), db=backend.url, input=stdin)
    assert code == rc, (args, code, err)
    return doc


def create(backend, owner, name, *opts):
    return tool(backend, "create", "--owner", owner, "--name", name, *opts)


def setup_fleet(backend):
    """Tokens with a usage history written straight into the tables."""
    now = int(time.time())
    tool(backend, "init")
    a = create(backend, "alice", "deploy", "--scope", "dns",
               "--scope", "email:write")
    b = create(backend, "bob", "backup", "--scope", "files")
    c = create(backend, "carol", "admin", "--full-access")
    d = create(backend, "dave", "ci", "--scope", "dns", "--expires", "+3d")
    e = create(backend, "erin", "gone", "--scope", "dns")
    f = create(backend, "frank", "fresh", "--scope", "dns")
    tool(backend, "revoke", e["id"])
    sql = backend.sql
    for t in (a, b, e):
        sql(f"UPDATE apitoken_tokens SET created_at = {now - 100 * DAY} "
            f"WHERE id = '{t['id']}'")
    sql(f"UPDATE apitoken_tokens SET last_used_at = {now - DAY} "
        f"WHERE id = '{a['id']}'")
    sql(f"UPDATE apitoken_tokens SET last_used_at = {now} "
        f"WHERE id IN ('{c['id']}', '{d['id']}')")
    for tid, scope, when in ((a["id"], "dns", now - DAY),
                             (a["id"], "email:write", now - 40 * DAY),
                             (c["id"], "dns", now - DAY),
                             (c["id"], "email:read", now - 200 * DAY)):
        sql("INSERT INTO apitoken_scope_usage (token_id, scope, "
            f"last_used_at) VALUES ('{tid}', '{scope}', {when})")
    return a, b, c, d, e, f


def test_420_audit_defaults_and_checks(backend):
    a, b, c, d, e, f = setup_fleet(backend)
    doc = tool(backend, "audit", rc=1)
    assert doc["checks"] == {"unused_scopes_days": 30, "unused_days": 90,
                             "expiring_days": 14, "full_access": True}
    got = {(x["id"], x["kind"]) for x in doc["findings"]}
    assert got == {(a["id"], "unused_scopes"), (b["id"], "unused_scopes"),
                   (b["id"], "unused"), (c["id"], "full_access"),
                   (d["id"], "expiring")}
    by = {(x["id"], x["kind"]): x for x in doc["findings"]}
    fa = by[(a["id"], "unused_scopes")]
    assert fa["unused_scopes"] == ["email:write"]
    assert fa["suggested_scopes"] == ["dns"]
    assert by[(b["id"], "unused_scopes")]["suggested_scopes"] == []
    assert by[(c["id"], "full_access")]["suggested_scopes"] == \
        ["dns", "email:read"]

    # One check at a time, and per owner.
    doc = tool(backend, "audit", "--expiring", "14", rc=1)
    assert [(x["id"], x["kind"]) for x in doc["findings"]] == \
        [(d["id"], "expiring")]
    doc = tool(backend, "audit", "--expiring", "2")
    assert doc["findings"] == []
    doc = tool(backend, "audit", "--unused-scopes", "50", rc=1)
    assert [x["unused_scopes"] for x in doc["findings"]] == [["files"]]
    doc = tool(backend, "audit", "--full-access", "--owner", "carol", rc=1)
    assert [x["kind"] for x in doc["findings"]] == ["full_access"]

    # Clean: exit 0, text says so.
    rc, out, err = run(["audit", "--owner", "frank"], db=backend.url)
    assert rc == 0 and out.strip() == "no findings", (out, err)
    # Text: one line per finding, naming the narrower set.
    rc, out, err = run(["audit", "--unused-scopes", "30", "--owner",
                        "alice"], db=backend.url)
    assert rc == 1
    assert out.splitlines() == [
        f"unused_scopes {a['id']}  alice/deploy: scopes not used in 30 "
        "days: email:write; narrower set: dns"]

    for bad in (["--unused", "abc"], ["--expiring", "-1"],
                ["--unused-scopes", "99999"], ["--unused", ""]):
        rc, out, err = run(["audit"] + bad, db=backend.url)
        assert rc == 2 and err.count("\n") == 1, (bad, err)


def test_420_revoke_leaked(backend):
    tool(backend, "init")
    t = create(backend, "alice", "ci-deploy", "--scope", "dns")
    rc, out, err = run(["revoke-leaked", "-", "--reason",
                        "found on a paste site"], db=backend.url,
                       input=(t["token"] + "\n").encode())
    assert rc == 0, err
    assert out == (f"revoked token {t['id']} of owner alice, "
                   "name ci-deploy\n")
    assert t["token"] not in out + err
    shown = tool(backend, "show", t["id"])
    assert shown["status"] == "revoked"
    revoked_at = shown["revoked_at"]
    # Again: still genuine, nothing changes, exit 0.
    doc = tool(backend, "revoke-leaked", t["token"])
    assert doc["already_revoked"] is True and doc["revoked"] is True
    assert doc["token"]["owner"] == "alice"
    assert doc["token"]["name"] == "ci-deploy"
    assert "token" not in doc["token"]
    assert tool(backend, "show", t["id"])["revoked_at"] == revoked_at
    evs = [ev for ev in tool(backend, "log", t["id"])
           if ev["action"] == "revoke"]
    assert len(evs) == 2
    assert "leaked: found on a paste site" in evs[0]["detail"]


def test_420_revoke_leaked_genuine_only(backend):
    tool(backend, "init")
    t = create(backend, "alice", "old-secret", "--scope", "dns")
    old = t["token"]
    tool(backend, "rotate", t["id"])          # no grace: old is dead
    u = create(backend, "bob", "rotated", "--scope", "dns")
    u_old = u["token"]
    tool(backend, "rotate", u["id"], "--grace", "1h")
    # Grace over: the previous secret no longer works, but is genuine.
    backend.sql("UPDATE apitoken_tokens SET prev_until = "
                f"{int(time.time()) - 10} WHERE id = '{u['id']}'")
    other_id = "A" * 12
    for fake in (old, old[:-1] + ("a" if old[-1] != "a" else "b"),
                 "apt_" + other_id + old[16:], "ghp_" + "x" * 36, "x"):
        rc, out, err = run(["revoke-leaked", fake], db=backend.url)
        assert rc == 1, (fake, err)
        assert out == ""
        assert "alice" not in err and t["id"] not in err, err
        assert err.strip() == ("apitoken: revoke-leaked: not a genuine "
                               "token of this database")
    assert tool(backend, "show", t["id"])["status"] == "active"
    doc = tool(backend, "revoke-leaked", u_old)
    assert doc["token"]["id"] == u["id"] and not doc["already_revoked"]
    assert tool(backend, "show", u["id"])["status"] == "revoked"


def test_420_revoke_owner_all(backend):
    tool(backend, "init")
    mine = [create(backend, "alice", f"t{i}", "--scope", "dns")
            for i in range(3)]
    tool(backend, "revoke", mine[0]["id"])
    tool(backend, "expire", mine[1]["id"], "2020-01-01")
    bob = create(backend, "bob", "t", "--scope", "dns")
    before = len(tool(backend, "log"))
    doc = tool(backend, "revoke", "--owner", "alice", "--all", "--reason",
               "account compromised")
    assert sorted(x["id"] for x in doc) == sorted([mine[1]["id"],
                                                   mine[2]["id"]])
    assert all(x["status"] == "revoked" for x in doc)
    assert tool(backend, "show", bob["id"])["status"] == "active"
    evs = tool(backend, "log")[before:]
    assert sorted(ev["token_id"] for ev in evs) == \
        sorted([mine[1]["id"], mine[2]["id"]])
    assert all(ev["action"] == "revoke"
               and "account compromised" in ev["detail"] for ev in evs)
    # Nothing left to revoke: exit 0, empty list, no events.
    assert tool(backend, "revoke", "--owner", "alice", "--all") == []
    assert len(tool(backend, "log")) == before + 2
    rc, out, err = run(["revoke", "--owner", "nobody", "--all"],
                       db=backend.url)
    assert rc == 0 and out.startswith("revoked 0 tokens of nobody")
    for bad in (["revoke", "--all"], ["revoke", "--owner", "alice"],
                ["revoke", mine[2]["id"], "--owner", "alice", "--all"],
                ["revoke"], ["revoke", mine[2]["id"], "--reason", "x\n"]):
        rc, out, err = run(bad, db=backend.url)
        assert rc == 2 and err.count("\n") == 1, (bad, err)
