"""apitoken: the whole token lifecycle on SQLite, PostgreSQL and MariaDB."""

import datetime
import re

import pytest

from conftest import TOKEN_RE, run, runjson, token_secret

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TOKEN_FIELDS = {"id", "owner", "name", "scopes", "full_access", "created_at",
                "expires_at", "revoked_at", "last_used_at", "last_used_addr",
                "allowed_networks", "description", "status"}


def iso(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


@pytest.fixture
def db(backend):
    rc, out, err = run(["init"], db=backend.url)
    assert rc == 0, err
    return backend


def create(db, owner, name, *extra, expect=0):
    rc, doc, err = runjson(["create", "--owner", owner, "--name", name]
                           + list(extra), db=db.url)
    assert rc == expect, err
    return doc


def verify(db, token, *extra):
    rc, out, err = run(["verify", token] + list(extra), db=db.url)
    return rc, out, err


def test_110_init_idempotent(backend):
    rc, doc, err = runjson(["init"], db=backend.url)
    assert rc == 0, err
    assert doc["created"] is True and doc["schema_version"] >= 1
    assert doc["prefix"] == "apt"
    before = backend.dump()
    rc, doc, err = runjson(["init"], db=backend.url)
    assert rc == 0, err
    assert doc["created"] is False and doc["upgraded"] is False
    rc, out, err = run(["init"], db=backend.url)
    assert rc == 0 and "Up to date" in out
    assert backend.dump() == before
    # The prefix is fixed at creation.
    rc, out, err = run(["init", "--prefix", "xyz"], db=backend.url)
    assert rc == 1 and "'apt'" in err
    rc, out, err = run(["init", "--prefix", "Bad_Prefix"], db=backend.url)
    assert rc == 2 and "'Bad_Prefix'" in err


def test_111_custom_prefix(backend):
    rc, doc, err = runjson(["init", "--prefix", "acme"], db=backend.url)
    assert rc == 0 and doc["prefix"] == "acme", err
    doc = create(backend, "alice", "p", "--scope", "dns")
    assert doc["token"].startswith("acme_")
    assert TOKEN_RE.fullmatch(doc["token"])
    rc, out, err = verify(backend, doc["token"])
    assert rc == 0, err
    # A token of another prefix is not ours.
    other = "apt_" + doc["token"][5:]
    rc, out, err = verify(backend, other)
    assert rc == 1 and "wrong_prefix" in err


def test_112_create_restricted_and_full(db):
    t0 = now().replace(microsecond=0)
    r = create(db, "alice", "deploy", "--scope", "dns:read",
               "--scope", "email,files  dns", "--description", "CI deploy")
    assert TOKEN_FIELDS <= set(r) and "token" in r
    assert r["scopes"] == ["dns", "email", "files"]
    assert r["full_access"] is False and r["status"] == "active"
    assert r["expires_at"] is None and r["revoked_at"] is None
    assert r["last_used_at"] is None and r["last_used_addr"] is None
    assert r["allowed_networks"] == [] and r["description"] == "CI deploy"
    assert ISO.match(r["created_at"])
    assert abs((iso(r["created_at"]) - t0).total_seconds()) < 60
    m = TOKEN_RE.fullmatch(r["token"])
    assert m and m.group(2) == r["id"]

    f = create(db, "alice", "admin", "--full-access", "--expires", "+30d",
               "--allow-ip", "127.0.0.1", "--allow-ip", "10.0.0.0/8,::1")
    assert f["full_access"] is True and f["scopes"] == []
    exp = iso(f["expires_at"]) - now()
    assert datetime.timedelta(days=29) < exp <= datetime.timedelta(days=30)
    assert f["allowed_networks"] == ["127.0.0.1", "10.0.0.0/8", "::1"]

    e = create(db, "bob", "dated", "--scope", "dns", "--expires",
               "2099-12-31T12:30:00+02:00")
    assert e["expires_at"] == "2099-12-31T10:30:00Z"

    # Text output of create prints the token once, on a "token:" line.
    rc, out, err = run(["create", "--owner", "carol", "--name", "t",
                        "--scope", "dns"], db=db.url)
    assert rc == 0, err
    toks = TOKEN_RE.findall(out)
    assert len(toks) == 1 and "token:" in out


def test_113_list_show_json_and_text(db):
    a = create(db, "alice", "one", "--scope", "dns")
    b = create(db, "alice", "two", "--full-access")
    c = create(db, "bob", "three", "--scope", "email:write")

    rc, docs, err = runjson(["list"], db=db.url)
    assert rc == 0, err
    assert [d["id"] for d in docs] == [a["id"], b["id"], c["id"]]
    for d in docs:
        assert TOKEN_FIELDS <= set(d) and "token" not in d
    rc, docs, err = runjson(["list", "--owner", "bob"], db=db.url)
    assert [d["name"] for d in docs] == ["three"]
    rc, docs, err = runjson(["list", "--owner", "nobody"], db=db.url)
    assert rc == 0 and docs == []

    rc, out, err = run(["list"], db=db.url)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "OWNER", "NAME", "STATUS", "SCOPES",
                                "EXPIRES", "LAST_USED", "RESOURCES"]
    assert len(lines) == 4
    assert lines[1].split()[:5] == [a["id"], "alice", "one", "active", "dns"]
    assert "(full access)" in lines[2]

    rc, doc, err = runjson(["show", b["id"]], db=db.url)
    assert rc == 0 and doc["id"] == b["id"] and doc["full_access"] is True
    assert doc["created_at"] == b["created_at"]
    rc, out, err = run(["show", c["id"]], db=db.url)
    assert rc == 0
    kv = dict(line.split(":", 1) for line in out.splitlines())
    assert kv["id"].strip() == c["id"]
    assert kv["owner"].strip() == "bob"
    assert kv["scopes"].strip() == "email:write"
    assert kv["status"].strip() == "active"
    assert kv["expires_at"].strip() == "never"

    rc, out, err = run(["list", "--status", "bogus"], db=db.url)
    assert rc == 2 and "'bogus'" in err


def test_114_rename(db):
    a = create(db, "alice", "old", "--scope", "dns")
    create(db, "alice", "taken", "--scope", "dns")
    create(db, "bob", "new", "--scope", "dns")
    rc, doc, err = runjson(["rename", a["id"], "new"], db=db.url)
    assert rc == 0, err       # same name, other owner: fine
    assert doc["name"] == "new"
    rc, doc, err = runjson(["show", a["id"]], db=db.url)
    assert doc["name"] == "new"
    rc, out, err = run(["rename", a["id"], "taken"], db=db.url)
    assert rc == 1 and "already exists" in err
    rc, doc, err = runjson(["show", a["id"]], db=db.url)
    assert doc["name"] == "new"
    # Renaming to its own name is not a conflict.
    rc, out, err = run(["rename", a["id"], "new"], db=db.url)
    assert rc == 0, err


def test_115_scope_changes(db):
    a = create(db, "alice", "s", "--scope", "dns:read,email")
    tok = a["token"]
    rc, doc, err = runjson(["scope", a["id"], "--add", "files",
                            "--remove", "email"], db=db.url)
    assert rc == 0, err
    assert doc["scopes"] == ["dns:read", "files"]
    assert verify(db, tok, "--scope", "files")[0] == 0
    assert verify(db, tok, "--scope", "email")[0] == 1
    # A broader scope absorbs the narrower one.
    rc, doc, err = runjson(["scope", a["id"], "--add", "dns"], db=db.url)
    assert doc["scopes"] == ["dns", "files"]
    rc, doc, err = runjson(["scope", a["id"], "--full-access"], db=db.url)
    assert rc == 0 and doc["full_access"] is True
    rc, out, err = verify(db, tok, "--scope", "anything:write")
    assert rc == 0, err
    rc, doc, err = runjson(["scope", a["id"], "--restricted"], db=db.url)
    assert rc == 0 and doc["full_access"] is False
    assert doc["scopes"] == ["dns", "files"]
    assert verify(db, tok, "--scope", "anything")[0] == 1
    # Errors: nothing to do, both modes, unknown scope, emptying it.
    assert run(["scope", a["id"]], db=db.url)[0] == 2
    assert run(["scope", a["id"], "--full-access", "--restricted"],
               db=db.url)[0] == 2
    rc, out, err = run(["scope", a["id"], "--remove", "email"], db=db.url)
    assert rc == 1 and "'email'" in err
    rc, out, err = run(["scope", a["id"], "--remove", "dns,files"],
                       db=db.url)
    assert rc == 2 and "at least one scope" in err
    rc, out, err = run(["scope", a["id"], "--add", "Bad Scope!"], db=db.url)
    assert rc == 2 and "'scope!'" in err.lower()
    rc, doc, err = runjson(["show", a["id"]], db=db.url)
    assert doc["scopes"] == ["dns", "files"] and doc["full_access"] is False


def test_116_expire(db):
    a = create(db, "alice", "e", "--scope", "dns")
    rc, doc, err = runjson(["expire", a["id"], "2020-01-01"], db=db.url)
    assert rc == 0, err
    # A bare date is the end of that day (UTC).
    assert doc["expires_at"] == "2020-01-01T23:59:59Z"
    assert doc["status"] == "expired"
    rc, out, err = verify(db, a["token"])
    assert rc == 1 and "expired" in err
    rc, docs, err = runjson(["list", "--status", "expired"], db=db.url)
    assert [d["id"] for d in docs] == [a["id"]]
    rc, docs, err = runjson(["list", "--status", "active"], db=db.url)
    assert docs == []
    rc, doc, err = runjson(["expire", a["id"], "+2h"], db=db.url)
    assert rc == 0 and doc["status"] == "active"
    left = iso(doc["expires_at"]) - now()
    assert datetime.timedelta(minutes=110) < left <= datetime.timedelta(hours=2)
    assert verify(db, a["token"])[0] == 0
    rc, doc, err = runjson(["expire", a["id"], "never"], db=db.url)
    assert rc == 0 and doc["expires_at"] is None


def test_117_revoke(db):
    a = create(db, "alice", "r", "--scope", "dns")
    assert verify(db, a["token"])[0] == 0
    rc, doc, err = runjson(["revoke", a["id"]], db=db.url)
    assert rc == 0 and doc["status"] == "revoked", err
    assert ISO.match(doc["revoked_at"])
    rc, out, err = verify(db, a["token"])
    assert rc == 1 and "revoked" in err
    rc, docs, err = runjson(["list", "--status", "revoked"], db=db.url)
    assert [d["id"] for d in docs] == [a["id"]]
    # Revoking again changes nothing; rotating a revoked token is refused.
    rc, doc2, err = runjson(["revoke", a["id"]], db=db.url)
    assert rc == 0 and doc2["revoked_at"] == doc["revoked_at"]
    rc, out, err = run(["rotate", a["id"]], db=db.url)
    assert rc == 1 and "revoked" in err


def test_118_rotate(db):
    a = create(db, "alice", "rot", "--scope", "dns")
    old = a["token"]
    rc, r1, err = runjson(["rotate", a["id"], "--grace", "1h"], db=db.url)
    assert rc == 0, err
    new = r1["token"]
    assert new != old and r1["id"] == a["id"]
    assert TOKEN_RE.fullmatch(new).group(2) == a["id"]
    assert r1["previous_secret_until"] is not None
    assert verify(db, old)[0] == 0          # within the grace period
    assert verify(db, new)[0] == 0
    # Rotating again during the grace would end the old secret at once:
    # refused without --force, and nothing changes.
    rc, out, err = run(["rotate", a["id"]], db=db.url)
    assert rc == 1 and "--force" in err and "grace" in err, err
    assert not TOKEN_RE.search(out)
    assert verify(db, old)[0] == 0 and verify(db, new)[0] == 0
    # With --force (and without --grace) the previous secret stops at once,
    # and the output says the earlier one ended too.
    rc, out, err = run(["rotate", a["id"], "--force"], db=db.url)
    assert rc == 0, err
    assert "stopped working now" in err
    newest = TOKEN_RE.search(out).group(0)
    rc, out2, err = verify(db, new)
    assert rc == 1 and "wrong_secret" in err
    assert verify(db, old)[0] == 1
    assert verify(db, newest)[0] == 0
    rc, out, err = run(["rotate", a["id"], "--grace", "later"], db=db.url)
    assert rc == 2 and "'later'" in err


def test_119_delete_prune_verify_log(db):
    a = create(db, "alice", "keep", "--scope", "dns")
    b = create(db, "alice", "gone", "--scope", "dns")
    c = create(db, "alice", "old-expired", "--scope", "dns")
    d = create(db, "bob", "revoked", "--scope", "dns")
    rc, doc, err = runjson(["delete", b["id"]], db=db.url)
    assert rc == 0 and doc == {"deleted": b["id"]}, err
    rc, out, err = run(["show", b["id"]], db=db.url)
    assert rc == 1 and b["id"] in err
    rc, out, err = verify(db, b["token"])
    assert rc == 1 and "unknown_id" in err
    assert run(["delete", b["id"]], db=db.url)[0] == 1

    assert run(["expire", c["id"], "2021-06-01"], db=db.url)[0] == 0
    assert run(["revoke", d["id"]], db=db.url)[0] == 0
    # Only tokens ended before 2021-01-01: none.
    rc, doc, err = runjson(["prune", "--before", "2021-01-01"], db=db.url)
    assert rc == 0 and doc["deleted"] == 0, err
    rc, doc, err = runjson(["prune", "--before", "2022-01-01"], db=db.url)
    assert rc == 0 and doc["ids"] == [c["id"]]
    rc, doc, err = runjson(["prune"], db=db.url)
    assert rc == 0 and doc["ids"] == [d["id"]]
    rc, docs, err = runjson(["list"], db=db.url)
    assert [x["id"] for x in docs] == [a["id"]]
    assert run(["prune", "--before", "someday"], db=db.url)[0] == 2

    # verify: allowed, scopes, address, user, malformed, wrong secret.
    tok = a["token"]
    rc, doc, err = runjson(["verify", tok, "--scope", "dns:write"],
                           db=db.url)
    assert rc == 0 and doc["allowed"] is True and doc["reason"] == "ok"
    assert doc["id"] == a["id"] and doc["owner"] == "alice"
    rc, doc, err = runjson(["verify", tok, "--scope", "email"], db=db.url)
    assert rc == 1 and doc["allowed"] is False
    assert doc["reason"] == "insufficient_scope"
    rc, out, err = verify(db, tok, "--user", "alice")
    assert rc == 0, err
    rc, out, err = verify(db, tok, "--user", "mallory")
    assert rc == 1 and "user_mismatch" in err
    rc, out, err = run(["verify", "-"], db=db.url, input=tok.encode() + b"\n")
    assert rc == 0, err
    bad_secret = tok[:16] + ("A" if tok[16] != "A" else "B") + tok[17:]
    rc, out, err = verify(db, bad_secret)      # checksum no longer matches
    assert rc == 1 and "bad_checksum" in err
    for junk in ("", "apt_", "x" * 500, "apt_" + "0" * 50, "Bearer " + tok):
        rc, out, err = verify(db, junk)
        assert rc == 1, junk
        assert err.count("\n") == 1
        assert token_secret(tok) not in err

    ip = create(db, "carol", "ip", "--scope", "dns", "--allow-ip",
                "192.0.2.0/24")
    assert verify(db, ip["token"], "--from", "192.0.2.7")[0] == 0
    rc, out, err = verify(db, ip["token"], "--from", "198.51.100.1")
    assert rc == 1 and "address_not_allowed" in err
    assert verify(db, ip["token"], "--from", "not-an-ip")[0] == 2

    # log: every change, by whom, for one token or all.
    rc, evs, err = runjson(["--actor", "auditor", "log", a["id"]],
                           db=db.url)
    assert rc == 0, err
    assert [e["action"] for e in evs] == ["create"]
    rc, out, err = run(["--actor", "ops", "rename", a["id"], "kept"],
                       db=db.url)
    assert rc == 0
    rc, evs, err = runjson(["log", a["id"]], db=db.url)
    assert [e["action"] for e in evs] == ["create", "rename"]
    assert evs[1]["actor"] == "ops" and evs[1]["token_id"] == a["id"]
    assert ISO.match(evs[1]["at"])
    rc, evs, err = runjson(["log"], db=db.url)
    actions = [e["action"] for e in evs]
    assert actions[0] == "init"
    for act in ("create", "delete", "expire", "revoke", "prune", "rename"):
        assert act in actions
    rc, evs, err = runjson(["log", b["id"]], db=db.url)
    assert [e["action"] for e in evs] == ["create", "delete"]
    rc, out, err = run(["log"], db=db.url)
    assert rc == 0 and len(out.splitlines()) == len(actions)


def test_119a_actor_from_sudo_user(db):
    rc, doc, err = runjson(["create", "--owner", "a", "--name", "n",
                            "--scope", "dns"], db=db.url,
                           env={"SUDO_USER": "admin7"})
    assert rc == 0, err
    rc, evs, err = runjson(["log", doc["id"]], db=db.url)
    assert evs[0]["actor"] == "admin7"


def test_119b_catalogue(db, tmp_path):
    cat = tmp_path / "features.txt"
    cat.write_text("# features\ndns     DNS zones\nemail   Mail\n\n")
    rc, doc, err = runjson(["--catalogue", str(cat), "create", "--owner",
                            "a", "--name", "n", "--scope", "dns:read,email"],
                           db=db.url)
    assert rc == 0, err
    rc, out, err = run(["create", "--owner", "a", "--name", "m", "--scope",
                        "dsn"], db=db.url,
                       env={"APITOKEN_CATALOGUE": str(cat)})
    assert rc == 2 and "'dsn'" in err
    rc, out, err = run(["--catalogue", str(cat), "scope", doc["id"],
                        "--add", "files"], db=db.url)
    assert rc == 2 and "'files'" in err
    rc, out, err = run(["--catalogue", str(tmp_path / "missing"), "create",
                        "--owner", "a", "--name", "k", "--scope", "dns"],
                       db=db.url)
    assert rc == 2 and "catalogue" in err
