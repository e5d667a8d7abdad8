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


def model_path(settings: Settings, index) -> "Path":
    """The fitted answer model to use: the one settings name, else one fitted for this corpus and
    saved beside the live index (``answer_model.json``), else the packaged one."""
    from pathlib import Path

    from .answer.model import DEFAULT_PATH, MODEL_FILE

    if settings.answer.answer_model:
        return Path(settings.answer.answer_model)
    beside = Path(index.directory) / MODEL_FILE
    return beside if beside.exists() else DEFAULT_PATH


def make_extractive(settings: Settings, index, query_vector, model=None):
    """The extractive answerer over a loaded index, with the fitted model settings point to (or
    ``model``, an ``AnswerModel`` given directly: the fit reads with a blank one)."""
    from dataclasses import replace

    from .answer import ExtractiveAnswerer, QuestionReader, load_model
    from .answer.candidates import CandidatePool

    model = model or load_model(model_path(settings, index))
    if settings.answer.refusal_threshold >= 0:
        model = replace(model, threshold=settings.answer.refusal_threshold)
    reader = QuestionReader(index.tokenizer, index.bm25.idf(), settings=settings.answer)
    return ExtractiveAnswerer(reader, CandidatePool(index, query_vector), model, index.raws, settings.answer)


def make_answerer(settings: Settings, index, chat=None, query_vector=None):
    """The answerer settings name (``settings.answer.answerer``) over a loaded index.

    Args:
        settings: the answer and llm groups.
        index: gives the tokenizer, term statistics, source texts and sentence vectors.
        chat: a LangChain chat model for LLM mode (default: the OpenAI-compatible endpoint in settings).
        query_vector: text -> query vector (the retriever's ``query_vector``, so a question is embedded once).
    """
    kind = settings.answer.answerer
    if kind not in ANSWERERS:
        raise RagError(f"Unknown answerer {kind!r}; choose {' or '.join(ANSWERERS)}")
    if query_vector is None:
        raise RagError("the extractive answerer needs the retriever's query vectors (use open_qa)")
    extractive = make_extractive(settings, index, query_vector)
    if kind == "extractive":
        return extractive
    from .answer.llm import LLMAnswerer

    return LLMAnswerer(chat or LLMAnswerer.chat_model(settings.llm), index.raws, settings.llm,
                       gate=extractive if settings.llm.gate else None)


def open_qa(settings: Settings, embedder=None, index=None, chat=None):
    """Retriever and answerer together: what `rag ask`, the chat page and `ours` in the eval answer with."""
    from .qa import QA

    from .answer import QuestionReader

    retriever = open_retriever(settings, embedder, index)
    answerer = make_answerer(settings, retriever.index, chat, retriever.query_vector)
    # One reader of questions: the extractive answerer's (the LLM's gate's), else one of its own.
    reader = getattr(answerer, "reader", None) or getattr(getattr(answerer, "gate", None), "reader", None)
    index = retriever.index
    reader = reader or QuestionReader(index.tokenizer, index.bm25.idf(), settings=settings.answer)
    return QA(retriever, answerer, settings, reader)
