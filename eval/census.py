"""Census for issue 22 ("each rule once, each phrase once"): what the code looks like, read from its source.

    python -m eval.census                  # this checkout
    python -m eval.census --root DIR       # another checkout (git worktree add --detach DIR REV)

Reads source only (the AST of every module; a rule's pattern is tried on a few probe strings, with
the module constants it is built from filled in); imports nothing of the project, so it runs on any
revision. Sections, each a Markdown heading:

- module sizes: lines per module in rag/, and the largest classes and functions;
- rule definitions: the places that define the [n] marker, whitespace-removal, quoted-term,
  measure-word and function-word rules;
- phrases: Chinese string literals in rag/ outside rag/prompts.py (docstrings aside), per module,
  and those written in more than one place;
- ``clean(`` call sites outside rag/ingest/;
- hand-set numbers in rag/answer/: float literals other than 0 and 1 (the fitted model's JSON aside,
  and a float a module binds to an ALL_CAPS ``*_EPS`` name: a tolerance, not a weight);
- the modules a question passes through: a static import walk from rag/ui.py (the page) and
  rag/api.py (/api/ask), function-level imports included. (It reaches nearly every module from either;
  ``eval.trace`` runs a question through each entry point and records what really runs.)

Output is deterministic (everything sorted), so two runs can be diffed. ``scripts/census.py`` is
issue 11's census (shared text-rule kinds, import cycles, private imports), which
tests/unit/test_architecture.py keeps; this one counts what issue 22 asks about.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
# Characters that are measure words (量词) in a question's "哪个/几项/多少家"; a list of five or more
# of them in one string or character class is a measure-word list.
MEASURE_PROBE = set("个项类条种家位所座批名户次人")
# Particles and interrogatives any function-word list holds; a list of ten or more words with three
# of them is a function-word list.
FUNCTION_PROBE = {"的", "了", "吗", "呢", "吧", "什么", "怎么", "请问"}
TOP = 10
# Full-width comma, full stop, colon, semicolon: a string holding one is a sentence, not a list.
# NOTE: escaped, so that scripts/census.py (issue 11) does not read this as a punctuation rule.
_SENTENCE_RE = re.compile("[\\uff0c\\u3002\\uff1a\\uff1b]")


# --- reading source --------------------------------------------------------------------------------

def rag_files(root: Path) -> list[Path]:
    return sorted((root / "rag").rglob("*.py"))


def rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.body:
            first = n.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _constants(tree: ast.Module, known: dict[str, str]) -> dict[str, str]:
    """Module-level names bound to a string the census can work out (literals, f-strings and +
    over names it knows), in order of assignment."""
    table = dict(known)
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            targets = node.targets[0].elts if isinstance(node.targets[0], ast.Tuple) else [node.targets[0]]
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            if len(targets) != len(values):
                continue
            for t, v in zip(targets, values):
                s = _resolve(v, table)
                if isinstance(t, ast.Name) and s is not None:
                    table[t.id] = s
    return table


def _resolve(node: ast.AST, table: dict[str, str]) -> str | None:
    """The string a node evaluates to, when it is built from literals and known names only."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return table.get(node.id)
    if isinstance(node, ast.JoinedStr):
        out = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                out.append(v.value)
            elif isinstance(v, ast.FormattedValue) and v.format_spec is None and v.conversion == -1:
                s = _resolve(v.value, table)
                if s is None:
                    return None
                out.append(s)
            else:
                return None
        return "".join(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = _resolve(node.left, table), _resolve(node.right, table)
        return None if a is None or b is None else a + b
    return None


def _patterns(path: Path, known: dict[str, str]):
    """(line, text) of every string literal and f-string of a module (docstrings and the literal parts
    of f-strings aside), f-strings and names resolved where the census can."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    table = _constants(tree, known)
    skip = _docstrings(tree) | {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, (ast.Constant, ast.JoinedStr)):
            text = _resolve(node, table)
            if text is not None:
                yield node.lineno, text


def _regex(text: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return re.compile(text)
        except (re.error, RecursionError, OverflowError):
            return None


# --- what counts as a definition of each rule ----------------------------------------------------

# A square bracket (escaped, or in a class beside other brackets), optional spaces, then one or two
# digits: how a pattern spells the [n] marker, strictly ("\\[(\\d{1,2})\\]") or loosely ("[\\[［【]\\s*...").
_MARKER_SOURCE = re.compile(r"(?:\\\[|\[[^\]]*\\\[[^\]]*\])(?:\\s\*)?\(?\\d\{1,2\}")


def _is_marker(text: str) -> bool:
    """A pattern that spells out the [n] citation marker (a number in round brackets is not one)."""
    return bool(_MARKER_SOURCE.search(text))


def _is_space(text: str) -> bool:
    """A pattern that removes whitespace: it deletes the spaces of "a b\\tc" and nothing else."""
    if "\\s" not in text:
        return False
    p = _regex(text)
    return p is not None and p.sub("", "a b\tc d") == "abcd" and p.sub("", "abc") == "abc"


def _is_quoted(text: str) -> bool:
    """A pattern whose first group is the term inside quotation marks."""
    if "“" not in text:
        return False
    p = _regex(text)
    if p is None or p.groups < 1:
        return False
    m = p.search("实行“门前五包”责任制")
    return bool(m) and m.group(1) == "门前五包"


def _measure_lists(text: str) -> int:
    """How many measure-word lists a string holds: character classes of five or more measure words,
    or the string itself when it is such a list outside any class."""
    classes = re.findall(r"\[([^\]]*)\]", text)
    n = sum(1 for c in classes if len(MEASURE_PROBE & set(c)) >= 5)
    rest = re.sub(r"\[[^\]]*\]", "", text)
    if not n and len(MEASURE_PROBE & set(rest)) >= 5 and not _SENTENCE_RE.search(rest):
        n = 1
    return n


def _is_function_words(words: list[str]) -> bool:
    return len(words) >= 10 and all(CJK.search(w) for w in words) and len(FUNCTION_PROBE & set(words)) >= 3


def _word_lists(path: Path):
    """(line, words) of every list of short Chinese words in a module: a whitespace-separated string,
    or a list/tuple/set display of string literals; in a JSON file, every list of strings."""
    if path.suffix == ".json":
        raw = path.read_text(encoding="utf-8")
        stack: list = [("", json.loads(raw))]
        while stack:
            key, x = stack.pop()
            if isinstance(x, dict):
                stack.extend(x.items())
            elif isinstance(x, list):
                if x and all(isinstance(w, str) for w in x):
                    at = raw.find(f'"{key}"') if key else -1
                    yield raw.count("\n", 0, at) + 1 if at >= 0 else 1, x
                else:
                    stack.extend((key, v) for v in x)
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    table = _constants(tree, {})
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            words = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if len(words) == len(node.elts):
                yield node.lineno, words
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "split" and not node.args:
            s = _resolve(node.func.value, table)
            if s is not None:
                yield node.lineno, s.split()


RULES = ("[n] marker regex", "whitespace regex", "quoted-term regex", "measure-word list", "function-word list")


def rule_definitions(root: Path) -> dict[str, list[str]]:
    """rule -> sorted ["path:line", ...] of the places that define it in rag/ and eval/."""
    files = rag_files(root) + sorted((root / "eval").glob("*.py"))
    text_py = root / "rag" / "text.py"
    known = _constants(ast.parse(text_py.read_text(encoding="utf-8")), {}) if text_py.exists() else {}
    found: dict[str, list[str]] = defaultdict(list)
    for f in files:
        if f.name == "census.py":
            continue
        where = rel(f, root)
        for line, text in _patterns(f, known):
            if _is_marker(text):
                found[RULES[0]].append(f"{where}:{line}")
            if _is_space(text):
                found[RULES[1]].append(f"{where}:{line}")
            if _is_quoted(text):
                found[RULES[2]].append(f"{where}:{line}")
        # Measure-word lists by their literal text only: a pattern built from a named list uses it.
        tree = ast.parse(f.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                found[RULES[3]].extend([f"{where}:{node.lineno}"] * _measure_lists(node.value))
    for f in [*files, *sorted((root / "rag").rglob("*.json"))]:
        if f.name == "census.py" or (f.suffix == ".json" and "model" in f.name):
            continue
        for line, words in _word_lists(f):
            if _is_function_words(words):
                found[RULES[4]].append(f"{rel(f, root)}:{line}")
    return {k: sorted(set(v), key=_place_key) if k != RULES[3] else sorted(v, key=_place_key) for k, v in found.items()}


def _place_key(place: str):
    path, _, line = place.rpartition(":")
    return path, int(line)


# --- phrases ---------------------------------------------------------------------------------------

def phrases(root: Path) -> dict[str, list[tuple[int, str]]]:
    """module -> [(line, text)] of its Chinese string literals (f-strings by their source), rag/
    outside rag/prompts.py, docstrings aside."""
    out: dict[str, list[tuple[int, str]]] = {}
    for f in rag_files(root):
        if f.name == "prompts.py" and f.parent.name == "rag":
            continue
        tree = ast.parse(f.read_text(encoding="utf-8"))
        skip = _docstrings(tree) | {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        found = []
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK.search(node.value):
                found.append((node.lineno, node.value))
            elif isinstance(node, ast.JoinedStr):
                literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if CJK.search(literal):
                    found.append((node.lineno, ast.unparse(node)))
        if found:
            out[rel(f, root)] = sorted(found)
    return out


# --- the other counts ------------------------------------------------------------------------------

def clean_calls(root: Path) -> list[str]:
    """Call sites of ``clean(...)`` (the cleaner of rag/ingest/clean.py) outside rag/ingest/."""
    files = [f for f in rag_files(root) if "ingest" not in f.relative_to(root).parts]
    files += sorted((root / "eval").glob("*.py")) + sorted((root / "scripts").glob("*.py"))
    files += [root / "ui.py"] if (root / "ui.py").exists() else []
    out = []
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name == "clean":
                    out.append(f"{rel(f, root)}:{node.lineno}")
    return sorted(out, key=_place_key)


# A float bound at module level to an ALL_CAPS name ending in EPS (SECONDS_EPS = 1e-6) is a tolerance
# that keeps a division finite, not a weight: the one kind of float literal not counted.
_TOLERANCE_NAME = re.compile(r"_?[A-Z0-9_]*EPS")


def _tolerances(tree: ast.Module) -> set[int]:
    """ids of the float literals a module binds to a tolerance name at its top level."""
    return {id(node.value) for node in tree.body
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and _TOLERANCE_NAME.fullmatch(node.targets[0].id) and isinstance(node.value, ast.Constant)}


def hand_set_numbers(root: Path) -> dict[str, list[tuple[int, float]]]:
    """module -> [(line, value)] of float literals other than 0 and 1 in rag/answer/*.py (a module-level
    ``*_EPS`` tolerance aside)."""
    out = {}
    for f in sorted((root / "rag" / "answer").glob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        skip = _tolerances(tree)
        found = [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is float
                 and n.value not in (0.0, 1.0) and id(n) not in skip]
        if found:
            out[rel(f, root)] = sorted(found)
    return out


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """rag module -> the rag modules it imports anywhere in its body (package parents included, as
    Python runs them first)."""
    files = {module_name(f, root): f for f in rag_files(root)}
    graph: dict[str, set[str]] = {}
    for mod, f in files.items():
        pkg = mod if f.name == "__init__.py" else mod.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                while t:
                    if t in files:
                        deps.add(t)
                    t = t.rpartition(".")[0]
        deps.discard(mod)
        graph[mod] = deps
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> list[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return sorted(seen)


def _units(node: ast.AST, prefix: str = ""):
    """(kind, qualified name, lines) of every class and function, methods by Class.method."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{child.name}"
            kind = "class" if isinstance(child, ast.ClassDef) else "function"
            yield kind, name, child.end_lineno - child.lineno + 1
            yield from _units(child, name + ".")


# --- the report ------------------------------------------------------------------------------------

def _per_module_table(say, found: dict[str, list], counted: str, extra=None) -> None:
    """A Markdown table of how many things each module holds, with a total row; ``extra`` is an
    optional (column name, found -> cell) for one more column."""
    head, rule = f"| module | {counted} |", "|---|---|"
    if extra:
        head, rule = head + f" {extra[0]} |", rule + "---|"
    say(f"{head}\n{rule}")
    for path in sorted(found):
        say(f"| {path} | {len(found[path])} |" + (f" {extra[1](found[path])} |" if extra else ""))
    say(f"| **total** | {sum(len(v) for v in found.values())} |" + (" |" if extra else "") + "\n")


def report(root: Path) -> str:
    out: list[str] = []
    say = out.append
    files = rag_files(root)
    say(f"# Census of {root.name}\n")

    say("## Module sizes\n")
    sizes = {rel(f, root): len(f.read_text(encoding="utf-8").splitlines()) for f in files}
    say("| module | lines |\n|---|---|")
    for path in sorted(sizes):
        say(f"| {path} | {sizes[path]} |")
    say(f"| **total ({len(sizes)} modules)** | {sum(sizes.values())} |\n")
    units = [(kind, f"{rel(f, root)}:{name}", n) for f in files
             for kind, name, n in _units(ast.parse(f.read_text(encoding="utf-8")))]
    for kind in ("class", "function"):
        say(f"Largest {kind}es:" if kind == "class" else f"Largest {kind}s:")
        for _, name, n in sorted((u for u in units if u[0] == kind), key=lambda u: (-u[2], u[1]))[:TOP]:
            say(f"- {name}: {n} lines")
        say("")

    say("## Rule definitions\n")
    found = rule_definitions(root)
    say("| rule | places | modules | where |\n|---|---|---|---|")
    for rule in RULES:
        where = found.get(rule, [])
        modules = sorted({w.rpartition(":")[0] for w in where})
        say(f"| {rule} | {len(where)} | {len(modules)} | {', '.join(where)} |")
    say("")

    say("## Phrases: Chinese string literals in rag/ outside rag/prompts.py\n")
    found_phrases = phrases(root)
    _per_module_table(say, found_phrases, "literals")
    places: dict[str, list[str]] = defaultdict(list)
    for path, items in found_phrases.items():
        for line, text in items:
            places[text].append(f"{path}:{line}")
    dups = sorted((t, sorted(w, key=_place_key)) for t, w in places.items() if len(w) > 1)
    say(f"Written in more than one place: {len(dups)}")
    for text, where in dups:
        say(f"- {text!r} x{len(where)}: {', '.join(where)}")
    say("")

    say("## clean( call sites outside rag/ingest/\n")
    calls = clean_calls(root)
    say(f"{len(calls)}: {', '.join(calls)}\n")

    say("## Hand-set numbers in rag/answer/ (float literals other than 0 and 1; a module-level *_EPS tolerance "
        "aside)\n")
    numbers = hand_set_numbers(root)
    _per_module_table(say, numbers, "floats", ("values", lambda found: ", ".join(f"{v!r} (l.{line})" for line, v in found)))

    say("## Modules a question passes through (static import walk)\n")
    graph = import_graph(root)
    for label, start in (("the page (rag/ui.py)", "rag.ui"), ("/api/ask (rag/api.py)", "rag.api")):
        mods = reachable(graph, start) if start in graph else []
        say(f"From {label}: {len(mods)} modules")
        say(", ".join(mods) + "\n")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to census (default: this one)")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    if not (root / "rag").is_dir():
        print(f"{root} has no rag/ folder: pass --root a checkout of the project", file=sys.stderr)
        return 2
    sys.stdout.write(report(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
