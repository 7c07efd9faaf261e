"""apitoken: hostile text stored verbatim; secrets never shown again."""

import json

import pytest

from conftest import TOKEN_RE, run, runjson, token_secret

HOSTILE = [
    "it's \"quoted\"",
    "back\\slash\\\\double",
    "x'; DROP TABLE apitoken_tokens;--",
    "Robert'); DELETE FROM apitoken_audit; --",
    "100% of %s %n %d %%",
    "naïve café – Ünïcödé",
    "日本語のトークン",
    "rocket 🚀 and family 👨‍👩‍👧",
    "  leading and trailing  ",
    "$(touch /tmp/pwned) `id` ${HOME}",
    "<script>alert(1)</script> & amp",
    "semi;colon,comma|pipe",
]


@pytest.fixture
def db(backend):
    rc, out, err = run(["init"], db=backend.url)
    assert rc == 0, err
    return backend


def test_130_names_and_descriptions_verbatim(db):
    made = []
    for i, text in enumerate(HOSTILE):
        rc, doc, err = runjson(["create", "--owner", f"user{i}", "--name",
                                text, "--scope", "dns", "--description",
                                text], db=db.url)
        assert rc == 0, (text, err)
        assert doc["name"] == text and doc["description"] == text
        made.append(doc)
    rc, docs, err = runjson(["list"], db=db.url)
    assert rc == 0, err
    got = {d["id"]: d for d in docs}
    assert len(got) == len(HOSTILE)
    for doc, text in zip(made, HOSTILE):
        assert got[doc["id"]]["name"] == text
        assert got[doc["id"]]["description"] == text
        rc, one, err = runjson(["show", doc["id"]], db=db.url)
        assert one["name"] == text and one["description"] == text
        rc, out, err = run(["show", doc["id"]], db=db.url)
        assert f"name:           {text}\n" in out
        assert f"description:    {text}\n" in out
    rc, out, err = run(["list"], db=db.url)
    for text in HOSTILE:
        assert text in out
    # The tables survived the SQL in the names.
    assert "apitoken_tokens" in db.dump()
    rc, evs, err = runjson(["log"], db=db.url)
    assert len([e for e in evs if e["action"] == "create"]) == len(HOSTILE)


def test_131_rename_and_find_with_hostile_names(db):
    rc, a, err = runjson(["create", "--owner", "o'wner", "--name", "a",
                          "--scope", "dns"], db=db.url)
    assert rc == 0, err
    for text in HOSTILE:
        rc, doc, err = runjson(["rename", a["id"], text], db=db.url)
        assert rc == 0 and doc["name"] == text, err
    # Duplicate detection works on hostile names too.
    rc, out, err = run(["create", "--owner", "o'wner", "--name", HOSTILE[-1],
                        "--scope", "dns"], db=db.url)
    assert rc == 1 and "already exists" in err
    rc, docs, err = runjson(["list", "--owner", "o'wner"], db=db.url)
    assert [d["name"] for d in docs] == [HOSTILE[-1]]


def test_132_json_escaping(db):
    text = "q\" b\\ / \u00e9 \U0001F600 end"
    rc, out, err = run(["--json", "create", "--owner", "a", "--name", text,
                        "--scope", "dns"], db=db.url)
    assert rc == 0, err
    assert '"name": "q\\" b\\\\ / \u00e9 \U0001F600 end"' in out


def test_133_no_secret_anywhere_but_create_and_rotate(db):
    secrets = []
    ids = []
    for i in range(3):
        rc, out, err = run(["create", "--owner", "alice", "--name", f"t{i}",
                            "--scope", "dns", "--description", "keep"],
                           db=db.url)
        assert rc == 0, err
        assert err == ""
        toks = TOKEN_RE.findall(out)
        assert len(toks) == 1
        full = "_".join([toks[0][0], "".join(toks[0][1:])])
        secrets.append(token_secret(full))
        ids.append(toks[0][1])
    rc, doc, err = runjson(["rotate", ids[0], "--grace", "1h"], db=db.url)
    assert rc == 0, err
    secrets.append(token_secret(doc["token"]))
    rc, doc, err = runjson(["rotate", ids[1]], db=db.url)
    secrets.append(token_secret(doc["token"]))
    assert run(["rename", ids[2], "renamed"], db=db.url)[0] == 0
    assert run(["scope", ids[2], "--add", "email"], db=db.url)[0] == 0
    assert run(["revoke", ids[2]], db=db.url)[0] == 0

    outputs = []
    for args in (["list"], ["--json", "list"], ["log"], ["--json", "log"],
                 ["list", "--status", "all"]):
        rc, out, err = run(args, db=db.url)
        assert rc == 0, err
        outputs.append(out + err)
    for i in ids:
        for args in (["show", i], ["--json", "show", i], ["log", i],
                     ["--json", "log", i]):
            rc, out, err = run(args, db=db.url)
            assert rc == 0, err
            outputs.append(out + err)
    dump = db.dump()
    assert ids[0] in dump          # the dump is real
    for s in secrets:
        for text in outputs + [dump]:
            assert s not in text
    for text in outputs:
        assert not TOKEN_RE.search(text)


def test_134_verify_never_echoes_token(db):
    rc, doc, err = runjson(["create", "--owner", "a", "--name", "n",
                            "--scope", "dns"], db=db.url)
    tok = doc["token"]
    secret = token_secret(tok)
    wrong = tok[:-1] + ("0" if tok[-1] != "0" else "1")
    for t in (tok, wrong, tok + "x", "garbage " + secret):
        for extra in ([], ["--json"], ["--scope", "nope"]):
            rc, out, err = run(extra + ["verify", t], db=db.url)
            assert secret not in out and secret not in err


def test_135_foreign_control_characters_escaped(db):
    """Rows written by something else than the tool may hold control
    characters: JSON escapes them, text output never prints them raw."""
    rc, doc, err = runjson(["create", "--owner", "a", "--name", "n",
                            "--scope", "dns"], db=db.url)
    assert rc == 0, err
    if db.kind == "mysql":
        expr = "CONCAT('x', CHAR(1), 'y', CHAR(27), '[31m', CHAR(10), 'z')"
    elif db.kind == "pgsql":
        expr = "'x' || chr(1) || 'y' || chr(27) || '[31m' || chr(10) || 'z'"
    else:
        expr = "'x' || char(1) || 'y' || char(27) || '[31m' || char(10) || 'z'"
    db.sql(f"UPDATE apitoken_tokens SET name = {expr}, description = {expr}"
           f" WHERE id = '{doc['id']}'")
    want = "x\x01y\x1b[31m\nz"
    rc, out, err = run(["--json", "list"], db=db.url)
    assert rc == 0, err
    # Escaped, never raw: the only raw newline ends the document.
    assert "\\u0001" in out and "\\u001b" in out
    assert "\x01" not in out and "\x1b" not in out and out.count("\n") == 1
    assert json.loads(out)[0]["name"] == want
    for args in (["list"], ["show", doc["id"]]):
        rc, out, err = run(args, db=db.url)
        assert rc == 0, err
        assert "\x1b" not in out and "\x01" not in out
        assert "x\\x01y\\x1b[31m\\x0az" in out


C1 = "\u009b"      # CSI as one character: some terminals obey it


def test_136_c1_controls_escaped_in_errors(db):
    """C1 controls (U+0080 to U+009F) in a refused value are shown as the
    \\xNN of their UTF-8 bytes, never raw, as C0 controls are."""
    for field, value in (("--owner", f"own{C1}31mer"),
                         ("--name", f"na{C1}me\u0085"),
                         ("--description", f"de\u0080sc")):
        args = ["create", "--owner", "a", "--name", "n", "--scope", "dns",
                "--description", "d"]
        args[args.index(field) + 1] = value
        rc, out, err = run(args, db=db.url)
        assert rc == 2 and "control character" in err, (field, err)
        assert not any(0x80 <= ord(ch) <= 0x9f for ch in err), err
        want = value.encode().decode("latin-1")
        want = "".join(f"\\x{ord(ch):02x}" if ord(ch) >= 0x80 else ch
                       for ch in want)
        assert f"'{want}'" in err, (want, err)
    rc, doc, err = runjson(["create", "--owner", "a", "--name", "n",
                            "--scope", "dns"], db=db.url)
    assert rc == 0, err
    rc, out, err = run(["rename", doc["id"], f"x{C1}y"], db=db.url)
    assert rc == 2 and "'x\\xc2\\x9by'" in err, err


def test_137_foreign_c1_controls_escaped_in_text(db):
    """A name with a C1 control written by something else is printed as
    \\xc2\\x9b by the text output; JSON keeps the character."""
    rc, doc, err = runjson(["create", "--owner", "a", "--name", "n",
                            "--scope", "dns"], db=db.url)
    assert rc == 0, err
    if db.kind == "mysql":
        expr = "CONCAT('x', CONVERT(X'C29B' USING utf8mb4), '31m')"
    elif db.kind == "pgsql":
        expr = "'x' || chr(155) || '31m'"
    else:
        expr = "'x' || char(155) || '31m'"
    db.sql(f"UPDATE apitoken_tokens SET name = {expr}, description = {expr}"
           f" WHERE id = '{doc['id']}'")
    rc, out, err = run(["--json", "show", doc["id"]], db=db.url)
    assert rc == 0, err
    assert json.loads(out)["name"] == f"x{C1}31m"
    for args in (["list"], ["show", doc["id"]], ["log"]):
        rc, out, err = run(args, db=db.url)
        assert rc == 0, err
        assert C1 not in out, (args, out)
    rc, out, err = run(["show", doc["id"]], db=db.url)
    assert "x\\xc2\\x9b31m" in out
