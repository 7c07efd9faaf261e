"""Shared helpers for the pytest suites of mod_apitoken.

The build tree is $APITOKEN_BUILDDIR (default: the repository root, two
levels above this file); the tool is BUILDDIR/tools/apitoken (a libtool
wrapper script is fine).

Helpers:
    run(args, env=None, db=None, input=None) -> (rc, stdout, stderr)
    runjson(args, ...)                        -> (rc, parsed JSON, stderr)
    token_secret(token)                       the secret part of a token

Fixtures:
    pg_server, mariadb_server   real servers (see dbservers.py)
    backend                     parametrised over sqlite3, pgsql and mysql:
                                a fresh, empty database for one test, with
                                .kind .url .dump() .sql(text) and, for
                                the servers, .stop() .start()

Tests that need the PostgreSQL or MariaDB server carry the `external`
marker; they are never skipped: the servers are started here.
"""

import json
import os
import re
import subprocess

import pytest

from dbservers import mariadb_server, pg_server  # noqa: F401 (fixtures)

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.path.abspath(os.environ.get("APITOKEN_BUILDDIR", SRCDIR))
TOOL = os.path.join(BUILDDIR, "tools", "apitoken")

TOKEN_RE = re.compile(r"\b([a-z][a-z0-9]{0,15})_([0-9A-Za-z]{12})"
                      r"([0-9A-Za-z]{32})([0-9A-Za-z]{6})\b")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "external: starts a real PostgreSQL/MariaDB server "
                   "(slow; always run, never skipped)")


def tool_env(extra=None):
    """A clean environment for the tool: no inherited database, catalogue
    or sudo user, a UTF-8 locale."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("APITOKEN_DB", "APITOKEN_CATALOGUE", "SUDO_USER")}
    env["LC_ALL"] = "C.UTF-8"
    if extra:
        env.update(extra)
    return env


def run(args, env=None, db=None, input=None, timeout=60):
    """Run the tool; db (a URL) is passed as --db.  Returns
    (returncode, stdout, stderr) as text."""
    if not os.path.exists(TOOL):
        raise RuntimeError(f"{TOOL} not built (run make)")
    cmd = [TOOL] + (["--db", db] if db else []) + [str(a) for a in args]
    r = subprocess.run(cmd, env=tool_env(env), input=input,
                       capture_output=True, timeout=timeout)
    return (r.returncode, r.stdout.decode("utf-8", "replace"),
            r.stderr.decode("utf-8", "replace"))


def runjson(args, env=None, db=None, input=None, timeout=60):
    """Like run() with --json; stdout must be one JSON document when the
    exit code is 0 (None otherwise unless it parses)."""
    rc, out, err = run(["--json"] + list(args), env=env, db=db, input=input,
                       timeout=timeout)
    try:
        doc = json.loads(out) if out.strip() else None
    except ValueError:
        if rc == 0:
            raise AssertionError(f"--json output is not JSON: {out!r}")
        doc = None
    return rc, doc, err


def token_secret(token):
    m = TOKEN_RE.fullmatch(token)
    assert m, f"not a token: {token!r}"
    return m.group(3)


class SqliteDb:
    """A SQLite token database in a test's tmp_path."""

    kind = "sqlite3"

    def __init__(self, path):
        self.path = str(path)
        self.url = "sqlite3://" + self.path

    def sql(self, text):
        r = subprocess.run(["sqlite3", self.path, text],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.decode("utf-8", "replace")

    def dump(self):
        if not os.path.exists(self.path):
            return ""
        r = subprocess.run(["sqlite3", self.path, ".dump"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.decode("utf-8", "replace")


class ServerDb:
    """A database on one of the session's servers, reset for this test."""

    def __init__(self, server):
        self.server = server
        self.kind = server.scheme
        self.url = server.url

    def sql(self, text):
        return self.server.sql(text)

    def dump(self):
        return self.server.dump()

    def stop(self):
        self.server.stop()

    def start(self):
        self.server.start()


@pytest.fixture(params=["sqlite3",
                        pytest.param("pgsql", marks=pytest.mark.external),
                        pytest.param("mysql", marks=pytest.mark.external)])
def backend(request, tmp_path):
    if request.param == "sqlite3":
        yield SqliteDb(tmp_path / "tokens.db")
        return
    server = request.getfixturevalue(
        "pg_server" if request.param == "pgsql" else "mariadb_server")
    server.start()
    server.reset()
    db = ServerDb(server)
    try:
        yield db
    finally:
        # A test that stopped the server must not break the next one.
        server.start()
