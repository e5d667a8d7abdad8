"""Every third-party package that rag/ and eval/ import is declared in pyproject.toml.

An AST scan of every ``import`` (top of module or inside a function), mapped from import name to
distribution by the installed metadata; the standard library and the project itself are skipped.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib

from conftest import ROOT

OWN = {"rag", "eval"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {_canonical(re.match(r"[A-Za-z0-9_.\-]+", r).group()) for r in reqs}


def _imports() -> dict[str, set[str]]:
    """Top-level import name -> the files importing it."""
    found: dict[str, set[str]] = {}
    for path in sorted([*(ROOT / "rag").rglob("*.py"), *(ROOT / "eval").glob("*.py"), ROOT / "ui.py"]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in OWN:
                    found.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    return found


def test_the_scan_sees_the_direct_imports():
    # Guards the scan itself: these are imported inside functions as well as at module top.
    assert {"numpy", "fastapi", "uvicorn", "gradio", "faiss", "scipy", "jieba"} <= set(_imports())


def test_every_third_party_import_is_a_declared_distribution():
    by_import = md.packages_distributions()
    declared = _declared()
    missing = []
    for name, files in sorted(_imports().items()):
        dists = {_canonical(d) for d in by_import.get(name, [])}
        if not dists:
            missing.append(f"{name} (not installed, so its distribution is unknown; imported by {sorted(files)})")
        elif not dists & declared:
            missing.append(f"{name} -> {sorted(dists)} (imported by {sorted(files)})")
    assert not missing, "imported but not declared in pyproject.toml [project] dependencies or extras:\n" + \
        "\n".join(missing)
