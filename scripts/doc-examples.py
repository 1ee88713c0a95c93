#!/usr/bin/env python3
"""Count the public items of the published crates that have an example in their rustdoc.

    python3 scripts/doc-examples.py               # totals per crate
    python3 scripts/doc-examples.py --missing sdk/core   # list items without an example

An item is a `pub` fn, struct, enum, trait, type, const, static or macro (`pub(crate)` and
friends are not public) outside `#[cfg(test)]` modules and `tests/`, `benches/`, `examples/`.
It "has an example" when its own doc comment (`///` lines right above it, attributes in between
allowed) contains a code block, or when it points to a shared example with a doc line
`Example: see [`Other`]` (or `[`Other`](...)`) and the code block of `Other` (an item of the
same crate) really uses it (its name appears there as a word). Shared examples keep the doc
tests few: each doctest is one more binary to compile and link under edition 2021. The
`own` column counts the items with a code block of their own. Enum variants and struct fields are not counted; a method counts
even when its type lives in a private module (a line-based approximation, not rustdoc: items of
private modules that are not re-exported are counted too). Standard library only.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["sdk/core", "sdk/gureum", "sdk/layers", "sdk/crypto", "sdk/migrate", "sdk/sync",
          "providers/local", "providers/aws", "providers/azure", "providers/openstack",
          "providers/ncloud", "providers/amqp", "providers/kafka", "providers/kakao-pubsub"]
ITEM = re.compile(r"^\s*pub\s+(?:(?:async|const|unsafe|extern\s+\"C\")\s+)*"
                  r"(fn|struct|enum|trait|type|const|static|macro_rules!|mod|union)\s+([A-Za-z_][A-Za-z0-9_]*)")
MACRO = re.compile(r"^\s*macro_rules!\s+([A-Za-z_][A-Za-z0-9_]*)")


SEE = re.compile(r"Example: see \[`(?:[A-Za-z_][A-Za-z0-9_]*::)*([A-Za-z_][A-Za-z0-9_]*)(?:\(\))?`\]")


def doc_info(doc):
    """(has_code_block, code text, name of the item whose example it points to) of doc lines."""
    code, inside = [], False
    for d in doc:
        if d.strip().startswith("```"):
            inside = not inside
        elif inside:
            code.append(d)
    has = any(d.strip().startswith("```") for d in doc)
    see = next((m.group(1) for d in doc for m in [SEE.search(d)] if m), None)
    return has, "\n".join(code), see


def items(path):
    """(name, kind, line, has_example, code, see) of the public items of one file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out = []
    doc = []          # doc lines of the item being approached
    skip_depth = None  # brace depth at which a #[cfg(test)] module started
    depth = 0
    pending_cfg_test = False
    exported_macro = False
    attr_open = 0     # unclosed `[` of a multi-line attribute (`#[derive(\n  Debug,\n)]`)
    for i, line in enumerate(lines):
        s = line.strip()
        if attr_open > 0:
            attr_open += s.count("[") - s.count("]")
            continue
        if skip_depth is None:
            if s.startswith("#[cfg(test)]"):
                pending_cfg_test = True
            elif pending_cfg_test and re.match(r"^(pub\s+)?mod\s+\w+\s*\{", s):
                skip_depth = depth
                pending_cfg_test = False
            elif pending_cfg_test and s and not s.startswith("#["):
                pending_cfg_test = False
            if s.startswith("#[macro_export]"):
                exported_macro = True
            if s.startswith("///"):
                doc.append(s[3:])
            elif s.startswith("#[") or s.startswith("#!") or s == "":
                if s.startswith("#["):
                    attr_open = max(s.count("[") - s.count("]"), 0)
            else:
                m = ITEM.match(line)
                mm = MACRO.match(line) if exported_macro else None
                if m and m.group(1) != "mod":
                    out.append((m.group(2), m.group(1), i + 1) + doc_info(doc))
                elif mm:
                    out.append((mm.group(1), "macro", i + 1) + doc_info(doc))
                doc = []
                exported_macro = False
        # brace depth (strings and comments are rare enough to ignore on brace lines)
        code = re.sub(r"//.*", "", re.sub(r'"(\\.|[^"\\])*"', '""', line))
        depth += code.count("{") - code.count("}")
        if skip_depth is not None and depth <= skip_depth:
            skip_depth = None
    return out


def crate_items(crate):
    src = os.path.join(ROOT, crate, "src")
    res = []
    for d, _, files in os.walk(src):
        if os.path.basename(d) in ("tests", "benches"):
            continue
        for f in sorted(files):
            if f.endswith(".rs") and f != "tests.rs":
                p = os.path.join(d, f)
                res.extend((os.path.relpath(p, ROOT),) + it for it in items(p))
    # (path, name, kind, line, own example, covered by own or shared example)
    codes = {}
    for it in res:
        if it[4]:
            codes.setdefault(it[1], []).append(it[5])
    out = []
    for p, name, kind, line, has, _code, see in res:
        shared = see is not None and any(
            re.search(r"\b" + re.escape(name) + r"\b", c) for c in codes.get(see, []))
        out.append((p, name, kind, line, has, has or shared))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--missing", metavar="CRATE", help="list the items of CRATE without an example")
    a = ap.parse_args()
    if a.missing:
        for p, name, kind, line, _own, has in crate_items(a.missing):
            if not has:
                print(f"{p}:{line}: {kind} {name}")
        return 0
    tot = [0, 0, 0]
    print(f"{'crate':<22} {'public items':>12} {'with example':>13} {'share':>6} {'own':>5}")
    for c in CRATES:
        its = crate_items(c)
        n, w, o = len(its), sum(1 for x in its if x[5]), sum(1 for x in its if x[4])
        tot[0] += n
        tot[1] += w
        tot[2] += o
        print(f"{c:<22} {n:>12} {w:>13} {100 * w / max(n, 1):>5.0f}% {o:>5}")
    print(f"{'total':<22} {tot[0]:>12} {tot[1]:>13} {100 * tot[1] / max(tot[0], 1):>5.0f}% {tot[2]:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
