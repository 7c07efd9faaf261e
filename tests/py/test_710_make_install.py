"""`make install DESTDIR=...` puts each file where Debian's apache2 expects
it (the configured module and conf directories, the bindir, the man
directories), and `make uninstall DESTDIR=...` takes every one away again.

Runs in the configured build tree ($APITOKEN_BUILDDIR or the repository)."""

import os
import re
import subprocess

import pytest

from conftest import BUILDDIR, SRCDIR


def make_vars():
    """The installation variables of the configured top Makefile, with
    ${var} and $(var) references expanded."""
    path = os.path.join(BUILDDIR, "Makefile")
    assert os.path.isfile(path), "the tree is not configured (no Makefile)"
    raw = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*) = (.*)$", line.rstrip())
            if m:
                raw[m.group(1)] = m.group(2).strip()

    def expand(value, depth=0):
        assert depth < 20, value
        return re.sub(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]",
                      lambda m: expand(raw.get(m.group(1), ""), depth + 1),
                      value)

    return {k: expand(raw[k]) for k in
            ("prefix", "bindir", "mandir", "apachemoddir", "apacheconfdir")}


def files_under(root):
    out = []
    for d, _, names in os.walk(root):
        for n in names:
            out.append(os.path.relpath(os.path.join(d, n), root))
    return sorted(out)


def make(*args, timeout=600):
    r = subprocess.run(["make", "-C", BUILDDIR, "-s"] + list(args),
                       capture_output=True, timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("destdir"))
    rc, out = make("install", f"DESTDIR={dest}")
    assert rc == 0, out[-4000:]
    return dest, make_vars()


def at(dest, path):
    return os.path.join(dest, path.lstrip("/"))


def test_710_install_places_every_file(installed):
    dest, v = installed
    # The tree is configured for Debian's apache2 by default.
    assert v["apachemoddir"] == "/usr/lib/apache2/modules", v
    assert v["apacheconfdir"] == "/etc/apache2/mods-available", v
    expect = {
        at(dest, v["apachemoddir"]) + "/mod_apitoken.so": None,
        at(dest, v["bindir"]) + "/apitoken": None,
        at(dest, v["mandir"]) + "/man1/apitoken.1": "man/apitoken.1",
        at(dest, v["mandir"]) + "/man8/mod_apitoken.8": "man/mod_apitoken.8",
        at(dest, v["apacheconfdir"]) + "/apitoken.load": "conf/apitoken.load",
        at(dest, v["apacheconfdir"]) + "/apitoken.conf": "conf/apitoken.conf",
    }
    have = files_under(dest)
    for path, source in expect.items():
        assert os.path.isfile(path), \
            f"{os.path.relpath(path, dest)} not installed; have {have}"
        if source:
            with open(path, "rb") as a, \
                    open(os.path.join(SRCDIR, source), "rb") as b:
                assert a.read() == b.read(), f"{path} differs from {source}"
    assert v["mandir"].startswith(v["prefix"]), v
    assert v["bindir"].startswith(v["prefix"]), v


def test_711_installed_files_work(installed):
    dest, v = installed
    tool = at(dest, v["bindir"]) + "/apitoken"
    assert os.access(tool, os.X_OK)
    # The installed tool runs from its new place (nothing points back into
    # the build tree).
    r = subprocess.run([tool, "--help"], capture_output=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith(b"Usage: apitoken")
    so = at(dest, v["apachemoddir"]) + "/mod_apitoken.so"
    with open(so, "rb") as f:
        assert f.read(4) == b"\x7fELF"
    r = subprocess.run(["nm", "-D", "--defined-only", so],
                       capture_output=True, timeout=30)
    assert b" apitoken_module" in r.stdout, "apitoken_module not exported"
    with open(at(dest, v["apacheconfdir"]) + "/apitoken.load") as f:
        load = f.read()
    # a2enmod links apitoken.load; it must load the installed module.
    m = re.search(r"^\s*LoadModule\s+apitoken_module\s+(\S+)", load, re.M)
    assert m, load
    assert m.group(1).strip('"') in (
        "modules/mod_apitoken.so",
        "/usr/lib/apache2/modules/mod_apitoken.so",
        v["apachemoddir"] + "/mod_apitoken.so"), load


def test_712_uninstall_removes_everything(installed):
    dest, _ = installed
    rc, out = make("uninstall", f"DESTDIR={dest}")
    assert rc == 0, out[-4000:]
    left = files_under(dest)
    assert left == [], f"left behind after make uninstall: {left}"
