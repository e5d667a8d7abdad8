"""Both answerers have the one shape QA calls (``rag.answer.protocol``): same names, same arguments."""

from __future__ import annotations

import inspect

from rag.answer import Answerer, ExtractiveAnswerer, LLMAnswerer, StreamingAnswerer
from rag.config import LLMSettings


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_both_answerers_take_the_protocols_arguments():
    expected = _params(Answerer.answer)
    assert expected == ["self", "question", "hits", "frame", "part_hits"]
    for cls in (ExtractiveAnswerer, LLMAnswerer):
        assert _params(cls.answer) == expected, cls
        assert isinstance(cls.name, str) and cls.version.startswith(cls.name + "/"), cls
    assert _params(LLMAnswerer.stream) == _params(StreamingAnswerer.stream) == expected


def test_the_llm_answerer_streams_and_the_extractive_one_does_not():
    llm = LLMAnswerer(chat=None, raws={}, settings=LLMSettings())
    assert isinstance(llm, Answerer) and isinstance(llm, StreamingAnswerer)
    # QA streams an answerer that has ``stream`` and pieces out the others' text itself.
    assert not hasattr(ExtractiveAnswerer, "stream")


def test_the_llm_answerers_citation_check_reads_its_thresholds_from_the_settings():
    """A marker stands at ``min_support``; a sentence without one is credited to the passage that
    supports it best at ``unmarked_support``; else it is flagged and, with nothing cited, refused."""
    from rag.answer.llm import support
    from rag.ingest.clean import clean
    from rag.types import Chunk, Hit, Refusal

    raw = "第一条 道路停车首小时收费2元，之后每小时3元。\n"
    chunk = Chunk("t:0-25", "t", "t.txt", 0, len(raw) - 1, clean(raw, 0, len(raw) - 1).text, ("第一条",), "示范办法")
    hits, model_text = [Hit(chunk, 1.0, 1)], "道路停车首小时收费5元[1]。"
    assert support("道路停车首小时收费5元", raw) == 0.8  # 8 of its 10 bigrams

    def finalize(**settings):
        return LLMAnswerer(chat=None, raws={"t.txt": raw}, settings=LLMSettings(**settings)).finalize(
            "停车怎么收费？", model_text, hits)

    assert [len(finalize().citations), len(finalize(min_support=0.9, unmarked_support=0.7).citations)] == [1, 1]
    refused = finalize(min_support=0.9, unmarked_support=0.9)
    assert refused.refused and refused.trace.refusal is Refusal.UNVERIFIED_CITATIONS
