"""Retrieval rules that need no model and no index: references typed in a question, rank fusion."""

from __future__ import annotations

from rag.search.retrieve import parse_reference
from rag.search.store import rrf
from rag.search.tokenize import Tokenizer


def test_reference_parsing_and_rrf():
    ref = parse_reference("济政办字〔2021〕41号 第 5 条和第十二条", Tokenizer())
    assert ref.doc_numbers == ("济政办字〔2021〕41号",) and ref.articles == ("第五条", "第十二条")
    fused = rrf([[1, 2, 3], [3, 1]], k=60)
    assert max(fused, key=fused.get) == 1 and fused[3] > fused[2]
