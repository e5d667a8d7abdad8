"""The one place that assembles the pipeline from settings: index, vector store, retriever, answerer, QA.

The CLI, the service and the evaluation suite all build through here, so a setting means the same
everywhere. Heavy modules are imported when a function is called.
"""

from __future__ import annotations

from .config import Settings
from .errors import RagError

ANSWERERS = ("extractive", "llm")


def open_retriever(settings: Settings, embedder=None, index=None):
    """The hybrid retriever over the live index (loaded when not given) and the store settings name.

    Args:
        settings: index location, vector store, retrieval knobs.
        embedder: an already loaded embedder (shared by tests and the service), else the one settings name.
        index: an already loaded ``rag.search.index.Index``.
    """
    from .search.embed import load_embedder
    from .search.index import load_index
    from .search.retrieve import Retriever
    from .search.store import open_store

    index = index if index is not None else load_index(settings)
    embedder = embedder or load_embedder(settings.index.embedder, settings.index.embed_batch_size)
    return Retriever(index, embedder, open_store(settings, index), settings)


def make_answerer(settings: Settings, index, chat=None):
    """The answerer settings name (``settings.answer.answerer``) over a loaded index.

    Args:
        settings: the answer and llm groups.
        index: gives the tokenizer, term statistics and source texts.
        chat: a LangChain chat model for LLM mode (default: the OpenAI-compatible endpoint in settings).
    """
    from .answer import ExtractiveAnswerer

    kind = settings.answer.answerer
    if kind not in ANSWERERS:
        raise RagError(f"Unknown answerer {kind!r}; choose {' or '.join(ANSWERERS)}")
    extractive = ExtractiveAnswerer(index.tokenizer, index.bm25.idf(), index.raws, settings.answer)
    if kind == "extractive":
        return extractive
    from .llm import LLMAnswerer

    return LLMAnswerer(chat or LLMAnswerer.chat_model(settings.llm), index.raws, settings.llm,
                       gate=extractive if settings.llm.gate else None)


def open_qa(settings: Settings, embedder=None, index=None, chat=None):
    """Retriever and answerer together: what `rag ask`, the chat page and `ours` in the eval answer with."""
    from .qa import QA

    retriever = open_retriever(settings, embedder, index)
    return QA(retriever, make_answerer(settings, retriever.index, chat), settings)
