"""The extractive answerer without a model or an index: question reading (parts, kinds, focus), sentence
selection and trimming, refusal reasons and citation verification, on a small notice written for the
tests. Hits are ranked by the notice's own BM25, built in memory."""

from __future__ import annotations

import re

import pytest

from rag.answer import ExtractiveAnswerer, question_parts
from rag.chunk import chunk_source
from rag.cite import renumber, verify
from rag.config import AnswerSettings
from rag.search.sparse import BM25
from rag.search.tokenize import Tokenizer, corpus_terms
from rag.types import Hit, Refusal, SourceText

NOTICE = (
    "济南市示范停车收费管理办法\n济政发〔2030〕1号\n"
    "第一条 为规范本市道路停车收费，制定本办法。\n"
    "第二条 道路停车首小时收费2元，之后每小时收费1元，由市城管局负责管理。\n"
    "第三条 申请设置停车泊位的单位，应当于每年3月31日前向市交通运输局提交申请材料。\n"
    "第四条 停车泊位分为以下三类：\n（一）临时泊位；\n（二）夜间泊位；\n（三）错时共享泊位。\n"
    "第五条 本办法自2030年1月1日起施行，有效期至2035年12月31日。\n"
)


@pytest.fixture(scope="module")
def reader():
    src = SourceText("parking.txt", NOTICE, "utf-8", "0")
    chunks = chunk_source(src)
    tok = Tokenizer(corpus_terms(c.text for c in chunks))
    bm25 = BM25.build([tok.tokens(f"{c.context}\n{c.text}") for c in chunks])
    answerer = ExtractiveAnswerer(tok, bm25.idf(), {src.source: src.text}, AnswerSettings())

    def hits(question: str) -> list[Hit]:
        scores = bm25.scores(tok.tokens(question))
        order = sorted(range(len(chunks)), key=lambda i: (-scores[i], i))
        return [Hit(chunks[i], float(scores[i]), r) for r, i in enumerate(order, 1)]

    def ask(question: str):
        hs = hits(question)
        return answerer.answer(question, hs), hs

    return answerer, ask


def check_cited(answer, hits, raws):
    for c in answer.citations:
        assert verify(c, raws, hits) is None, c
    assert {int(m) for m in re.findall(r"\[(\d+)\]", answer.text)} == set(range(1, len(answer.citations) + 1))


def test_question_parts_split_at_question_marks_and_semicolons():
    assert question_parts("申请材料哪天之前交？交给哪个部门？") == ["申请材料哪天之前交", "交给哪个部门"]
    assert question_parts("材料哪天交？谁？") == ["材料哪天交"]  # a part under 4 characters is no part
    assert question_parts("收费标准是多少") == ["收费标准是多少"]


@pytest.mark.parametrize("question, kind", [
    ("停车一小时多少钱", "money"), ("材料什么时候交", "date"), ("由哪个部门负责", "who"),
    ("泊位分为哪几类", "list"), ("怎么申请泊位", "how"), ("第三条规定了什么", "clause"),
])
def test_the_kind_of_answer_a_question_wants(reader, question, kind):
    answerer, _ = reader
    assert kind in answerer.need(question).kinds


def test_question_words_are_not_evidence_terms(reader):
    answerer, _ = reader
    terms = answerer.terms("请问停车泊位到底分为哪几类呢？")
    assert "泊位" in "".join(terms) and not {"请问", "哪几类", "呢"} & set(terms)


def test_the_asked_amount_comes_first_and_is_cited(reader):
    answerer, ask = reader
    a, hits = ask("道路停车首小时收多少钱？")
    assert not a.refused and "2元" in a.text
    assert "第二条" in a.citations[0].section
    assert len(re.sub(r"\[\d+\]", "", a.text)) <= AnswerSettings().budget_chars + 10
    assert a.trace.answerer_version == "extractive/1" and a.trace.coverage >= 0.5
    check_cited(a, hits, answerer.raws)


def test_each_part_of_a_two_part_question_is_answered(reader):
    answerer, ask = reader
    a, hits = ask("泊位申请材料每年哪天之前交？交给哪个部门？")
    assert not a.refused and "3月31日" in a.text and "市交通运输局" in a.text
    check_cited(a, hits, answerer.raws)


def test_a_list_question_keeps_every_item(reader):
    answerer, ask = reader
    a, hits = ask("停车泊位分为哪几类？")
    assert not a.refused
    for item in ("临时泊位", "夜间泊位", "错时共享泊位"):
        assert item in a.text, a.text
    check_cited(a, hits, answerer.raws)


@pytest.mark.parametrize("question, reasons", [
    ("请问？", {Refusal.NO_CONTENT_WORDS}),
    ("地铁8号线哪年开通？", {Refusal.QUANTITY_NOT_NAMED, Refusal.LOW_COVERAGE}),
    ("违章停车罚款标准是多少钱？", {Refusal.LOW_COVERAGE, Refusal.NO_AMOUNT}),
])
def test_refusals_say_why(reader, question, reasons):
    _, ask = reader
    a, _ = ask(question)
    assert a.refused and a.citations == []
    assert a.trace.refusal in reasons, a.trace


def test_no_hits_is_a_refusal_for_lack_of_evidence(reader):
    answerer, _ = reader
    a = answerer.answer("道路停车首小时收多少钱？", [])
    assert a.refused and a.trace.refusal is Refusal.NO_EVIDENCE


def test_renumber_drops_the_sentence_of_a_removed_marker():
    text = "甲。[1]乙。[2]丙。[3]"
    assert renumber(text, {1: 1, 2: None, 3: 2}) == "甲。[1]丙。[2]"
