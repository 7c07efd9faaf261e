"""Facts that the documents repeat stay the same as the code's: each
directive's default in docs/directives.md and mod_apitoken.8, the defaults
that apitoken(1) quotes, the schema version the README shows, and the stop
line quickstart.sh prints."""

import re
import subprocess

from conftest import SRCDIR, run
from test_700_docs_consistency import (man_sections, plain, read,
                                       reference_sections, table_field,
                                       top_level_items)


def reference_defaults():
    _, sections = reference_sections()
    out = {}
    for name, sec in sections.items():
        d = table_field(sec, "Default")
        if d and name.startswith("ApiToken"):
            # Only defaults given as a value ("`ApiTokenCacheTTL 300`");
            # prose ("the installed copy") is for people to compare.
            m = re.search(r"`" + name + r"\s+([^`]+)`", d)
            if m:
                out[name] = m.group(1).strip()
    return out


def man8_defaults():
    items = top_level_items(man_sections(read("man", "mod_apitoken.8"))
                            ["DIRECTIVES"])
    out = {}
    for tag, body in items:
        if not tag:
            continue
        m = re.search(r"Default:\s*(.*?)\s*\.?\s*(Context:|$)", plain(body))
        if m:
            val = m.group(1).strip()
            name = tag.split()[0]
            val = re.sub(r"^" + name + r"\s+", "", val).strip('"')
            out[name] = val.rstrip(".")
    return out


def test_720_directive_defaults_agree():
    ref, man = reference_defaults(), man8_defaults()
    assert ref and man
    differ = {n: (ref[n], man[n]) for n in ref.keys() & man.keys()
              if ref[n].lower() != man[n].lower()}
    assert not differ, f"defaults differ (directives.md, man 8): {differ}"


def test_721_apitoken1_quotes_real_defaults():
    ref = reference_defaults()
    text = plain(read("man", "apitoken.1").splitlines())
    quoted = re.findall(r"default\s+(ApiToken[A-Za-z]+)\s+(\S+?)[\s,.;)]",
                        text, re.I)
    wrong = [(n, v, ref.get(n)) for n, v in quoted
             if n in ref and v.lower() != ref[n].lower()]
    assert not wrong, f"apitoken.1 quotes wrong defaults: {wrong}"


def test_722_readme_schema_version(tmp_path):
    rc, out, err = run(["init"], db=f"sqlite3://{tmp_path}/x.db")
    assert rc == 0, err
    version = re.search(r"schema version (\d+)", out).group(1)
    readme = read("README")
    shown = set(re.findall(r"schema version (\d+)", readme))
    assert shown == {version}, (shown, version)


def test_723_quickstart_prints_its_own_stop_line():
    text = read("quickstart.sh")
    line = [ln for ln in text.splitlines() if "stop" in ln and "echo" in ln]
    assert line, "quickstart.sh prints no stop line"
    # The stop line must find this run's directory when it is not the
    # default one.
    assert any("QUICKSTART_DIR" in ln for ln in line), line
    out = subprocess.run(["bash", "-n", f"{SRCDIR}/quickstart.sh"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
