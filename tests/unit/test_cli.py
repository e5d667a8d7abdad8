"""The `rag` command line: hermetic folders, exit codes and messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.cli import main

from conftest import CORPUS


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    shutil.copy(CORPUS / "004_c7efd95109b94131.txt", tmp_path)
    (tmp_path / "empty.txt").write_bytes(b"")
    return tmp_path


def test_chunks_prints_json_lines_and_reports_a_skipped_file(folder, capsys):
    assert main(["chunks", str(folder)]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(r["source"] == "004_c7efd95109b94131.txt" for r in rows)
    assert {"chunk_id", "start", "end", "text", "section", "title", "context"} <= set(rows[0])
    assert err.count("empty.txt") == 1 and "empty" in err


def test_chunks_stats(folder, capsys):
    assert main(["chunks", str(folder), "--stats"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["files"] == 1 and stats["documents"] >= 5
    assert stats["chunks"] == sum(stats["per_file"].values()) == sum(stats["per_level"].values())
    assert stats["chunk_chars"]["max"] <= stats["cap"]


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["chunks", "/nonexistent/folder"], 1, "no such file or folder"),
        (["chunks", "{empty}"], 2, "the file is empty"),
    ],
)
def test_chunks_errors(folder, capsys, argv, code, message):
    argv = [a.replace("{empty}", str(folder / "empty.txt")) for a in argv]
    assert main(argv) == code
    assert message in capsys.readouterr().err
