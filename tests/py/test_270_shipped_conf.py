"""The shipped configuration files: apitoken.load/apitoken.conf parse, the
annotated sample parses without warnings, names every directive, and its
demo API answers 200/403 as documented."""

import re

import pytest

from httpd_server import (ALLOW_AUTHZ, MODULE, TOP, Httpd, challenge,
                          sqlite_store)

CONF = TOP / "conf"
DIRECTIVES = ["ApiTokenDB", "ApiTokenDBDriverDir", "ApiTokenDBMaxConnections",
              "ApiTokenDBIdleTimeout",
              "ApiTokenUsageInterval", "ApiTokenAccept", "ApiTokenCacheTTL",
              "ApiTokenTrackUsage", "ApiTokenStripCredentials",
              "ApiTokenCache", "ApiTokenDBFastPath", "ApiTokenBasicUser",
              "ApiTokenResource"]


def sample_body(db_url):
    text = (CONF / "apitoken-sample.conf").read_text()
    # Our httpd_server writes LoadModule and ApiTokenDB itself.
    text = re.sub(r"(?m)^LoadModule apitoken_module .*$", "", text)
    return re.sub(r'(?m)^ApiTokenDB ".*"$', "", text)


@pytest.fixture(scope="module")
def store():
    st = sqlite_store()
    yield st
    st.close()


def test_270_load_file():
    text = (CONF / "apitoken.load").read_text()
    assert re.search(r"(?m)^LoadModule apitoken_module "
                     r"/usr/lib/apache2/modules/mod_apitoken\.so$", text)


def test_270_conf_file_parses(store):
    body = (CONF / "apitoken.conf").read_text()
    h = Httpd(store.url, conf=body)
    try:
        rc, out = h.configtest()
    finally:
        h.close()
    assert rc == 0, out
    assert "APT0" not in out


def test_270_sample_documents_every_directive():
    text = (CONF / "apitoken-sample.conf").read_text()
    # The directives of the settings and of the cache (the management
    # handler's are in docs/directives.md, not in this sample).
    src = "".join((TOP / "mod_apitoken" / f).read_text()
                  for f in ("apitoken_config.h", "apitoken_cache.h"))
    declared = set(re.findall(r'AP_INIT_\w+\("(ApiToken\w+)"', src))
    assert declared == set(DIRECTIVES)
    for d in DIRECTIVES:
        assert re.search(rf"(?m)^#? ?{d} ", text), d
    for loc in ("/api/dns/", "/api/email/", "/api/files/"):
        assert f"<Location {loc}>" in text


def test_270_sample_parses_without_warnings(store):
    h = Httpd(store.url, conf=sample_body(store.url))
    try:
        rc, out = h.configtest()
    finally:
        h.close()
    assert rc == 0, out
    assert "APT01001" not in out


def test_270_sample_demo(store):
    dns = store.create("alice", scopes=["dns"])
    full = store.create("alice", full=True)
    h = Httpd(store.url, conf=sample_body(store.url))
    try:
        h.start()
        h.mark()
        assert h.get("/api/dns/ok.txt", token=dns["token"]).status_code \
            == 200
        r = h.get("/api/email/ok.txt", token=dns["token"])
        assert r.status_code == 403
        assert 'error="insufficient_scope", ' in challenge(r)
        assert challenge(r).endswith(', scope="email"')
        assert h.get("/api/email/ok.txt",
                     token=full["token"]).status_code == 200
        assert h.get("/api/dns/ok.txt", headers={
            "X-API-Token": dns["token"]}).status_code == 200
        # /execute/ has no document: 404 shows the token got through.
        assert h.get("/execute/", headers={
            "Authorization": "cpanel alice:" + dns["token"]}).status_code \
            == 404
        # /api/zones/ has no documents: 404 is through, 403 is refused.
        zone = store.create("alice", scopes=["dns"],
                            resources=["example.com"])
        assert h.get("/api/zones/example.com/x",
                     token=zone["token"]).status_code == 404
        assert h.get("/api/zones/example.net/x",
                     token=zone["token"]).status_code == 403
        h.check_logs(store.secrets, allow=ALLOW_AUTHZ)
    finally:
        h.close()
    assert MODULE.exists()
