#!/usr/bin/env python3
"""The build's layering check (issue 17, docs/architecture.md "Source layout").

Each folder of src/ is an area; an area's library declares in cmake/areas.cmake
(ivs_area(NAME DEPS ...), which calls target_link_libraries) the areas it may use. This
check fails when a file includes a header of an area its own area does not declare, or
when the declared graph has a cycle. A present include that breaks the rule, and that a
move in progress removes, is a named, counted exception there
(ivs_layer_exception(FROM TO COUNT "why")): at most COUNT such include lines are allowed;
more fail, fewer ask for COUNT to be lowered (and the exception deleted at 0).

  usage: check-areas.py [--graph] [--self-test] [--stamp FILE] [ROOT]
  (ROOT: the tree, default this one)
  --graph      print each area -> the areas its files include (as they are), and the
               cycles of that graph; checks nothing
  --self-test  copies src/ and cmake/areas.cmake into a temporary tree, checks the copy
               passes, then that a forbidden include, a declared cycle and one include
               over an exception's count each make it fail
  --stamp      touch FILE when the check passes (the build's custom target)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict

INCLUDE = re.compile(r'^\s*#\s*include\s*["<]([a-z_]+)/')
AREA = re.compile(r'^\s*ivs_(?:area|program)\(\s*(\w+)((?:\s+\w+)*)\s*\)', re.M)
EXCEPTION = re.compile(r'^\s*ivs_layer_exception\(\s*(\w+)\s+(\w+)\s+(\d+)\s+"([^"]*)"\s*\)', re.M)


def area_of(rel):
    """src/<area>/... -> area; a job's ivctl views (src/<job>/cli/) belong to ivctl (cli)."""
    parts = rel.split(os.sep)
    if len(parts) >= 3 and parts[2] == "cli":
        return "cli"
    return parts[1]


def includes(root):
    """[(file, line number, including area, included area)] for every include of src/<area>/."""
    src = os.path.join(root, "src")
    areas = {d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d))}
    out = []
    for dirpath, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".cpp", ".hpp", ".h")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            frm = area_of(rel)
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m and m.group(1) in areas and m.group(1) != frm:
                        out.append((rel, n, frm, m.group(1)))
    return out


def declared(root):
    """(areas: {name: set of DEPS}, exceptions: {(from, to): (count, why)}) from cmake/areas.cmake."""
    with open(os.path.join(root, "cmake", "areas.cmake"), encoding="utf-8") as f:
        text = re.sub(r"#.*", "", f.read())
    areas = {}
    for m in AREA.finditer(text):
        words = m.group(2).split()
        deps = set(words[words.index("DEPS") + 1:]) if "DEPS" in words else set()
        areas[m.group(1)] = deps
    exceptions = {(m.group(1), m.group(2)): (int(m.group(3)), m.group(4)) for m in EXCEPTION.finditer(text)}
    return areas, exceptions


def cycles(graph):
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def print_graph(root):
    graph = defaultdict(set)
    for _, _, frm, to in includes(root):
        graph[frm].add(to)
    for a in sorted(graph):
        print(f"{a} -> {' '.join(sorted(graph[a]))}")
    for c in cycles(graph):
        print(f"cycle: {' <-> '.join(c)}")


def check(root):
    """The list of failures (empty: the tree keeps its declared layers), and notes."""
    areas, exceptions = declared(root)
    fails, notes = [], []
    for (frm, to), _ in exceptions.items():
        if frm not in areas or to not in areas:
            fails.append(f"exception {frm} -> {to}: not two declared areas")
        elif to in areas[frm]:
            fails.append(f"exception {frm} -> {to}: {frm} declares {to} already; delete the exception")
    for c in cycles(areas):
        fails.append(f"the declared graph has a cycle: {' <-> '.join(c)} (cmake/areas.cmake): "
                     "a lower area may not use a higher one")
    used = defaultdict(list)
    for rel, n, frm, to in includes(root):
        if frm not in areas:
            fails.append(f"{rel}:{n}: area {frm} is not declared in cmake/areas.cmake")
        elif to not in areas[frm]:
            used[(frm, to)].append(f"{rel}:{n}")
    for (frm, to), where in sorted(used.items()):
        allowed, why = exceptions.get((frm, to), (0, ""))
        if len(where) > allowed:
            head = (f"{len(where)} includes of {to}/ in {frm}/, the exception allows {allowed} ({why})" if allowed
                    else f"{frm}/ includes {to}/, which its library does not declare (ivs_area({frm} DEPS ...))")
            fails.append(f"{head}:\n      " + "\n      ".join(where))
        elif len(where) < allowed:
            notes.append(f"exception {frm} -> {to}: {len(where)} includes left, {allowed} allowed: lower its count")
    for (frm, to), (allowed, _) in sorted(exceptions.items()):
        if (frm, to) not in used and allowed > 0:
            notes.append(f"exception {frm} -> {to}: no include left: delete it")
    return fails, notes


def run(root):
    fails, notes = check(root)
    for n in notes:
        print(f"check-areas: {n}")
    if fails:
        print("check-areas: FAIL: the sources break the declared layers (cmake/areas.cmake, "
              "docs/architecture.md \"Source layout\"):", file=sys.stderr)
        for f in fails:
            print(f"  {f}", file=sys.stderr)
        return 1
    _, exceptions = declared(root)
    n = sum(c for c, _ in exceptions.values())
    print(f"check-areas: ok: every include within its area's declared dependencies, "
          f"{len(exceptions)} named exceptions ({n} includes)")
    return 0


def self_test(root):
    tmp = tempfile.mkdtemp(prefix="ivs-areas.")
    try:
        def fresh():
            shutil.rmtree(os.path.join(tmp, "t"), ignore_errors=True)
            shutil.copytree(os.path.join(root, "src"), os.path.join(tmp, "t", "src"))
            os.makedirs(os.path.join(tmp, "t", "cmake"))
            shutil.copy(os.path.join(root, "cmake", "areas.cmake"), os.path.join(tmp, "t", "cmake"))
            return os.path.join(tmp, "t")

        def fails(t, why=""):
            # Refused for the reason planted, not merely a non-zero exit (a crash of this
            # script would exit non-zero too).
            r = subprocess.run([sys.executable, __file__, t], capture_output=True, text=True)
            return r.returncode == 1 and why in r.stderr

        t = fresh()
        if fails(t):
            print("check-areas: self-test: the copy of the tree already fails")
            return 1
        with open(os.path.join(t, "src", "packet", "parse.hpp"), "a") as f:
            f.write('#include "mirror/broker.hpp"\n')
        if not fails(t, "packet/ includes mirror/, which its library does not declare"):
            print("check-areas: self-test: a forbidden include (packet -> mirror) was not caught")
            return 1
        t = fresh()
        with open(os.path.join(t, "cmake", "areas.cmake"), "a") as f:
            f.write("ivs_area(common DEPS pipeline)\n")
        if not fails(t, "the declared graph has a cycle"):
            print("check-areas: self-test: a declared cycle (common -> pipeline) was not caught")
            return 1
        _, exceptions = declared(root)
        if exceptions:
            t = fresh()
            (frm, to), _ = sorted(exceptions.items())[0]
            d = os.path.join(t, "src", frm)
            name = sorted(n for n in os.listdir(d) if n.endswith(".cpp"))[0]
            with open(os.path.join(d, name), "a") as f:
                f.write(f'#include "{to}/one_more.hpp"\n')
            if not fails(t, f"includes of {to}/ in {frm}/, the exception allows"):
                print(f"check-areas: self-test: an include over the exception {frm} -> {to} was not caught")
                return 1
        print("check-areas: self-test: a forbidden include, a declared cycle and an include over "
              "an exception's count are caught")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    mode, stamp = "check", None
    args = iter(argv)
    for a in args:
        if a == "--graph":
            mode = "graph"
        elif a == "--self-test":
            mode = "self-test"
        elif a == "--stamp":
            stamp = next(args)
        elif a.startswith("-"):
            print(__doc__)
            return 2
        else:
            root = a
    if mode == "graph":
        print_graph(root)
        return 0
    if mode == "self-test":
        return self_test(root)
    rc = run(root)
    if rc == 0 and stamp:
        with open(stamp, "w") as f:
            f.write("ok\n")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
