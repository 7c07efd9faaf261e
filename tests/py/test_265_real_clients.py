"""Real clients against real locations: git clone and push over smart HTTP
with oauth2:TOKEN@ (ApiTokenBasicUser any), pip install from a static PEP
503 index with __token__:TOKEN@ (ApiTokenBasicUser __token__), curl
--oauth2-bearer, Python requests (Basic and Bearer, JSON errors).  Event,
prefork (mod_cgi) and worker.  PyPI is never asked: pip gets our index only,
and any other address goes to a closed port on loopback."""

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import urllib.parse
import zipfile

import pytest
import requests

from httpd_server import ALLOW_AUTHZ, Httpd, private_dir, sqlite_store

BACKEND = "/usr/lib/git-core/git-http-backend"
PYTHON = "/usr/bin/python3"

CONF = """
SetEnv GIT_PROJECT_ROOT "@GITROOT@"
SetEnv GIT_HTTP_EXPORT_ALL 1
ScriptAlias /git/ "%s/"
<Location /git/>
    AuthType apitoken
    AuthName "git"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept basic
    ApiTokenBasicUser any
    ApiTokenStripCredentials On
    <If "%%{QUERY_STRING} =~ /service=git-receive-pack/ || %%{REQUEST_URI} =~ m#/git-receive-pack$#">
        Require apitoken-scope git:write
    </If>
    <Else>
        Require apitoken-scope git:read
    </Else>
</Location>
<Location /simple/>
    AuthType apitoken
    AuthName "packages"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept basic
    ApiTokenBasicUser __token__
    Require apitoken-scope packages:read
</Location>
<Location /api/>
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
    Require apitoken-scope dns
</Location>
""" % BACKEND


# -- a tiny wheel and a PEP 503 index, made here ---------------------------

def _record_hash(data):
    d = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(d).rstrip(b"=").decode()


def make_wheel(name="tinypkg", version="1.0"):
    """(filename, bytes) of a pure-Python wheel: a zip with the package,
    METADATA, WHEEL and RECORD (PEP 427)."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 42\n",
        f"{info}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\n"
                             f"Version: {version}\n").encode(),
        f"{info}/WHEEL": (b"Wheel-Version: 1.0\nGenerator: test_265\n"
                          b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
    }
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n"
                     for p, d in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p, d in files.items():
            z.writestr(p, d)
    return f"{name}-{version}-py3-none-any.whl", buf.getvalue()


def make_index(docroot, name="tinypkg"):
    fname, data = make_wheel(name)
    pkg = os.path.join(docroot, "simple", name)
    os.makedirs(pkg, exist_ok=True)
    with open(os.path.join(pkg, fname), "wb") as f:
        f.write(data)
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(pkg, "index.html"), "w") as f:
        f.write("<!DOCTYPE html>\n<html><body>\n"
                f'<a href="{fname}#sha256={digest}">{fname}</a>\n'
                "</body></html>\n")
    with open(os.path.join(docroot, "simple", "index.html"), "w") as f:
        f.write("<!DOCTYPE html>\n<html><body>\n"
                f'<a href="{name}/">{name}</a>\n</body></html>\n')


# -- the server ------------------------------------------------------------

def git(*args, cwd=None, check=True):
    env = {"PATH": "/usr/bin:/bin", "HOME": cwd or "/nonexistent",
           "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "LC_ALL": "C"}
    r = subprocess.run(["git", "-c", "safe.directory=*",
                        "-c", "init.defaultBranch=main"] + list(args),
                       cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=120)
    if check:
        assert r.returncode == 0, f"git {args[0]}: {r.stderr}"
    return r


@pytest.fixture(scope="module", params=["event", "prefork", "worker"])
def env(request):
    store = sqlite_store()
    gitroot = private_dir("apitoken-git-")
    bare = os.path.join(gitroot, "repo.git")
    git("init", "--bare", bare)
    git("--git-dir", bare, "config", "http.receivepack", "true")
    for base, dirs, files in os.walk(gitroot):
        for n in [base] + [os.path.join(base, x) for x in dirs + files]:
            os.chown(n, 33, 33)
    h = Httpd(store.url, mpm=request.param,
              conf=CONF.replace("@GITROOT@", gitroot))
    make_index(os.path.join(h.root, "htdocs"))
    with open(os.path.join(h.root, "htdocs", "api", "dns", "ok.json"),
              "w") as f:
        f.write('{"ok": true}\n')
    h.start()
    yield store, h, bare
    h.close()
    store.close()
    shutil.rmtree(gitroot, ignore_errors=True)


@pytest.fixture(autouse=True)
def oracle(env):
    store, h, bare = env
    h.mark()
    yield
    h.check_logs(store.secrets, allow=ALLOW_AUTHZ)


def git_url(h, user, token):
    return (f"http://{urllib.parse.quote(user)}:{token}@127.0.0.1:"
            f"{h.port}/git/repo.git")


# -- git -------------------------------------------------------------------

def test_265_git_clone_and_push_oauth2(env, tmp_path):
    store, h, bare = env
    t = store.create("alice", scopes=["git"])
    work = str(tmp_path / "w")
    git("clone", git_url(h, "oauth2", t["token"]), work, cwd=str(tmp_path))
    msg = f"from oauth2 under {h.mpm}"
    with open(os.path.join(work, f"file-{h.mpm}"), "w") as f:
        f.write(msg + "\n")
    git("add", f"file-{h.mpm}", cwd=work)
    git("commit", "-m", msg, cwd=work)
    git("pull", "--rebase", "origin", "main", cwd=work, check=False)
    git("push", "origin", "HEAD:main", cwd=work)
    log = git("--git-dir", bare, "log", "--format=%s", "main").stdout
    assert msg in log.splitlines()
    # Another user name, another clone: the pushed file is there.
    again = str(tmp_path / "again")
    git("clone", git_url(h, "x-access-token", t["token"]), again,
        cwd=str(tmp_path))
    with open(os.path.join(again, f"file-{h.mpm}")) as f:
        assert f.read() == msg + "\n"
    # The backend saw the owner, whatever user name git sent.
    with open(h.access_log) as f:
        users = {ln.split(" ")[1] for ln in f.read()[h._amark:].splitlines()
                 if "/git/" in ln and " 200 " in ln}
    assert users == {"alice"}


def test_265_git_wrong_token_or_scope(env, tmp_path):
    store, h, bare = env
    ro = store.create("alice", scopes=["git:read"])
    work = str(tmp_path / "w")
    git("clone", git_url(h, "oauth2", ro["token"]), work, cwd=str(tmp_path))
    with open(os.path.join(work, "denied"), "w") as f:
        f.write("x\n")
    git("add", "denied", cwd=work)
    git("commit", "-m", "denied", cwd=work)
    r = git("push", "origin", "HEAD:main", cwd=work, check=False)
    assert r.returncode != 0 and "403" in r.stderr
    assert "denied" not in git("--git-dir", bare, "log", "--format=%s",
                               "main", check=False).stdout
    t = ro["token"]
    bad = t[:-1] + ("A" if t[-1] != "A" else "B")
    r = git("clone", git_url(h, "oauth2", bad), str(tmp_path / "b"),
            cwd=str(tmp_path), check=False)
    assert r.returncode != 0


# -- pip -------------------------------------------------------------------

def pip_install(h, token, target, user="__token__", pkg="tinypkg"):
    index = (f"http://{urllib.parse.quote(user)}:{token}@127.0.0.1:"
             f"{h.port}/simple/")
    env = {"PATH": "/usr/bin:/bin", "HOME": os.path.dirname(target),
           "LC_ALL": "C.UTF-8", "PIP_CONFIG_FILE": os.devnull,
           # Anything but our index goes to a closed port on loopback.
           "http_proxy": "http://127.0.0.1:9", "https_proxy":
           "http://127.0.0.1:9", "no_proxy": "127.0.0.1"}
    r = subprocess.run([PYTHON, "-m", "pip", "install", "--isolated",
                        "--disable-pip-version-check", "--no-input",
                        "--root-user-action=ignore",
                        "--no-cache-dir", "--index-url", index,
                        "--only-binary", ":all:", "--target", target,
                        "-v", pkg],
                       env=env, capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert "pypi.org" not in out and "pythonhosted" not in out, out
    return r.returncode, out


def test_265_pip_install_with_token(env, tmp_path):
    store, h, bare = env
    t = store.create("alice", scopes=["packages:read"])
    target = str(tmp_path / "site")
    rc, out = pip_install(h, t["token"], target)
    assert rc == 0, out
    assert "Successfully installed tinypkg-1.0" in out
    r = subprocess.run([PYTHON, "-c", "import tinypkg; print(tinypkg.VALUE)"],
                       env={"PYTHONPATH": target, "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "42", r.stderr
    assert t["token"] not in out or "****" in out   # pip masks it


def test_265_pip_refused(env, tmp_path):
    store, h, bare = env
    t = store.create("alice", scopes=["packages:read"])
    other = store.create("alice", scopes=["dns"])
    # A user name this index does not take, then a token without the scope.
    # pip reports a refused index page as "no matching distribution": the
    # error log says which refusal it was.
    for user, tok, why in (
            ("pip", t["token"], r"APT02002: invalid_token: token "
             + t["id"] + ": user_mismatch"),
            ("__token__", other["token"], r"APT03002: insufficient_scope: "
             "token " + other["id"] + " lacks packages:read")):
        rc, out = pip_install(h, tok, str(tmp_path / user), user=user)
        assert rc != 0, out
        assert "No matching distribution found for tinypkg" in out, out
        assert not os.path.exists(str(tmp_path / user / "tinypkg"))
        h.wait_log(why)


# -- curl --------------------------------------------------------------------

def curl(*args):
    r = subprocess.run(["curl", "-sS", "--noproxy", "*", "-w",
                        "\n%{http_code} %{content_type}"] + list(args),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    body, _, tail = r.stdout.rpartition("\n")
    code, _, ctype = tail.partition(" ")
    return int(code), ctype, body


def test_265_curl_oauth2_bearer(env):
    store, h, bare = env
    t = store.create("alice", scopes=["dns"])
    code, ctype, body = curl("--oauth2-bearer", t["token"],
                             h.url("/api/dns/ok.json"))
    assert (code, body) == (200, '{"ok": true}\n')
    store.expire(t["id"], "2020-01-01T00:00:00Z")
    code, ctype, body = curl("--oauth2-bearer", t["token"], "-H",
                             "Accept: application/json",
                             h.url("/api/dns/ok.json"))
    assert code == 401 and ctype == "application/json"
    assert json.loads(body) == {
        "error": "invalid_token",
        "error_description": "the token expired at 2020-01-01T00:00:00Z"}
    # curl's default Accept (*/*) keeps httpd's page.
    code, ctype, body = curl("--oauth2-bearer", t["token"],
                             h.url("/api/dns/ok.json"))
    assert code == 401 and ctype.startswith("text/html")


# -- Python requests -----------------------------------------------------------

def test_265_requests(env):
    store, h, bare = env
    t = store.create("alice", scopes=["dns", "packages:read"])
    s = requests.Session()
    s.trust_env = False
    s.headers["Accept"] = "application/json"
    r = s.get(h.url("/api/dns/ok.json"),
              headers={"Authorization": "Bearer " + t["token"]}, timeout=30)
    assert r.status_code == 200 and r.json() == {"ok": True}
    r = s.get(h.url("/simple/tinypkg/"), auth=("__token__", t["token"]),
              timeout=30)
    assert r.status_code == 200 and "tinypkg-1.0-py3-none-any.whl" in r.text
    r = s.get(h.url("/simple/tinypkg/"), auth=("nobody", t["token"]),
              timeout=30)
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_token", "error_description":
                        "the user name does not match the token's owner"}
    store.revoke(t["id"])
    r = s.get(h.url("/api/dns/ok.json"),
              headers={"Authorization": "Bearer " + t["token"]}, timeout=30)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert r.json()["error_description"].startswith(
        "the token was revoked at ")
    r = s.get(h.url("/api/dns/ok.json"), timeout=30)
    assert r.status_code == 401
    assert r.json() == {"error": None, "error_description":
                        "this resource needs an access token"}
