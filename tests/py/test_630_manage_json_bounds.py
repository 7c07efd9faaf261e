"""Bounded work per request: hostile JSON bodies of the management API's
size (63 KB, the limit is 64 KB) cost one httpd child a bounded amount of
memory and time, alone and four at once.

The measure is the growth of the peak resident size (VmHWM, reset
through clear_refs first) of the child that serves the requests, with one
child only: prefork with MaxRequestWorkers 1, and event with ServerLimit 1
for the parallel case (the threads of one process share its peak).

The bound, 8 MB of growth, is for four requests at once: each holds its
body (64 KB) and its parse, which by at_json's design stays under 1 MB for
a 64 KB text (tests/unit/test_json.c measures it), so four stay under
5 MB; the rest is room for the allocator's rounding and caching.  The old
reader copied the rest of the text for every string: about 150 MB for one
such body, 600 MB for four.  The time bound is generous on purpose (a
shared machine): it catches work that grows with the square of the body,
not a slow parse."""

import os
import threading
import time

import pytest

from httpd_server import Env, Httpd, open_store
from manage_env import (GLOBAL, ManageEnv, install_assets, manage_conf,
                        write_htpasswd)

BODY = 63000
GROWTH_KB = 8 * 1024
SECONDS = 10
CPU_SECONDS = 0.5       # for five bodies in a row

# A single child (prefork's spare-server minimum is then met by the
# child).  MaxMemFree: the allocators give freed blocks back at once, so
# that the peak is what requests hold at the same time, not what the
# allocators of recycled connections keep (2 MB each by default).
ONE_CHILD = {
    "prefork": ["ServerLimit 1", "MaxRequestWorkers 1", "MinSpareServers 1",
                "MaxSpareServers 1", "MaxMemFree 64"],
    "event": ["ServerLimit 1", "ThreadsPerChild 8", "MaxRequestWorkers 8",
              "MinSpareThreads 1", "MaxSpareThreads 8", "MaxMemFree 64"],
}
# The MPM may say so when it would like another child.
ALLOW = [r"AH00161: server reached MaxRequestWorkers",
         r"AH00484: server reached MaxRequestWorkers"]


class OneChildEnv(ManageEnv):
    """ManageEnv's management locations, served by one httpd child."""

    def __init__(self, request, mpm):
        store = open_store(request, "sqlite3")
        h = Httpd(store.url, mpm=mpm, conf=manage_conf(),
                  global_conf=GLOBAL + "\n".join(ONE_CHILD[mpm]) + "\n")
        write_htpasswd(os.path.join(h.root, "conf", "htpasswd"))
        install_assets(h.root)
        try:
            h.start()
        except Exception:
            h.close()
            store.close()
            raise
        Env.__init__(self, store, h)
        self.secrets = store.secrets
        self.origin = f"http://127.0.0.1:{h.port}"


def repeat(head, item, tail, size=BODY):
    """head, copies of item (with {i} the copy's number) joined by ','
    while the text stays within size bytes, then tail."""
    parts, n, i = [], len(head) + len(tail), 0
    while True:
        one = ("," if i else "") + item.format(i=i)
        if n + len(one) > size:
            break
        parts.append(one)
        n += len(one)
        i += 1
    text = head + "".join(parts) + tail
    assert len(text) <= size
    return text


# name -> (body, the error the API answers with)
BODIES = {
    # past the value limit: refused while parsing
    "many small strings": (repeat('{"scopes":[', '""', "]}"), "bad_json"),
    # parsed whole, then refused by the field's own limit
    "many short strings": (repeat('{"scopes":[', '"abcdefgh"', "]}"),
                           "invalid"),
    # thousands of distinct keys: parsed whole (sorted for duplicates),
    # then refused as unknown fields
    "thousands of keys": (repeat("{", '"k{i}":0', "}"), "invalid"),
    "nested arrays": (repeat('{"scopes":[', "[[0]]", "]}"), "bad_json"),
}


def children(ppid):
    """PIDs of the processes whose parent is ppid."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == ppid:
            pids.append(int(d))
    return pids


def cpu_seconds(pid):
    """User and system CPU time the process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def peaks(env, reset=False):
    """{pid: VmHWM in kB} of the children (the worker, and under event
    mod_cgid's daemon, which serves nothing here); reset first sets each
    peak to the present size, so that a measure owes nothing to earlier
    tests."""
    pids = children(env.httpd.proc.pid)
    if reset:
        for p in pids:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
    return {p: status_kb(p, "VmHWM") for p in pids}


def post(env, body):
    t0 = time.monotonic()
    r = env.call("alice", "POST", "api/tokens", raw=body)
    return r, time.monotonic() - t0


def check_answer(r, spent, code):
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.json()["error"] == code, r.text[:300]
    assert spent < SECONDS, f"{spent:.1f} s for one request"


def growth(before, after):
    assert set(before) == set(after), ("children changed", before, after)
    return max(after[p] - before[p] for p in before)


def warm_up(env, parallel):
    """Small bodies of every shape, so that the child has met every code
    path and (event) every thread has its allocator, before the peak is
    read."""
    small = [repeat('{"scopes":[', '"abcdefgh"', "]}", 2000),
             repeat("{", '"k{i}":0', "}", 2000), '{"scopes": ["dns"]}']
    for _ in range(2):
        run_parallel(env, small * parallel, parallel)


def run_parallel(env, bodies, n):
    """bodies posted by n clients, in rounds of n that start together."""
    results = [None] * len(bodies)
    start = threading.Barrier(n)

    def worker(k):
        for i in range(k, len(bodies), n):
            start.wait(SECONDS)
            results[i] = post(env, bodies[i])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS * len(bodies))
    assert all(r is not None for r in results), "a request did not finish"
    return results


@pytest.fixture(scope="module")
def prefork(request):
    e = OneChildEnv(request, "prefork")
    e.httpd.mark()
    yield e
    try:
        e.check_logs(ALLOW)
    finally:
        e.close()


@pytest.fixture(scope="module")
def event(request):
    e = OneChildEnv(request, "event")
    e.httpd.mark()
    yield e
    try:
        e.check_logs(ALLOW)
    finally:
        e.close()


@pytest.mark.parametrize("shape", sorted(BODIES))
def test_630_one_child_one_body(prefork, shape):
    """Each hostile body, five times over, in the single prefork child."""
    body, code = BODIES[shape]
    assert len(body) > 60000
    warm_up(prefork, 1)
    before = peaks(prefork, reset=True)
    assert len(before) == 1, before
    (child,) = before
    cpu = cpu_seconds(child)
    answers = [post(prefork, body) for _ in range(5)]
    cpu = cpu_seconds(child) - cpu
    grown = growth(before, peaks(prefork))
    assert grown < GROWTH_KB, f"{shape}: the child's peak grew by {grown} kB"
    assert cpu < CPU_SECONDS, f"{shape}: {cpu:.2f} s of the child's CPU"
    for r, spent in answers:
        check_answer(r, spent, code)


def test_631_four_at_once(event):
    """Four hostile bodies at the same time in one event child, three
    rounds of each shape."""
    warm_up(event, 4)
    before = peaks(event, reset=True)
    assert len(before) in (1, 2), before    # the worker (and cgid)
    answers = []
    for shape in sorted(BODIES):
        body, code = BODIES[shape]
        answers += [(a, code) for a in run_parallel(event, [body] * 12, 4)]
    grown = growth(before, peaks(event))
    assert grown < GROWTH_KB, f"the child's peak grew by {grown} kB"
    for (r, spent), code in answers:
        check_answer(r, spent, code)


def test_632_still_serves(prefork, event):
    """After the hostile bodies the API still works in both."""
    for env in (prefork, event):
        r = env.call("alice", "POST", "api/tokens",
                     {"name": f"after-{env.httpd.mpm}", "scopes": ["dns"]})
        assert r.status_code == 201, r.text
