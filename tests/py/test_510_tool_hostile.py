"""apitoken given hostile arguments: very long values, control characters,
invalid UTF-8 and NUL-free binary junk, bad URLs, bad dates, unknown
flags, SQL in every field.  Each is refused with exit 1 or 2 and ONE clear
line on stderr naming the problem, nothing on stdout, and the database
unchanged (`sqlite3 FILE .dump` before and after).  SQL that is a valid
name or description is stored verbatim and breaks nothing."""

import json
import random
import subprocess

import pytest

from conftest import TOOL, SqliteDb, run, runjson, tool_env

LONG = "n" * 10_000
SQL = ["'; DROP TABLE tokens; --", "\" OR 1=1 --", "x' UNION SELECT "
       "secret_hash FROM tokens --", "%s%n%x", "1; DELETE FROM audit"]


def junk(seed, n=300):
    """NUL-free random bytes, deliberately not UTF-8."""
    rnd = random.Random(seed)
    return bytes(rnd.randrange(1, 256) for _ in range(n)) + b"\xff"


@pytest.fixture
def db(tmp_path):
    d = SqliteDb(tmp_path / "tokens.db")
    rc, _, err = run(["init"], db=d.url)
    assert rc == 0, err
    rc, doc, err = runjson(["create", "--owner", "alice", "--name", "ci",
                            "--scope", "dns", "--description", "keep"],
                           db=d.url)
    assert rc == 0, err
    d.tid = doc["id"]
    return d


def raw_run(args, db=None):
    """The tool with byte arguments (subprocess passes them as is)."""
    cmd = [TOOL.encode()] + ([b"--db", db.encode()] if db else []) + [
        a if isinstance(a, bytes) else str(a).encode() for a in args]
    r = subprocess.run(cmd, env=tool_env(), capture_output=True, timeout=60)
    return (r.returncode, r.stdout.decode("utf-8", "replace"),
            r.stderr.decode("utf-8", "replace"))


def create(*extra, owner="mallory", name="evil", scope=("--scope", "dns")):
    return ["create", "--owner", owner, "--name", name] + list(scope) + \
        list(extra)


def cases(tid):
    """(id, args, what stderr must mention)."""
    c = [
        # very long values
        ("long-owner", create(owner=LONG), "owner"),
        ("long-name", create(name=LONG), "name"),
        ("long-desc", create("--description", "d" * 20_000), "description"),
        ("long-scope", create(scope=("--scope", "s" * 10_000)), "scope"),
        ("long-id-show", ["show", "A" * 10_000], "id"),
        ("long-rename", ["rename", tid, LONG], "name"),
        ("long-url", ["list"], None),   # --db below
        ("long-flag", ["--" + "x" * 10_000], "option"),
        # control characters
        ("ctl-owner", create(owner="al\x01ice"), "control"),
        ("ctl-name-nl", create(name="a\nb"), "control"),
        ("ctl-name-esc", create(name="\x1b[2J"), "control"),
        ("ctl-name-del", create(name="a\x7fb"), "control"),
        ("ctl-desc", create("--description", "a\rb"), "control"),
        ("ctl-rename", ["rename", tid, "x\ty"], "control"),
        ("ctl-scope", create(scope=("--scope", "dns\x01")), "scope"),
        # invalid UTF-8 and binary junk (NUL-free)
        ("utf8-name", create(name=b"\xff\xfe"), "UTF-8"),
        ("utf8-overlong", create(name=b"\xc0\xaf"), "UTF-8"),
        ("junk-owner", ["create", "--owner", junk(1), "--name", "x",
                        "--scope", "dns"], "owner"),
        ("junk-name", ["create", "--owner", "a", "--name", junk(2),
                       "--scope", "dns"], "name"),
        ("junk-desc", ["create", "--owner", "a", "--name", "x", "--scope",
                       "dns", "--description", junk(3)], "description"),
        ("junk-scope", ["create", "--owner", "a", "--name", "x", "--scope",
                        junk(4)], "scope"),
        ("junk-expires", ["create", "--owner", "a", "--name", "x",
                          "--scope", "dns", "--expires", junk(5)], "expir"),
        ("junk-id", ["show", junk(6, 12)], "id"),
        ("junk-command", [junk(7, 40)], None),
        ("junk-rename", ["rename", tid, junk(8)], "name"),
        # bad dates and durations
        ("date-month", create("--expires", "2030-13-01"), "2030-13-01"),
        ("date-day", create("--expires", "2030-02-30"), "2030-02-30"),
        ("date-hour", create("--expires", "2030-01-01T25:00"), "hour"),
        ("date-past", create("--expires", "2001-01-01"), "past"),
        ("date-words", create("--expires", "tomorrow"), "tomorrow"),
        ("date-huge", create("--expires", "+99999999999999999999d"), "+999"),
        ("date-neg", create("--expires", "-5d"), "-5d"),
        ("date-empty", create("--expires", ""), "expir"),
        ("date-tz", create("--expires", "2030-01-01T00:00+25:00"), "2030"),
        ("expire-bad", ["expire", tid, "2030-00-10"], "2030-00-10"),
        ("grace-bad", ["rotate", tid, "--grace", "1y"], "1y"),
        ("prune-bad", ["prune", "--before", "yesterday"], "yesterday"),
        # unknown flags and wrong shapes
        ("flag-global", ["--frob"], "--frob"),
        ("flag-create", create("--frob"), "--frob"),
        ("flag-list", ["list", "--owner"], "--owner"),
        ("flag-dash", create("-x"), "option"),
        ("cmd-unknown", ["frobnicate"], "frobnicate"),
        ("cmd-extra", ["show", tid, "extra"], "extra"),
        ("both-access", create("--full-access"), "--full-access"),
        ("no-scope", create(scope=()), "scope"),
        ("bad-ip", create("--allow-ip", "10.0.0.0/33"), "10.0.0.0/33"),
        ("bad-ip-junk", create("--allow-ip", "' OR 1=1"), "allow-ip"),
        ("bad-status", ["list", "--status", "'; DROP"], "status"),
        # SQL where the value is validated
        ("sql-id-show", ["show", "' OR '1'='1"], "id"),
        ("sql-id-revoke", ["revoke", "x'; DROP TABLE tokens; --"], "id"),
        ("sql-id-delete", ["delete", "1 OR 1=1"], "id"),
        ("sql-scope", create(scope=("--scope", "dns'; DROP TABLE x;--")),
         "scope"),
        ("sql-scope-add", ["scope", tid, "--add", "a' OR 'x"], "scope"),
        ("sql-expires", create("--expires", "2030-01-01'; --"), "2030"),
        ("sql-owner-list", ["list", "--status", "all' --"], "status"),
        ("sql-prefix", ["init", "--prefix", "x'; DROP TABLE tokens; --"],
         "prefix"),
        ("sql-verify-scope", ["verify", "apt_x", "--scope", "' OR 1"],
         None),
        # a name already taken (exit 1)
        ("dup-name", ["create", "--owner", "alice", "--name", "ci",
                      "--scope", "dns"], "ci"),
        ("unknown-id", ["revoke", "AAAAAAAAAAAA"], "AAAAAAAAAAAA"),
    ]
    return c


BAD_URLS = ["http://x/y", "sqlite3://relative.db", "sqlite3://host/abs.db",
            "pgsql://", "mysql://@/", "pgsql://u@127.0.0.1:notaport/db",
            "pgsql://u@127.0.0.1:99999/db", "sqlite3:///tmp/x.db?bogus=1",
            "sqlite3:///tmp/x.db?timeout_ms=-5", "'; DROP TABLE tokens; --",
            "sqlite3:///" + "a" * 10_000, "\x01\x02", "", "pgsql://u@h/db?"
            "password_file=relative"]


def check_refused(rc, out, err, mention, where):
    assert rc in (1, 2), f"{where}: exit {rc}, stderr {err[:300]!r}"
    assert out == "", f"{where}: stdout {out[:300]!r}"
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), \
        f"{where}: not one stderr line: {err[:600]!r}"
    line = lines[0]
    assert line.startswith("apitoken: "), f"{where}: {line[:200]!r}"
    assert not line.startswith("apitoken: apitoken:"), \
        f"{where}: program name twice: {line[:200]!r}"
    assert len(line) < 600, f"{where}: {len(line)}-byte error line"
    # Control characters never reach the terminal raw.
    assert not any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in line), \
        f"{where}: raw control character in {line[:200]!r}"
    if mention:
        assert mention.lower() in line.lower(), \
            f"{where}: {mention!r} not named in {line[:300]!r}"


def test_510_hostile_arguments(db):
    before = db.dump()
    assert "CREATE TABLE" in before
    failures = []
    for cid, args, mention in cases(db.tid):
        extra_db = ("sqlite3:///" + "d" * 10_000) if cid == "long-url" \
            else db.url
        rc, out, err = raw_run(args, db=extra_db)
        try:
            check_refused(rc, out, err, mention, cid)
        except AssertionError as e:
            failures.append(str(e))
    after = db.dump()
    assert after == before, "the database changed"
    assert not failures, f"{len(failures)} wrong:\n" + "\n".join(failures)


def test_510_bad_urls(db):
    before = db.dump()
    failures = []
    for url in BAD_URLS:
        rc, out, err = raw_run(["create", "--owner", "a", "--name", "x",
                                "--scope", "dns"], db=url)
        try:
            check_refused(rc, out, err, "database URL" if url else None,
                          f"url {url[:40]!r}")
        except AssertionError as e:
            failures.append(str(e))
    assert db.dump() == before
    assert not failures, f"{len(failures)} wrong:\n" + "\n".join(failures)


def test_510_unreachable_server_is_exit_3(db):
    rc, out, err = run(["list"], db="pgsql://u@127.0.0.1:1/x")
    assert rc == 3, err
    assert out == "" and len(err.splitlines()) == 1, err
    assert "127.0.0.1" in err


def test_510_sql_in_free_text_is_stored_verbatim(db):
    """Owner, name and description accept SQL-looking text: it is data,
    stored and shown as given, and the other rows are untouched."""
    keep = runjson(["show", db.tid], db=db.url)[1]
    made = []
    for i, s in enumerate(SQL):
        # Accounts carry no space (no credential form could present it).
        owner = "o" + s[:40].replace(" ", "")
        rc, doc, err = runjson(["create", "--owner", owner,
                                "--name", s, "--scope", "dns",
                                "--description", s], db=db.url)
        assert rc == 0, err
        assert doc["owner"] == owner
        made.append((doc["id"], s))
    for tid, s in made:
        rc, doc, err = runjson(["show", tid], db=db.url)
        assert rc == 0, err
        assert doc["name"] == s and doc["description"] == s
    rc, docs, err = runjson(["list", "--status", "all"], db=db.url)
    assert rc == 0, err
    assert len(docs) == len(SQL) + 1
    assert runjson(["show", db.tid], db=db.url)[1] == keep
    dump = db.dump()
    assert dump.count("CREATE TABLE") == db.dump().count("CREATE TABLE")
    # Renaming to SQL and back leaves the row as it was.
    rc, _, err = run(["rename", db.tid, SQL[0]], db=db.url)
    assert rc == 0, err
    rc, _, err = run(["rename", db.tid, "ci"], db=db.url)
    assert rc == 0, err
    after = runjson(["show", db.tid], db=db.url)[1]
    assert after["name"] == "ci" and after["scopes"] == keep["scopes"]
    assert json.dumps(after["description"]) == json.dumps("keep")
