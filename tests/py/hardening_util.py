"""Helpers for the hardening tests (test_5xx): raw HTTP over a socket,
the httpd process tree from /proc, and a bounded multi-threaded client.

    resp = raw_http(port, b"GET / HTTP/1.1\\r\\n...")   exact bytes on the wire
    procs = ProcTree(httpd.proc.pid)                  parent and children
    load = Load(port, pick, threads=8, seconds=10)    keep-alive load
"""

import http.client
import os
import random
import re
import socket
import threading
import time

REALM_API = 'Bearer realm="Hosting API"'

# A line httpd writes when a child dies from a signal (crash) or must be
# replaced because the parent found it gone.
CRASH_RE = re.compile(r"AH00052|exit signal|Segmentation fault|"
                      r"AddressSanitizer|runtime error:|double free|"
                      r"AH00051|child process \d+ still did not exit")


class Resp:
    """One parsed HTTP response: status (None when the server closed or
    reset the connection without a status line), headers as a list of
    (name, value), the head as text."""

    def __init__(self, data):
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        self.raw = data
        self.head = head
        self.status = None
        self.headers = []
        lines = head.split("\r\n")
        m = re.match(r"HTTP/\d\.\d (\d{3})", lines[0]) if lines else None
        if m:
            self.status = int(m.group(1))
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    self.headers.append((k.strip(), v.strip()))

    def header(self, name):
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return vals[0] if vals else None

    def headers_named(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return f"<Resp {self.status} {self.head[:300]!r}>"


def raw_http(port, data, timeout=20):
    """Send data (bytes) as is to 127.0.0.1:port, half-close, read the
    answer until the server closes (at most 1 MiB)."""
    buf = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while len(buf) < 1 << 20:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except ConnectionResetError:
            pass
    return Resp(buf)


def request_bytes(method, path, headers, body=b""):
    """A request with exact header lines: headers is a list of bytes or
    str lines (str is encoded as latin-1, so any byte can be sent)."""
    out = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    for h in headers:
        out += (h if isinstance(h, bytes) else h.encode("latin-1")) + b"\r\n"
    if body:
        out += f"Content-Length: {len(body)}\r\n".encode()
    out += b"Connection: close\r\n\r\n" + body
    return out


# -- the process tree -------------------------------------------------------

def _status_field(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def alive(pid):
    state = _status_field(pid, "State")
    return state is not None and not state.startswith("Z")


def children_of(ppid):
    """PIDs whose parent is ppid (live, non-zombie)."""
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit() and _status_field(d, "PPid") == str(ppid):
            if alive(int(d)):
                out.add(int(d))
    return out


def vmrss_kb(pid):
    v = _status_field(pid, "VmRSS")
    return int(v.split()[0]) if v else None


def worker_children(ppid):
    """httpd's worker children: children of the parent running the same
    executable (mod_cgid's daemon is one too, and is included)."""
    try:
        exe = os.readlink(f"/proc/{ppid}/exe")
    except OSError:
        return set()
    out = set()
    for pid in children_of(ppid):
        try:
            if os.readlink(f"/proc/{pid}/exe") == exe:
                out.add(pid)
        except OSError:
            pass
    return out


class ProcTree:
    """The parent and children of an httpd at one moment, for a later
    "nothing crashed" check."""

    def __init__(self, parent):
        self.parent = parent
        self.children = worker_children(parent)
        assert alive(parent), f"httpd parent {parent} is not running"
        assert self.children, f"httpd parent {parent} has no children"

    def assert_intact(self, error_log_text=""):
        assert alive(self.parent), f"httpd parent {self.parent} died"
        gone = [p for p in self.children if not alive(p)]
        assert not gone, f"httpd children died: {gone}"
        crashes = [line for line in error_log_text.splitlines()
                   if CRASH_RE.search(line)]
        assert not crashes, "crash lines in the error log:\n" + \
            "\n".join(crashes[:20])


# -- a bounded keep-alive load ---------------------------------------------

class Load:
    """threads threads, each with its own keep-alive connection, sending
    GETs for `seconds` (and at most max_requests in all).  pick(i, rnd)
    returns (path, headers, tag); every answer is recorded as
    (t, tag, status, www_authenticate) with t seconds since the start."""

    def __init__(self, port, pick, threads=8, seconds=10,
                 max_requests=2_000_000, timeout=15):
        self.port = port
        self.pick = pick
        self.threads = threads
        self.seconds = seconds
        self.max_requests = max_requests
        self.timeout = timeout
        self.results = []
        self.errors = []
        self._lock = threading.Lock()
        self._count = 0
        self.retries = 0
        self._stop = threading.Event()
        self.t0 = None

    def _conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=self.timeout)

    def _worker(self, n):
        rnd = random.Random(n)
        conn = self._conn()
        local = []
        i = 0
        used = 0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - self.t0 >= self.seconds:
                break
            with self._lock:
                if self._count >= self.max_requests:
                    break
                self._count += 1
            path, headers, tag = self.pick(n * 1_000_000 + i, rnd)
            i += 1
            # An idle keep-alive connection may be closed by the server
            # just as a request goes out (RFC 9112 9.3.1): an idempotent
            # GET is then retried once on a new connection, as clients do.
            for attempt in (0, 1):
                try:
                    conn.request("GET", path, headers=headers)
                    r = conn.getresponse()
                    r.read()
                    local.append((time.monotonic() - self.t0, tag,
                                  r.status, r.getheader("WWW-Authenticate")))
                    used += 1
                    if r.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = self._conn()
                        used = 0
                    break
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conn = self._conn()
                    reused, used = used > 0, 0
                    if attempt == 0 and reused and isinstance(
                            e, (http.client.RemoteDisconnected,
                                ConnectionResetError, BrokenPipeError)):
                        self.retries += 1
                        continue
                    local.append((time.monotonic() - self.t0, tag, None,
                                  repr(e)))
                    time.sleep(0.01)
                    break
        conn.close()
        with self._lock:
            self.results.extend(local)

    def start(self):
        self.t0 = time.monotonic()
        self._threads = [threading.Thread(target=self._worker, args=(n,),
                                          daemon=True)
                         for n in range(self.threads)]
        for t in self._threads:
            t.start()
        return self

    def elapsed(self):
        return time.monotonic() - self.t0

    def join(self):
        for t in self._threads:
            t.join(self.seconds + self.timeout + 30)
        self._stop.set()
        self.results.sort(key=lambda x: x[0])
        return self.results

    def stop(self):
        self._stop.set()
        return self.join()


def wait_status(get, want, timeout=20, interval=0.1):
    """Call get() until it returns a status in want; returns (status,
    seconds waited).  Bounded by timeout."""
    t0 = time.monotonic()
    st = None
    while time.monotonic() - t0 < timeout:
        try:
            st = get()
        except OSError:
            st = None
        if st in want:
            return st, time.monotonic() - t0
        time.sleep(interval)
    return st, time.monotonic() - t0


# -- pytest plugin for sanitizer and valgrind runs ---------------------------
#
# scripts/sanitizer-run.sh loads this file as a plugin (-p hardening_util).
# httpd_server.py starts /usr/sbin/apache2 with the module and the tool
# taken from the source tree; for a build elsewhere this points them at
#   $APITOKEN_BUILDDIR   (mod_apitoken/.libs/mod_apitoken.so, tools/apitoken)
# and, when $APITOKEN_HTTPD_WRAPPER is set, starts that executable instead
# of apache2 (a script that sets LD_PRELOAD and execs apache2).

def pytest_configure(config):
    import httpd_server
    from pathlib import Path

    build = os.environ.get("APITOKEN_BUILDDIR")
    if build:
        build = Path(build).resolve()
        httpd_server.MODULE = build / "mod_apitoken" / ".libs" / \
            "mod_apitoken.so"
        httpd_server.TOOL = build / "tools" / "apitoken"
    wrapper = os.environ.get("APITOKEN_HTTPD_WRAPPER")
    if wrapper:
        httpd_server.APACHE2 = wrapper


# -- the mixed load (test_540 and scripts/soak.sh) ---------------------------

def mixed_load(store, httpd, seconds, threads, revokes=4, grace=1.0,
               log=print):
    """A load mixing valid, revoked, expired, wrong-scope and garbage
    tokens on /api/dns/, with `revokes` valid tokens revoked during the
    run.  Returns a report dict; report["problems"] lists every wrong
    answer (a revoked token still accepted more than `grace` seconds
    after its revoke finished counts as one)."""
    api = "/api/dns/ok.txt"
    valid = [store.create("alice", scopes=["dns"]) for _ in range(4)]
    revoked = [store.create("alice", scopes=["dns"]) for _ in range(2)]
    expired = [store.create("alice", scopes=["dns"]) for _ in range(2)]
    wrong = [store.create("alice", scopes=["email"]) for _ in range(2)]
    later = [store.create("bob", scopes=["dns"]) for _ in range(revokes)]
    for t in revoked:
        store.revoke(t["id"])
    for t in expired:
        store.expire(t["id"], "2020-01-01")
    rnd0 = random.Random(540)
    garbage = ["apt_" + "".join(rnd0.choice(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        for _ in range(50)) for _ in range(5)] + ["x", "a" * 60, "apt_"]
    kinds = (["valid"] * 4 + ["revoked", "expired", "wrong", "garbage"]
             + ["later"] * 3)

    def pick(i, rnd):
        k = kinds[i % len(kinds)]
        if k == "garbage":
            tok, tid = rnd.choice(garbage), None
        else:
            t = rnd.choice({"valid": valid, "revoked": revoked,
                            "expired": expired, "wrong": wrong,
                            "later": later}[k])
            tok, tid = t["token"], t["id"]
        return api, {"Authorization": "Bearer " + tok}, (k, tid)

    # Warm up, then the memory baseline of the children.
    for t in valid:
        assert httpd.get(api, token=t["token"]).status_code == 200
    rss0 = {p: vmrss_kb(p) for p in worker_children(httpd.proc.pid)}
    load = Load(httpd.port, pick, threads=threads, seconds=seconds,
                timeout=30).start()
    revoke_times = {}
    for n, t in enumerate(later):
        when = seconds * (n + 1) / (revokes + 1)
        while load.elapsed() < when:
            time.sleep(0.05)
        a = load.elapsed()
        store.revoke(t["id"])
        revoke_times[t["id"]] = (a, load.elapsed())
    res = load.join()
    rss1 = {p: vmrss_kb(p) for p in worker_children(httpd.proc.pid)}

    want = {"valid": (200, None), "revoked": (401, "invalid_token"),
            "expired": (401, "invalid_token"),
            "wrong": (403, "insufficient_scope"),
            "garbage": (401, "invalid_token")}
    problems = []
    counts = {}
    for t, (k, tid), st, www in res:
        counts[st] = counts.get(st, 0) + 1
        if st is None or st >= 500:
            problems.append((t, k, st, www))
            continue
        if k == "later":
            a, b = revoke_times.get(tid, (1e9, 1e9))
            if t < a:
                exp = (200, None)
            elif t > b + grace:
                exp = (401, "invalid_token")
            else:
                continue        # in flight while the revoke travels
        else:
            exp = want[k]
        ok = st == exp[0] and (exp[1] is None and www is None
                               or exp[1] and www and exp[1] in www)
        if not ok:
            problems.append((round(t, 3), k, st, www))
    growth = {p: rss1[p] - rss0[p] for p in rss0
              if p in rss1 and rss0[p] and rss1[p]}
    report = {"requests": len(res), "seconds": seconds,
              "keepalive_retries": load.retries,
              "rate": round(len(res) / seconds), "threads": threads,
              "statuses": counts, "revokes": len(revoke_times),
              "problems": problems, "rss_kb_before": rss0,
              "rss_kb_after": rss1, "rss_growth_kb": growth}
    log(f"mixed load: {report['requests']} requests in {seconds}s "
        f"({report['rate']}/s) on {threads} connections "
        f"({load.retries} keep-alive retries); statuses "
        f"{counts}; {len(problems)} wrong; RSS growth per child (kB) "
        f"{growth}")
    return report
