"""Whose audit events: every event carries its token's owner (schema 3),
`apitoken log --owner` and the management API's `GET api/audit` select by
it in SQL, so an account whose name starts with another's followed by
", name " sees only its own events; `apitoken init` upgrades a schema 2
database and fills the owner of the existing events; on SQLite, PostgreSQL
and MariaDB.

Owners with a space are refused by the tool and the API now, but tokens an
earlier version wrote for them stay in the database and writable: such
"legacy" owners are made here by renaming a placeholder owner in SQL."""

import json

import requests

from conftest import run, runjson
from manage_env import CSRF, USERS, ManageEnv

PREFIXED = "alice, name x"
PLACEHOLDER = "alicenamexplaceholder"


def tool(backend, *args, rc=0, stdin=None):
    code, doc, err = runjson(list(args), db=backend.url, input=stdin)
    assert code == rc, (args, code, err)
    return doc


def create(backend, owner, name, *opts):
    opts = opts or ("--scope", "dns")
    return tool(backend, "create", "--owner", owner, "--name", name, *opts)


def events(backend, *args):
    return tool(backend, "log", *args)


def make_legacy(backend, audit_owner=True):
    """Give PLACEHOLDER's tokens and events the owner PREFIXED, as an
    earlier version would have written them."""
    backend.sql(f"UPDATE apitoken_tokens SET owner = '{PREFIXED}' "
                f"WHERE owner = '{PLACEHOLDER}'")
    backend.sql(f"UPDATE apitoken_audit SET detail = REPLACE(detail, "
                f"'owner {PLACEHOLDER},', 'owner {PREFIXED},')")
    if audit_owner:
        backend.sql(f"UPDATE apitoken_audit SET owner = '{PREFIXED}' "
                    f"WHERE owner = '{PLACEHOLDER}'")


def by_token(evs):
    """{token id: {owners}} of the events about one token."""
    out = {}
    for e in evs:
        if e["token_id"]:
            out.setdefault(e["token_id"], set()).add(e["owner"])
    return out


def test_430_every_event_has_its_owner(backend):
    tool(backend, "init")
    a = create(backend, "alice", "one")
    p = create(backend, PLACEHOLDER, "one")
    # Both create details read "owner alice, name x, name foo, ...".
    a2 = create(backend, "alice", "x, name foo")
    p2 = create(backend, PLACEHOLDER, "foo")
    b = create(backend, "bob", "one")
    make_legacy(backend)
    tool(backend, "rename", a["id"], "renamed")
    tool(backend, "scope", a["id"], "--add", "files")
    tool(backend, "expire", a["id"], "+5d")
    tool(backend, "rotate", a["id"])
    tool(backend, "revoke", b["id"])
    tool(backend, "revoke", "--owner", "alice", "--all")
    tool(backend, "revoke", p["id"])
    tool(backend, "revoke-leaked", "-", stdin=(a2["token"] + "\n").encode())
    tool(backend, "delete", a2["id"])
    tool(backend, "delete", p2["id"])
    tool(backend, "prune")
    evs = events(backend)
    owners = by_token(evs)
    assert owners == {a["id"]: {"alice"}, a2["id"]: {"alice"},
                      p["id"]: {PREFIXED}, p2["id"]: {PREFIXED},
                      b["id"]: {"bob"}}, owners
    # Events about no one token belong to no owner.
    assert {e["owner"] for e in evs if not e["token_id"]} == {None}
    assert {e["action"] for e in evs if not e["token_id"]} == {"init",
                                                               "prune"}
    # --owner selects exactly, whichever name is the longer.
    mine = events(backend, "--owner", "alice")
    assert set(by_token(mine)) == {a["id"], a2["id"]}
    assert all(e["owner"] == "alice" for e in mine)
    assert events(backend, "--owner", "alicenamex") == []
    # The other owner's deleted token is not found, as a live one is not.
    for tid in (p2["id"], p["id"], b["id"]):
        rc, out, err = run(["log", "--owner", "alice", tid], db=backend.url)
        assert rc == 1 and "no token with id" in err, (tid, rc, err)
    assert len(events(backend, "--owner", "alice", a2["id"])) >= 3
    rc, out, err = run(["log", "--owner", "a:b"], db=backend.url)
    assert rc == 2 and "invalid --owner" in err
    # The text form is unchanged: no owner column.
    rc, out, err = run(["log", a["id"]], db=backend.url)
    assert rc == 0 and out.splitlines()[0].split()[1] == "create"


def schema_2(backend):
    """Turn the audit table into what schema 2 had: no owner column, an
    actor of at most 128 characters."""
    if backend.kind == "mysql":
        backend.sql("ALTER TABLE apitoken_audit DROP KEY "
                    "apitoken_audit_owner, DROP COLUMN owner, "
                    "MODIFY actor VARCHAR(128) NOT NULL")
    else:
        backend.sql("DROP INDEX apitoken_audit_owner")
        backend.sql("ALTER TABLE apitoken_audit DROP COLUMN owner")
    if backend.kind == "pgsql":
        backend.sql("ALTER TABLE apitoken_audit ALTER COLUMN actor TYPE "
                    "VARCHAR(128)")
    # Schema 2 had no token resources either (schema 4).
    backend.sql("ALTER TABLE apitoken_tokens DROP COLUMN resources")
    backend.sql("UPDATE apitoken_meta SET schema_version = 2")


def test_430_upgrade_from_schema_2(backend):
    tool(backend, "init")
    keep = create(backend, "alice", "keep")
    live = create(backend, PLACEHOLDER, "live")    # ambiguous, but live
    gone = create(backend, "alice", "gone")
    bobs = create(backend, "bob", "b1")
    amb1 = create(backend, PLACEHOLDER, "y")       # deleted, ambiguous
    amb2 = create(backend, "alice", "x, name z")   # deleted, ambiguous
    make_legacy(backend)
    tool(backend, "rename", keep["id"], "kept")
    tool(backend, "revoke", live["id"])
    for t in (gone, bobs, amb1, amb2):
        tool(backend, "delete", t["id"])
    before = events(backend)
    schema_2(backend)
    rc, out, err = run(["list"], db=backend.url)
    assert rc == 3 and "run apitoken init to upgrade" in err, err
    up = tool(backend, "init")
    assert up["schema_version"] == 4 and up["upgraded"] is True
    after = events(backend)
    # Nothing lost or reordered; the upgrade's own event is last.
    assert ([(e["seq"], e["action"], e["token_id"], e["detail"])
             for e in after[:-1]]
            == [(e["seq"], e["action"], e["token_id"], e["detail"])
                for e in before])
    assert after[-1]["action"] == "init" and after[-1]["owner"] is None
    owners = by_token(after)
    assert owners == {keep["id"]: {"alice"}, live["id"]: {PREFIXED},
                      gone["id"]: {"alice"}, bobs["id"]: {"bob"},
                      amb1["id"]: {None}, amb2["id"]: {None}}, owners
    assert set(by_token(events(backend, "--owner", "alice"))) == \
        {keep["id"], gone["id"]}
    # Idempotent; new events carry their owner at once.
    again = tool(backend, "init")
    assert again["schema_version"] == 4 and again["upgraded"] is False
    # The actor column holds "web:" and a 128-byte account now.
    actor = "web:" + "\u00e9" * 64
    tool(backend, "--actor", actor, "rename", keep["id"], "long-actor")
    assert events(backend, keep["id"])[-1]["actor"] == actor
    tool(backend, "delete", live["id"])
    last = events(backend)[-1]
    assert (last["action"], last["token_id"], last["owner"]) == \
        ("delete", live["id"], PREFIXED)
    # A cut-short upgrade (the column added, the version not yet written,
    # as MariaDB's DDL commits at once) is finished by the next init.
    backend.sql("UPDATE apitoken_audit SET owner = ''")
    backend.sql("UPDATE apitoken_meta SET schema_version = 2")
    assert tool(backend, "init")["upgraded"] is True
    owners = by_token(events(backend))
    assert owners[keep["id"]] == {"alice"} and owners[gone["id"]] == {"alice"}
    assert owners[bobs["id"]] == {"bob"}
    # live is deleted now and its create event could name either account.
    assert owners[live["id"]] == {None}


def api(env, user, method, path, body=None):
    import json
    import re
    h = {} if method == "GET" else dict(CSRF, **{"Content-Type":
                                                 "application/json"})
    r = requests.request(method, env.url(path), auth=(user, USERS[user]),
                         headers=h, data=None if method == "GET"
                         else json.dumps(body or {}), timeout=30)
    m = re.search(r'"token": "([^"]+)"', r.text)
    if m:
        env.secrets.append(m.group(1))
    return r


def test_431_api_audit_prefix_owner(request):
    """Through the management API: "alice" sees only the events of her own
    tokens, not those of a legacy owner "alice, name x" whose deleted
    token's create event reads like one of hers."""
    import sqlite3
    e = ManageEnv(request)
    try:
        # The legacy owner's token "foo", deleted; alice's "x, name foo".
        legacy = e.store.create(PLACEHOLDER, name="foo", scopes=["dns"])
        with sqlite3.connect(e.store.path) as db:
            db.execute("UPDATE apitoken_tokens SET owner = ? WHERE id = ?",
                       (PREFIXED, legacy["id"]))
            db.execute("UPDATE apitoken_audit SET owner = ?, detail = "
                       "REPLACE(detail, ?, ?) WHERE token_id = ?",
                       (PREFIXED, f"owner {PLACEHOLDER},",
                        f"owner {PREFIXED},", legacy["id"]))
        e.store.tool("delete", legacy["id"])
        r = api(e, "alice", "POST", "api/tokens",
                {"name": "x, name foo", "scopes": ["dns"]})
        assert r.status_code == 201, r.text
        mine = r.json()["id"]
        r = api(e, "alice", "DELETE", f"api/tokens/{mine}")
        assert r.status_code == 200, r.text
        details = {ev["detail"] for ev in json.loads(
            e.store.tool("log").stdout) if ev["action"] == "create"}
        assert {f"owner {PREFIXED}, name foo, scopes dns, expires never",
                "owner alice, name x, name foo, scopes dns, expires never"} \
            <= details, details
        for user, path in (("alice", "api/audit"),
                           ("root", "api/audit?owner=alice")):
            r = api(e, user, "GET", path)
            assert r.status_code == 200, r.text
            doc = r.json()
            assert doc["owner"] == "alice"
            assert [(ev["action"], ev["token_id"]) for ev in doc["events"]] \
                == [("create", mine), ("delete", mine)], doc
        r = api(e, "alice", "GET", f"api/audit?token={legacy['id']}")
        assert r.status_code == 404, r.text
        e.check_logs()
    finally:
        e.close()


def test_432_actor_holds_any_owner_with_a_tag(backend):
    """One limit: an actor is an owner (up to 128 bytes) with a tag of up
    to 16 bytes before it, so "web:" and the longest owner fit."""
    tool(backend, "init")
    owner = "\u00e9" * 64
    t = create(backend, owner, "n")
    for actor in ("web:" + owner, "t" * 16 + "m" * 128):
        tool(backend, "--actor", actor, "rename", t["id"], actor[:8])
        assert events(backend, "--owner", owner)[-1]["actor"] == actor
    rc, out, err = run(["--actor", "t" * 17 + "m" * 128, "list"],
                       db=backend.url)
    assert rc == 2 and "longer than 144 bytes" in err, err
