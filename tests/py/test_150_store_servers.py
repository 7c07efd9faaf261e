"""The store's unit tests (tests/unit/test_store) run against the real
PostgreSQL and MariaDB servers through AT_TEST_DBURL."""

import os
import subprocess

import pytest

from conftest import BUILDDIR

TEST_STORE = os.path.join(BUILDDIR, "tests", "unit", "test_store")


@pytest.mark.external
@pytest.mark.parametrize("which", ["pg_server", "mariadb_server"])
def test_150_store_unit_tests_on_server(request, which):
    srv = request.getfixturevalue(which)
    srv.start()
    srv.reset()
    if not os.path.exists(TEST_STORE):
        subprocess.run(["make", "-C", os.path.join(BUILDDIR, "tests"),
                        "unit/test_store"], capture_output=True, timeout=600)
    assert os.path.exists(TEST_STORE), f"{TEST_STORE} not built"
    env = dict(os.environ, AT_TEST_DBURL=srv.url, CK_FORK="yes")
    r = subprocess.run([TEST_STORE], env=env, capture_output=True,
                       timeout=600)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode == 0, out[-4000:]
    assert "100%" in out and "Checks: " in out, out[-2000:]
    srv.reset()
