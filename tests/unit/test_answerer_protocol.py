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
