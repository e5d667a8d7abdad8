"""eval.census (issue 22): it runs on the repository, reports every section, and is not blind."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

from eval import census

SECTIONS = ("## Module sizes", "Largest classes:", "Largest functions:", "## Rule definitions",
            "## Phrases: Chinese string literals", "Written in more than one place:", "## clean( call sites",
            "## Hand-set numbers in rag/answer/", "## Modules a question passes through",
            "From the page (rag/ui.py):", "From /api/ask (rag/api.py):")


def test_the_census_reports_every_section_and_is_deterministic():
    run = subprocess.run([sys.executable, "-m", "eval.census"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    for heading in SECTIONS:
        assert heading in run.stdout, heading
    for rule in census.RULES:
        assert f"| {rule} |" in run.stdout
    assert run.stdout == census.report(ROOT)


def test_each_shared_rule_is_defined_in_rag_text_only():
    found = census.rule_definitions(ROOT)
    assert set(found) == set(census.RULES)
    assert {rule: [w for w in where if not w.startswith("rag/text.py:")] for rule, where in found.items()} == {
        rule: [] for rule in census.RULES}


def test_the_census_finds_each_rule_and_phrase_where_one_is_written(tmp_path):
    (tmp_path / "rag").mkdir()
    (tmp_path / "rag" / "bad.py").write_text(
        'import re\n'
        'MARK = re.compile(r"\\[(\\d{1,2})\\]")\n'
        'SPACE = re.compile(r"\\s+")\n'
        'QUOTED = re.compile(r"[“\\"「]([^”\\"」]{2,12})[”\\"」]")\n'
        'COUNT = re.compile(r"几[个项类条种家]?")\n'
        'STOP = "的 了 吗 呢 吧 什么 怎么 请问 我 你".split()\n'
        'BUSY = "索引正在更新，请稍候"\n'
        'AGAIN = "索引正在更新，请稍候"\n', encoding="utf-8")
    found = census.rule_definitions(tmp_path)
    assert {rule: len(found.get(rule, [])) for rule in census.RULES} == dict.fromkeys(census.RULES, 1)
    phrases = census.phrases(tmp_path)
    assert [text for _, text in phrases["rag/bad.py"]].count("索引正在更新，请稍候") == 2


def test_the_trace_records_the_project_functions_a_call_runs_and_nothing_else():
    """eval.trace's profiler hook: the functions of rag/ that ran, in the order first entered, each
    (level, function) once in the spine; library code and import-time bodies are not recorded."""
    import json as json_lib
    from pathlib import Path

    import rag
    from eval.trace import Recorder
    from rag import text

    rec = Recorder(Path(rag.__file__).resolve().parent)
    with rec.on():
        json_lib.dumps({"a": 1})
        text.whole_sentences("第一句。第二句。")
        text.whole_sentences("第三句。")
    assert rec.modules == ["rag.text"]
    assert "rag.text:whole_sentences" in rec.functions
    assert not any(f.startswith("json") for f in rec.functions)
    assert rec.spine.count("rag.text:whole_sentences") == 1


def test_the_answerer_holds_no_hand_set_weight():
    """Every weight of rag/answer/ is fitted (answer_model.json) or a named setting (rag/config.py)."""
    assert census.hand_set_numbers(ROOT) == {}


def test_the_census_counts_a_weight_even_when_named_and_not_a_tolerance(tmp_path):
    (tmp_path / "rag" / "answer").mkdir(parents=True)
    (tmp_path / "rag" / "answer" / "bad.py").write_text(
        "SECONDS_EPS = 1e-6\nMIN_SUPPORT = 0.5\n\n\ndef f(x):\n    EPS = 1e-9\n    return x * 0.3 + EPS + 1.0\n",
        encoding="utf-8")
    assert census.hand_set_numbers(tmp_path) == {"rag/answer/bad.py": [(2, 0.5), (6, 1e-9), (7, 0.3)]}
