"""End to end in a real headless browser (Debian's chromium driven through
chromium-driver by Debian's python3-selenium): log in, create a restricted
token in the page, read it from the show-once dialog, use it with curl
(200 in scope, 403 outside), revoke it in the page, and see curl get 401;
under prefork, worker and event.  Screenshots of each step go to
tests/run/screenshots/MPM/."""

import base64
import os
import shutil
import subprocess
import tempfile

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import TOKEN_RE
from manage_env import MPMS, USERS, ManageEnv

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "run", "screenshots")
WAIT = 20


def curl_status(url, token):
    """HTTP status of url with the token as Bearer, the header read from
    stdin so the secret stays off the command line."""
    cfg = f'header = "Authorization: Bearer {token}"\n'
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w",
                        "%{http_code}", "--max-time", "20", "-K", "-", url],
                       input=cfg, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


@pytest.fixture(scope="module", params=MPMS)
def mpm(request):
    return request.param


@pytest.fixture(scope="module")
def chromium():
    """One browser for the module: starting it costs more than a test."""
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


@pytest.fixture
def browser(chromium, mpm):
    """The module's browser as new: a blank page, desktop size, no extra
    headers, the console read empty."""
    drv = chromium
    drv.shots_dir = os.path.join(SHOTS, mpm)
    drv.get("about:blank")
    drv.set_window_size(1280, 1000)
    drv.execute_cdp_cmd("Network.enable", {})
    drv.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
    drv.get_log("browser")
    return drv


def shot(drv, n, name):
    os.makedirs(drv.shots_dir, exist_ok=True)
    path = os.path.join(drv.shots_dir, f"{n:02d}-{name}.png")
    assert drv.save_screenshot(path), path
    assert os.path.getsize(path) > 1000


def login(drv, user):
    """HTTP Basic for every request of the page (fetch included)."""
    cred = base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()
    drv.execute_cdp_cmd("Network.enable", {})
    drv.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                        {"headers": {"Authorization": f"Basic {cred}"}})


def test_650_create_use_revoke_in_browser(request, browser, mpm):
    env = ManageEnv(request, mpm=mpm)
    drv = browser
    wait = WebDriverWait(drv, WAIT)
    try:
        env.httpd.mark()
        # 1. Log in and load the page.
        login(drv, "alice")
        drv.get(env.url(""))
        wait.until(lambda d: "Signed in as alice"
                   in d.find_element(By.ID, "whoami").text)
        boxes = drv.find_elements(By.CSS_SELECTOR,
                                  "#features input[type=checkbox]")
        assert [b.get_attribute("value") for b in boxes] == [
            "dns", "email", "files", "tokens"]
        desc = drv.find_element(By.ID, "f-dns-desc").text
        assert desc == "DNS zones and records"
        shot(drv, 1, "logged-in")

        # 2. Create a restricted token for dns only.
        drv.find_element(By.ID, "name").send_keys("e2e-dns")
        assert drv.find_element(By.ID, "access-restricted").is_selected()
        drv.find_element(By.ID, "f-dns").click()
        drv.find_element(By.ID, "description").send_keys("made in the page")
        shot(drv, 2, "create-form")
        drv.find_element(By.ID, "create-btn").click()

        # 3. The show-once dialog: the token, the warning, focus inside.
        wait.until(lambda d: d.execute_script(
            "return document.getElementById('secret-dialog').open"))
        wait.until(lambda d: d.find_element(By.ID, "secret-value")
                   .get_attribute("value"))
        token = drv.find_element(By.ID, "secret-value").get_attribute("value")
        env.secrets.append(token)
        assert TOKEN_RE.fullmatch(token), token
        warning = drv.find_element(By.ID, "secret-warning").text
        assert "will not be shown again" in warning
        assert drv.execute_script(
            "return document.activeElement.id") == "secret-value"
        drv.find_element(By.ID, "copy-btn").click()
        wait.until(lambda d: d.find_element(By.ID, "copy-status").text)
        shot(drv, 3, "show-once-dialog")
        drv.find_element(By.ID, "secret-done").click()
        wait.until(lambda d: not d.execute_script(
            "return document.getElementById('secret-dialog').open"))
        # The secret is gone from the page once the dialog closes.
        assert token not in drv.page_source
        tid = token[4:16]
        row = f"tr[data-id='{tid}']"
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, row))
        assert drv.execute_script(
            "var b = document.querySelector(arguments[0]);"
            "return [b.getAttribute('data-status'), b.textContent];",
            row + " .badge") == ["active", "Active"]
        shot(drv, 4, "token-listed")

        # 4. The token through curl: in scope 200, outside 403.
        assert curl_status(env.httpd.url("/api/dns/ok.txt"), token) == 200
        assert curl_status(env.httpd.url("/api/email/ok.txt"), token) == 403

        # 5. Revoke it in the page, with confirmation.
        drv.find_element(By.CSS_SELECTOR,
                         row + " button[data-action=revoke]").click()
        wait.until(lambda d: d.execute_script(
            "return document.getElementById('confirm-dialog').open"))
        assert "e2e-dns" in drv.find_element(By.ID, "confirm-title").text
        shot(drv, 5, "confirm-revoke")
        drv.find_element(By.ID, "confirm-ok").click()
        # The list is drawn anew after each change: read it in one go.
        wait.until(lambda d: d.execute_script(
            "var b = document.querySelector(arguments[0]);"
            "return b && b.getAttribute('data-status');", row + " .badge")
            == "revoked")
        wait.until(lambda d: "revoked" in d.find_element(
            By.ID, "messages").text)
        shot(drv, 6, "revoked")

        # 6. The revoked token: 401.
        assert curl_status(env.httpd.url("/api/dns/ok.txt"), token) == 401

        # Readable on a phone: no sideways scrolling.
        drv.set_window_size(390, 844)
        drv.refresh()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, row))
        assert drv.execute_script(
            "return document.documentElement.scrollWidth "
            "<= window.innerWidth + 1")
        shot(drv, 7, "phone")

        # The page ran under its CSP without a single violation or error.
        # (The browser's own favicon probe at the site root is not ours.)
        logs = [e["message"] for e in drv.get_log("browser")
                if e["level"] == "SEVERE"
                and not e["message"].startswith(env.httpd.url("/favicon"))]
        assert not logs, logs
        events = env.store.tool("log", tid).stdout
        assert '"web:alice"' in events and '"revoke"' in events
        env.stop_and_check()
    finally:
        env.close()


def test_651_rename_permissions_rotate_in_browser(request, browser, mpm):
    env = ManageEnv(request, mpm=mpm)
    drv = browser
    wait = WebDriverWait(drv, WAIT)

    def is_open(d, dialog):
        return d.execute_script(
            "return document.getElementById(arguments[0]).open", dialog)

    def status_of(tid):
        return drv.execute_script(
            "var b = document.querySelector(arguments[0]);"
            "return b && b.getAttribute('data-status');",
            f"tr[data-id='{tid}'] .badge")

    try:
        t = env.create(name="page-edit", scopes=["dns"])
        tid = t["id"]
        row = f"tr[data-id='{tid}']"
        login(drv, "alice")
        drv.get(env.url(""))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, row))

        # Rename; Escape on a dialog gives the focus back to its opener.
        drv.find_element(By.CSS_SELECTOR,
                         row + " button[data-action=rename]").click()
        wait.until(lambda d: is_open(d, "rename-dialog"))
        assert drv.execute_script(
            "return document.activeElement.id") == "rename-name"
        drv.find_element(By.ID, "rename-name").send_keys("\ue00c")  # Escape
        wait.until(lambda d: not is_open(d, "rename-dialog"))
        assert drv.execute_script(
            "return document.activeElement.getAttribute('data-action')") \
            == "rename"
        drv.find_element(By.CSS_SELECTOR,
                         row + " button[data-action=rename]").click()
        wait.until(lambda d: is_open(d, "rename-dialog"))
        field = drv.find_element(By.ID, "rename-name")
        field.clear()
        field.send_keys("page-renamed")
        drv.find_element(By.ID, "rename-ok").click()
        wait.until(lambda d: "page-renamed" in d.execute_script(
            "var r = document.querySelector(arguments[0]);"
            "return r ? r.textContent : '';", row))
        shot(drv, 11, "renamed")

        # Permissions: dns -> files, with an expiry date.
        drv.find_element(By.CSS_SELECTOR,
                         row + " button[data-action=permissions]").click()
        wait.until(lambda d: is_open(d, "perm-dialog"))
        assert drv.find_element(By.ID, "perm-f-dns").is_selected()
        drv.find_element(By.ID, "perm-f-dns").click()
        drv.find_element(By.ID, "perm-f-files").click()
        drv.find_element(By.ID, "perm-on").click()
        drv.execute_script("document.getElementById('perm-date').value = "
                           "'2099-12-31'")
        shot(drv, 12, "permissions")
        drv.find_element(By.ID, "perm-ok").click()
        wait.until(lambda d: not is_open(d, "perm-dialog"))
        wait.until(lambda d: "2099-12-31" in d.execute_script(
            "var r = document.querySelector(arguments[0]);"
            "return r ? r.textContent : '';", row))
        shown = env.store.show(tid)
        assert shown["scopes"] == ["files"]
        assert shown["expires_at"] == "2099-12-31T23:59:59Z"
        assert curl_status(env.httpd.url("/api/dns/ok.txt"),
                           t["token"]) == 403
        assert curl_status(env.httpd.url("/api/files/ok.txt"),
                           t["token"]) == 200

        # Rotate with a one-hour grace: a new secret, shown once; the old
        # one still works for now.
        drv.find_element(By.CSS_SELECTOR,
                         row + " button[data-action=rotate]").click()
        wait.until(lambda d: is_open(d, "confirm-dialog"))
        assert drv.find_element(By.ID, "grace").is_displayed()
        drv.find_element(By.CSS_SELECTOR,
                         "#grace option[value='1h']").click()
        drv.find_element(By.ID, "confirm-ok").click()
        wait.until(lambda d: is_open(d, "secret-dialog"))
        wait.until(lambda d: d.find_element(By.ID, "secret-value")
                   .get_attribute("value"))
        new = drv.find_element(By.ID, "secret-value").get_attribute("value")
        env.secrets.append(new)
        assert TOKEN_RE.fullmatch(new) and new != t["token"]
        assert new[4:16] == tid
        shot(drv, 13, "rotated")
        drv.find_element(By.ID, "secret-done").click()
        assert curl_status(env.httpd.url("/api/files/ok.txt"), new) == 200
        assert curl_status(env.httpd.url("/api/files/ok.txt"),
                           t["token"]) == 200
        assert status_of(tid) == "active"
        env.stop_and_check()
    finally:
        env.close()
