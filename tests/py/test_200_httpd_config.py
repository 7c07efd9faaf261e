"""Configuration: errors that stop `apache2 -t` with file, line and the bad
word; the startup warning about AuthzSendForbiddenOnFailure; per-directory
inheritance of every setting; only the driver in use loaded."""

import os
import re
import time

import pytest

from httpd_server import Httpd, sqlite_store, start_env

GOOD_LOC = """
<Location /api/>
    AuthType apitoken
    AuthName "API"
    AuthzSendForbiddenOnFailure On
    Require apitoken-scope dns
</Location>
"""


@pytest.fixture(scope="module")
def store():
    st = sqlite_store()
    yield st
    st.close()


def configtest(store, conf, with_db=True, global_conf=""):
    h = Httpd(store.url, conf=conf, with_db=with_db, global_conf=global_conf)
    try:
        rc, out = h.configtest()
        with open(h.conf_path) as f:
            return rc, out, (h.conf_path, f.read().splitlines())
    finally:
        h.close()


def test_200_good_config(store):
    rc, out, _ = configtest(store, GOOD_LOC)
    assert rc == 0, out
    assert "Syntax OK" in out
    assert "APT01001" not in out


@pytest.mark.parametrize("words,bad", [("Bad!Scope", "bad!scope"),
                                       ("dns email:wr!te", "email:wr!te"),
                                       ("dns:read:write", "dns:read:write")])
def test_200_bad_scope_stops_httpd(store, words, bad):
    conf = GOOD_LOC.replace("apitoken-scope dns",
                            "apitoken-scope " + words)
    rc, out, (path, lines) = configtest(store, conf)
    assert rc != 0
    m = re.search(r"Syntax error on line (\d+) of ([^:]+):", out)
    assert m, out
    assert m.group(2) == path
    assert "apitoken-scope" in lines[int(m.group(1)) - 1]
    assert f"invalid scope '{bad}'" in out.lower()


def test_200_empty_scope_list(store):
    rc, out, _ = configtest(store, GOOD_LOC.replace("apitoken-scope dns",
                                                    "apitoken-scope"))
    assert rc != 0
    assert "needs at least one scope" in out


def test_200_missing_db_stops_httpd(store):
    rc, out, (path, lines) = configtest(store, GOOD_LOC, with_db=False)
    assert rc != 0
    m = re.search(r"APT01002: (\S+):(\d+): AuthType apitoken needs "
                  r"ApiTokenDB", out)
    assert m, out
    assert m.group(1) == path
    assert lines[int(m.group(2)) - 1].strip() == "AuthType apitoken"


def test_200_bad_db_url(store):
    h = Httpd("nosuch://x", conf=GOOD_LOC)
    try:
        rc, out = h.configtest()
    finally:
        h.close()
    assert rc != 0
    assert "ApiTokenDB: invalid database URL" in out


def test_200_db_url_password_not_echoed(store):
    h = Httpd("pgsql://u:s3cretpw@127.0.0.1:notaport/db", conf=GOOD_LOC)
    try:
        rc, out = h.configtest()
    finally:
        h.close()
    assert rc != 0
    assert "s3cretpw" not in out


def test_200_db_only_in_global_config(store):
    conf = GOOD_LOC + f"""
<VirtualHost 127.0.0.1:*>
    ApiTokenDB "{store.url}"
</VirtualHost>
"""
    rc, out, _ = configtest(store, conf, with_db=False)
    assert rc != 0
    assert "ApiTokenDB" in out and "VirtualHost" in out


@pytest.mark.parametrize("form", ["cookie", "scheme:", "scheme:bearer",
                                  "header:Authorization", "header:a/b",
                                  "query:token"])
def test_200_bad_accept(store, form):
    conf = GOOD_LOC.replace("Require", f"ApiTokenAccept {form}\n    Require")
    rc, out, _ = configtest(store, conf)
    assert rc != 0
    assert "ApiTokenAccept" in out
    assert form.split()[0] in out


@pytest.mark.parametrize("directive", ["ApiTokenCacheTTL -1",
                                       "ApiTokenCacheTTL soon",
                                       "ApiTokenTrackUsage maybe"])
def test_200_bad_values(store, directive):
    conf = GOOD_LOC.replace("Require", f"{directive}\n    Require")
    rc, out, _ = configtest(store, conf)
    assert rc != 0
    assert directive.split()[0] in out


def test_200_warns_without_forbidden_on_failure(store):
    conf = """
<Location /a/>
    AuthType apitoken
    Require apitoken-scope dns
</Location>
<Location /b/>
    AuthType apitoken
    AuthzSendForbiddenOnFailure On
    Require apitoken-scope dns
</Location>
<Location /c/>
    AuthzSendForbiddenOnFailure On
    <Limit GET>
        AuthType apitoken
    </Limit>
    Require apitoken-scope dns
</Location>
"""
    rc, out, (path, lines) = configtest(store, conf)
    assert rc == 0, out
    warns = re.findall(r"APT01001: (\S+):(\d+): AuthType apitoken without "
                       r"AuthzSendForbiddenOnFailure On", out)
    assert len(warns) == 1, out
    assert warns[0][0] == path
    assert lines[int(warns[0][1]) - 1].strip() == "AuthType apitoken"
    assert lines[int(warns[0][1]) - 2].strip() == "<Location /a/>"


MERGE_CONF = """
<Location /m/>
    AuthType apitoken
    AuthName "API"
    AuthzSendForbiddenOnFailure On
    ApiTokenAccept header:X-API-Token
    ApiTokenCacheTTL 0
    ApiTokenTrackUsage On
    ApiTokenStripCredentials On
    Require valid-user
</Location>
<Location /m/o/>
    ApiTokenAccept bearer scheme:cpanel
    ApiTokenCacheTTL 30
    ApiTokenTrackUsage Off
    ApiTokenStripCredentials Off
</Location>
<Location /m/c/>
    # inherits everything
</Location>
"""


@pytest.fixture(scope="module")
def merge_env(request):
    e = start_env(request, "sqlite3", conf=MERGE_CONF,
                  loglevel="warn apitoken:trace1")
    yield e
    e.close()


def _settings(env, path, **kw):
    env.httpd.mark()
    r = env.httpd.get(path, **kw)
    m = env.httpd.wait_log(r"APT02007: settings: accept=(.*) cache_ttl=(\d+)"
                           r" track_usage=(\w+) strip_credentials=(\w+)")
    return r, m.groups()


def test_200_merge_parent(merge_env):
    t = merge_env.store.create("alice", scopes=["dns"])
    r, s = _settings(merge_env, "/m/ok.txt",
                     headers={"X-API-Token": t["token"]})
    assert s == ("header:X-API-Token", "0", "on", "on")
    merge_env.httpd.check_logs(merge_env.store.secrets)


def test_200_merge_child_inherits(merge_env):
    t = merge_env.store.create("alice", scopes=["dns"])
    r, s = _settings(merge_env, "/m/c/ok.txt",
                     headers={"X-API-Token": t["token"]})
    assert s == ("header:X-API-Token", "0", "on", "on")
    assert r.status_code == 200
    # bearer is not accepted here: it counts as no credentials
    assert merge_env.httpd.get("/m/c/ok.txt",
                               token=t["token"]).status_code == 401
    merge_env.httpd.check_logs(merge_env.store.secrets)


def test_200_merge_child_overrides(merge_env):
    t = merge_env.store.create("alice", scopes=["dns"])
    r, s = _settings(merge_env, "/m/o/ok.txt", token=t["token"])
    assert s == ("bearer scheme:cpanel", "30", "off", "off")
    assert r.status_code == 200
    assert merge_env.httpd.get("/m/o/ok.txt", headers={
        "X-API-Token": t["token"]}).status_code == 401
    merge_env.httpd.check_logs(merge_env.store.secrets)


def test_200_merge_inputs_unchanged(merge_env):
    # After the child merges, the parent still answers with its own values.
    t = merge_env.store.create("alice", scopes=["dns"])
    _settings(merge_env, "/m/o/ok.txt", token=t["token"])
    r, s = _settings(merge_env, "/m/ok.txt",
                     headers={"X-API-Token": t["token"]})
    assert s == ("header:X-API-Token", "0", "on", "on")
    merge_env.httpd.check_logs(merge_env.store.secrets)


def test_200_default_settings(request):
    e = start_env(request, "sqlite3", conf=GOOD_LOC,
                  loglevel="warn apitoken:trace1")
    try:
        t = e.store.create("alice", scopes=["dns"])
        r, s = _settings(e, "/api/x", token=t["token"])
        assert s == ("bearer", "300", "on", "off")
        e.httpd.check_logs(e.store.secrets)
    finally:
        e.close()


def _child_maps(h):
    """The memory maps of the httpd children (not the parent)."""
    parent = h.proc.pid
    maps = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().split(")")[-1].split()[1])
            if ppid == parent:
                with open(f"/proc/{pid}/maps") as f:
                    maps.append(f.read())
        except (OSError, ValueError, IndexError):
            continue
    return maps


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_200_only_driver_in_use_loaded(request, mpm):
    e = start_env(request, "sqlite3", mpm=mpm, conf=GOOD_LOC)
    try:
        t = e.store.create("alice", scopes=["dns"])
        assert e.httpd.get("/api/x", token=t["token"]).status_code == 404
        deadline = time.monotonic() + 10
        maps = []
        while time.monotonic() < deadline:
            maps = [m for m in _child_maps(e.httpd) if "libdbdsqlite3" in m]
            if maps:
                break
            time.sleep(0.2)
        assert maps, "no child loaded the sqlite3 driver"
        for m in maps:
            assert "libdbdpgsql" not in m and "libdbdmysql" not in m
            assert "libpq" not in m and "libmariadb" not in m
        # The parent never initialises libdbi.
        with open(f"/proc/{e.httpd.proc.pid}/maps") as f:
            assert "libdbdsqlite3" not in f.read()
        e.httpd.check_logs(e.store.secrets)
    finally:
        e.close()


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_200_graceful_restart(request, mpm):
    import signal
    e = start_env(request, "sqlite3", mpm=mpm, conf=GOOD_LOC)
    try:
        t = e.store.create("alice", scopes=["dns"])
        e.httpd.mark()
        assert e.httpd.get("/api/x", token=t["token"]).status_code == 404
        e.httpd.proc.send_signal(signal.SIGUSR1)
        e.httpd.wait_log(r"AH00(493|171)")
        deadline = time.monotonic() + 15
        codes = []
        while time.monotonic() < deadline:
            try:
                codes.append(e.httpd.get("/api/x",
                                         token=t["token"]).status_code)
                if codes[-1] == 404 and len(codes) > 3:
                    break
            except Exception:
                pass
            time.sleep(0.3)
        assert codes and codes[-1] == 404, codes
        assert e.httpd.get("/api/dns/x",
                           token="apt_" + "A" * 50).status_code == 401
        assert e.httpd.proc.poll() is None
        e.httpd.check_logs(e.store.secrets, allow=[r"AH00493", r"AH00171"])
    finally:
        e.close()


def test_200_driver_dir_mode_survives_chown(request):
    """The private driver directory is rwxr-xr-x, also when an older build
    left it with another mode, and a chown -R of the runtime directory to
    httpd's User does not cost the children their driver."""
    import stat
    from httpd_server import WWW_GID, WWW_UID, _chown_tree
    e = start_env(request, "sqlite3", mpm="prefork", conf=GOOD_LOC)
    try:
        t = e.store.create("alice", scopes=["dns"])
        ddir = os.path.join(e.httpd.root, "run", "apitoken-dbd")
        assert stat.S_IMODE(os.stat(ddir).st_mode) == 0o755
        assert e.httpd.get("/api/x", token=t["token"]).status_code == 404
        e.httpd.stop()
        # What the APR flags misread as an octal mode gave: --x-w-r-x.
        os.chmod(ddir, 0o145)
        _chown_tree(os.path.join(e.httpd.root, "run"), WWW_UID, WWW_GID)
        e.httpd.mark()
        e.httpd.start()
        assert stat.S_IMODE(os.stat(ddir).st_mode) == 0o755
        assert e.httpd.get("/api/x", token=t["token"]).status_code == 404
        e.httpd.check_logs(e.store.secrets)
    finally:
        e.close()
