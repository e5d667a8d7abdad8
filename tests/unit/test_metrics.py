"""Metric definitions on hand-made spans and answers: no model, no corpus, milliseconds."""

from __future__ import annotations

import pytest

from eval import metrics as M

# A tiny two-file "corpus": the quotes below are found in these raw texts by the metrics code.
RAW = {
    "a.txt": "第一条 总则。" + "甲" * 20 + "第二条 责任区内的单位每月检查1至2次。" + "乙" * 2000 + "第九条 本办法自2021年起施行。",
    # The same clause at the same offset in another file: offsets alone must not make a hit.
    "b.txt": "丙" * 27 + "第二条 责任区内的单位每月检查1至2次。另一份文件。",
}
Q_TEXT = "第二条 责任区内的单位每月检查1至2次。"
QA = RAW["a.txt"].index(Q_TEXT)  # quote start in a.txt
QLEN = len(Q_TEXT)
assert RAW["b.txt"].index(Q_TEXT) == QA


def gold(qid="q1", answerable=True, quotes=((("a.txt", Q_TEXT),)), key_facts=("1至2次",), answer="每月1至2次。",
         qtype="fact"):
    ev = [{"file": f, "quote": q} for f, q in quotes] if answerable else []
    return {"id": qid, "question": "多久检查一次？", "answer": answer, "key_facts": list(key_facts) if answerable else [],
            "evidence": ev, "type": qtype, "answerable": answerable}


def span(source, start, end, score=0.0):
    return {"source": source, "start": start, "end": end, "score": score, "chunk_id": f"{source}:{start}-{end}"}


def cite(source, start, end, quote=None):
    quote = RAW[source][start:end] if quote is None else quote
    return {"source": source, "start": start, "end": end, "quote": quote, "title": "", "doc_number": None, "section": []}


def output(qid="q1", answer="每月1至2次。", refused=False, retrieved=(), citations=(), latency=10.0):
    return {"id": qid, "question": "多久检查一次？", "answer": answer, "refused": refused,
            "citations": list(citations), "retrieved": list(retrieved), "latency_ms": latency}


def overall(questions, outputs):
    return M.score(questions, outputs, RAW)["overall"]


def test_gold_quote_is_located_in_the_raw_text():
    (g,) = M.locate_quotes([{"file": "a.txt", "quote": Q_TEXT}], RAW)
    assert g.spans == ((QA, QA + QLEN),)


def test_span_covering_half_the_quote_hits():
    g = M.locate_quotes([{"file": "a.txt", "quote": Q_TEXT}], RAW)[0]
    half = (QLEN + 1) // 2
    assert M.span_hits("a.txt", QA - 50, QA + half, g)  # starts early, covers exactly half
    assert M.span_hits("a.txt", QA + QLEN - half, QA + QLEN + 300, g)


def test_near_miss_less_than_half_or_other_file():
    g = M.locate_quotes([{"file": "a.txt", "quote": Q_TEXT}], RAW)[0]
    short = QLEN // 2 - 1
    assert not M.span_hits("a.txt", QA - 50, QA + short, g)
    # b.txt holds the same words, but the gold quote names a.txt.
    assert not M.span_hits("b.txt", QA, QA + QLEN, g)


def test_recall_at_k_and_mrr_with_first_hit_at_rank_3():
    hit = span("a.txt", QA, QA + QLEN)
    miss1, miss2 = span("b.txt", 0, 5), span("a.txt", 0, 5)
    m = overall([gold()], [output(retrieved=[miss1, miss2, hit] + [miss2] * 7)])
    assert m["recall@1"] == 0.0 and m["recall@3"] == 1.0 and m["recall@10"] == 1.0
    assert m["mrr"] == pytest.approx(1 / 3)


def test_mrr_is_zero_when_nothing_hits_and_averages_over_questions():
    hit = span("a.txt", QA, QA + QLEN)
    qs = [gold("q1"), gold("q2")]
    outs = [output("q1", retrieved=[hit]), output("q2", retrieved=[span("b.txt", 0, 30)] * 10)]
    m = overall(qs, outs)
    assert m["mrr"] == pytest.approx(0.5)
    assert m["recall@5"] == pytest.approx(0.5)


def test_recall_within_1000_chars_truncates_the_budget():
    hit = span("a.txt", QA, QA + QLEN)
    filler = QA + QLEN + 10  # a stretch of 乙 with no evidence in it
    # 950 characters first: the 50 left still hold the whole quote.
    m_fit = overall([gold()], [output(retrieved=[span("a.txt", filler, filler + 950), hit])])
    assert m_fit["recall@1000chars"] == 1.0
    # 995 characters first: the hit is retrieved at rank 2, but only 5 of its characters fit.
    big = span("a.txt", filler, filler + 995)
    m = overall([gold()], [output(retrieved=[big, hit])])
    assert m["recall@10"] == 1.0
    assert m["recall@1000chars"] == 0.0
    cut = M.budget_spans([big, hit])
    assert [s["end"] - s["start"] for s in cut] == [995, 5]


def test_refusal_on_unanswerable_and_false_refusal():
    qs = [gold("u1", answerable=False), gold("q1")]
    outs = [output("u1", answer="文件中没有相关规定。", refused=True), output("q1", refused=True, answer="文件中没有相关规定。")]
    r = M.score(qs, outs, RAW)
    assert r["overall"]["refusal_accuracy"] == 1.0
    assert r["overall"]["false_refusal_rate"] == 1.0
    reasons = {f["id"]: f["reasons"] for f in r["failures"]}
    assert "u1" not in reasons
    assert "false refusal" in reasons["q1"]


def test_answered_unanswerable_is_a_failure():
    r = M.score([gold("u1", answerable=False)], [output("u1", refused=False)], RAW)
    assert r["overall"]["refusal_accuracy"] == 0.0
    assert r["failures"][0]["reasons"] == ["answered unanswerable"]


def test_key_facts_match_after_nfkc_and_whitespace_removal():
    q = gold(key_facts=["1至2次", "2021年"])
    assert overall([q], [output(answer="每月 １ 至 ２ 次，自 ２０２１ 年起。")])["accuracy"] == 1.0
    r = M.score([q], [output(answer="每月检查一次，自2021年起。")], RAW)
    assert r["overall"]["accuracy"] == 0.0
    assert "missing key facts: ['1至2次']" in r["failures"][0]["reasons"]


def test_concise_length_rule():
    ref = "每月1至2次。"  # short reference: the limit is max(120, 2*7+40) = 120
    assert M.concise_limit(ref) == 120
    assert M.concise_limit("字" * 100) == 240
    ok = "每月1至2次" + "。" * (120 - 6)
    too_long = ok + "。"
    assert M.is_concise(ok, ["1至2次"], ref)
    assert not M.is_concise(too_long, ["1至2次"], ref)
    m = overall([gold("q1", answer=ref), gold("q2", answer=ref)], [output("q1", answer=ok), output("q2", answer=too_long)])
    assert m["accuracy"] == 1.0 and m["concise_accuracy"] == 0.5


def test_non_verbatim_citation():
    good = cite("a.txt", QA, QA + QLEN)
    bad = cite("a.txt", QA, QA + QLEN, quote=Q_TEXT.replace("1至2", "3至4"))
    r = M.score([gold()], [output(citations=[good, bad])], RAW)
    assert r["overall"]["citation_verbatim"] == 0.5
    assert any(x.startswith("non-verbatim citation") for x in r["failures"][0]["reasons"])


def test_citation_precision_and_recall():
    q = gold(quotes=(("a.txt", Q_TEXT), ("a.txt", "第九条 本办法自2021年起施行。")))
    # Covers >= 30% of the first quote while lying mostly outside it (so only the 30% rule applies).
    covers_30 = cite("a.txt", QA + QLEN - (int(QLEN * 0.3) + 1), QA + QLEN + 100)
    inside = cite("a.txt", QA - 5, QA + 5)  # half of it inside the quote, 5 chars < 30% of it
    off = cite("a.txt", 0, 7)  # 第一条: not evidence
    wrong_file = cite("b.txt", QA, QA + QLEN)  # same words and offsets, other file
    m = overall([q], [output(citations=[covers_30, inside, off, wrong_file])])
    assert m["citation_precision"] == 0.5
    assert m["citation_recall"] == 0.5  # the 第九条 quote is not cited
    # A question without citations adds nothing to precision, but its quotes count for recall.
    m2 = overall([q, gold("q2")], [output(citations=[covers_30]), output("q2")])
    assert m2["citation_precision"] == 1.0
    assert m2["citation_recall"] == pytest.approx(1 / 3)


def test_latency_percentiles_and_breakdowns():
    qs = [gold(f"q{i}", qtype="fact" if i % 2 else "list") for i in range(1, 11)]
    outs = [output(f"q{i}", latency=float(i)) for i in range(1, 11)]
    r = M.score(qs, outs, RAW)
    assert r["overall"]["latency_p50_ms"] == pytest.approx(5.5)
    assert r["overall"]["latency_p95_ms"] == pytest.approx(9.55)
    assert set(r["per_type"]) == {"fact", "list"} and r["per_type"]["fact"]["questions"] == 5
    assert set(r["per_file"]) == {"a.txt"}


def test_metrics_with_nothing_to_measure_are_none():
    m = overall([gold("u1", answerable=False)], [output("u1", refused=True)])
    assert m["recall@5"] is None and m["accuracy"] is None and m["citation_precision"] is None
    assert m["refusal_accuracy"] == 1.0


# --- retention and failure classes (issue 21) ------------------------------------------------------

def _row(**out_kw):
    q = gold(key_facts=("1至2次", "每月"))
    return M.score([q], [output(**out_kw)], RAW)["rows"][0]


HIT = span("a.txt", QA, QA + QLEN)
FAR = span("a.txt", 0, 10)  # 第一条 总则: holds neither fact


def test_holds_counts_only_the_first_k_spans_and_every_fact():
    assert _row(retrieved=[HIT])["holds"] == {1: True, 3: True}
    assert _row(retrieved=[FAR, HIT])["holds"] == {1: False, 3: True}
    assert _row(retrieved=[FAR, FAR, FAR, HIT])["holds"] == {1: False, 3: False}
    # One fact in a span is not enough.
    assert not M.facts_held([span("a.txt", QA, QA + 12)], 3, RAW, ["1至2次", "每月"])


def test_each_failure_class_is_found():
    ok = dict(retrieved=[HIT], answer="每月1至2次。[1]")
    assert _row(**ok)["failure_class"] == "ok"
    assert _row(retrieved=[HIT], answer="每月1至2次。" + "很" * 200)["failure_class"] == "too long"
    assert _row(retrieved=[HIT], answer="", refused=True)["failure_class"] == "refused with evidence"
    assert _row(retrieved=[FAR], answer="", refused=True)["failure_class"] == "retrieval miss"
    assert _row(retrieved=[FAR], answer="总则。[1]")["failure_class"] == "retrieval miss"
    assert _row(retrieved=[HIT], answer="第二条 检查制度。[1]")["failure_class"] == "heading only"
    assert _row(retrieved=[HIT], answer="（二）检查频次[1]")["failure_class"] == "heading only"
    assert _row(retrieved=[HIT], answer="单位应当按照以下要求检查：[1]")["failure_class"] == "list intro only"
    assert _row(retrieved=[HIT], answer="单位每月检查。[1]")["failure_class"] == "partial"
    assert _row(retrieved=[HIT], answer="单位应当登记。[1]")["failure_class"] == "wrong sentence"


def test_a_heading_with_its_body_is_not_heading_only():
    assert not M.is_heading_only("第二条 责任区内的单位每月检查1至2次，并如实记录检查结果和整改情况。[1]")
    assert M.is_heading_only("第二条 检查制度。[1]（一）检查频次。[2]")


def test_retention_is_concise_over_top3_holds_and_classes_sum_to_one():
    qs = [gold(qid=f"q{i}") for i in range(4)]
    outs = [output(qid="q0", retrieved=[HIT], answer="每月1至2次。"),
            output(qid="q1", retrieved=[HIT], answer="", refused=True),
            output(qid="q2", retrieved=[HIT], answer="单位应当登记。"),
            output(qid="q3", retrieved=[FAR], answer="总则。")]
    m = overall(qs, outs)
    assert m["holds@3"] == pytest.approx(0.75) and m["concise_accuracy"] == pytest.approx(0.25)
    assert m["retention"] == pytest.approx(0.25 / 0.75)
    assert sum(m["failure_classes"].values()) == pytest.approx(1.0)
    assert m["failure_classes"]["refused with evidence"] == pytest.approx(0.25)


def test_rescore_reads_a_saved_run_and_scores_it_with_todays_metrics(tmp_path):
    import json

    from eval import rescore

    (tmp_path / "corpus").mkdir()
    for name, text in RAW.items():
        (tmp_path / "corpus" / name).write_text(text, encoding="utf-8", newline="")
    (tmp_path / "q.jsonl").write_text(json.dumps(gold(), ensure_ascii=False) + "\n", encoding="utf-8")
    run = tmp_path / "run"
    run.mkdir()
    (run / "ours.jsonl").write_text(json.dumps(output(retrieved=[HIT], answer="每月1至2次。")) + "\n", encoding="utf-8")
    m = rescore.rescore(run, tmp_path / "q.jsonl", tmp_path / "corpus")["ours"]
    assert m["concise_accuracy"] == 1.0 and m["holds@3"] == 1.0 and m["retention"] == 1.0
    assert m["failure_classes"]["ok"] == 1.0
