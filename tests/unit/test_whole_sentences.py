"""Answers quote whole sentences (issue 21): the sentence rules of ``rag.text``, trimming (never a cut
inside a sentence, never a full stop the source does not have), a heading bringing its body, a lead-in
ending in ： bringing its items within the budget, an item bringing its lead-in, and exact raw offsets.
No model: a small text written for the tests, its units built as the candidate pool builds them."""

from __future__ import annotations

import re

import pytest

from rag.answer.candidates import Candidate
from rag.answer.compose import compose
from rag.answer.features import Coverage
from rag.answer.frame import QuestionReader
from rag.answer.model import load_model
from rag.answer.select import Selector
from rag.answer.trim import trim
from rag.cite import span_cleaning
from rag.config import AnswerSettings
from rag.ingest.chunk import chunk_source
from rag.ingest.clean import clean_text
from rag.ingest.units import chunk_units
from rag.search.sparse import BM25
from rag.search.tokenize import Tokenizer, corpus_terms
from rag.text import is_heading, squeeze, whole_sentences
from rag.types import SourceText

RAW = (
    "某市示范河道管理办法\n"
    "第一条 为加强河道管理，制定本办法。\n"
    "第二条 河道管理坚持生态优先、绿色发展，政府主导、社会参与的原则，并施行一河一策、一河一档；"
    "具体办法由市水务局另行制定。本条所称河道包括湖泊。\n"
    "第三条 河道巡查和记录的具体要求。\n巡查人员应当记录巡查的时间、地点和发现的问题。\n"
    "第四条 有下列情形之一的，由市水务局责令改正，处一千元以上五千元以下的罚款：\n"
    "（一）向河道倾倒垃圾的；\n（二）在河道内违法采砂，破坏河床和堤防安全，造成严重后果的；\n（三）擅自占用河道的。\n"
    "第五条 河长应当定期巡查责任河道，对巡查中发现的问题及时处理，处理不了的及时报告上级河长，"
    "并如实记录巡查情况和处理结果以备查验。\n"
    "第六条 河长履行下列职责：\n（一）组织开展河道巡查，每月不少于一次；\n（二）督促整改发现的问题。\n"
    "第七条 河道保洁的要求如下：一是及时打捞漂浮物；二是清除岸坡垃圾；三是保持护栏完好。\n"
)


PARTIAL = load_model().feature_constants.partial_cover


@pytest.fixture(scope="module")
def doc():
    chunks = chunk_source(SourceText("r.txt", RAW, "utf-8", "0"))
    tok = Tokenizer(corpus_terms(c.text for c in chunks))
    reader = QuestionReader(tok, BM25.build([tok.tokens(c.text) for c in chunks]).idf())
    by_chunk = {}
    for rank, c in enumerate(chunks, 1):
        spans = chunk_units(RAW, c)
        by_chunk[c.chunk_id] = [Candidate(c, rank, s, e, t, j, len(spans), 0.0) for j, (s, e, t) in enumerate(spans)]
    return reader, by_chunk


def unit(by_chunk, starts: str) -> Candidate:
    return next(c for cs in by_chunk.values() for c in cs if c.text.startswith(starts))


def trimmed(doc, cand: Candidate, question: str, limit: int) -> tuple[int, int, str]:
    """What the trim quotes of a candidate for a question, within ``limit`` characters."""
    reader, _ = doc
    return trim(cand, RAW, reader.read(question).parts, Coverage(reader, PARTIAL), limit, AnswerSettings())


def exact(raw: str, chunk, s: int, e: int, text: str) -> bool:
    """The quoted text is the source's characters at [s, e) (cleaned like chunk text)."""
    return squeeze(clean_text(raw, s, e)) == squeeze(text) and span_cleaning(raw, chunk, s, e).text == text


# --- the sentence rules ---------------------------------------------------------------------------

def test_whole_sentences_end_at_stops_semicolons_lines_and_items_never_at_commas():
    text = "河长制坚持生态优先，部门联动；并施行一河一策。“本条”所称河道包括湖泊。”\n下列情形：（一）倾倒垃圾的；（二）采砂的"
    got = [text[a:b] for a, b in whole_sentences(text)]
    assert got == ["河长制坚持生态优先，部门联动；", "并施行一河一策。", "“本条”所称河道包括湖泊。”", "下列情形：",
                   "（一）倾倒垃圾的；", "（二）采砂的"]
    assert "".join(got) == text.replace("\n", "")  # nothing dropped but the line break


def test_a_heading_is_a_label_with_a_short_title_not_an_item_or_a_sentence():
    assert is_heading("第三条 河道巡查和记录的具体要求。") and is_heading("二、主要目标") and is_heading("附则")
    assert not is_heading("（一）向河道倾倒垃圾的；")  # an item, whole
    assert not is_heading("（二）在河道内违法采砂，破坏河床和堤防安全，造成严重后果的；")
    assert not is_heading("第一条 为加强河道管理，制定本办法。")


# --- trimming -----------------------------------------------------------------------------------

def test_a_long_unit_is_cut_to_whole_sentences_with_exact_offsets(doc):
    _, by_chunk = doc
    cand = unit(by_chunk, "第二条")
    s, e, text = trimmed(doc, cand, "河道管理的具体办法由哪个部门制定？", 40)
    # The asked sentence whole, from the semicolon before it to its own full stop: not the clause
    # run "具体办法由市水务局另行制定" and no "。" of our own.
    assert text == "具体办法由市水务局另行制定。", text
    assert exact(RAW, cand.chunk, s, e, text) and RAW[s:e] == text


def test_a_single_sentence_over_the_budget_is_quoted_whole(doc):
    _, by_chunk = doc
    cand = unit(by_chunk, "第五条")
    s, e, text = trimmed(doc, cand, "河长巡查发现的问题处理不了怎么办？", 30)
    assert text == cand.text and len(text) > 30  # too long beats broken: no cut at a comma
    assert text.endswith("以备查验。") and RAW[s:e] == text


def test_a_first_sentence_that_is_only_a_heading_brings_its_body(doc):
    _, by_chunk = doc
    cand = unit(by_chunk, "第二条")
    # A unit whose first sentence is a heading: the trim may not stop after it.
    heading_unit = Candidate(cand.chunk, 1, cand.start, cand.end, "第二条 河道管理原则\n" + cand.text[4:], 0, 2, 0.0)
    spans = whole_sentences(heading_unit.text)
    assert heading_unit.text[spans[0][0]:spans[0][1]] == "第二条 河道管理原则"
    _, _, text = trimmed(doc, heading_unit, "河道管理原则是什么？", 12)
    assert text.startswith("第二条 河道管理原则") and "生态优先" in text, text


def test_a_sentence_ending_in_a_colon_brings_the_items_after_it_within_the_share(doc):
    _, by_chunk = doc
    cand = unit(by_chunk, "第七条")
    s, e, text = trimmed(doc, cand, "河道保洁有什么要求？", 24)
    # Not the lead-in alone; its first item (7 characters) fits 24, the second would not.
    assert text == "第七条 河道保洁的要求如下：一是及时打捞漂浮物；", text
    assert RAW[s:e] == text


def test_an_item_over_its_share_is_quoted_from_its_start_in_whole_sentences(doc):
    _, by_chunk = doc
    cand = unit(by_chunk, "（二）")
    cand.item = True
    s, e, text = trimmed(doc, cand, "哪些情形由市水务局责令改正？", 10)
    assert text == "（二）在河道内违法采砂，破坏河床和堤防安全，造成严重后果的；"  # not "（二）在河道内违法采砂"
    assert RAW[s:e] == text


# --- selection: what a picked sentence brings --------------------------------------------------

def test_a_heading_unit_brings_the_sentence_after_it(doc):
    _, by_chunk = doc
    head = unit(by_chunk, "第三条")
    assert head.text == "第三条 河道巡查和记录的具体要求。"
    got = Selector.complete(Selector.__new__(Selector), [head], by_chunk)
    assert [c.text for c in got] == ["第三条 河道巡查和记录的具体要求。", "巡查人员应当记录巡查的时间、地点和发现的问题。"]


def test_a_lead_in_brings_its_items_and_an_item_picked_first_takes_its_place(doc):
    _, by_chunk = doc
    first_item, lead = unit(by_chunk, "（一）"), unit(by_chunk, "第四条")
    got = Selector.complete(Selector.__new__(Selector), [first_item, lead], by_chunk)
    assert [c.text[:3] for c in got] == ["第四条", "（一）", "（二）", "（三）"]
    assert all(c.item for c in got[1:])


def test_an_item_picked_alone_brings_its_lead_in(doc):
    _, by_chunk = doc
    third = unit(by_chunk, "（三）")
    got = Selector.complete(Selector.__new__(Selector), [third], by_chunk)
    assert [c.text[:3] for c in got] == ["第四条", "（三）"]


# --- composition ------------------------------------------------------------------------------

def _compose(reader, chosen, question, budget, how_budget):
    settings = AnswerSettings(budget_chars=budget, how_budget_chars=how_budget)
    return compose(reader.read(question), chosen, {"r.txt": RAW}, Coverage(reader, PARTIAL), settings)


def test_a_lead_in_brings_as_many_whole_items_as_fit_the_budget(doc):
    reader, by_chunk = doc
    lead = unit(by_chunk, "第四条")
    chosen = Selector.complete(Selector.__new__(Selector), [lead], by_chunk)
    text, cits = _compose(reader, chosen, "河道管理有什么规定？", 60, 70)
    # 38 + 12 characters fit 70, the 30 of item (二) do not: whole items, the rest dropped, none cut.
    assert text == ("第四条 有下列情形之一的，由市水务局责令改正，处一千元以上五千元以下的罚款：[1]"
                    "（一）向河道倾倒垃圾的；[2]"), text
    text, cits = _compose(reader, chosen, "河道管理有什么规定？", 60, 200)
    assert text.count("[") == 4 and "（三）擅自占用河道的。[4]" in text
    for c in cits:
        assert RAW[c.start:c.end] == c.quote and c.quote in text


def test_no_full_stop_is_added_where_the_source_has_none(doc):
    reader, by_chunk = doc
    cand = unit(by_chunk, "第二条")
    head = Candidate(cand.chunk, 1, cand.start, cand.start + 8, "第二条 河道管理", 0, 2, 0.0)
    text, cits = _compose(reader, [head, unit(by_chunk, "本条所称")], "河道包括什么？", 120, 170)
    assert text == "第二条 河道管理[1]本条所称河道包括湖泊。[2]", text
    assert re.sub(r"\[\d\]", "", text).count("。") == sum(c.quote.count("。") for c in cits)
    assert all(RAW[c.start:c.end] == c.quote for c in cits)


def test_an_item_that_says_something_itself_does_not_bring_its_lead_in(doc):
    _, by_chunk = doc
    item = unit(by_chunk, "（一）组织")
    assert [c.text for c in Selector.complete(Selector.__new__(Selector), [item], by_chunk)] == [item.text]


def test_items_of_one_list_picked_out_of_order_read_in_document_order(doc):
    _, by_chunk = doc
    third, first = unit(by_chunk, "（三）"), unit(by_chunk, "（一）")
    got = Selector.complete(Selector.__new__(Selector), [third, first], by_chunk)
    assert [c.text[:3] for c in got] == ["第四条", "（一）", "（三）"]
