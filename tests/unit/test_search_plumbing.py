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


def test_a_long_question_is_embedded_by_its_closing_sentences_once():
    """The embedder's cost grows with the text: a 500-character message is embedded as its last
    sentences within question_focus_chars, and the answerer's lookup of the same question reuses it."""
    from types import SimpleNamespace

    import numpy as np

    from rag.config import Settings
    from rag.search.retrieve import Retriever

    seen = []
    embedder = SimpleNamespace(embed_queries=lambda texts: seen.extend(texts) or np.ones((len(texts), 4)))
    index = SimpleNamespace(chunks=[])
    store = SimpleNamespace(check=lambda settings: None)
    r = Retriever(index, embedder, store, Settings.make(question_focus_chars=20))
    long_q = "我在街上开了一家小超市，门口人流量很大。" * 20 + "请问门前五包包括哪些内容？"
    r.query_vector(long_q)
    r.query_vector(long_q)
    r.query_vector("请问门前五包包括哪些内容？")
    assert seen == ["请问门前五包包括哪些内容？"]


def test_an_index_opened_with_an_embedder_of_another_width_is_named_not_crashed_in_faiss(tmp_path):
    """Settings name the model, but code may hand in an embedder of its own: one of another width than
    the index's vectors is refused when the retriever opens, naming the rebuild, not at the first question
    inside FAISS."""
    import pytest

    from conftest import FakeEmbedder, NarrowEmbedder
    from rag.build import build_index
    from rag.config import Settings
    from rag.errors import IndexStateError
    from rag.factory import open_retriever

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("某市示范办法\n第一条 为了规范管理，制定本办法。\n第二条 本办法自发布之日起施行。\n",
                                  encoding="utf-8")
    settings = Settings.make(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, embedder=FakeEmbedder())
    assert open_retriever(settings, embedder=FakeEmbedder()).search("什么时候施行")
    with pytest.raises(IndexStateError, match="64-dim.*rag index --rebuild"):
        open_retriever(settings, embedder=NarrowEmbedder())
