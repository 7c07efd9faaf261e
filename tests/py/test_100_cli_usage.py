"""apitoken: help, usage errors and database URL errors (no server needed)."""

import pytest

from conftest import run

COMMANDS = ["init", "create", "list", "show", "rename", "scope", "expire",
            "revoke", "rotate", "delete", "prune", "verify", "log"]


def one_line(err):
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one error line, got {err!r}"
    assert lines[0].startswith("apitoken: "), err
    return lines[0]


@pytest.mark.parametrize("args", [["--help"], ["help"], ["-h"]])
def test_100_help(args):
    rc, out, err = run(args)
    assert rc == 0 and err == ""
    assert out.startswith("Usage: apitoken")
    for cmd in COMMANDS:
        assert f"\n  {cmd} " in out, cmd
    assert "Exit codes" in out


@pytest.mark.parametrize("cmd", COMMANDS)
def test_101_command_help(cmd):
    for args in ([cmd, "--help"], ["help", cmd], ["--help", cmd]):
        rc, out, err = run(args)
        assert rc == 0 and err == "", (args, err)
        assert out.startswith(f"Usage: apitoken [global options] {cmd}")


def test_102_create_help_lists_options():
    rc, out, _ = run(["create", "--help"])
    for opt in ("--owner", "--name", "--scope", "--full-access", "--expires",
                "--allow-ip", "--description"):
        assert opt in out


@pytest.mark.parametrize("args,needle", [
    ([], "no command"),
    (["bogus"], "'bogus'"),
    (["help", "bogus"], "'bogus'"),
    (["list", "--bogus"], "'--bogus'"),
    (["--bogus", "list"], "'--bogus'"),
    (["create", "--owner"], "'--owner'"),
    (["show"], "ID"),
    (["rename", "AAAAAAAAAAAA"], "NEW_NAME"),
    (["expire", "AAAAAAAAAAAA"], "DATE"),
    (["verify"], "TOKEN"),
    (["show", "AAAAAAAAAAAA", "extra"], "'extra'"),
    (["log", "AAAAAAAAAAAA", "BBBBBBBBBBBB"], "'BBBBBBBBBBBB'"),
])
def test_103_usage_errors(args, needle):
    rc, out, err = run(args, db="sqlite3:///nonexistent/never.db")
    assert rc == 2, (args, rc, err)
    assert out == ""
    assert needle in one_line(err)


def test_104_no_database():
    rc, out, err = run(["list"])
    assert rc == 2
    assert "APITOKEN_DB" in one_line(err)


@pytest.mark.parametrize("url,needle", [
    ("foo://x/y", "foo"),
    ("sqlite3://relative/path.db", ""),
    ("sqlite3:", ""),
    ("pgsql://", ""),
    ("pgsql://user@127.0.0.1:notaport/db", ""),
    ("pgsql://user@127.0.0.1:99999/db", ""),
    ("mysql://user@127.0.0.1/", ""),
    ("pgsql://user:pw@127.0.0.1/db?bogus=1", ""),
    ("", "APITOKEN_DB"),
])
def test_105_bad_urls(url, needle):
    rc, out, err = run(["--db", url, "list"])
    assert rc == 2, (url, rc, err)
    line = one_line(err)
    assert needle in line


def test_106_url_password_never_echoed():
    rc, out, err = run(["list"], db="pgsql://u:s3cr3tpw@127.0.0.1:1/db")
    assert rc == 3
    assert "s3cr3tpw" not in err and "s3cr3tpw" not in out
    one_line(err)
    rc, out, err = run(["list"], db="pgsql://u:s3cr3tpw@127.0.0.1:1/db?x=1")
    assert rc == 2
    assert "s3cr3tpw" not in err


def test_107_env_fallback(tmp_path):
    url = f"sqlite3://{tmp_path}/env.db"
    rc, out, err = run(["init"], env={"APITOKEN_DB": url})
    assert rc == 0, err
    rc, out, err = run(["list"], env={"APITOKEN_DB": url})
    assert rc == 0, err
    assert out.startswith("ID ")
    # --db wins over the environment.
    rc, out, err = run(["--db", f"sqlite3://{tmp_path}/other.db", "list"],
                       env={"APITOKEN_DB": url})
    assert rc == 3


def test_108_missing_sqlite_file_is_not_created(tmp_path):
    path = tmp_path / "typo.db"
    rc, out, err = run(["list"], db=f"sqlite3://{path}")
    assert rc == 3
    assert "init" in one_line(err)
    assert not path.exists()


def test_109_usage_errors_before_database(tmp_path):
    # Validation happens before the database is touched: a usage error is
    # exit 2 even when the database does not exist.
    db = f"sqlite3://{tmp_path}/none.db"
    for args in (["create", "--owner", "a", "--name", "n", "--scope", "B@D"],
                 ["expire", "AAAAAAAAAAAA", "2026-02-30"],
                 ["show", "short"],
                 ["rotate", "AAAAAAAAAAAA", "--grace", "soon"]):
        rc, out, err = run(args, db=db)
        assert rc == 2, (args, err)
        one_line(err)
