"""The management page as a hosting user meets it, in Debian's headless
Chromium (chromium-driver, python3-selenium), against a catalogue with
levels and administrator expiry bounds:

- every edit dialog opened and saved without a change leaves the token
  exactly as it was (scopes with levels, scopes outside the catalogue, exact
  expiry, networks, description): no request, no audit event;
- a change sends only what changed;
- each error shows in the open dialog (or the open form), next to its
  field, with aria-invalid, in the page's words;
- the whole new secret is visible at phone width (measured), with a curl
  example, and closing it (Esc too) asks first;
- a read-only token made in the page gets 200 where dns:read is required
  and 403 where dns:write is;
- the list comes first, row actions stay on one line, the activity view
  and "Not tracked".

Also the API side of the same settings (levels, default and maximum
expiry, usage_tracking, the /tokens redirect) without a browser.
Screenshots go to tests/run/screenshots/66*.png."""

import base64
import calendar
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import TOKEN_RE
from httpd_server import Httpd
from manage_env import GLOBAL, MPMS, USERS, ManageEnv, install_assets

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "run", "screenshots")
WAIT = 20
ESC = "\ue00c"

LEVELS = [("dns", "DNS zones and records", "read write"),
          ("email", "Mailboxes and forwarders", "read write"),
          ("files", "Files in the web space", ""),
          ("tokens", "Manage API tokens", "")]


def page_conf():
    feats = "\n".join(f'    ApiTokenFeature {n} "{d}" {lv}'.rstrip()
                      for n, d, lv in LEVELS)
    auth = """    AuthType Basic
    AuthName "Token management"
    AuthBasicProvider file
    AuthUserFile "@ROOT@/conf/htpasswd"
    Require valid-user
    SetHandler apitoken-manage
    ApiTokenManage On
    ApiTokenManageAssets "@ROOT@/manage"
    ApiTokenManageCreateLimit 1000
"""
    # Added to ManageEnv's configuration (STANDARD_CONF and /manage/).
    return f"""
<Location /api/dns/read/>
    Require apitoken-scope dns:read
</Location>
<Location /api/dns/write/>
    Require apitoken-scope dns:write
</Location>
<Location /tokens>
{auth}{feats}
    ApiTokenTrackUsage Off
    ApiTokenManageDefaultExpiry 30d
    ApiTokenManageMaxExpiry 400d
</Location>
<Location /tokens/nomax>
    ApiTokenManageMaxExpiry none
</Location>
<Location /tokens/short>
    ApiTokenManageMaxExpiry 10d
    ApiTokenFeature dns "Only DNS" read
</Location>
<Location /tracked/>
{auth}{feats}
    ApiTokenTrackUsage On
</Location>
"""


@pytest.fixture(params=MPMS)
def env(request):
    e = ManageEnv(request, mpm=request.param, conf=page_conf())
    for sub in ("read", "write"):
        d = os.path.join(e.httpd.root, "htdocs", "api", "dns", sub)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "ok.txt"), "w") as f:
            f.write("ok\n")
    e.httpd.mark()
    yield e
    e.close()


@pytest.fixture
def api_env(request):
    e = ManageEnv(request, conf=page_conf())
    yield e
    e.close()


@pytest.fixture
def browser():
    profile = tempfile.mkdtemp(prefix="apitoken-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-quic", "--no-first-run",
              "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1280,1000",
              f"--user-data-dir={profile}"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(WAIT)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(drv, name):
    os.makedirs(SHOTS, exist_ok=True)
    path = os.path.join(SHOTS, f"{name}.png")
    assert drv.save_screenshot(path), path
    assert os.path.getsize(path) > 1000


def login(drv, user):
    cred = base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()
    drv.execute_cdp_cmd("Network.enable", {})
    drv.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                        {"headers": {"Authorization": f"Basic {cred}"}})


def curl_status(url, token):
    cfg = f'header = "Authorization: Bearer {token}"\n'
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w",
                        "%{http_code}", "--max-time", "20", "-K", "-", url],
                       input=cfg, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


class Page:
    """The page in the browser, at base (/tokens/ or /tracked/)."""

    def __init__(self, env, drv, base="/tokens/", user="alice"):
        self.env, self.drv, self.base = env, drv, base
        self.wait = WebDriverWait(drv, WAIT)
        login(drv, user)
        self.open()

    def open(self):
        self.drv.get(self.env.httpd.url(self.base))
        self.wait.until(lambda d: "Signed in as" in d.find_element(
            By.ID, "whoami").text)

    def js(self, script, *args):
        return self.drv.execute_script(script, *args)

    def by_id(self, i):
        return self.drv.find_element(By.ID, i)

    def is_open(self, dialog):
        return self.js("return document.getElementById(arguments[0]).open",
                       dialog)

    def until_open(self, dialog):
        self.wait.until(lambda d: self.is_open(dialog))

    def until_closed(self, dialog):
        self.wait.until(lambda d: not self.is_open(dialog))

    def row(self, tid):
        return f"tr[data-id='{tid}']"

    def action(self, tid, what):
        self.wait.until(lambda d: d.find_elements(
            By.CSS_SELECTOR, self.row(tid) + f" button[data-action={what}]"))
        self.drv.find_element(
            By.CSS_SELECTOR,
            self.row(tid) + f" button[data-action={what}]").click()

    def message(self):
        return self.by_id("messages").text

    def create_and_read_secret(self):
        """Submit the create form; the secret its dialog shows (kept for
        the log check)."""
        self.by_id("create-btn").click()
        self.until_open("secret-dialog")
        self.wait.until(lambda d: d.find_element(By.ID, "secret-value")
                        .get_attribute("value"))
        token = self.by_id("secret-value").get_attribute("value")
        self.env.secrets.append(token)
        return token

    def visible_error(self, err_id, field_id, dialog=None):
        """The error text next to field_id: shown, with aria-invalid on
        the field and, when given, inside the dialog that is still open."""
        self.wait.until(lambda d: d.find_element(By.ID, err_id)
                        .is_displayed())
        if dialog:
            assert self.is_open(dialog)
            assert self.js("return document.getElementById(arguments[0])"
                           ".contains(document.getElementById(arguments[1]))",
                           dialog, err_id)
        assert self.by_id(field_id).get_attribute("aria-invalid") == "true"
        desc = self.by_id(field_id).get_attribute("aria-describedby") or ""
        assert err_id in desc.split(), (field_id, desc)
        # Visible to the eye: inside the viewport, not behind a dialog.
        assert self.js(
            "var r = document.getElementById(arguments[0])"
            ".getBoundingClientRect();"
            "var e = document.elementFromPoint(r.left + 2, r.top + 2);"
            "return r.width > 0 && r.bottom <= window.innerHeight && "
            "e && e.closest('#' + arguments[0]) !== null;", err_id)
        return self.by_id(err_id).text


def state(env, tid):
    """Everything the store says about a token, and its audit events."""
    shown = env.store.show(tid)
    shown.pop("status", None)
    events = env.store.tool("log", tid).stdout
    return shown, events


def make_tokens(env):
    """Tokens the page must not disturb, made with the tool (no catalogue
    there, so scopes outside the page's are possible)."""
    st = env.store
    toks = {
        "mixed": st.create(name="mixed", scopes=["dns:read", "email",
                                                  "legacy", "files"],
                           expires="2027-03-04T05:06:07Z",
                           allow_ip=["192.0.2.0/24", "2001:db8::/32"]),
        "dnsread": st.create(name="dnsread", scopes=["dns:read"],
                             expires="2026-12-31T12:34:56Z"),
        "twolevels": st.create(name="twolevels",
                               scopes=["dns:read", "dns:write",
                                       "email:admin"]),
        "full": st.create(name="full", full=True),
    }
    st.tool("edit", toks["mixed"]["id"], "--description",
            "made with the tool")
    # Spaces the page would trim when typed must survive an untouched save.
    st.tool("edit", toks["dnsread"]["id"], "--description", "  spaced  ")
    return {k: v["id"] for k, v in toks.items()}


# --- the API side ---------------------------------------------------------

def test_660_features_levels_and_expiry_api(api_env):
    env = api_env
    doc = env.call("alice", "GET", "api/features", base="/tokens/").json()
    assert [(f["name"], f["levels"]) for f in doc["features"]] == [
        ("dns", ["read", "write"]), ("email", ["read", "write"]),
        ("files", []), ("tokens", [])]
    assert doc["usage_tracking"] is False
    assert doc["default_expiry"] == 30 * 86400
    assert doc["max_expiry"] == 400 * 86400
    tracked = env.call("alice", "GET", "api/features",
                       base="/tracked/").json()
    assert tracked["usage_tracking"] is True
    assert tracked["default_expiry"] is None
    assert tracked["max_expiry"] is None

    # Sections inherit what they do not set, each field on its own; a
    # default beyond the maximum is the maximum.
    doc = env.call("alice", "GET", "api/features",
                   base="/tokens/nomax/").json()
    assert (doc["default_expiry"], doc["max_expiry"]) == (30 * 86400, None)
    assert len(doc["features"]) == 4
    doc = env.call("alice", "GET", "api/features",
                   base="/tokens/short/").json()
    assert (doc["default_expiry"], doc["max_expiry"]) == (10 * 86400,
                                                          10 * 86400)
    assert doc["features"] == [{"name": "dns", "description": "Only DNS",
                                "levels": ["read"]}]

    # dns:read is feature dns of the catalogue; dns:admin too (levels
    # shape the page, the catalogue check is on features).
    r = env.call("alice", "POST", "api/tokens",
                 {"name": "ro", "scopes": ["dns:read"]}, base="/tokens/")
    assert r.status_code == 201, r.text
    t = r.json()
    r = env.call("alice", "POST", "api/tokens",
                 {"name": "adm", "scopes": ["dns:admin"]}, base="/tokens/")
    assert r.status_code == 201, r.text
    # No expiry named: the default, 30 days.
    exp = calendar.timegm(time.strptime(t["expires_at"],
                                        "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(exp - (time.time() + 30 * 86400)) < 120, t["expires_at"]
    r = env.call("alice", "POST", "api/tokens",
                 {"name": "bad", "scopes": ["nope:read"]}, base="/tokens/")
    assert r.status_code == 422 and r.json()["error"] == "unknown_feature"

    # The maximum, on create and on change; never is refused with it.
    for expires in (None, "never", "+401d", "2999-01-01"):
        r = env.call("alice", "POST", "api/tokens",
                     {"name": "far", "scopes": ["dns"], "expires": expires},
                     base="/tokens/")
        assert r.status_code == 400, (expires, r.text)
        assert r.json()["error"] == "expiry_too_far", r.text
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"expires": None}, base="/tokens/")
    assert r.status_code == 400 and r.json()["error"] == "expiry_too_far"
    # The last day within the maximum is accepted as a whole day.
    last = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 400 * 86400))
    r = env.call("alice", "PATCH", f"api/tokens/{t['id']}",
                 {"expires": last}, base="/tokens/")
    assert r.status_code == 200, r.text
    assert r.json()["expires_at"] == last + "T23:59:59Z"
    # Where there is no maximum, never is fine and no default applies.
    r = env.call("alice", "POST", "api/tokens",
                 {"name": "forever", "scopes": ["dns"]}, base="/tracked/")
    assert r.status_code == 201 and r.json()["expires_at"] is None

    # A scope outside the catalogue that the token holds already is kept
    # when the rest of its set changes; a new one is still refused.
    old = env.store.create(name="old", scopes=["legacy", "dns"])
    r = env.call("alice", "PATCH", f"api/tokens/{old['id']}",
                 {"scopes": ["legacy", "email:read"]}, base="/tokens/")
    assert r.status_code == 200, r.text
    assert sorted(r.json()["scopes"]) == ["email:read", "legacy"]
    r = env.call("alice", "PATCH", f"api/tokens/{old['id']}",
                 {"scopes": ["legacy", "other"]}, base="/tokens/")
    assert r.status_code == 422 and "other" in r.json()["message"], r.text
    assert sorted(env.store.show(old["id"])["scopes"]) == ["email:read",
                                                           "legacy"]

    # /tokens (no slash) redirects to the page.
    r = env.call("alice", "GET", "", base="/tokens")
    assert r.status_code == 301
    assert r.headers["Location"] == env.httpd.url("/tokens/")
    env.check_logs()


@pytest.mark.parametrize("line, error", [
    ('ApiTokenFeature dns "DNS" Read', "invalid level Read of dns"),
    ('ApiTokenFeature dns "DNS" read read', "level read of dns is listed "
                                            "twice"),
    ('ApiTokenFeature dns "DNS" re:ad', "invalid level re:ad"),
    ('ApiTokenFeature dns', "takes a name, a description"),
    ("ApiTokenManageMaxExpiry 90", "is not a duration"),
    ("ApiTokenManageDefaultExpiry soon", "is not a duration"),
])
def test_660_config_errors(request, line, error):
    h = Httpd("sqlite3:///nonexistent/tokens.db", conf=f"""
<Location /tokens>
    SetHandler apitoken-manage
    {line}
</Location>
""", global_conf=GLOBAL)
    try:
        rc, out = h.configtest()
        assert rc != 0 and error in out, out
    finally:
        h.close()


def test_660_config_forms_accepted(request):
    h = Httpd("sqlite3:///nonexistent/tokens.db", conf="""
<Location /tokens>
    SetHandler apitoken-manage
    ApiTokenFeature dns "DNS zones"
    ApiTokenFeature email "Mail" read write send_as
    ApiTokenManageDefaultExpiry never
    ApiTokenManageMaxExpiry 52w
</Location>
""", global_conf=GLOBAL)
    try:
        install_assets(h.root)
        rc, out = h.configtest()
        assert rc == 0, out
    finally:
        h.close()


# --- the page -------------------------------------------------------------

def test_661_save_without_change_keeps_everything(env, browser):
    ids = make_tokens(env)
    p = Page(env, browser)
    before = {k: state(env, tid) for k, tid in ids.items()}
    for key, tid in ids.items():
        for action, dialog, ok in (("rename", "rename-dialog", "rename-ok"),
                                   ("permissions", "perm-dialog",
                                    "perm-ok")):
            p.action(tid, action)
            p.until_open(dialog)
            p.by_id(ok).click()
            p.until_closed(dialog)
            p.wait.until(lambda d: "Nothing changed" in p.message())
            assert state(env, tid) == before[key], (key, action)
    # Not one request changed anything: no PATCH reached the server.
    with open(env.httpd.access_log) as f:
        assert '"PATCH ' not in f.read()

    # The dialogs show what they cannot offer as a choice, and keep it.
    p.action(ids["mixed"], "permissions")
    p.until_open("perm-dialog")
    assert p.by_id("perm-f-dns").get_attribute("value") == "dns:read"
    assert p.by_id("perm-f-email").get_attribute("value") == "email"
    assert p.by_id("perm-f-files").is_selected()
    others = p.js("return Array.from(document.querySelectorAll("
                  "'#perm-other-list input')).map(function (b) {"
                  " return [b.value, b.checked]; })")
    assert others == [["legacy", True]]
    assert p.by_id("perm-keep").is_selected()
    assert p.by_id("perm-nets").get_attribute("value") == \
        "192.0.2.0/24 2001:db8::/32"
    shot(browser, "661-permissions-levels")
    # Change one thing: email down to read.  Only scopes are sent.
    browser.find_element(By.CSS_SELECTOR,
                         "#perm-f-email option[value='email:read']").click()
    p.by_id("perm-ok").click()
    p.until_closed("perm-dialog")
    p.wait.until(lambda d: "saved" in p.message())
    after, events = state(env, ids["mixed"])
    want = dict(before["mixed"][0])
    # Only the scopes moved (and with them the per-scope usage rows).
    for d in (after, want):
        d.pop("scope_usage", None)
    want["scopes"] = sorted(["dns:read", "email:read", "files", "legacy"])
    assert dict(after, scopes=sorted(after["scopes"])) == want
    p.action(ids["twolevels"], "permissions")
    p.until_open("perm-dialog")
    others = p.js("return Array.from(document.querySelectorAll("
                  "'#perm-other-list input')).map(function (b) {"
                  " return b.value; })")
    assert sorted(others) == ["dns:read", "dns:write", "email:admin"]
    assert p.by_id("perm-f-dns").get_attribute("value") == ""
    p.by_id("perm-cancel").click()
    p.until_closed("perm-dialog")
    with open(env.httpd.access_log) as f:
        assert f.read().count('"PATCH ') == 1
    env.stop_and_check()


def test_662_errors_in_the_open_dialog(env, browser):
    ids = make_tokens(env)
    p = Page(env, browser)

    # Rename to a name that exists: in the dialog, next to the name.
    p.action(ids["dnsread"], "rename")
    p.until_open("rename-dialog")
    f = p.by_id("rename-name")
    f.clear()
    f.send_keys("mixed")
    p.by_id("rename-ok").click()
    text = p.visible_error("rename-name-error", "rename-name",
                           "rename-dialog")
    assert "already have a token with this name" in text, text
    assert "rename:" not in text and "owner" not in text
    shot(browser, "662-error-rename")
    # Correcting it clears the mark.
    f.clear()
    f.send_keys("dns-only")
    p.by_id("rename-ok").click()
    p.until_closed("rename-dialog")
    assert env.store.show(ids["dnsread"])["name"] == "dns-only"

    # A network with host bits set: next to the networks field.
    p.action(ids["dnsread"], "permissions")
    p.until_open("perm-dialog")
    f = p.by_id("perm-nets")
    f.clear()
    f.send_keys("10.1.2.3/8")
    p.by_id("perm-ok").click()
    text = p.visible_error("perm-nets-error", "perm-nets", "perm-dialog")
    assert "10.1.2.3/8" in text and text.startswith("Check the allowed"), \
        text
    shot(browser, "662-error-network")
    f.clear()

    # An expiry past the administrator's maximum (the date picker stops a
    # user; a typed value still reaches the server's check).
    p.by_id("perm-on").click()
    p.js("document.getElementById('perm-date').value = '2999-01-01'")
    p.by_id("perm-ok").click()
    text = p.visible_error("perm-expiry-error", "perm-expiry-box",
                           "perm-dialog")
    assert "within 400 days" in text, text

    # No feature left: said before anything is sent.
    p.by_id("perm-keep").click()
    p.js("document.getElementById('perm-f-dns').value = ''")
    p.by_id("perm-ok").click()
    text = p.visible_error("perm-features-error", "perm-features-box",
                           "perm-dialog")
    assert "at least one feature" in text
    p.by_id("perm-cancel").click()
    p.until_closed("perm-dialog")
    assert state(env, ids["dnsread"])[0]["scopes"] == ["dns:read"]

    # Deleted behind the page's back: the confirmation says so.
    env.store.tool("delete", ids["full"])
    p.action(ids["full"], "revoke")
    p.until_open("confirm-dialog")
    p.by_id("confirm-ok").click()
    p.wait.until(lambda d: d.find_element(By.ID, "confirm-error")
                 .is_displayed())
    assert p.is_open("confirm-dialog")
    assert "no longer exists" in p.by_id("confirm-error").text
    p.by_id("confirm-cancel").click()
    p.until_closed("confirm-dialog")

    # The create form: a duplicate name, next to the name field.
    p.by_id("new-btn").click()
    p.wait.until(lambda d: d.find_element(By.ID, "name").is_displayed())
    p.by_id("name").send_keys("mixed")
    p.by_id("f-files").click()
    p.by_id("create-btn").click()
    text = p.visible_error("name-error", "name")
    assert "already have a token with this name" in text
    shot(browser, "662-error-create")
    env.stop_and_check()


def test_663_show_once_at_phone_width_and_read_only_token(env, browser):
    p = Page(env, browser)
    browser.set_window_size(360, 780)
    p.open()
    # No tokens yet: the create form is open at once.
    p.wait.until(lambda d: d.find_element(By.ID, "name").is_displayed())
    p.by_id("name").send_keys("dns-reader")
    assert p.by_id("expiry-30").is_selected()       # the default
    assert not browser.find_elements(By.ID, "expiry-never")  # max set
    sel = browser.find_element(By.CSS_SELECTOR,
                               "#f-dns option[value='dns:read']")
    opts = p.js("return Array.from(document.querySelectorAll('#f-dns "
                "option')).map(function (o) { return o.textContent; })")
    assert opts == ["No access", "Read", "Write", "All"]
    sel.click()
    shot(browser, "663-phone-create")
    token = p.create_and_read_secret()
    assert TOKEN_RE.fullmatch(token), token

    # The whole secret is on screen: the field neither scrolls nor clips,
    # and it lies inside the dialog, inside the viewport.
    def whole_secret_shown():
        m = p.js("""var v = document.getElementById('secret-value');
            var d = document.getElementById('secret-dialog');
            var r = v.getBoundingClientRect(), q = d.getBoundingClientRect();
            return {sw: v.scrollWidth, cw: v.clientWidth, sh: v.scrollHeight,
                    ch: v.clientHeight, left: r.left, right: r.right,
                    dl: q.left, dr: q.right, vw: window.innerWidth};""")
        assert m["sw"] <= m["cw"], m
        assert m["sh"] <= m["ch"] + 1, m
        assert 0 <= m["dl"] <= m["left"] <= m["right"] <= m["dr"] <= m["vw"], m

    whole_secret_shown()
    example = p.by_id("secret-example").text
    assert f"curl -H 'Authorization: Bearer {token}'" in example, example
    m = p.js("""var e = document.getElementById('secret-example');
        return [e.scrollWidth, e.clientWidth];""")
    assert m[0] <= m[1], m
    shot(browser, "663-phone-show-once")

    # Esc asks; the secret stays until the user says so.
    p.by_id("secret-value").send_keys(ESC)
    p.wait.until(lambda d: d.find_element(By.ID, "secret-confirm")
                 .is_displayed())
    assert p.is_open("secret-dialog")
    assert p.by_id("secret-value").get_attribute("value") == token
    # Still whole with the question below it (the dialog now scrolls).
    time.sleep(0.2)
    whole_secret_shown()
    shot(browser, "663-phone-close-confirm")
    p.by_id("secret-back").click()
    assert not p.by_id("secret-confirm").is_displayed()
    # Esc twice in a row still leaves it open and asking.
    p.by_id("secret-value").send_keys(ESC)
    p.by_id("secret-back").send_keys(ESC)
    time.sleep(0.3)
    assert p.is_open("secret-dialog")
    assert p.by_id("secret-value").get_attribute("value") == token
    p.wait.until(lambda d: d.find_element(By.ID, "secret-close")
                 .is_displayed())
    p.by_id("secret-close").click()
    p.until_closed("secret-dialog")
    assert token not in browser.page_source

    # The read-only token: 200 where dns:read is needed, 403 for write.
    tid = token.split("_", 1)[1][:12]
    assert env.store.show(tid)["scopes"] == ["dns:read"]
    assert curl_status(env.httpd.url("/api/dns/read/ok.txt"), token) == 200
    assert curl_status(env.httpd.url("/api/dns/write/ok.txt"), token) == 403
    assert curl_status(env.httpd.url("/api/dns/ok.txt"), token) == 403

    # The list at phone width: cards, no sideways scrolling.
    p.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, p.row(tid)))
    assert p.js("return document.documentElement.scrollWidth "
                "<= window.innerWidth + 1")
    shot(browser, "663-phone-list")
    env.stop_and_check()


def test_664_layout_activity_and_tracking(env, browser):
    ids = make_tokens(env)
    p = Page(env, browser)
    # The list first; creating is one click away.
    assert p.js("var a = document.getElementById('tokens-card'),"
                " b = document.getElementById('create-card');"
                "return !!(a.compareDocumentPosition(b) & 4)")
    assert not p.by_id("create-card").is_displayed()
    # Row actions on one line where the table fits (cards below 74rem),
    # at most two lines on a phone;
    # never a sideways scroll, of the page or of the table.
    for width, lines in ((1280, 1), (1000, 1), (800, 2), (360, 2)):
        browser.set_window_size(width, 1000)
        p.wait.until(lambda d: d.execute_script(
            "return window.innerWidth") <= width)
        for tid in ids.values():
            tops = p.js("return Array.from(document.querySelectorAll("
                        "arguments[0] + ' .actions button')).map("
                        "function (b) { return Math.round("
                        "b.getBoundingClientRect().top); })", p.row(tid))
            assert len(tops) >= 4 and len(set(tops)) <= lines, (width, tops)
        assert p.js("var w = document.querySelector('.table-wrap');"
                    "return document.documentElement.scrollWidth "
                    "<= window.innerWidth + 1 && "
                    "w.scrollWidth <= w.clientWidth + 1"), width
        shot(browser, f"664-list-{width}")
    browser.set_window_size(1280, 1000)
    # Tracking is off at this location (ApiTokenTrackUsage Off).
    used = p.js("return document.querySelector(arguments[0] + "
                "' td.last-used').textContent", p.row(ids["mixed"]))
    assert used == "Not tracked"
    shot(browser, "664-list")

    p.by_id("new-btn").click()
    p.wait.until(lambda d: d.find_element(By.ID, "name").is_displayed())
    assert p.js("return document.activeElement.id") == "name"
    shot(browser, "664-create")
    p.by_id("create-cancel").click()
    p.wait.until(lambda d: not d.find_element(By.ID, "create-card")
                 .is_displayed())

    # Activity: the account's audit trail, newest first.
    p.by_id("audit-btn").click()
    p.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                           "#audit-rows tr")
                 or d.find_element(By.ID, "errors").text)
    assert not p.by_id("errors").text
    rows = p.js("return Array.from(document.querySelectorAll("
                "'#audit-rows tr')).map(function (r) {"
                " return [+r.dataset.seq, r.cells[1].textContent,"
                " r.cells[2].textContent]; })")
    seqs = [r[0] for r in rows]
    assert seqs == sorted(seqs, reverse=True) and len(rows) >= 5, rows
    assert any(r[1] == "Created" and r[2].startswith("mixed (")
               for r in rows), rows
    shot(browser, "664-activity")

    # Where usage is tracked: "Never" until used; never expiring warns.
    p2 = Page(env, browser, base="/tracked/")
    used = p2.js("return document.querySelector(arguments[0] + "
                 "' td.last-used').textContent", p2.row(ids["mixed"]))
    assert used == "Never"
    p2.by_id("new-btn").click()
    p2.wait.until(lambda d: d.find_element(By.ID, "name").is_displayed())
    assert p2.by_id("expiry-30").is_selected()
    assert not p2.by_id("expiry-warning").is_displayed()
    p2.by_id("expiry-never").click()
    assert p2.by_id("expiry-warning").is_displayed()
    shot(browser, "664-never-warning")
    logs = [e["message"] for e in browser.get_log("browser")
            if e["level"] == "SEVERE"
            and not e["message"].startswith(env.httpd.url("/favicon"))]
    assert not logs, logs
    env.stop_and_check()


@pytest.mark.parametrize("env", ["event"], indirect=True)
def test_665_resources_set_and_edited_in_the_page(env, browser):
    """The create form limits a new token to resources, the list shows
    them, the permissions dialog edits and clears them (only they are
    sent), and a bad pattern is shown next to its field."""
    p = Page(env, browser)
    p.wait.until(lambda d: d.find_element(By.ID, "name").is_displayed())
    p.by_id("name").send_keys("zone")
    p.by_id("f-files").click()
    p.by_id("res").send_keys("Example.COM, *.example.org")
    token = p.create_and_read_secret()
    p.by_id("secret-done").click()
    p.wait.until(lambda d: d.find_element(By.ID, "secret-close")
                 .is_displayed())
    p.by_id("secret-close").click()
    p.until_closed("secret-dialog")
    tid = token.split("_", 1)[1][:12]
    assert env.store.show(tid)["resources"] == ["*.example.org",
                                                "example.com"]
    p.wait.until(lambda d: "on *.example.org, example.com" in d.find_element(
        By.CSS_SELECTOR, p.row(tid)).text)

    p.action(tid, "permissions")
    p.until_open("perm-dialog")
    f = p.by_id("perm-res")
    assert f.get_attribute("value") == "*.example.org example.com"
    f.clear()
    f.send_keys("a..b")
    p.by_id("perm-ok").click()
    text = p.visible_error("perm-res-error", "perm-res", "perm-dialog")
    assert text.startswith("Check the resources") and "a..b" in text, text
    f.clear()
    f.send_keys("_acme-challenge.example.com")
    p.by_id("perm-ok").click()
    p.until_closed("perm-dialog")
    p.wait.until(lambda d: "saved" in p.message())
    shown = env.store.show(tid)
    assert shown["resources"] == ["_acme-challenge.example.com"]
    assert shown["scopes"] == ["files"]
    events = env.store.tool("log", tid).stdout
    assert "resources _acme-challenge.example.com" in events
    assert '"scope"' not in events.split('"create"', 1)[1]
    # Cleared: unrestricted again.
    p.action(tid, "permissions")
    p.until_open("perm-dialog")
    p.by_id("perm-res").clear()
    p.by_id("perm-ok").click()
    p.until_closed("perm-dialog")
    p.wait.until(lambda d: env.store.show(tid)["resources"] == [])
    env.stop_and_check()
