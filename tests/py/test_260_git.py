"""A real client beyond curl: git clone and git push over smart HTTP
(git-http-backend) through a location that accepts Basic, with the token
as the password.  Pushing needs the git:write scope; git:read clones."""

import os
import shutil
import subprocess
import urllib.parse

import pytest

from httpd_server import ALLOW_AUTHZ, Httpd, private_dir, sqlite_store

BACKEND = "/usr/lib/git-core/git-http-backend"

GIT_CONF = """
SetEnv GIT_PROJECT_ROOT "@GITROOT@"
SetEnv GIT_HTTP_EXPORT_ALL 1
ScriptAlias /git/ "%s/"
<Location /git/>
    AuthType apitoken
    AuthName "git"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept basic
    ApiTokenStripCredentials On
    <If "%%{QUERY_STRING} =~ /service=git-receive-pack/ || %%{REQUEST_URI} =~ m#/git-receive-pack$#">
        Require apitoken-scope git:write
    </If>
    <Else>
        Require apitoken-scope git:read
    </Else>
</Location>
""" % BACKEND


def git(*args, cwd=None, check=True, env_extra=None):
    env = {"PATH": "/usr/bin:/bin", "HOME": cwd or "/nonexistent",
           "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "LC_ALL": "C"}
    env.update(env_extra or {})
    r = subprocess.run(["git", "-c", "safe.directory=*",
                        "-c", "init.defaultBranch=main"] + list(args),
                       cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=120)
    if check:
        assert r.returncode == 0, f"git {args[0]}: {r.stderr}"
    return r


@pytest.fixture(scope="module")
def env():
    store = sqlite_store()
    gitroot = private_dir("apitoken-git-")
    bare = os.path.join(gitroot, "repo.git")
    git("init", "--bare", bare)
    git("--git-dir", bare, "config", "http.receivepack", "true")
    for base, dirs, files in os.walk(gitroot):
        for n in [base] + [os.path.join(base, x) for x in dirs + files]:
            os.chown(n, 33, 33)
    h = Httpd(store.url, conf=GIT_CONF.replace("@GITROOT@", gitroot),
              mpm="event")
    h.start()
    yield store, h, bare
    h.close()
    store.close()
    shutil.rmtree(gitroot, ignore_errors=True)


def url(h, user, token):
    return (f"http://{urllib.parse.quote(user)}:{token}@127.0.0.1:"
            f"{h.port}/git/repo.git")


def test_260_clone_and_push(env, tmp_path):
    store, h, bare = env
    h.mark()
    t = store.create("alice", scopes=["git"])
    work = str(tmp_path / "w")
    git("clone", url(h, "alice", t["token"]), work, cwd=str(tmp_path))
    with open(os.path.join(work, "README"), "w") as f:
        f.write("hello\n")
    git("add", "README", cwd=work)
    git("commit", "-m", "first", cwd=work)
    git("push", "origin", "HEAD:main", cwd=work)
    log = git("--git-dir", bare, "log", "--format=%s", "main").stdout
    assert log.strip() == "first"
    # A second clone sees the pushed commit.
    again = str(tmp_path / "again")
    git("clone", url(h, "alice", t["token"]), again, cwd=str(tmp_path))
    assert open(os.path.join(again, "README")).read() == "hello\n"
    h.check_logs(store.secrets, allow=ALLOW_AUTHZ)


def test_260_credential_helper(env, tmp_path):
    store, h, bare = env
    h.mark()
    t = store.create("alice", scopes=["git:read"])
    cred = tmp_path / "cred"
    plain = f"http://127.0.0.1:{h.port}/git/repo.git"
    # git-credential-store's file format is a URL per line.
    cred.write_text(f"http://alice:{t['token']}@127.0.0.1:{h.port}\n")
    work = str(tmp_path / "w")
    git("-c", f"credential.helper=store --file={cred}", "clone", plain,
        work, cwd=str(tmp_path))
    assert os.path.exists(os.path.join(work, "README"))
    h.check_logs(store.secrets, allow=ALLOW_AUTHZ)


def test_260_read_only_token_cannot_push(env, tmp_path):
    store, h, bare = env
    h.mark()
    ro = store.create("alice", scopes=["git:read"])
    work = str(tmp_path / "w")
    git("clone", url(h, "alice", ro["token"]), work, cwd=str(tmp_path))
    with open(os.path.join(work, "x"), "w") as f:
        f.write("x\n")
    git("add", "x", cwd=work)
    git("commit", "-m", "denied", cwd=work)
    r = git("push", "origin", "HEAD:main", cwd=work, check=False)
    assert r.returncode != 0
    assert "403" in r.stderr
    log = git("--git-dir", bare, "log", "--format=%s", "main").stdout
    assert "denied" not in log
    h.check_logs(store.secrets, allow=ALLOW_AUTHZ)


def test_260_wrong_user_or_token(env, tmp_path):
    store, h, bare = env
    h.mark()
    t = store.create("alice", scopes=["git"])
    r = git("clone", url(h, "bob", t["token"]), str(tmp_path / "a"),
            cwd=str(tmp_path), check=False)
    assert r.returncode != 0
    other = store.create("carol", scopes=["dns"])
    r = git("clone", url(h, "carol", other["token"]), str(tmp_path / "b"),
            cwd=str(tmp_path), check=False)
    assert r.returncode != 0
    h.check_logs(store.secrets, allow=ALLOW_AUTHZ)
