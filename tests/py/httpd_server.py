"""A real Debian apache2 with mod_apitoken from the build tree, for tests.

    store = sqlite_store()                 # or server_store(pg_server)
    tok = store.create("alice", "ci", scopes=["dns"])
    with Httpd(store.url, mpm="event", conf=STANDARD_CONF) as h:
        r = h.get("/api/dns/ok.txt", token=tok["token"])

Httpd starts /usr/sbin/apache2 in the foreground (-DFOREGROUND) from a
private ServerRoot under /tmp (mode 0755, so www-data can reach the CGI
scripts and the driver directory), on a free 127.0.0.1 port, with
User/Group www-data, and stops it by its PID (SIGTERM, then SIGKILL).

The error log is an oracle: check_logs() fails on an [error]/[warn]/[crit]
line that no `allow` pattern explains, and on any issued secret in the
error or access log.  Store keeps every token it issued for that check.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

# APITOKEN_HTTPD_WRAPPER: a script that execs apache2 (e.g. with the ASan
# runtime preloaded, see scripts/sanitizer-run.sh).
APACHE2 = os.environ.get("APITOKEN_HTTPD_WRAPPER") or "/usr/sbin/apache2"
MODDIR = "/usr/lib/apache2/modules"
TOP = Path(__file__).resolve().parents[2]
# APITOKEN_MODULE: another build of the module (e.g. with sanitizers, then
# APITOKEN_HTTPD_PRELOAD=/usr/lib/x86_64-linux-gnu/libasan.so.8 so that the
# non-instrumented apache2 can load it).
BUILDDIR = Path(os.environ.get("APITOKEN_BUILDDIR") or TOP).resolve()
MODULE = Path(os.environ.get("APITOKEN_MODULE") or
              BUILDDIR / "mod_apitoken" / ".libs" / "mod_apitoken.so")
PRELOAD = os.environ.get("APITOKEN_HTTPD_PRELOAD", "")
TOOL = BUILDDIR / "tools" / "apitoken"
WWW_UID = 33
WWW_GID = 33
START_TIMEOUT = 30
STOP_TIMEOUT = 20

ENV_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
env | LC_ALL=C sort
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_dir(prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)
    return d


def _chown_tree(path, uid=WWW_UID, gid=WWW_GID):
    os.chown(path, uid, gid)
    for base, dirs, files in os.walk(path):
        for n in dirs + files:
            os.chown(os.path.join(base, n), uid, gid)


class Store:
    """A token database and the apitoken tool pointed at it."""

    def __init__(self, url, kind, path=None, base=None, server=None):
        self.url = url
        self.kind = kind          # "sqlite3", "pgsql" or "mysql"
        self.path = path          # sqlite3: the database file
        self.base = base          # sqlite3: the private directory
        self.server = server      # pgsql/mysql: the dbservers object
        self.secrets = []
        self._n = 0

    def tool(self, *args, check=True, json_out=True):
        cmd = [str(TOOL), "--db", self.url] + (["--json"] if json_out
                                                else []) + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"apitoken {args[0]} failed "
                                 f"({r.returncode}): {r.stderr.strip()}")
        return r

    def _remember(self, doc):
        tok = doc["token"]
        self.secrets.append(tok)
        # The secret part alone must not leak either.
        body = tok.split("_", 1)[1]
        self.secrets.append(body[12:44])
        return doc

    def create(self, owner="alice", name=None, scopes=(), full=False,
               expires=None, allow_ip=(), resources=()):
        self._n += 1
        name = name or f"token-{self._n}-{time.monotonic_ns()}"
        args = ["create", "--owner", owner, "--name", name]
        if full:
            args.append("--full-access")
        for s in scopes:
            args += ["--scope", s]
        if expires:
            args += ["--expires", expires]
        for n in allow_ip:
            args += ["--allow-ip", n]
        for r in resources:
            args += ["--resource", r]
        return self._remember(json.loads(self.tool(*args).stdout))

    def rotate(self, tid, grace):
        return self._remember(json.loads(
            self.tool("rotate", tid, "--grace", grace).stdout))

    def revoke(self, tid):
        self.tool("revoke", tid)

    def expire(self, tid, when):
        self.tool("expire", tid, when)

    def show(self, tid):
        return json.loads(self.tool("show", tid).stdout)

    def close(self):
        if self.base:
            shutil.rmtree(self.base, ignore_errors=True)


def sqlite_store(init=True):
    """A SQLite store laid out as the README says: a private directory and
    database file owned by www-data (httpd needs to write the directory for
    WAL); root's tool writes it, SQLite giving its -wal/-shm files the
    database file's owner."""
    base = private_dir("apitoken-sqlite-")
    d = os.path.join(base, "db")
    os.mkdir(d, 0o750)
    path = os.path.join(d, "tokens.db")
    st = Store(f"sqlite3://{path}", "sqlite3", path=path, base=base)
    if init:
        sqlite_init(st)
    else:
        _chown_tree(d)
    return st


def sqlite_init(st):
    st.tool("init", json_out=False)
    _chown_tree(os.path.dirname(st.path))


def server_store(srv):
    """A fresh, initialised store on a dbservers.py server."""
    srv.reset()
    st = Store(srv.url, srv.scheme, server=srv)
    st.tool("init", json_out=False)
    return st


BASE_MODULES = ["authn_core", "authz_core", "authz_user", "authz_host",
                "alias", "mime", "env", "headers", "setenvif", "dir"]

LOG_BAD = re.compile(r"\[[a-z_0-9]*:(warn|error|crit|alert|emerg)\]")


class Httpd:
    """One apache2 from a private ServerRoot; see the module docstring."""

    def __init__(self, db_url, mpm="event", conf="", global_conf="",
                 with_db=True, loglevel="warn apitoken:debug"):
        self.mpm = mpm
        self.root = private_dir("apitoken-httpd-")
        self.port = free_port()
        self.proc = None
        for d in ("conf", "logs", "run", "htdocs", "cgi-bin"):
            os.mkdir(os.path.join(self.root, d), 0o755)
        self._docs()
        cgi = "cgi" if mpm == "prefork" else "cgid"
        mods = BASE_MODULES + [cgi]
        lines = [
            f'ServerRoot "{self.root}"',
            "ServerName 127.0.0.1",
            f"Listen 127.0.0.1:{self.port}",
            "User www-data",
            "Group www-data",
            f'PidFile "{self.root}/run/httpd.pid"',
            f'DefaultRuntimeDir "{self.root}/run"',
            f"Mutex file:{self.root}/run default",
            f'ErrorLog "{self.root}/logs/error_log"',
            f"LogLevel {loglevel}",
            f"LoadModule mpm_{mpm}_module {MODDIR}/mod_mpm_{mpm}.so",
        ]
        lines += [f"LoadModule {m}_module {MODDIR}/mod_{m}.so" for m in mods]
        lines += [
            f"LoadModule apitoken_module {MODULE}",
            'LogFormat "%h %u \\"%r\\" %>s %{APITOKEN_ID}e" apt',
            f'CustomLog "{self.root}/logs/access_log" apt',
            f'DocumentRoot "{self.root}/htdocs"',
            "TypesConfig /etc/mime.types",
            "StartServers 1",
            "MaxRequestWorkers 40" if mpm == "prefork" else "ThreadsPerChild 8",
        ]
        if mpm == "prefork":
            lines += ["ServerLimit 40", "MinSpareServers 1",
                      "MaxSpareServers 40"]
        else:
            lines += ["ServerLimit 6", "MaxRequestWorkers 48",
                      "MinSpareThreads 8", "MaxSpareThreads 48"]
        if cgi == "cgid":
            lines.append(f"ScriptSock {self.root}/run/cgid.sock")
        if with_db:
            lines.append(f'ApiTokenDB "{db_url}"')
        lines.append(global_conf)
        lines.append(conf.replace("@ROOT@", self.root))
        self.conf_path = os.path.join(self.root, "conf", "httpd.conf")
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.error_log = os.path.join(self.root, "logs", "error_log")
        self.access_log = os.path.join(self.root, "logs", "access_log")
        self._mark = 0
        self._amark = 0

    def _docs(self):
        for sub in ("api/dns", "api/email", "api/files", "cpanel", "basic",
                    "hdr", "multi", "user", "usage", "notrack", "m/c", "m/o", "open",
                    "anyof", "allof", "a"):
            d = os.path.join(self.root, "htdocs", sub)
            os.makedirs(d, 0o755, exist_ok=True)
            with open(os.path.join(d, "ok.txt"), "w") as f:
                f.write("ok\n")
        cgi = os.path.join(self.root, "cgi-bin", "env.cgi")
        with open(cgi, "w") as f:
            f.write(ENV_CGI)
        os.chmod(cgi, 0o755)

    # -- lifecycle -------------------------------------------------------
    def configtest(self):
        r = subprocess.run([APACHE2, "-t", "-f", self.conf_path],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def start(self):
        self.stderr_path = os.path.join(self.root, "logs", "stderr")
        self._stderr = open(self.stderr_path, "w")
        env = dict(os.environ)
        if PRELOAD:
            env["LD_PRELOAD"] = PRELOAD
            adir = os.path.join(self.root, "asan")
            os.makedirs(adir, exist_ok=True)
            os.chmod(adir, 0o777)   # the children write as www-data
            env.setdefault("ASAN_OPTIONS", "detect_leaks=0:log_path="
                           + os.path.join(adir, "asan"))
        self.proc = subprocess.Popen(
            [APACHE2, "-f", self.conf_path, "-DFOREGROUND"],
            stdin=subprocess.DEVNULL, stdout=self._stderr,
            stderr=self._stderr, start_new_session=True, env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("apache2 exited at start:\n"
                                   + self.startup_output())
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("apache2 did not answer in time:\n"
                           + self.startup_output())

    def startup_output(self):
        out = ""
        for p in (getattr(self, "stderr_path", None), self.error_log):
            if p and os.path.exists(p):
                out += open(p, errors="replace").read()[-4000:]
        return out

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._stderr.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- requests --------------------------------------------------------
    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, token=None, headers=None, **kw):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        kw.setdefault("timeout", 30)
        kw.setdefault("allow_redirects", False)
        return requests.get(self.url(path), headers=h, **kw)

    def raw(self, path, header_lines):
        """Send a request with exact header lines (duplicates allowed);
        returns (status, headers text)."""
        req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               + "".join(line + "\r\n" for line in header_lines)
               + "Connection: close\r\n\r\n")
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=30) as s:
            s.sendall(req.encode("latin-1"))
            data = b""
            while len(data) < 1 << 20:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        status = int(head.split(" ", 2)[1])
        return status, head

    # -- logs as the oracle ------------------------------------------------
    def _read(self, path):
        if not os.path.exists(path):
            return ""
        with open(path, errors="replace") as f:
            return f.read()

    def mark(self):
        self._mark = len(self._read(self.error_log))
        self._amark = len(self._read(self.access_log))

    def log_since_mark(self):
        return self._read(self.error_log)[self._mark:]

    def wait_log(self, pattern, timeout=10):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = rx.search(self.log_since_mark())
            if m:
                return m
            time.sleep(0.1)
        raise AssertionError(f"no log line matching {pattern!r}:\n"
                             + self.log_since_mark()[-3000:])

    def check_logs(self, secrets=(), allow=()):
        """Fail on an unexpected warning/error since mark() and on any
        secret anywhere in the error, access or stderr logs."""
        problems = []
        for line in self.log_since_mark().splitlines():
            if LOG_BAD.search(line) and not any(re.search(a, line)
                                                for a in allow):
                problems.append(line)
        everything = (self._read(self.error_log) + self._read(self.access_log)
                      + self._read(getattr(self, "stderr_path", "")
                                   or "/nonexistent"))
        adir = os.path.join(self.root, "asan")
        for name in (os.listdir(adir) if os.path.isdir(adir) else []):
            problems.append(self._read(os.path.join(adir, name))[:3000])
        leaked = [s[:8] + "..." for s in secrets if s and s in everything]
        assert not leaked, f"secret in httpd logs: {leaked}"
        assert not problems, "unexpected log lines:\n" + "\n".join(problems)
        self.mark()


def challenge(resp):
    return resp.headers.get("WWW-Authenticate")


def cgi_env(resp):
    env = {}
    for line in resp.text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    return env


# The configuration most tests run: a demo API per feature and one location
# per credential form.
STANDARD_CONF = """
<Location /api/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    Require valid-user
</Location>
<Location /api/dns/>
    Require apitoken-scope dns
</Location>
<Location /api/email/>
    Require apitoken-scope email:write
</Location>
<Location /api/files/>
    Require apitoken-scope files
</Location>
<Location /anyof/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    Require apitoken-scope dns email
</Location>
<Location /allof/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    <RequireAll>
        Require apitoken-scope dns
        Require apitoken-scope email
    </RequireAll>
</Location>
<Location /cpanel/>
    AuthType apitoken
    AuthName "cPanel API"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept scheme:cpanel
    Require apitoken-scope dns
</Location>
<Location /basic/>
    AuthType apitoken
    AuthName "git"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept basic
    Require valid-user
</Location>
<Location /hdr/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept header:X-API-Token
    Require valid-user
</Location>
<Location /multi/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept bearer header:X-API-Token
    Require valid-user
</Location>
<Location /user/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    Require user alice
</Location>
<Location /usage/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    ApiTokenTrackUsage On
    Require valid-user
</Location>
<Location /notrack/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    ApiTokenTrackUsage Off
    Require valid-user
</Location>
ScriptAlias /cgi/ "@ROOT@/cgi-bin/"
ScriptAlias /cgi-strip/ "@ROOT@/cgi-bin/"
<Location /cgi/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept bearer header:X-API-Token
    CGIPassAuth On
    Require valid-user
</Location>
<Location /cgi-strip/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept bearer header:X-API-Token
    ApiTokenStripCredentials On
    CGIPassAuth On
    Require valid-user
</Location>
"""


# Lines the oracle accepts: mod_authz_core logs every refused Require (our
# 403 insufficient_scope) at error level with its own AH number.
ALLOW_AUTHZ = [r"AH01631: user [^:]+: authorization failure"]
ALLOW_DB_DOWN = [r"APT04004: token database .* unreachable",
                 r"APT04008: SQLite token store .* is not usable"]


def open_store(request, kind):
    """A fresh initialised store of kind sqlite3, pgsql or mysql; the
    server kinds use conftest's session servers (started if stopped)."""
    if kind == "sqlite3":
        return sqlite_store()
    srv = request.getfixturevalue("pg_server" if kind == "pgsql"
                                  else "mariadb_server")
    srv.start()
    return server_store(srv)


class Env:
    """A store and an httpd using it."""

    def __init__(self, store, httpd):
        self.store = store
        self.httpd = httpd

    def db_down(self):
        if self.store.kind == "sqlite3":
            os.rename(self.store.path, self.store.path + ".away")
        else:
            self.store.server.stop()

    def db_up(self):
        if self.store.kind == "sqlite3":
            os.rename(self.store.path + ".away", self.store.path)
        else:
            self.store.server.start()

    def close(self):
        try:
            self.httpd.close()
        finally:
            if self.store.kind != "sqlite3":
                self.store.server.start()
            self.store.close()


def start_env(request, kind, mpm="event", conf=STANDARD_CONF, **kw):
    store = open_store(request, kind)
    h = Httpd(store.url, mpm=mpm, conf=conf, **kw)
    try:
        h.start()
    except Exception:
        h.close()
        store.close()
        raise
    return Env(store, h)
