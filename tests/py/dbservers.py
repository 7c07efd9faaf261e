"""Real PostgreSQL and MariaDB servers for the tests, on 127.0.0.1.

Session-scoped pytest fixtures:

    pg_server        a PostgreSQL 15 server
    mariadb_server   a MariaDB server

Each starts its own server from a private data directory under a fresh
temporary directory, on a free TCP port bound to 127.0.0.1 only, with a
private socket directory.  A database and a login user with a password are
created.  The server is stopped by its PID when the session ends.

The yielded object (PgServer / MariaDbServer) offers:

    url             "pgsql://USER:PW@127.0.0.1:PORT/DB" or "mysql://..."
    url_for(user=None, password=None, port=None, db=None)
                    the URL with parts replaced (for wrong-password,
                    wrong-port and missing-database tests)
    host, port, user, password, dbname
    password_file   a file holding the password (for ?password_file=)
    start()         start the server (after stop()); waits until ready
    stop()          stop the server (database-down tests); waits until gone
    running         True while the server answers
    reset()         drop and recreate the database (empty, owned by user)
    sql(text)       run SQL as the superuser in the database; returns stdout
    dump()          SQL dump of the database as text (pg_dump/mariadb-dump)
    pid             PID of the running server, or None

PostgreSQL refuses to run as root, so initdb/pg_ctl run as the `postgres`
system user (runuser) on a data directory it owns.  MariaDB runs as root
with --user=root and real (password) users; grant tables are never skipped.
All waits are bounded.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

PG_BIN = os.environ.get("APITOKEN_PG_BIN", "/usr/lib/postgresql/15/bin")
START_TIMEOUT = 90
STOP_TIMEOUT = 60


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def _run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({r.returncode}): "
                           f"{r.stderr.strip()[-2000:]}")
    return r.stdout


class _Server:
    scheme = None

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix=f"apitoken-{self.scheme}-")
        os.chmod(self.base, 0o755)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = "apitoken_test"
        self.password = "pw-" + secrets.token_hex(8)
        self.dbname = "apitoken_test"
        self.password_file = os.path.join(self.base, "db.password")
        with open(self.password_file, "w") as f:
            f.write(self.password + "\n")
        os.chmod(self.password_file, 0o600)

    @property
    def url(self):
        return self.url_for()

    def url_for(self, user=None, password=None, port=None, db=None):
        user = self.user if user is None else user
        password = self.password if password is None else password
        port = self.port if port is None else port
        db = self.dbname if db is None else db
        cred = f"{user}:{password}" if password != "" else user
        return f"{self.scheme}://{cred}@{self.host}:{port}/{db}"

    @property
    def running(self):
        return _pid_alive(self.pid) and _port_open(self.port)

    def close(self):
        try:
            self.stop()
        finally:
            pid = self.pid
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
            shutil.rmtree(self.base, ignore_errors=True)


class PgServer(_Server):
    """A private PostgreSQL server; see the module docstring."""

    scheme = "pgsql"

    def __init__(self):
        super().__init__()
        self.datadir = os.path.join(self.base, "data")
        self.sockdir = os.path.join(self.base, "sock")
        self.logfile = os.path.join(self.base, "postgres.log")
        for d in (self.datadir, self.sockdir):
            os.mkdir(d, 0o700)
            shutil.chown(d, "postgres", "postgres")
        open(self.logfile, "w").close()
        shutil.chown(self.logfile, "postgres", "postgres")
        pwfile = os.path.join(self.base, "super.pw")
        with open(pwfile, "w") as f:
            f.write(secrets.token_hex(16) + "\n")
        shutil.chown(pwfile, "postgres", "postgres")
        self._as_pg([f"{PG_BIN}/initdb", "-D", self.datadir, "-U",
                     "postgres", "--pwfile", pwfile, "-E", "UTF8",
                     "--locale=C.UTF-8", "--auth-local=trust",
                     "--auth-host=scram-sha-256"])
        os.unlink(pwfile)
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.sockdir}'\n"
                    "fsync = off\nsynchronous_commit = off\n"
                    "full_page_writes = off\nmax_connections = 100\n")
        self.start()
        self._psql("postgres", f"CREATE ROLE {self.user} LOGIN PASSWORD "
                               f"'{self.password}'")
        self.reset()

    def _as_pg(self, cmd, **kw):
        return _run(["runuser", "-u", "postgres", "--"] + cmd,
                    cwd=self.base, **kw)

    def _psql(self, db, sql):
        return self._as_pg([f"{PG_BIN}/psql", "-X", "-q", "-A", "-t",
                            "-v", "ON_ERROR_STOP=1", "-h", self.sockdir,
                            "-p", str(self.port), "-U", "postgres", "-d", db,
                            "-c", sql])

    @property
    def pid(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def _ready(self):
        r = subprocess.run([f"{PG_BIN}/pg_isready", "-q", "-h", "127.0.0.1",
                            "-p", str(self.port)], timeout=10)
        return r.returncode == 0

    def start(self):
        if self.running:
            return
        self._as_pg([f"{PG_BIN}/pg_ctl", "-D", self.datadir, "-l",
                     self.logfile, "-w", "-t", str(START_TIMEOUT), "start"],
                    timeout=START_TIMEOUT + 10)
        _wait(self._ready, START_TIMEOUT, "PostgreSQL to accept connections")

    def stop(self):
        pid = self.pid
        if not _pid_alive(pid):
            return
        subprocess.run(["runuser", "-u", "postgres", "--",
                        f"{PG_BIN}/pg_ctl", "-D", self.datadir, "-m", "fast",
                        "-w", "-t", str(STOP_TIMEOUT), "stop"],
                       capture_output=True, cwd=self.base,
                       timeout=STOP_TIMEOUT + 10)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        _wait(lambda: not _pid_alive(pid), STOP_TIMEOUT, "PostgreSQL to stop")
        _wait(lambda: not _port_open(self.port), STOP_TIMEOUT,
              "PostgreSQL's port to close")

    def reset(self):
        self._psql("postgres", f"DROP DATABASE IF EXISTS {self.dbname} "
                               "WITH (FORCE)")
        self._psql("postgres", f"CREATE DATABASE {self.dbname} OWNER "
                               f"{self.user} ENCODING 'UTF8'")

    def sql(self, text):
        return self._psql(self.dbname, text)

    def dump(self):
        out = _run([f"{PG_BIN}/pg_dump", "--no-owner", "-h", "127.0.0.1",
                    "-p", str(self.port), "-U", self.user, self.dbname],
                   env=dict(os.environ, PGPASSWORD=self.password))
        # pg_dump's \restrict key is random per run: drop it so that two
        # dumps of the same data compare equal.
        return "".join(line for line in out.splitlines(keepends=True)
                       if not line.startswith(("\\restrict",
                                               "\\unrestrict")))


class MariaDbServer(_Server):
    """A private MariaDB server; see the module docstring."""

    scheme = "mysql"

    def __init__(self):
        super().__init__()
        self.datadir = os.path.join(self.base, "data")
        self.socket = os.path.join(self.base, "mysqld.sock")
        self.pidfile = os.path.join(self.base, "mysqld.pid")
        self.logfile = os.path.join(self.base, "mysqld.err")
        self.proc = None
        _run(["mariadb-install-db", "--no-defaults",
              f"--datadir={self.datadir}",
              "--auth-root-authentication-method=normal", "--user=root",
              "--skip-test-db"], timeout=180)
        self.start()
        self._sql(None, f"CREATE USER '{self.user}'@'127.0.0.1' "
                        f"IDENTIFIED BY '{self.password}'; "
                        f"CREATE USER '{self.user}'@'localhost' "
                        f"IDENTIFIED BY '{self.password}'; "
                        f"GRANT ALL ON `{self.dbname}`.* TO "
                        f"'{self.user}'@'127.0.0.1'; "
                        f"GRANT ALL ON `{self.dbname}`.* TO "
                        f"'{self.user}'@'localhost'; FLUSH PRIVILEGES")
        self.reset()

    def _client(self):
        return ["mariadb", "--no-defaults", f"--socket={self.socket}",
                "-uroot", "--batch", "--skip-column-names"]

    def _sql(self, db, text):
        cmd = self._client() + ([db] if db else []) + ["-e", text]
        return _run(cmd)

    @property
    def pid(self):
        if self.proc and self.proc.poll() is None:
            return self.proc.pid
        return None

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("mariadbd exited: "
                               + open(self.logfile).read()[-2000:])
        r = subprocess.run(["mariadb-admin", "--no-defaults",
                            f"--socket={self.socket}", "-uroot",
                            "--connect-timeout=2", "ping"],
                           capture_output=True, timeout=10)
        return r.returncode == 0 and _port_open(self.port)

    def start(self):
        if self.running:
            return
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={self.datadir}",
             f"--port={self.port}", "--bind-address=127.0.0.1",
             f"--socket={self.socket}", f"--pid-file={self.pidfile}",
             f"--log-error={self.logfile}", "--user=root",
             "--skip-name-resolve", "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_bin",
             "--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=2",
             "--max-connections=200"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        _wait(self._ready, START_TIMEOUT, "MariaDB to accept connections")

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        subprocess.run(["mariadb-admin", "--no-defaults",
                        f"--socket={self.socket}", "-uroot", "shutdown"],
                       capture_output=True, timeout=STOP_TIMEOUT)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        _wait(lambda: not _port_open(self.port), STOP_TIMEOUT,
              "MariaDB's port to close")

    def reset(self):
        self._sql(None, f"DROP DATABASE IF EXISTS `{self.dbname}`; "
                        f"CREATE DATABASE `{self.dbname}` "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")

    def sql(self, text):
        return self._sql(self.dbname, text)

    def dump(self):
        return _run(["mariadb-dump", "--no-defaults",
                     f"--socket={self.socket}", "-uroot", "--skip-comments",
                     "--skip-dump-date", "--order-by-primary",
                     self.dbname])


@pytest.fixture(scope="session")
def pg_server():
    srv = PgServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="session")
def mariadb_server():
    srv = MariaDbServer()
    try:
        yield srv
    finally:
        srv.close()
