#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see COPYING).
"""The shape of the tree, checked (run by test.sh):

- no production C file (mod_apitoken/*.c, tools/*.c) is longer than
  MAX_LINES lines;
- the files of mod_apitoken/ have no include cycle: a unit is a .c file
  with the header of the same name (and its private header X_int.h or
  X_internal.h, if any); unit A needs unit B when one of A's files
  includes one of B's headers; the needs must form no cycle;
- no block of BLOCK or more lines of production C or headers (blank lines,
  comments,
  lone braces and #include lines left out, whitespace ignored) stands in
  two files.

Prints every finding and exits 1 when there is one."""

import os
import re
import sys

MAX_LINES = 700
BLOCK = 8

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
src_dirs = ["mod_apitoken", "tools"]
findings = []


def c_files(d):
    p = os.path.join(top, d)
    return sorted(os.path.join(d, f) for f in os.listdir(p)
                  if f.endswith(".c"))


def read(rel):
    with open(os.path.join(top, rel), encoding="utf-8") as f:
        return f.read()


# 1. Length.
for d in src_dirs:
    for rel in c_files(d):
        n = read(rel).count("\n")
        if n > MAX_LINES:
            findings.append(f"{rel}: {n} lines (at most {MAX_LINES})")

# 2. Include cycles among the units of mod_apitoken/.
mod = os.path.join(top, "mod_apitoken")
names = sorted(f for f in os.listdir(mod) if f.endswith((".c", ".h")))


def unit_of(f):
    """The unit of a file: its name without .c/.h; a private header
    X_int.h or X_internal.h belongs to X, the files that share it."""
    base = f[:-2]
    m = re.match(r"(.+?)_(int|internal)$", base)
    if f.endswith(".h") and m and m.group(1) + ".c" in names:
        return m.group(1)
    return base


units = sorted({unit_of(f) for f in names})
inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)
needs = {u: set() for u in units}
for f in names:
    u = unit_of(f)
    for h in inc_re.findall(read(os.path.join("mod_apitoken", f))):
        h = unit_of(h + ".h")
        if h != u and h in needs:
            needs[u].add(h)

index, low, stack, on_stack, counter = {}, {}, [], set(), [0]


def strongconnect(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on_stack.add(v)
    for w in sorted(needs[v]):
        if w not in index:
            strongconnect(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            findings.append("include cycle: " + " <-> ".join(sorted(comp)))


sys.setrecursionlimit(10000)
for u in units:
    if u not in index:
        strongconnect(u)

# 3. Blocks repeated across files.
comment_re = re.compile(r"/\*.*?\*/", re.S)


def code_lines(rel):
    text = comment_re.sub(lambda m: "\n" * m.group(0).count("\n"),
                          read(rel))
    out = []
    for no, line in enumerate(text.split("\n"), 1):
        s = " ".join(line.split())
        if not s or s in ("{", "}", "};", "} else {", "else {") \
                or s.startswith("#include"):
            continue
        out.append((no, s))
    return out


seen = {}
reported = set()
for d in src_dirs:
    for rel in c_files(d) + sorted(os.path.join(d, f) for f in
                                   os.listdir(os.path.join(top, d))
                                   if f.endswith(".h")):
        lines = code_lines(rel)
        for i in range(len(lines) - BLOCK + 1):
            key = "\n".join(s for _, s in lines[i:i + BLOCK])
            where = (rel, lines[i][0])
            first = seen.setdefault(key, where)
            if first[0] != rel and (first[0], rel) not in reported:
                reported.add((first[0], rel))
                findings.append(f"{rel}:{where[1]} repeats "
                                f"{first[0]}:{first[1]} ({BLOCK}+ lines)")

for f in findings:
    print(f)
print(f"check-tree: {len(findings)} finding(s)")
sys.exit(1 if findings else 0)
