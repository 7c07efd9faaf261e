"""apitoken: error paths on every backend, and that they write nothing."""

import os

import pytest

from conftest import run, runjson


@pytest.fixture
def db(backend):
    rc, out, err = run(["init"], db=backend.url)
    assert rc == 0, err
    return backend


def one_line(err):
    assert err.count("\n") == 1 and err.startswith("apitoken: "), err
    return err


def mk(db, owner="alice", name="t", *extra):
    rc, doc, err = runjson(["create", "--owner", owner, "--name", name,
                            "--scope", "dns"] + list(extra), db=db.url)
    assert rc == 0, err
    return doc


def test_120_unknown_and_malformed_ids(db):
    mk(db)
    before = db.dump()
    unknown = "ZZZZZZZZZZZZ"
    for args in (["show", unknown], ["rename", unknown, "x"],
                 ["scope", unknown, "--add", "email"],
                 ["expire", unknown, "never"], ["revoke", unknown],
                 ["rotate", unknown], ["delete", unknown]):
        rc, out, err = run(args, db=db.url)
        assert rc == 1, (args, err)
        assert f"'{unknown}'" in one_line(err)
        assert out == ""
    for bad in ("short", "toolongtoolongtoolong", "AAAAAAAAAAA!", "'; --x"):
        rc, out, err = run(["show", bad], db=db.url)
        assert rc == 2, bad
        one_line(err)
    assert db.dump() == before


def test_121_duplicate_name(db):
    a = mk(db, "alice", "dup")
    before = db.dump()
    rc, out, err = run(["create", "--owner", "alice", "--name", "dup",
                        "--full-access"], db=db.url)
    assert rc == 1 and "already exists" in one_line(err) and "'dup'" in err
    assert out == ""
    assert db.dump() == before
    mk(db, "bob", "dup")          # other owner: fine
    rc, docs, err = runjson(["list", "--owner", "alice"], db=db.url)
    assert [d["id"] for d in docs] == [a["id"]]


@pytest.mark.parametrize("scopes,bad", [
    (["DNS!"], "dns!"), (["dns:"], "dns:"), ([":read"], ":read"),
    (["a:b:c"], "a:b:c"), (["dns", "em ail$"], "ail$"), (["x" * 65], "x"),
    (["dns:read;drop"], "dns:read;drop"),
])
def test_122_bad_scope(db, scopes, bad):
    before = db.dump()
    args = ["create", "--owner", "a", "--name", "n"]
    for s in scopes:
        args += ["--scope", s]
    rc, out, err = run(args, db=db.url)
    assert rc == 2, err
    assert bad in one_line(err).lower()
    assert db.dump() == before


def test_123_restricted_needs_scope(db):
    for extra in ([], ["--scope", ""], ["--scope", " , "]):
        rc, out, err = run(["create", "--owner", "a", "--name", "n"] + extra,
                           db=db.url)
        assert rc == 2 and "scope" in one_line(err)
    rc, out, err = run(["create", "--owner", "a", "--name", "n", "--scope",
                        "dns", "--full-access"], db=db.url)
    assert rc == 2
    for missing in (["--name", "n"], ["--owner", "a"]):
        rc, out, err = run(["create", "--scope", "dns"] + missing, db=db.url)
        assert rc == 2 and "required" in one_line(err)


@pytest.mark.parametrize("when", [
    "2026-02-30", "2025-13-01", "2026-1-1", "tomorrow", "+30x", "+", "-5d",
    "2026-12-31T25:00", "2026-12-31T12:00+99:00", "99999-01-01", "",
])
def test_124_bad_dates(db, when):
    a = mk(db)
    before = db.dump()
    rc, out, err = run(["expire", a["id"], "--", when], db=db.url)
    assert rc == 2, (when, err)
    assert f"'{when}'" in one_line(err)
    rc, out, err = run(["create", "--owner", "a", "--name", "n", "--scope",
                        "dns", "--expires", when], db=db.url)
    assert rc == 2, (when, err)
    one_line(err)
    assert db.dump() == before


def test_125_past_expiry_refused_on_create(db):
    before = db.dump()
    for when in ("2020-01-01", "2000-01-01T00:00:00Z"):
        rc, out, err = run(["create", "--owner", "a", "--name", "n",
                            "--scope", "dns", "--expires", when], db=db.url)
        assert rc == 2 and "past" in one_line(err) and when in err
    assert db.dump() == before


@pytest.mark.parametrize("field,value", [
    ("--name", "tab\there"), ("--name", "nl\nx"), ("--name", "esc\x1b[31m"),
    ("--name", "del\x7f"), ("--name", ""), ("--owner", "a:b"),
    ("--owner", "cr\rx"), ("--description", "bell\x07"),
    ("--name", "x" * 200),
])
def test_126_control_characters_refused(db, field, value):
    before = db.dump()
    args = {"--owner": "alice", "--name": "n", "--description": "d"}
    args[field] = value
    argv = ["create", "--scope", "dns"]
    for k, v in args.items():
        argv += [k, v]
    rc, out, err = run(argv, db=db.url)
    assert rc == 2, (field, value, err)
    line = one_line(err)
    # The bad value is named in an escaped, printable form.
    assert not any(ord(ch) < 0x20 for ch in line[:-1])
    if "\t" in value:
        assert "\\x09" in line
    assert db.dump() == before
    a = mk(db, "alice", "ok")
    rc, out, err = run(["rename", a["id"], "bad\x01name"], db=db.url)
    assert rc == 2 and "\\x01" in one_line(err)


def test_127_schema_missing(backend):
    rc, out, err = run(["list"], db=backend.url)
    assert rc == 3
    assert "apitoken init" in one_line(err)
    rc, out, err = run(["create", "--owner", "a", "--name", "n", "--scope",
                        "dns"], db=backend.url)
    assert rc == 3 and "init" in one_line(err)
    if backend.kind == "sqlite3":
        assert not os.path.exists(backend.path)


def test_128_database_down_writes_nothing(db):
    a = mk(db)
    before = db.dump()
    if db.kind == "sqlite3":
        down = db.url + ".moved"          # the file is gone
    else:
        db.stop()
        down = db.url
    try:
        for args in (["list"], ["show", a["id"]], ["revoke", a["id"]],
                     ["create", "--owner", "x", "--name", "y", "--scope",
                      "dns"], ["rename", a["id"], "z"], ["log"],
                     ["verify", a["token"]], ["prune"]):
            rc, out, err = run(args, db=down, timeout=120)
            assert rc == 3, (args, rc, err)
            line = one_line(err)
            assert "cannot" in line or "does not exist" in line
            assert out == ""
            assert a["token"][16:48] not in err
    finally:
        if db.kind != "sqlite3":
            db.start()
    assert db.dump() == before
    # And it works again once the server is back, without anything stale.
    rc, doc, err = runjson(["show", a["id"]], db=db.url)
    assert rc == 0 and doc["status"] == "active"


@pytest.mark.external
@pytest.mark.parametrize("which", ["pg_server", "mariadb_server"])
def test_129_wrong_credentials_and_database(request, which):
    srv = request.getfixturevalue(which)
    srv.start()
    cases = [srv.url_for(password="wrong-password"),
             srv.url_for(user="nosuchuser"),
             srv.url_for(db="no_such_db"),
             srv.url_for(port=1)]
    for url in cases:
        rc, out, err = run(["list"], db=url, timeout=120)
        assert rc == 3, (url, err)
        line = one_line(err)
        assert "wrong-password" not in line
        assert srv.password not in line
    # password_file works and its content is never printed.
    srv.reset()
    url = (srv.url_for(password="") + "?password_file=" + srv.password_file)
    rc, out, err = run(["init"], db=url)
    assert rc == 0, err
    assert srv.password not in out + err
    rc, out, err = run(["list"], db=srv.url_for(password="") +
                       "?password_file=/nonexistent/pw")
    assert rc in (2, 3) and "/nonexistent/pw" in one_line(err)


def test_12a_sqlite_unusable_files(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(bytes(range(256)) * 20)
    (tmp_path / "dir.db").mkdir()
    other = tmp_path / "other.db"
    import subprocess
    subprocess.run(["sqlite3", str(other), "CREATE TABLE x (a)"], check=True)
    for path, needle in ((junk, "not a database"), (tmp_path / "dir.db", ""),
                         (tmp_path / "nodir" / "x.db", "nodir"),
                         (other, "apitoken init")):
        rc, out, err = run(["list"], db=f"sqlite3://{path}")
        assert rc == 3, (path, err)
        assert needle in one_line(err)
    assert junk.read_bytes() == bytes(range(256)) * 20
    rc, out, err = run(["init"], db=f"sqlite3://{tmp_path}/nodir/x.db")
    assert rc == 3 and "nodir" in one_line(err)
    rc, out, err = run(["init"], db=f"sqlite3://{other}")
    assert rc == 0, err
