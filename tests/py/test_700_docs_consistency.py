"""The documentation matches the code.

Directives: every AP_INIT_* entry in mod_apitoken/*.[ch] is described in
docs/directives.md (with the httpd manual's fields and an example), in
man/mod_apitoken.8 and in conf/apitoken-sample.conf; no document names a
directive the code does not register.

The tool: every command in `apitoken --help` and every long option in it and
in `apitoken COMMAND --help` is described in man/apitoken.1 (each command's
options under that command); the page names no command or option the tool
lacks.

Both man pages render with groff without a warning.
"""

import glob
import os
import re
import shlex
import subprocess

import pytest

from conftest import SRCDIR, run

DIRECTIVE_WORD = re.compile(r"\bApiToken[A-Z][A-Za-z]*\b")
LONG_OPT = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*[a-z0-9])")


def src(*parts):
    return os.path.join(SRCDIR, *parts)


def read(*parts):
    path = src(*parts)
    assert os.path.isfile(path), f"{path} is missing"
    with open(path, encoding="utf-8") as f:
        return f.read()


# --- the module's directives, from its source ---------------------------

def code_directives():
    """{name: (kind, req_override)} from the AP_INIT_* entries of the
    module's sources and headers."""
    found = {}
    # Headers too: a command table may take entries from a macro there.
    files = sorted(glob.glob(src("mod_apitoken", "*.c"))
                   + glob.glob(src("mod_apitoken", "*.h")))
    assert files, "no module sources"
    entry = re.compile(r'AP_INIT_([A-Z0-9_]+)\s*\(\s*"([^"]+)"\s*,'
                       r'\s*[^,]+,\s*[^,]+,\s*([^,]+),')
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("\\\n", " ")    # macro continuation lines
        # Commented-out entries do not count.
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        # Line comments, but not "//" inside a string ("pgsql://...").
        text = re.sub(r'("(?:[^"\\\n]|\\.)*")|//[^\n]*',
                      lambda m: m.group(1) or " ", text)
        for kind, name, override in entry.findall(text):
            assert name not in found, f"{name} registered twice"
            found[name] = (kind, re.sub(r"\s+", "", override))
    assert found, "no AP_INIT_* entries found in mod_apitoken/*.c"
    return found


@pytest.fixture(scope="module")
def directives():
    return code_directives()


# --- roff ----------------------------------------------------------------

ALTERNATING = {".BR", ".BI", ".IB", ".IR", ".RB", ".RI"}


def roff_plain(line):
    """Text of one roff line with fonts and escapes removed; for the
    alternating-font macros the arguments are joined as roff does."""
    s = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", line)
    s = (s.replace("\\-", "-").replace("\\&", "").replace("\\c", "")
         .replace("\\~", " ").replace("\\e", "\\").replace("\\(oq", "'")
         .replace("\\(cq", "'"))
    if not s.startswith("."):
        return s
    macro, _, rest = s.partition(" ")
    if macro in ALTERNATING or macro in (".B", ".I"):
        try:
            args = shlex.split(rest, posix=True)
        except ValueError:
            args = rest.split()
        return ("".join(args) if macro in ALTERNATING else " ".join(args))
    if macro in (".TP", ".PP", ".RS", ".RE", ".br", ".nf", ".fi", ".nh"):
        return ""
    return rest


def man_sections(text):
    """{SECTION NAME: [raw lines]}"""
    sections, name = {}, None
    for line in text.splitlines():
        if line.startswith(".SH "):
            name = line[4:].strip().strip('"')
            sections[name] = []
        elif name is not None:
            sections[name].append(line)
    return sections


def top_level_items(lines):
    """[(tag text, [body lines])] for the .TP items outside .RS blocks;
    the body runs to the next top-level item and includes nested ones."""
    items, depth, i = [], 0, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".RS"):
            depth += 1
        elif line.startswith(".RE"):
            depth = max(0, depth - 1)
        elif line.startswith(".TP") and depth == 0 and i + 1 < len(lines):
            items.append((roff_plain(lines[i + 1]).strip(), []))
            i += 2
            continue
        if items:
            items[-1][1].append(line)
        i += 1
    return items


def plain(lines):
    return "\n".join(roff_plain(x) for x in lines)


@pytest.mark.parametrize("page", ["apitoken.1", "mod_apitoken.8"])
def test_700_man_page_renders_without_warnings(page):
    path = src("man", page)
    assert os.path.isfile(path), f"{path} is missing"
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path],
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stderr == b"", r.stderr.decode()
    r = subprocess.run(["groff", "-man", "-Tutf8", path],
                       capture_output=True, timeout=60)
    # Drop grotty's overstrike (bold is "X\bX").
    out = re.sub(".\x08", "", r.stdout.decode("utf-8", "replace"))
    assert "NAME" in out and "SYNOPSIS" in out and "DESCRIPTION" in out


# --- directives ------------------------------------------------------------

def reference_sections():
    """{directive: section text} from the '## Name' sections."""
    text = read("docs", "directives.md")
    parts = re.split(r"^## +(\S+)[ \t]*$", text, flags=re.M)
    return text, {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def table_field(section, field):
    m = re.search(r"^\|\s*" + field + r"\s*\|\s*(.*?)\s*\|\s*$", section,
                  re.M)
    return m.group(1) if m else None


def test_701_reference_covers_every_directive(directives):
    text, sections = reference_sections()
    documented = {k for k in sections if k.startswith("ApiToken")}
    missing = sorted(set(directives) - documented)
    assert not missing, f"not in docs/directives.md: {missing}"
    unknown = sorted(set(DIRECTIVE_WORD.findall(text)) - set(directives))
    assert not unknown, f"docs/directives.md names unknown {unknown}"
    for name, (kind, override) in directives.items():
        sec = sections[name]
        for field in ("Description", "Syntax", "Default", "Context",
                      "Override", "Module"):
            assert table_field(sec, field), f"{name}: no {field} row"
        syntax = table_field(sec, "Syntax")
        assert name in syntax, f"{name}: Syntax does not name it"
        if kind == "FLAG":
            assert re.search(r"On\s*\\?\|\s*Off", syntax), \
                f"{name}: a flag's Syntax is On|Off"
        assert table_field(sec, "Module") == "mod_apitoken"
        ctx = table_field(sec, "Context")
        ovr = table_field(sec, "Override")
        # Where httpd accepts the directive (req_override) is what the
        # Context and Override rows say.
        flags = set(override.split("|"))
        if "OR_AUTHCFG" in flags:
            assert "AuthConfig" in ovr, f"{name}: Override is AuthConfig"
            assert ".htaccess" in ctx and "directory" in ctx, name
        elif not any(f.startswith("OR_") for f in flags):
            assert ovr == "not applicable", f"{name}: no Override"
            assert ".htaccess" not in ctx, f"{name}: not in .htaccess"
            assert ("directory" in ctx) == ("ACCESS_CONF" in flags), \
                f"{name}: Context directory iff ACCESS_CONF ({ctx})"
        # An example that uses the directive.
        blocks = re.findall(r"```apache\n(.*?)```", sec, re.S)
        assert any(re.search(r"^\s*" + name + r"\b", b, re.M)
                   for b in blocks), f"{name}: no example"
    # The index at the top links every directive.
    for name in directives:
        assert f"(#{name.lower()})" in text, f"{name} not in the index"


def test_702_man_page_covers_every_directive(directives):
    text = read("man", "mod_apitoken.8")
    sections = man_sections(text)
    assert "DIRECTIVES" in sections, "mod_apitoken.8 has no DIRECTIVES"
    items = top_level_items(sections["DIRECTIVES"])
    documented = {tag.split()[0] for tag, _ in items if tag}
    missing = sorted(set(directives) - documented)
    assert not missing, f"not in mod_apitoken.8 DIRECTIVES: {missing}"
    unknown = sorted(set(DIRECTIVE_WORD.findall(plain(text.splitlines())))
                     - set(directives))
    assert not unknown, f"mod_apitoken.8 names unknown {unknown}"
    for tag, body in items:
        name = tag.split()[0]
        if name in directives:
            b = plain(body)
            assert "Default:" in b and "Context:" in b, name
            if "OR_AUTHCFG" in directives[name][1]:
                assert "Override: AuthConfig" in b, name
            else:
                assert "Override:" not in b and ".htaccess" not in b, name


def test_703_sample_configuration_covers_every_directive(directives):
    text = read("conf", "apitoken-sample.conf")
    # A directive counts when it starts a line, set or commented out.
    shown = set(re.findall(r"^[ \t]*#?[ \t]*(ApiToken[A-Za-z]+)\b", text,
                           re.M))
    missing = sorted(set(directives) - shown)
    assert not missing, f"not in conf/apitoken-sample.conf: {missing}"
    unknown = sorted(set(DIRECTIVE_WORD.findall(text)) - set(directives))
    assert not unknown, f"conf/apitoken-sample.conf names unknown {unknown}"


def code_providers():
    """The authz providers the module registers ("apitoken-scope", ...)."""
    text = read("mod_apitoken", "apitoken_authz.c")
    found = re.findall(r'AUTHZ_PROVIDER_GROUP,\s*"([a-z-]+)"', text)
    assert found, "no authz providers found"
    return found


def test_703_every_authz_provider_documented():
    """Each `Require PROVIDER` the module registers is described in the
    reference, the man page, the README and the sample configuration."""
    providers = code_providers()
    assert "apitoken-resource" in providers
    for doc in (("docs", "directives.md"), ("man", "mod_apitoken.8"),
                ("README",), ("conf", "apitoken-sample.conf")):
        text = plain(read(*doc).splitlines()) if doc[0] == "man" \
            else read(*doc)
        for prov in providers:
            assert f"Require {prov}" in text, (doc, prov)


def test_704_apitoken1_names_only_real_directives(directives):
    text = plain(read("man", "apitoken.1").splitlines())
    unknown = sorted(set(DIRECTIVE_WORD.findall(text)) - set(directives))
    assert not unknown, f"apitoken.1 names unknown {unknown}"


# --- the tool --------------------------------------------------------------

def help_section(out, heading):
    """The lines after a line starting with heading, up to a blank line."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(heading):
            block = []
            for x in lines[i + 1:]:
                if not x.strip():
                    break
                block.append(x)
            return block
    raise AssertionError(f"no {heading!r} in help output:\n{out}")


@pytest.fixture(scope="module")
def tool_help():
    """(global options, {command: [its own long options]})."""
    rc, out, err = run(["--help"])
    assert rc == 0, err
    commands = [m.group(1) for m in
                (re.match(r"^  ([a-z][a-z-]*)\s", x)
                 for x in help_section(out, "Commands:")) if m]
    assert len(commands) >= 10, commands
    glob_opts = set()
    for x in help_section(out, "Global options"):
        glob_opts.update(LONG_OPT.findall(x.split("  ", 2)[1]
                                          if x.startswith("  ") else x))
    assert {"db", "json", "help"} <= glob_opts, glob_opts
    per_cmd = {}
    for cmd in commands:
        rc, out, err = run([cmd, "--help"])
        assert rc == 0, (cmd, err)
        opts = []
        if "\nOptions:\n" in out:
            for x in help_section(out, "Options:"):
                m = LONG_OPT.match(x.strip())
                if m:
                    opts.append(m.group(1))
        per_cmd[cmd] = opts
    return glob_opts, per_cmd


def man1_commands():
    text = read("man", "apitoken.1")
    sections = man_sections(text)
    for sec in ("SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS",
                "ENVIRONMENT", "EXIT STATUS", "SEE ALSO"):
        assert sec in sections, f"apitoken.1 has no {sec} section"
    items = top_level_items(sections["COMMANDS"])
    cmds = {}
    for tag, body in items:
        name = tag.split()[0]
        assert name not in cmds, f"{name} documented twice"
        cmds[name] = tag + "\n" + plain(body)
    return text, sections, cmds


def test_705_man_page_covers_every_command(tool_help):
    _, per_cmd = tool_help
    _, _, cmds = man1_commands()
    missing = sorted(set(per_cmd) - set(cmds))
    assert not missing, f"commands not in apitoken.1: {missing}"
    unknown = sorted(set(cmds) - set(per_cmd))
    assert not unknown, f"apitoken.1 documents unknown commands {unknown}"


def test_706_man_page_covers_every_option(tool_help):
    glob_opts, per_cmd = tool_help
    text, sections, cmds = man1_commands()
    gitems = top_level_items(sections["GLOBAL OPTIONS"])
    gdoc = set()
    for tag, _ in gitems:
        gdoc.update(LONG_OPT.findall(tag))
    missing = sorted(glob_opts - gdoc)
    assert not missing, f"global options not in apitoken.1: {missing}"
    for cmd, opts in per_cmd.items():
        documented = set(LONG_OPT.findall(cmds.get(cmd, "")))
        lacking = sorted(set(opts) - documented)
        assert not lacking, f"apitoken.1 '{cmd}' lacks --{lacking}"
    known = set(glob_opts).union(*map(set, per_cmd.values()))
    named = set(LONG_OPT.findall(plain(text.splitlines())))
    unknown = sorted(named - known)
    assert not unknown, f"apitoken.1 names unknown options {unknown}"
