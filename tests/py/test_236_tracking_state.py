"""Whether "never used" can be believed: httpd records in the store, at the
first token request after a start, whether ApiTokenTrackUsage is on where
it went (once on was seen, an untracked location changes nothing).  Where
it is off, `apitoken list` and `show` say "not tracked" instead of "never"
and `audit --unused` warns that it cannot know; once on, "never" again, and
audit warns that usage is tracked only since then.  Three engines."""

import time

import pytest

from httpd_server import start_env

KINDS = ["sqlite3",
         pytest.param("pgsql", marks=pytest.mark.external),
         pytest.param("mysql", marks=pytest.mark.external)]


def text(e, *args, rc=0):
    r = e.store.tool(*args, check=False, json_out=False)
    assert r.returncode == rc, r.stderr
    return r


def wait_for(pred, timeout=10):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def last_used_cell(e, tid):
    """The LAST_USED column of tid's row in `apitoken list` (the columns
    are aligned: the header gives where each starts)."""
    lines = text(e, "list").stdout.splitlines()
    start = lines[0].index("LAST_USED")
    for line in lines[1:]:
        if line.startswith(tid):
            return line[start:].split("  ")[0].strip()
    raise AssertionError(f"{tid} not listed")


@pytest.mark.parametrize("kind", KINDS)
def test_236_not_tracked_then_tracked(request, kind):
    e = start_env(request, kind)
    try:
        used = e.store.create("alice", scopes=["dns"])
        idle = e.store.create("alice", scopes=["dns"])
        # Nothing recorded yet: "never", as before.
        assert last_used_cell(e, idle["id"]) == "never"
        assert "warning" not in text(e, "audit", "--unused", "1").stderr
        # The first request goes where tracking is off.
        assert e.httpd.get("/notrack/ok.txt",
                           token=used["token"]).status_code == 200
        wait_for(lambda: last_used_cell(e, idle["id"]) == "not tracked")
        show = text(e, "show", idle["id"]).stdout
        assert "last_used_at:   not tracked" in show
        err = text(e, "audit", "--unused", "1").stderr
        assert "does not track last use" in err
        assert "cannot know" in err
        # Then one where it is on (the default): believed again.
        assert e.httpd.get("/api/dns/ok.txt",
                           token=used["token"]).status_code == 200
        wait_for(lambda: last_used_cell(e, idle["id"]) == "never")
        assert "last_used_at:   never" in text(e, "show", idle["id"]).stdout
        err = text(e, "audit", "--unused", "1").stderr
        assert "tracked only since" in err
        # An untracked location after that changes nothing.
        assert e.httpd.get("/notrack/ok.txt",
                           token=used["token"]).status_code == 200
        time.sleep(1)
        assert last_used_cell(e, idle["id"]) == "never"
        e.httpd.check_logs(e.store.secrets)
    finally:
        e.close()
