"""Code census: module sizes, where each shared text rule is defined, the import graph.

Rerunnable evidence for "one home for each idea" (issue 11):

    python scripts/census.py                 # the work tree
    python scripts/census.py --before REV    # module sizes of REV beside the work tree
    python scripts/census.py --root DIR      # another checkout (git worktree add DIR REV)

It reads source only (AST of every product module: rag/, ui.py, eval/); it imports nothing of the
project. A *definition* of a shared rule is a string literal of its kind (a CJK numeral class, a 文号
bracket pattern, a set of sentence punctuation, a list-item or heading pattern, a newspaper dateline
pattern, an invisible-character class) or a function defining it (numeral conversion, CJK tests,
NFKC normalisation). After issue 11 each of them lives in rag/text.py only.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("rag", "ui.py", "eval")
CJK_PUNCT = set("。，；：！？、")


def product_files(root: Path = ROOT) -> list[Path]:
    out: list[Path] = []
    for p in PRODUCT:
        path = root / p
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else [])
    return out


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_punct_set(s: str) -> bool:
    body = [ch for ch in s if not ch.isspace() and ch not in "[]\\^"]
    return (len(body) >= 2 and all(unicodedata.category(ch).startswith("P") for ch in body)
            and bool(CJK_PUNCT & set(body)))


# kind -> predicate over a string literal
LITERAL_KINDS = {
    "CJK numeral class": lambda s: "一二三四五六七八九" in s or "零一二三" in s,
    "文号 pattern": lambda s: "〔" in s and ("\\d" in s or "[" in s),
    "sentence punctuation set": _is_punct_set,
    "list-item / heading pattern": lambda s: "[（(]" in s or "第[" in s or "第\\s*[" in s,
    "newspaper dateline pattern": lambda s: "本报" in s and ("讯" in s) and any(c in s for c in "[(^"),
    "invisible-character class": lambda s: "\u200b" in s or "\\u200b" in s,
}
FUNCTION_KINDS = {
    "numeral conversion": {"cn_to_int", "int_to_cn"},
    "文号 normalisation": {"normalize_doc_number"},
    "CJK character test": {"is_cjk", "_is_cjk"},
    "NFKC normalisation": {"normalize"},
    "whitespace squeeze": {"squeeze"},
}


def _joined(node: ast.JoinedStr) -> str:
    """An f-string's literal parts joined: the pattern as written, without its fields."""
    return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))


def definitions(files: list[Path], root: Path = ROOT) -> dict[str, list[str]]:
    """kind -> ["path:line", ...] of every definition found."""
    found: dict[str, list[str]] = defaultdict(list)
    for f in files:
        rel = f.relative_to(root)
        tree = ast.parse(f.read_text(encoding="utf-8"))
        joined_parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) in joined_parts:
                continue  # counted with its f-string
            if isinstance(node, (ast.Constant, ast.JoinedStr)):
                text = (_joined(node) if isinstance(node, ast.JoinedStr) else node.value)
                if not isinstance(text, str):
                    continue
                for kind, pred in LITERAL_KINDS.items():
                    if kind == "sentence punctuation set" and isinstance(node, ast.JoinedStr) and "[" not in text:
                        continue  # an f-string's punctuation around its fields is layout, not a pattern
                    if pred(text):
                        found[kind].append(f"{rel}:{node.lineno}")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for kind, names in FUNCTION_KINDS.items():
                    if node.name in names:
                        found[kind].append(f"{rel}:{node.lineno}")
    return found


def text_rules(root: Path = ROOT) -> dict[str, str]:
    """Module-level names of rag/text.py bound to a pattern or character class (string or compiled
    regex), with the pattern text as written there."""
    path = root / "rag" / "text.py"
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            if isinstance(value, ast.Call) and getattr(value.func, "attr", "") == "compile" and value.args:
                value = value.args[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                out[node.targets[0].id] = value.value
            elif isinstance(value, ast.JoinedStr):
                out[node.targets[0].id] = ast.unparse(value)
    return out


def literal_count(path: Path, value: str) -> int:
    """How many string literals of a file spell out exactly this pattern (an f-string by its source)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    n = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value == value:
            n += 1
        elif isinstance(node, ast.JoinedStr) and ast.unparse(node) == value:
            n += 1
    return n


def imports(files: list[Path], root: Path = ROOT) -> tuple[dict[str, set[str]], list[str]]:
    """Module -> project modules it imports (module level or inside functions), and every import
    of a private name (``from x import _y``, ``import x`` then ``x._y``) across modules."""
    names = {module_name(f, root) for f in files}
    graph: dict[str, set[str]] = {}
    private: list[str] = []
    for f in files:
        mod = module_name(f, root)
        pkg = mod if f.name == "__init__.py" else mod.rsplit(".", 1)[0] if "." in mod else ""
        tree = ast.parse(f.read_text(encoding="utf-8"))
        deps: set[str] = set()
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".") if pkg else []
                    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    if sub in names:
                        deps.add(sub)
                        aliases[a.asname or a.name] = sub
                    elif target in names:
                        deps.add(target)
                        if a.name.startswith("_") and not a.name.startswith("__"):
                            private.append(f"{f.relative_to(root)}:{node.lineno} imports {target}.{a.name}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in names:
                        deps.add(a.name)
                        aliases[a.asname or a.name] = a.name
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            base = node.value
            if isinstance(base, ast.Name) and base.id in aliases:
                private.append(f"{f.relative_to(root)}:{node.lineno} uses {aliases[base.id]}.{node.attr}")
            elif isinstance(base, ast.Attribute) and ast.unparse(base).startswith("self."):
                # A collaborator's private attribute (``self.tokenizer._jieba``): another class's inside.
                private.append(f"{f.relative_to(root)}:{node.lineno} reaches into {ast.unparse(base)}.{node.attr}")
        # A package's own __init__ is where its public names come from, not a dependency cycle.
        deps.discard(mod)
        graph[mod] = {d for d in deps if d not in ("rag",) or mod == "rag"}
    return graph, private


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by depth-first search (each reported once, by its members)."""
    seen_sets: set[frozenset] = set()
    out: list[list[str]] = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    key = frozenset(path)
                    if key not in seen_sets:
                        seen_sets.add(key)
                        out.append(path + [start])
                elif nxt not in path and nxt > start:
                    stack.append((nxt, path + [nxt]))
    return out


def sizes_at(rev: str | None, root: Path = ROOT) -> dict[str, int]:
    """Lines per product module at a git revision (None: the work tree)."""
    if rev is None:
        return {str(f.relative_to(root)): len(f.read_text(encoding="utf-8").splitlines()) for f in product_files(root)}
    listing = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "--", *PRODUCT], cwd=root,
                             capture_output=True, text=True, check=True).stdout.split()
    out = {}
    for path in listing:
        if path.endswith(".py"):
            text = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True,
                                  check=True).stdout
            out[path] = len(text.splitlines())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", help="a git revision to compare module sizes with")
    ap.add_argument("--root", type=Path, default=ROOT, help="another checkout to census (e.g. a git worktree)")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    files = product_files(root)
    now = sizes_at(None, root)
    print("## Module sizes (lines)\n")
    if args.before:
        before = sizes_at(args.before, root)
        print(f"| module | {args.before[:10]} | now |\n|---|---|---|")
        for path in sorted(set(before) | set(now)):
            print(f"| {path} | {before.get(path, '—')} | {now.get(path, '—')} |")
        print(f"| **total** | {sum(before.values())} | {sum(now.values())} |")
    else:
        print("| module | lines |\n|---|---|")
        for path in sorted(now):
            print(f"| {path} | {now[path]} |")
        print(f"| **total** | {sum(now.values())} |")
    print("\n## Definitions of shared text rules\n")
    print("| rule | definitions | where |\n|---|---|---|")
    found = definitions(files, root)
    for kind in [*LITERAL_KINDS, *FUNCTION_KINDS]:
        where = found.get(kind, [])
        print(f"| {kind} | {len(where)} | {', '.join(where)} |")
    named = text_rules(root)
    if named:
        print("\n## rag/text.py: each named rule, and how often its pattern is written out in the product\n")
        print("| name | definitions |\n|---|---|")
        for name, value in named.items():
            if len(value) < 2:
                continue  # a single character (、) is a separator in many places, not a pattern
            print(f"| {name} | {sum(literal_count(f, value) for f in files)} |")
    graph, private = imports(files, root)
    loops = cycles(graph)
    print("\n## Import graph\n")
    print(f"{len(graph)} modules, {sum(len(v) for v in graph.values())} edges; cycles: {len(loops)}")
    for c in loops:
        print("  cycle: " + " -> ".join(c))
    print(f"private names used across modules: {len(private)}")
    for p in private:
        print("  " + p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
