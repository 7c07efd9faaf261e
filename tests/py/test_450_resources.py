"""Tokens limited to resources: `Require apitoken-resource` against the
request's resource that `ApiTokenResource` computes, on every engine and
under event and prefork (one server each): the DNS-01 story with curl,
wildcards, case, percent-encoding (the same decision for both spellings),
empty and hostile resources, resource plus scope in <RequireAll>, and the
decision served from the cache as from the database."""

import re
import subprocess

import pytest

from httpd_server import ALLOW_AUTHZ, MODDIR, Httpd, challenge, open_store

# Every URL below /dns/ and /files/ serves one file, so a status says what
# authz decided, not whether a file exists.
RESOURCE_CONF = """
AliasMatch "^/(dns|files|nores)/" "@ROOT@/htdocs/a/ok.txt"
<LocationMatch "^/(dns|files|nores)/">
    AuthType apitoken
    AuthName "Hosting API"
    AuthzSendForbiddenOnFailure On
</LocationMatch>
<Location /dns/>
    # Per directory, SetEnvIf sees the decoded, normalised path.
    SetEnvIf Request_URI "^/dns/[^/]+/([^/]*)/" RES=$1
    ApiTokenResource "%{env:RES}"
    <RequireAll>
        Require apitoken-scope dns
        Require apitoken-resource
    </RequireAll>
</Location>
<Location /files/>
    ApiTokenResource "%{REQUEST_URI}"
    Require apitoken-resource
</Location>
<Location /nores/>
    Require apitoken-resource
</Location>
"""

ALLOW = ALLOW_AUTHZ + [r"APT03003: Require apitoken-resource without"]

# Every engine under both MPMs the issue names.
COMBOS = [("sqlite3", "event"), ("sqlite3", "prefork"),
          pytest.param(("pgsql", "event"), marks=pytest.mark.external),
          pytest.param(("pgsql", "prefork"), marks=pytest.mark.external),
          pytest.param(("mysql", "event"), marks=pytest.mark.external),
          pytest.param(("mysql", "prefork"), marks=pytest.mark.external)]


@pytest.fixture(scope="module", params=COMBOS,
                ids=lambda c: "-".join(c))
def env(request):
    kind, mpm = request.param
    store = open_store(request, kind)
    # The shared cache (shmcb) on, so that later requests are cache hits.
    h = Httpd(store.url, mpm=mpm, conf=RESOURCE_CONF,
              global_conf=f"LoadModule socache_shmcb_module "
                          f"{MODDIR}/mod_socache_shmcb.so")
    try:
        h.start()
        toks = {
            "acme": store.create("alice", scopes=["dns"],
                                 resources=["_acme-challenge.example.com"]),
            "zones": store.create("alice", scopes=["dns"],
                                  resources=["Example.COM", "*.example.org"]),
            "any": store.create("alice", scopes=["dns"]),
            "email": store.create("alice", scopes=["email"],
                                  resources=["example.com"]),
            "files": store.create("alice", full=True,
                                  resources=["/files/backup/*"]),
        }
        yield h, store, toks
        h.check_logs(secrets=store.secrets, allow=ALLOW)
    finally:
        h.close()
        if kind != "sqlite3":
            store.server.start()
        store.close()


def desc(resp):
    m = re.search(r'error_description="([^"]*)"', challenge(resp))
    return m.group(1) if m else None


def test_450_dns01_story_with_curl(env):
    h, store, t = env
    tok = t["acme"]["token"]

    def curl(path):
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                            "%{http_code}", "-H",
                            f"Authorization: Bearer {tok}", h.url(path)],
                           capture_output=True, text=True, timeout=30)
        return r.stdout

    assert curl("/dns/records/_acme-challenge.example.com/") == "200"
    assert curl("/dns/records/www.example.com/") == "403"
    assert curl("/dns/zones/example.com/") == "403"


@pytest.mark.parametrize("path,want", [
    ("/dns/zones/example.com/", 200),
    ("/dns/zones/EXAMPLE.com/", 200),          # names: any case
    ("/dns/zones/example.com./", 200),         # one trailing dot
    ("/dns/zones/%65xample.com/", 200),        # decoded before matching
    ("/dns/zones/www.example.com/", 403),
    ("/dns/zones/a.example.org/", 200),        # wildcard
    ("/dns/zones/a.b.EXAMPLE.org/", 200),
    ("/dns/zones/example.org/", 403),          # "*." needs a label
    ("/dns/zones/%65xample.org/", 403),
    ("/dns/zones/example.net/", 403),
])
def test_450_zone_patterns(env, path, want):
    h, store, t = env
    # Three times: the first decision comes from the database, the later
    # ones from the cache, which must carry the patterns too.
    for _ in range(3):
        r = h.get(path, token=t["zones"]["token"])
        assert r.status_code == want, (path, r.status_code, r.text)
    if want == 403:
        assert 'error="insufficient_scope"' in challenge(r)
        assert desc(r).startswith("the token does not give access to "
                                  "resource '")


def test_450_named_in_description_and_json(env):
    h, store, t = env
    r = h.get("/dns/zones/example.net/", token=t["zones"]["token"],
              headers={"Accept": "application/json"})
    assert r.status_code == 403
    assert desc(r) == ("the token does not give access to resource "
                       "'example.net'")
    doc = r.json()
    assert doc["error"] == "insufficient_scope"
    assert "example.net" in doc["error_description"]


def test_450_unrestricted_and_scope_in_requireall(env):
    h, store, t = env
    assert h.get("/dns/zones/anything.test/",
                 token=t["any"]["token"]).status_code == 200
    # The resource matches but the scope does not: <RequireAll> refuses.
    r = h.get("/dns/zones/example.com/", token=t["email"]["token"])
    assert r.status_code == 403
    # No credential at all is still 401.
    assert h.get("/dns/zones/example.com/").status_code == 401


@pytest.mark.parametrize("path,why", [
    ("/dns/zones/ok.txt", "empty"),                  # no resource
    ("/dns/zones/a..b/", '".."'),
    ("/dns/zones/a%01b/", "control character"),
    ("/dns/zones/a%09b/", "control character"),
    ("/dns/zones/" + "a" * 1100 + "/", "longer than 1024"),
])
def test_450_hostile_resources_refused_even_unrestricted(env, path, why):
    h, store, t = env
    for name in ("any", "zones"):
        r = h.get(path, token=t[name]["token"])
        assert r.status_code == 403, (name, r.status_code)
        d = desc(r)
        assert d and why.replace('"', "?") in d, d
        assert len(d) < 300 and not re.search(r"[\x00-\x1f\x7f]", d), d


def test_450_paths_and_missing_directive(env):
    h, store, t = env
    tok = t["files"]["token"]
    assert h.get("/files/backup/2026/db.sql", token=tok).status_code == 200
    assert h.get("/files/backup%2Fx", token=tok).status_code in (403, 404)
    assert h.get("/files/Backup/x", token=tok).status_code == 403
    assert h.get("/files/other/x", token=tok).status_code == 403
    # "/files/backup/../other" is normalised by httpd before authz.
    r = h.get("/files/%2e%2e/files/other/x", token=tok)
    assert r.status_code in (400, 403)
    # Require apitoken-resource where no ApiTokenResource is set: refused,
    # even to an unrestricted token.
    assert h.get("/nores/x", token=t["any"]["token"]).status_code == 403


def test_450_upgrade_from_schema_3(backend):
    """`apitoken init` adds the resources column to a schema 3 database;
    its tokens stay unrestricted and can be limited afterwards."""
    from conftest import run, runjson
    assert run(["init"], db=backend.url)[0] == 0
    rc, old, err = runjson(["create", "--owner", "alice", "--name", "old",
                            "--scope", "dns"], db=backend.url)
    assert rc == 0, err
    backend.sql("ALTER TABLE apitoken_tokens DROP COLUMN resources")
    backend.sql("UPDATE apitoken_meta SET schema_version = 3")
    rc, out, err = run(["list"], db=backend.url)
    assert rc == 3 and "run apitoken init to upgrade" in err, err
    rc, up, err = runjson(["init"], db=backend.url)
    assert rc == 0 and up["schema_version"] == 4 and up["upgraded"], err
    rc, shown, err = runjson(["show", old["id"]], db=backend.url)
    assert rc == 0 and shown["resources"] == [], err
    rc, doc, err = runjson(["scope", old["id"], "--add-resource",
                            "Example.com."], db=backend.url)
    assert rc == 0 and doc["resources"] == ["example.com"], err


def test_450_tool_resources(backend):
    """create --resource, scope --add-resource/--remove-resource/
    --any-resource: normalised, shown by list and show, audited, refused
    when hostile."""
    from conftest import run, runjson
    db = backend.url
    assert run(["init"], db=db)[0] == 0
    rc, t, err = runjson(["create", "--owner", "alice", "--name", "acme",
                          "--scope", "dns", "--resource", "b.org,A.org.",
                          "--resource", "*.example.org"], db=db)
    assert rc == 0, err
    assert t["resources"] == ["*.example.org", "a.org", "b.org"]
    rc, out, err = run(["show", t["id"]], db=db)
    assert "resources:      *.example.org a.org b.org" in out
    rc, out, err = run(["list"], db=db)
    assert out.splitlines()[0].split()[-1] == "RESOURCES"
    # One word per column: the patterns joined by commas.
    assert out.splitlines()[1].split()[-1] == "*.example.org,a.org,b.org"
    rc, d, err = runjson(["scope", t["id"], "--add-resource", "c.org",
                          "--remove-resource", "B.ORG"], db=db)
    assert rc == 0 and d["resources"] == ["*.example.org", "a.org",
                                          "c.org"], err
    rc, out, err = run(["scope", t["id"], "--remove-resource", "x.org"],
                       db=db)
    assert rc == 1 and "has no resource 'x.org'" in err
    for bad in ("a..b", "a b\x01", "é.org", "x" * 256, "/f/../etc"):
        rc, out, err = run(["create", "--owner", "alice", "--name", "bad",
                            "--scope", "dns", "--resource", bad], db=db)
        assert rc == 2 and "invalid resource pattern" in err, (bad, err)
    rc, d, err = runjson(["scope", t["id"], "--any-resource"], db=db)
    assert rc == 0 and d["resources"] == []
    rc, evs, err = runjson(["log", t["id"]], db=db)
    details = [(e["action"], e["detail"]) for e in evs]
    assert details[0][0] == "create" and "resources *.example.org a.org " \
        "b.org" in details[0][1]
    assert details[1:] == [("resources", "resources *.example.org a.org "
                                         "c.org"),
                           ("resources", "any resource")]
