#!/usr/bin/env python3
"""Lists the module edges of the daemon crate and checks them against its layers.

An edge is one module naming another by path (`crate::store::Store`, `super::rules::Rule`, a
`use` tree). Two views:
- top level: `src/<a>` -> `src/<b>`; an edge that climbs the layer order below is an error;
- inside a folder: file -> sibling file (`mod` stands for the folder's mod.rs); a circle
  between siblings is an error; one that needs `mod` (a child using what its parent defines)
  is allowed and listed with --all.

Test code (`tests.rs`, `*_tests.rs`, `tests/` folders) is left out: tests may reach anywhere.
Usage: dev/module-edges.py [--all] (also print every edge). Exit status 1 on an error.
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

# Bottom first. A module may use modules of its own rank or below (same rank: no circle).
LAYERS = [
    ["hex", "timestamp", "model", "threads", "logging"],
    ["auth"],
    ["config"],
    ["store"],
    ["ingest"],
    ["bus"],
    ["rules", "ml", "hass"],
    ["sync"],
    ["api"],
    ["runtime"],
    ["cli"],
    ["main"],
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

SRC = Path(__file__).resolve().parent.parent / "src"


def module_path(file):
    parts = list(file.relative_to(SRC).with_suffix("").parts)
    if parts in (["lib"], ["main"]):
        return []
    if parts[-1] == "mod":
        parts.pop()
    return parts


def is_test(file):
    rel = file.relative_to(SRC).parts
    return "tests" in rel[:-1] or rel[-1] in ("tests.rs",) or rel[-1].endswith("_tests.rs")


def strip_comments_and_strings(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def use_trees(text):
    """Yields the paths of `use` items, braces expanded."""
    for match in re.finditer(r"\buse\s+([^;]+);", text):
        yield from expand(re.sub(r"\s+", "", match.group(1)))


def expand(tree):
    brace = tree.find("{")
    if brace < 0:
        yield tree.split(" as ")[0]
        return
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    depth, start = 0, 0
    for i, ch in enumerate(inner + ","):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            if inner[start:i]:
                yield from expand(prefix + inner[start:i])
            start = i + 1


def references(text, here, children):
    """Absolute module paths (lists) that the text names, from module `here`."""
    paths = list(use_trees(text))
    paths += re.findall(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", text)
    # Edition-2018 relative paths to child modules (`routes::handle` in api/mod.rs).
    relative = re.findall(r"(?<![\w:])(\w+(?:::\w+)+)", text)
    paths += [m for m in relative if m.split("::")[0] in children]
    for path in paths:
        parts = [p for p in path.split("::") if p]
        if not parts:
            continue
        if parts[0] == "crate":
            yield parts[1:]
        elif parts[0] in ("super", "self"):
            base = list(here)
            while parts and parts[0] in ("super", "self"):
                if parts.pop(0) == "super":
                    base = base[:-1]
            yield base + parts
        elif parts[0] in children:
            yield list(here) + parts


def main():
    show_all = "--all" in sys.argv
    files = {tuple(module_path(f)): f for f in SRC.rglob("*.rs") if not is_test(f)}
    modules = set(files)
    top_edges, folder_edges = defaultdict(set), defaultdict(lambda: defaultdict(set))
    for here, file in sorted(files.items()):
        text = strip_comments_and_strings(file.read_text())
        children = {m[-1] for m in modules if len(m) == len(here) + 1 and m[:-1] == here}
        for target in references(text, here, children):
            # The module a path lands in: its longest prefix that is a file.
            prefixes = (tuple(target[:n]) for n in range(len(target), 0, -1))
            target = next((p for p in prefixes if p in modules), None)
            if target is None or target == here:
                continue
            src_top = here[0] if here else "main"
            if src_top != target[0]:
                top_edges[src_top].add((target[0], file.relative_to(SRC).as_posix()))
            common = 0
            while common < min(len(here), len(target)) and here[common] == target[common]:
                common += 1
            if common == 0:
                continue
            folder = "/".join(here[:common])
            a = here[common] if common < len(here) else "mod"
            b = target[common] if common < len(target) else "mod"
            folder_edges[folder][a].add(b)

    errors = 0
    print("top-level edges (module -> modules it uses):")
    for src in sorted(top_edges, key=lambda m: (RANK.get(m, 99), m)):
        targets = sorted({t for t, _ in top_edges[src]}, key=lambda m: (RANK.get(m, 99), m))
        print(f"  {src:10} -> {' '.join(targets)}")
        for target, where in sorted(top_edges[src]):
            if src not in RANK or target not in RANK:
                print(f"    UNRANKED {src} -> {target} ({where})")
                errors += 1
            elif RANK[target] > RANK[src] or (
                RANK[target] == RANK[src] and src in {t for t, _ in top_edges[target]}
            ):
                print(f"    UPWARD {src} -> {target} ({where})")
                errors += 1
    print("folder circles:")
    for folder in sorted(folder_edges):
        graph = folder_edges[folder]
        if show_all:
            for a in sorted(graph):
                print(f"  {folder}: {a} -> {' '.join(sorted(graph[a]))}")
        siblings = {a: graph[a] - {"mod"} for a in graph if a != "mod"}
        for cycle in cycles(siblings):
            print(f"  {folder}: {' <-> '.join(sorted(cycle))}")
            errors += 1
        if show_all:
            for cycle in cycles(graph):
                if "mod" in cycle:
                    print(f"  {folder}: {' <-> '.join(sorted(cycle))} (through mod.rs, allowed)")
    print("errors:", errors)
    return 1 if errors else 0


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
