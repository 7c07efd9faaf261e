"""A httpd serving the token management API and page (SetHandler
apitoken-manage), for the test_6xx suites.

    env = ManageEnv(request)            # SQLite store + httpd, started
    r = env.call("alice", "POST", "api/tokens", {"name": "ci", ...})
    env.close()

/manage/ is protected by HTTP Basic (mod_auth_basic + mod_authn_file, a
private htpasswd file); /tmanage/ by API tokens (AuthType apitoken).  Both
serve the page from a copy of the source tree's manage/ directory in the
server root, which httpd's user can read wherever the checkout is.
"""

import base64
import hashlib
import json
import os
import re
import shutil

import requests

from httpd_server import (ALLOW_AUTHZ, ALLOW_DB_DOWN, Env, Httpd,
                          STANDARD_CONF, open_store)

SRC_ASSETS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "manage")

USERS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw",
         "root": "root-pw", "dave": "dave-pw"}

FEATURES = [("dns", "DNS zones and records"),
            ("email", "Mailboxes and forwarders"),
            ("files", "Files in the web space"),
            ("tokens", "Manage API tokens")]

CSRF = {"X-Requested-With": "apitoken"}

# The management suites run under each of these.
MPMS = ["prefork", "worker", "event"]

ALLOW = ALLOW_AUTHZ + [r"AH01617: user .*: authentication failure"]


def manage_conf(limit=1000):
    feats = "\n".join(f'    ApiTokenFeature {n} "{d}"' for n, d in FEATURES)
    common = f"""    SetHandler apitoken-manage
    ApiTokenManage On
    ApiTokenManageAssets "@ROOT@/manage"
    ApiTokenManageAdmins root
{feats}
"""
    return STANDARD_CONF + f"""
<Location /manage/>
    AuthType Basic
    AuthName "Token management"
    AuthBasicProvider file
    AuthUserFile "@ROOT@/conf/htpasswd"
    Require valid-user
{common}    ApiTokenManageCreateLimit {limit}
</Location>
<Location /limited/>
    AuthType Basic
    AuthName "Token management"
    AuthBasicProvider file
    AuthUserFile "@ROOT@/conf/htpasswd"
    Require valid-user
{common}    ApiTokenManageCreateLimit 3
</Location>
<Location /panel>
    AuthType Basic
    AuthName "Token management"
    AuthBasicProvider file
    AuthUserFile "@ROOT@/conf/htpasswd"
    Require valid-user
{common}</Location>
<Location /tmanage/>
    AuthType apitoken
    AuthName "Token management"
    AuthzSendForbiddenOnFailure On
    Require valid-user
{common}    ApiTokenManageCreateLimit {limit}
</Location>
"""


GLOBAL = """LoadModule auth_basic_module /usr/lib/apache2/modules/mod_auth_basic.so
LoadModule authn_file_module /usr/lib/apache2/modules/mod_authn_file.so
"""


def install_assets(root):
    """Copy the page into the server root (world-readable, like /tmp's
    server roots): a checkout in /root (mode 700) is not readable by the
    user httpd runs as."""
    dst = os.path.join(root, "manage")
    shutil.copytree(SRC_ASSETS, dst, dirs_exist_ok=True)
    os.chmod(dst, 0o755)
    for n in os.listdir(dst):
        os.chmod(os.path.join(dst, n), 0o644)
    return dst


def write_htpasswd(path):
    with open(path, "w") as f:
        for u, pw in USERS.items():
            digest = base64.b64encode(hashlib.sha1(pw.encode()).digest())
            f.write(f"{u}:{{SHA}}{digest.decode()}\n")
    os.chmod(path, 0o644)


# A child that died of a signal (an assertion's abort included), as the
# parent logs it at notice level, and the assertion itself on stderr.
CHILD_CRASH = re.compile(r"exit signal|Assertion .* failed|dumped core")


class ManageEnv(Env):
    def __init__(self, request, kind="sqlite3", mpm="event", conf="",
                 global_conf=""):
        store = open_store(request, kind)
        h = Httpd(store.url, mpm=mpm, conf=manage_conf() + conf,
                  global_conf=GLOBAL + global_conf)
        write_htpasswd(os.path.join(h.root, "conf", "htpasswd"))
        install_assets(h.root)
        try:
            h.start()
        except Exception:
            h.close()
            store.close()
            raise
        super().__init__(store, h)
        self.secrets = store.secrets
        self.origin = f"http://127.0.0.1:{h.port}"

    def url(self, path, base="/manage/"):
        return self.httpd.url(base + path)

    def call(self, user, method, path, body=None, headers=None,
             base="/manage/", token=None, raw=None, check_headers=True):
        """One API request as user (Basic) or with token (Bearer); the
        CSRF header and a JSON body are sent for state changes unless
        headers say otherwise.  Every response must carry no-store."""
        h = {}
        if method != "GET":
            h.update(CSRF)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        auth = None
        if token:
            h["Authorization"] = f"Bearer {token}"
        elif user:
            auth = (user, USERS[user])
        data = raw
        if data is None and body is not None:
            data = json.dumps(body)
        if data is None and method not in ("GET", "HEAD"):
            data = "{}"
        r = requests.request(method, self.url(path, base), data=data,
                             headers=h, auth=auth, timeout=30,
                             allow_redirects=False)
        if check_headers and r.status_code != 401:
            assert r.headers.get("Cache-Control") == "no-store", \
                (method, path, r.status_code, r.headers)
        if "token" in (r.headers.get("Content-Type") or "") or True:
            m = re.search(r'"token": "([^"]+)"', r.text)
            if m:
                self.secrets.append(m.group(1))
        return r

    def create(self, user="alice", **body):
        body.setdefault("scopes", ["dns"])
        r = self.call(user, "POST", "api/tokens", body)
        assert r.status_code == 201, r.text
        return r.json()

    def api_get(self, path, token):
        return self.httpd.get(path, token=token)

    def check_logs(self, extra=()):
        self.httpd.check_logs(self.secrets, allow=ALLOW + list(extra))

    def stop_and_check(self, extra=()):
        """Stop httpd, then check the logs since mark(), shutdown included:
        no unexpected line and no child killed by a signal."""
        self.httpd.stop()
        since = self.httpd.log_since_mark()
        stderr = self.httpd._read(getattr(self.httpd, "stderr_path", "")
                                  or "/nonexistent")
        crashes = [ln for ln in (since + stderr).splitlines()
                   if CHILD_CRASH.search(ln)]
        assert not crashes, "httpd children crashed:\n" + "\n".join(crashes)
        self.check_logs(extra)


def started_env(request, mpm):
    """A suite's ManageEnv as a generator fixture body: started and marked;
    stopped and its logs checked when the suite ends."""
    e = ManageEnv(request, mpm=mpm)
    e.httpd.mark()
    yield e
    try:
        e.stop_and_check()
    finally:
        e.close()


__all__ = ["ManageEnv", "started_env", "CHILD_CRASH", "MPMS", "USERS", "FEATURES", "CSRF",
           "ALLOW", "ALLOW_DB_DOWN", "SRC_ASSETS", "install_assets",
           "write_htpasswd", "manage_conf", "GLOBAL"]
