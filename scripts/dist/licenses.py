#!/usr/bin/env python3
"""The licenses of what a release binary is built from.

    scripts/dist/licenses.py [--target TRIPLE] [--out FILE] [--check]

Walks `cargo metadata`'s resolved graph from todo-dev through normal
dependencies only (build scripts' and tests' crates are not in the binary),
for the target's platform, and writes THIRD-PARTY-LICENSES.md: each crate,
its version, its SPDX expression and the text of the license files it ships.

Refuses (exit 1, naming the crate and the fix) a crate whose expression has
no alternative in deny.toml's allow list, and a crate from anywhere but crates.io, so a
release never ships a license we have not agreed to or code from an unknown
source. `--check` does only that, writing nothing.
"""

import argparse
import json
import os
import re
import subprocess
import sys

def allowed_licenses():
    """deny.toml's [licenses] allow list: one owner of what is agreed to
    (`cargo deny check licenses` reads the same). Read with a regex, not
    tomllib, so any Python 3 on a release runner will do."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "deny.toml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    section = re.search(r"^\[licenses\]$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    allow = section and re.search(r"^allow\s*=\s*\[(.*?)\]", section.group(1), re.M | re.S)
    if not allow:
        sys.exit(f"licenses.py: no [licenses] allow = [...] in {path}")
    return set(re.findall(r'"([^"]+)"', allow.group(1)))


ALLOWED = allowed_licenses()
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
LICENSE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|UNLICENSE)", re.I)


def allowed(expression):
    """Whether an SPDX expression can be met with ALLOWED licenses alone:
    `A OR B` needs either, `A AND B` both, `A WITH E` is its own entry;
    AND binds tighter than OR, as SPDX says. The old `A/B` means OR."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression.replace("/", " OR "))
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def any_of():
        ok = all_of()
        while peek() == "OR":
            take()
            ok = all_of() or ok
        return ok

    def all_of():
        ok = one()
        while peek() == "AND":
            take()
            ok = one() and ok
        return ok

    def one():
        if peek() == "(":
            take()
            ok = any_of()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in `{expression}`")
            return ok
        name = take()
        if peek() == "WITH":
            take()
            name = f"{name} WITH {take()}"
        return name in ALLOWED

    ok = any_of()
    if peek() is not None:
        raise ValueError(f"cannot read `{expression}` past `{peek()}`")
    return ok


def shipped_packages(target):
    cmd = ["cargo", "metadata", "--format-version", "1", "--locked"]
    if target:
        cmd += ["--filter-platform", target]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"licenses.py: {' '.join(cmd)} failed:\n{run.stderr.strip()}")
    meta = json.loads(run.stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next(p["id"] for p in meta["packages"] if p["name"] == "todo-dev")
    seen, todo = set(), [root]
    while todo:
        node = nodes[todo.pop()]
        for dep in node["deps"]:
            normal = any(k["kind"] is None for k in dep["dep_kinds"])
            if normal and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    return sorted((packages[i] for i in seen), key=lambda p: (p["name"], p["version"]))


def problems_of(packages):
    problems = []
    for p in packages:
        name = f"{p['name']} {p['version']}"
        if p.get("source") != CRATES_IO:
            problems.append(f"{name}: comes from {p.get('source') or 'a path'}, not crates.io\n"
                            "  fix: depend on the crates.io release instead")
        expr = p.get("license")
        if not expr:
            problems.append(f"{name}: declares no SPDX license (license-file only)\n"
                            "  fix: review its license and add an exception here, or drop the crate")
        elif not allowed(expr):
            problems.append(f"{name}: `{expr}` has no alternative in the allowed list\n"
                            "  fix: choose another crate, or agree to the license and add it to deny.toml")
    return problems


def license_texts(package):
    root = os.path.dirname(package["manifest_path"])
    texts = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if LICENSE_FILE.match(name) and os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append((name, f.read().strip()))
    return texts


def render(packages):
    lines = ["# Third-party licenses", "",
             f"todo-dev is built from these {len(packages)} crates (crates.io), each under the",
             "license it declares; the texts below are the ones each crate ships.", ""]
    for p in packages:
        lines.append(f"- {p['name']} {p['version']}: {p['license']}")
    for p in packages:
        lines += ["", f"## {p['name']} {p['version']}", "", f"License: {p['license']}", ""]
        texts = license_texts(p)
        if not texts:
            lines.append("(the crate ships no license file; its license is the SPDX text of the expression above)")
        for name, text in texts:
            lines += [f"### {name}", "", "```text", text, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target")
    ap.add_argument("--out")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    packages = shipped_packages(args.target)
    problems = problems_of(packages)
    if problems:
        print("licenses.py: refused:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    if args.check:
        print(f"licenses: {len(packages)} crates, every one from crates.io under an allowed license")
        return 0
    text = render(packages)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
