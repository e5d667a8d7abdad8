"""End to end through the suite with the bm25 system only (no embedding model): seconds, real corpus."""

from __future__ import annotations

import json

import pytest

from conftest import CORPUS, DEV


@pytest.mark.skipif(not DEV.exists(), reason=f"gold questions not found at {DEV}")
def test_bm25_run_writes_reports_with_exact_spans(tmp_path):
    from eval.run import run_eval
    from eval.systems import read_raw

    questions = tmp_path / "dev10.jsonl"
    questions.write_text("".join(DEV.read_text(encoding="utf-8").splitlines(keepends=True)[:10]), encoding="utf-8")
    out = tmp_path / "out"
    report = run_eval(questions, systems=("bm25",), out_dir=out, corpus_dir=CORPUS)

    for name in ("report.md", "report.json", "metrics.png", "latency.png", "bm25.jsonl"):
        assert (out / name).stat().st_size > 0, name
    on_disk = json.loads((out / "report.json").read_text(encoding="utf-8"))
    m = on_disk["systems"]["bm25"]["overall"]
    assert on_disk["questions"] == 10 == report["questions"]
    assert 0.0 <= m["recall@1000chars"] <= 1.0
    assert m["citation_verbatim"] == 1.0
    assert "| R@1000c |" in (out / "report.md").read_text(encoding="utf-8")

    raws = read_raw(CORPUS)
    records = [json.loads(line) for line in (out / "bm25.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 10
    for r in records:
        assert len(r["retrieved"]) >= 10, r["id"]
        assert r["citations"], r["id"]
        for c in r["citations"]:
            assert raws[c["source"]][c["start"] : c["end"]] == c["quote"], r["id"]
        for s in r["retrieved"]:
            assert 0 <= s["start"] < s["end"] <= len(raws[s["source"]])
