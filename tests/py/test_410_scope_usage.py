"""Knowing how tokens are used: the module records which granted scope each
allowed request exercised (throttled, after the response), `apitoken show`
shows granted versus used, deleting a token deletes its rows, and a schema
1 database is upgraded by `apitoken init`."""

import json
import time

import pytest

from conftest import run, runjson
from httpd_server import ALLOW_AUTHZ, STANDARD_CONF, start_env

USAGE_CONF = STANDARD_CONF + """
<Location /api/>
    ApiTokenTrackUsage On
</Location>
<Location /anyof/>
    ApiTokenTrackUsage On
</Location>
"""

KINDS = ["sqlite3", pytest.param("pgsql", marks=pytest.mark.external),
         pytest.param("mysql", marks=pytest.mark.external)]


def usage_of(store, tid):
    doc = store.show(tid)
    return {u["scope"]: u for u in doc["scope_usage"]}


def wait_used(store, tid, scope, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        u = usage_of(store, tid)
        if u.get(scope, {}).get("last_used_at"):
            return u
        assert time.monotonic() < deadline, u
        time.sleep(0.1)


@pytest.mark.parametrize("kind", KINDS)
def test_410_module_records_used_scopes(request, kind):
    e = start_env(request, kind, conf=USAGE_CONF)
    try:
        st, h = e.store, e.httpd
        t = st.create("alice", scopes=["dns", "email:write", "files"])
        full = st.create("alice", full=True)
        before = usage_of(st, t["id"])
        assert set(before) == {"dns", "email:write", "files"}
        assert all(u["last_used_at"] is None and u["granted"]
                   for u in before.values())
        h.mark()
        assert h.get("/api/dns/ok.txt", token=t["token"]).status_code == 200
        assert h.get("/api/email/ok.txt",
                     token=t["token"]).status_code == 200
        u = wait_used(st, t["id"], "dns")
        u = wait_used(st, t["id"], "email:write")
        assert u["files"]["last_used_at"] is None
        # A full-access token records the scope a Require asked for.
        assert h.get("/api/files/ok.txt",
                     token=full["token"]).status_code == 200
        fu = wait_used(st, full["id"], "files")
        assert list(fu) == ["files"]
        # A refused request records nothing.
        dns_only = st.create("alice", scopes=["dns"])
        assert h.get("/api/files/ok.txt",
                     token=dns_only["token"]).status_code == 403
        assert h.get("/anyof/ok.txt",
                     token=dns_only["token"]).status_code == 200
        wait_used(st, dns_only["id"], "dns")
        time.sleep(0.3)
        assert set(usage_of(st, dns_only["id"])) == {"dns"}

        # Text form of show: granted versus used, "never".
        rc, out, err = run(["show", t["id"]], db=st.url)
        assert rc == 0, err
        lines = out.split("scope usage:", 1)[1].splitlines()
        text = {ln.split()[0]: ln.split()[1] for ln in lines if ln.strip()}
        assert text["files"] == "never"
        assert text["dns"].endswith("Z")

        # Deleting the token deletes its usage rows.
        st.tool("delete", t["id"])
        rows = e.store.server.sql(
            "SELECT count(*) FROM apitoken_scope_usage WHERE token_id = "
            f"'{t['id']}'") if kind != "sqlite3" else None
        if kind == "sqlite3":
            import sqlite3
            with sqlite3.connect(st.path) as db:
                rows = db.execute(
                    "SELECT count(*) FROM apitoken_scope_usage WHERE "
                    "token_id = ?", (t["id"],)).fetchone()[0]
        assert str(rows).split()[-1] == "0", rows
        h.check_logs(st.secrets, allow=ALLOW_AUTHZ)
    finally:
        e.close()


def test_410_throttled_per_token_and_scope(request):
    e = start_env(request, "sqlite3", conf=USAGE_CONF)
    try:
        st, h = e.store, e.httpd
        t = st.create("alice", scopes=["dns"])
        assert h.get("/api/dns/ok.txt", token=t["token"]).status_code == 200
        first = wait_used(st, t["id"], "dns")["dns"]["last_used_at"]
        time.sleep(1.1)
        for _ in range(5):
            assert h.get("/api/dns/ok.txt",
                         token=t["token"]).status_code == 200
        time.sleep(0.5)
        # Within ApiTokenUsageInterval (60 s): no second write.
        assert usage_of(st, t["id"])["dns"]["last_used_at"] == first
    finally:
        e.close()


def schema_v1(db):
    """Turn a fresh schema into what version 1 had."""
    db.sql("DROP TABLE apitoken_scope_usage")
    db.sql("UPDATE apitoken_meta SET schema_version = 1")


def test_410_upgrade_from_schema_1(backend):
    rc, out, err = run(["init"], db=backend.url)
    assert rc == 0, err
    rc, doc, err = runjson(["create", "--owner", "alice", "--name", "old",
                            "--scope", "dns"], db=backend.url)
    assert rc == 0, err
    schema_v1(backend)
    rc, out, err = run(["list"], db=backend.url)
    assert rc == 3 and "run apitoken init to upgrade" in err
    rc, up, err = runjson(["init"], db=backend.url)
    assert rc == 0, err
    assert up["schema_version"] == 4
    rc, again, err = runjson(["init"], db=backend.url)
    assert rc == 0 and again["schema_version"] == 4
    rc, shown, err = runjson(["show", doc["id"]], db=backend.url)
    assert rc == 0, err
    assert shown["scope_usage"] == [{"scope": "dns", "granted": True,
                                     "last_used_at": None}]
