"""ApiTokenBasicUser: which user names Basic may carry with a token.
owner (the default) takes the owner's name only, any takes every name
(git hosts: x-access-token, oauth2), a list takes those names as well as
the owner's (PyPI-style indexes: __token__).  Names, the owner's too,
compare without regard to the case of ASCII letters; REMOTE_USER is always
the owner as stored.  The cPanel form keeps requiring the owner.  Event and
prefork."""

import base64
import os
import re

import pytest

from httpd_server import Httpd, challenge, sqlite_store

CONF = """
<Location /b/>
    AuthType apitoken
    AuthName "git"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept basic
    Require valid-user
</Location>
<Location /b/any/>
    ApiTokenBasicUser any
</Location>
<Location /b/any/owner/>
    # The default value, set explicitly, overrides the parent's 'any'.
    ApiTokenBasicUser owner
</Location>
<Location /b/names/>
    ApiTokenBasicUser __token__ x-access-token
</Location>
<Location /b/mixed/>
    ApiTokenAccept basic scheme:cpanel
    ApiTokenBasicUser any
</Location>
"""

DIRS = ["b", "b/any", "b/any/owner", "b/any/c", "b/names", "b/mixed"]


@pytest.fixture(scope="module", params=["event", "prefork"])
def env(request):
    store = sqlite_store()
    h = Httpd(store.url, mpm=request.param, conf=CONF)
    for d in DIRS:
        p = os.path.join(h.root, "htdocs", d)
        os.makedirs(p, exist_ok=True)
        with open(os.path.join(p, "ok.txt"), "w") as f:
            f.write("ok\n")
    h.start()
    yield store, h
    h.close()
    store.close()


@pytest.fixture(autouse=True)
def oracle(request):
    if "env" not in request.fixturenames:
        yield                       # the configuration tests start no httpd
        return
    store, h = request.getfixturevalue("env")
    h.mark()
    yield
    h.check_logs(store.secrets)


@pytest.fixture(scope="module")
def tok(env):
    store, h = env
    return store.create("alice", scopes=["git"])


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def get(h, path, user, token):
    return h.get(path, headers={"Authorization": basic(user, token)})


def assert_ok(h, path, user, token):
    r = get(h, path, user, token)
    assert r.status_code == 200, (path, user, r.status_code)
    assert r.text == "ok\n"


def assert_refused(h, path, user, token, reason="user_mismatch"):
    r = get(h, path, user, token)
    assert r.status_code == 401, (path, user, r.status_code)
    assert 'error="invalid_token"' in challenge(r)
    h.wait_log(r"APT02002: invalid_token: token \S+: " + reason)


def remote_users(h):
    """The %u field of the access log lines since mark()."""
    with open(h.access_log) as f:
        lines = f.read()[h._amark:].splitlines()
    return [ln.split(" ")[1] for ln in lines]


def test_225_default_is_owner_only(env, tok):
    store, h = env
    assert_ok(h, "/b/ok.txt", "alice", tok["token"])
    for user in ("bob", "__token__", "x-access-token", "alic", "alice2"):
        assert_refused(h, "/b/ok.txt", user, tok["token"])


def test_225_owner_case_blind(env, tok):
    store, h = env
    for user in ("Alice", "ALICE", "aLiCe"):
        assert_ok(h, "/b/ok.txt", user, tok["token"])
    # The backend sees the owner as stored, not as the client spelt it.
    assert set(remote_users(h)) == {"alice"}


def test_225_any(env, tok):
    store, h = env
    for user in ("oauth2", "x-access-token", "__token__", "bob", "alice",
                 "OAuth2", "anything.at.all"):
        assert_ok(h, "/b/any/ok.txt", user, tok["token"])
    assert set(remote_users(h)) == {"alice"}


def test_225_any_still_needs_the_secret(env, tok):
    store, h = env
    t = tok["token"]
    wrong = t[:20] + ("A" if t[20] != "A" else "B") + t[21:]
    r = get(h, "/b/any/ok.txt", "oauth2", wrong)
    assert r.status_code == 401
    r = get(h, "/b/any/ok.txt", "oauth2", "hunter2")
    assert r.status_code == 401


def test_225_names_in_addition_to_owner(env, tok):
    store, h = env
    for user in ("__token__", "x-access-token", "X-Access-Token",
                 "__TOKEN__", "alice", "Alice"):
        assert_ok(h, "/b/names/ok.txt", user, tok["token"])
    for user in ("oauth2", "bob", "token", "__token", "x-access-token2"):
        assert_refused(h, "/b/names/ok.txt", user, tok["token"])
    assert set(remote_users(h)) <= {"alice", "-"}


def test_225_merge_child_inherits(env, tok):
    store, h = env
    assert_ok(h, "/b/any/c/ok.txt", "oauth2", tok["token"])


def test_225_merge_child_sets_default_value(env, tok):
    # 'owner' written in a child wins over the parent's 'any', although it
    # is the default value: the merge asks whether it was set.
    store, h = env
    assert_ok(h, "/b/any/owner/ok.txt", "alice", tok["token"])
    assert_refused(h, "/b/any/owner/ok.txt", "oauth2", tok["token"])


def test_225_cpanel_keeps_requiring_owner(env, tok):
    store, h = env
    t = tok["token"]
    assert_ok(h, "/b/mixed/ok.txt", "oauth2", t)
    r = h.get("/b/mixed/ok.txt", headers={"Authorization": "cpanel alice:"
                                          + t})
    assert r.status_code == 200
    r = h.get("/b/mixed/ok.txt", headers={"Authorization": "cpanel ALICE:"
                                          + t})
    assert r.status_code == 200
    r = h.get("/b/mixed/ok.txt", headers={"Authorization": "cpanel oauth2:"
                                          + t})
    assert r.status_code == 401
    h.wait_log(r"APT02002: invalid_token: token \S+: user_mismatch")


GOOD = """
<Location /x/>
    AuthType apitoken
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept basic
    ApiTokenBasicUser %s
    Require valid-user
</Location>
"""


@pytest.mark.parametrize("words", ["owner", "any", "__token__",
                                   "owner __token__ x-access-token",
                                   "OWNER", "Any", "\"__token__\""])
def test_225_config_good(words):
    store = sqlite_store()
    h = Httpd(store.url, conf=GOOD % words)
    try:
        rc, out = h.configtest()
        assert rc == 0, out
    finally:
        h.close()
        store.close()


@pytest.mark.parametrize("words,bad", [
    ("", "needs owner, any or at least one name"),
    ("any __token__", "'any' takes no other words"),
    ("owner any", "'any' takes no other words"),
    ("a:b", "'a:b' is not a user name"),
    ("\"a b\"", "'a b' is not a user name"),
])
def test_225_config_bad(words, bad):
    store = sqlite_store()
    h = Httpd(store.url, conf=GOOD % words)
    try:
        rc, out = h.configtest()
        assert rc != 0, out
        assert "ApiTokenBasicUser" in out and bad in out, out
        assert re.search(r"line \d+", out), out
    finally:
        h.close()
        store.close()
