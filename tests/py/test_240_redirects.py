"""The identity survives httpd's internal redirects: a CGI reached through
DirectoryIndex (mod_dir's fast redirect) or an ErrorDocument still sees
REMOTE_USER and APITOKEN_*; usage tracking still records the token."""

import time

import pytest

from httpd_server import ALLOW_AUTHZ, cgi_env, start_env

CONF = """
Alias /idx/ "@ROOT@/cgi-bin/"
<Directory "@ROOT@/cgi-bin/">
    Options +ExecCGI
    AddHandler cgi-script .cgi
    DirectoryIndex env.cgi
</Directory>
Alias /errdoc/ "@ROOT@/cgi-bin/"
<Location /idx/>
    AuthType apitoken
    AuthName "API"
    AuthzSendForbiddenOnFailure On
    ApiTokenTrackUsage On
    Require apitoken-scope dns
</Location>
<Location /errdoc/>
    AuthType apitoken
    AuthName "API"
    AuthzSendForbiddenOnFailure On
    # Same section: httpd skips authentication for the redirect and
    # renames the environment REDIRECT_*; the module sets it again.
    ErrorDocument 404 /errdoc/env.cgi
    Require apitoken-scope dns
</Location>
"""


@pytest.fixture(scope="module", params=["event", "prefork"])
def env(request):
    e = start_env(request, "sqlite3", mpm=request.param, conf=CONF,
                  global_conf="ApiTokenUsageInterval 0")
    yield e
    e.close()


@pytest.fixture(autouse=True)
def oracle(env):
    env.httpd.mark()
    yield
    env.httpd.check_logs(env.store.secrets, allow=ALLOW_AUTHZ)


def test_240_directory_index(env):
    t = env.store.create("alice", name="idx", scopes=["dns"])
    r = env.httpd.get("/idx/", token=t["token"])
    assert r.status_code == 200, r.text
    e = cgi_env(r)
    assert e["REMOTE_USER"] == "alice"
    assert e["APITOKEN_ID"] == t["id"]
    assert e["APITOKEN_NAME"] == "idx"
    assert e["APITOKEN_SCOPES"] == "dns"
    deadline = time.monotonic() + 10
    while env.store.show(t["id"])["last_used_at"] is None \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert env.store.show(t["id"])["last_used_at"] is not None


def test_240_directory_index_needs_token(env):
    assert env.httpd.get("/idx/").status_code == 401


def test_240_error_document(env):
    t = env.store.create("alice", name="err", scopes=["dns"])
    r = env.httpd.get("/errdoc/missing.txt", token=t["token"])
    assert r.status_code == 404
    e = cgi_env(r)
    assert e["REMOTE_USER"] == "alice"
    assert e["APITOKEN_ID"] == t["id"]
