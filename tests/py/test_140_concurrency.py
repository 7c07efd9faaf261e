"""apitoken: concurrent commands on one database."""

import json
import subprocess

import pytest

from conftest import TOOL, run, runjson, tool_env

N = 8


@pytest.fixture
def db(backend):
    rc, out, err = run(["init"], db=backend.url)
    assert rc == 0, err
    return backend


def spawn(db, args):
    return subprocess.Popen([TOOL, "--db", db.url, "--json"] + args,
                            env=tool_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_140_concurrent_create_same_name(db):
    procs = [spawn(db, ["create", "--owner", "alice", "--name", "race",
                        "--scope", "dns"]) for _ in range(N)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append((p.returncode, out.decode(), err.decode()))
    codes = sorted(r[0] for r in results)
    assert codes == [0] + [1] * (N - 1), results
    for rc, out, err in results:
        if rc == 1:
            assert "already exists" in err and err.count("\n") == 1, err
            assert out == ""
    winner = json.loads(next(r[1] for r in results if r[0] == 0))
    rc, docs, err = runjson(["list"], db=db.url)
    assert [d["id"] for d in docs] == [winner["id"]]
    rc, evs, err = runjson(["log"], db=db.url)
    assert [e["action"] for e in evs].count("create") == 1


def test_141_concurrent_creates_distinct_names(db):
    procs = [spawn(db, ["create", "--owner", "bob", "--name", f"n{i}",
                        "--scope", "dns"]) for i in range(N)]
    ids = set()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids.add(json.loads(out)["id"])
    assert len(ids) == N
    rc, docs, err = runjson(["list", "--owner", "bob"], db=db.url)
    assert {d["id"] for d in docs} == ids


def test_142_concurrent_renames_to_same_name(db):
    ids = []
    for i in range(N):
        rc, doc, err = runjson(["create", "--owner", "carol", "--name",
                                f"r{i}", "--scope", "dns"], db=db.url)
        assert rc == 0, err
        ids.append(doc["id"])
    procs = [spawn(db, ["rename", i, "same"]) for i in ids]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append((p.returncode, err.decode()))
    codes = sorted(r[0] for r in results)
    assert codes == [0] + [1] * (N - 1), results
    rc, docs, err = runjson(["list", "--owner", "carol"], db=db.url)
    names = sorted(d["name"] for d in docs)
    assert names.count("same") == 1 and len(names) == N
