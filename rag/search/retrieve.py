"""Query -> ranked hits: the vector store's fused dense + keyword ranking, plus direct lookup of the
文号 and 第X条 a user types. Talks to any ``VectorStore``; has no branch per engine. Never builds
prompts or answers.
"""

from __future__ import annotations

import os
import threading

from dataclasses import dataclass

from ..config import Settings
from ..text import ARTICLE_REF_RE, cn_to_int, int_to_cn, normalize, question_tail
from ..types import Chunk, Hit
from .store import VectorStore


@dataclass(frozen=True)
class Reference:
    """What the user pointed at explicitly: a 文号 and/or an article number."""

    doc_numbers: tuple[str, ...]
    articles: tuple[str, ...]  # normalised labels, e.g. "第十二条"


def parse_reference(query: str, tokenizer) -> Reference:
    numbers = tuple(tokenizer.doc_numbers(query))
    articles = []
    for m in ARTICLE_REF_RE.finditer(query):
        n = cn_to_int(m.group(1))
        if n:
            articles.append(f"第{int_to_cn(n)}条")
    return Reference(numbers, tuple(articles))


class Retriever:
    """Hybrid retrieval over a loaded index and the vector store that holds its vectors.

    Args:
        index: the loaded local index (chunks, tokenizer, source texts).
        embedder: embeds the query (the one the index was built with).
        store: a ``VectorStore`` (``rag.search.store.open_store``); checked against the settings.
        settings: retrieval depth, fusion weights, lookup.
    """

    def __init__(self, index, embedder, store: VectorStore, settings: Settings):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.store = store
        self._doc_number_of = [normalize(c.doc_number) if c.doc_number else None for c in index.chunks]
        self._recent: dict[str, object] = {}
        self._recent_lock = threading.Lock()
        self.store.check(settings)

    def query_vector(self, text: str):
        """The query-side vector of a text; the question just searched is not embedded twice (the
        answerer compares the same vector with every candidate sentence)."""
        text = question_tail(text, self.settings.retrieval.question_focus_chars)
        vec = self._recent.get(text)
        if vec is None:
            vec = self.embedder.embed_queries([text])[0]
            # A few recent questions, so concurrent questions do not evict each other's vector.
            with self._recent_lock:
                self._recent[text] = vec
                while len(self._recent) > 2 * (os.cpu_count() or 1):
                    self._recent.pop(next(iter(self._recent)))
        return vec

    @property
    def chunks(self) -> list[Chunk]:
        return self.index.chunks

    def search(self, query: str, k: int | None = None, doc_numbers: list[str] | None = None) -> list[Hit]:
        """Rank chunks for a question.

        Args:
            query: the user's question (any length; only the first ``max_query_chars`` are used).
            k: how many hits (default ``settings.retrieval.top_k``).
            doc_numbers: only these documents (by 文号), for staff searches; the store filters.

        Returns:
            Hits, best first, each with what the store said of it (ranks, scores) and the lookup boost.
        """
        r = self.settings.retrieval
        k = k or r.top_k
        query = query[: r.max_query_chars]
        n = len(self.chunks)
        if n == 0 or not query.strip():
            return []
        depth = min(n, max(r.min_depth, r.depth_per_k * k))
        stored = None
        if doc_numbers:
            stored = self._stored_doc_numbers(tuple(normalize(d) for d in doc_numbers))
            depth = n  # rank everything, then keep the named documents
        q = self.query_vector(query)
        ranked = self.store.search_hybrid(q, self.index.tokenizer.tokens(query), depth, r.rrf_k, r.dense_weight,
                                          r.keyword_weight, doc_numbers=stored)
        chunk_of = {s.chunk.chunk_id: s.chunk for s in ranked}
        fused = {s.chunk.chunk_id: s.score for s in ranked}
        info = {s.chunk.chunk_id: s.info for s in ranked}
        boost = self._reference_boost(query, fused, chunk_of) if r.reference_lookup else {}
        if stored is not None:
            boost = {cid: v for cid, v in boost.items() if chunk_of[cid].doc_number in stored}
        final = {cid: fused.get(cid, 0.0) + boost.get(cid, 0.0) for cid in set(fused) | set(boost)}
        start_of = {cid: (chunk_of[cid].source, chunk_of[cid].start) for cid in final}
        order = sorted(final, key=lambda cid: (-final[cid], start_of[cid]))[:k]
        return [Hit(chunk_of[cid], final[cid], rank, {**info.get(cid, {}), "rrf": fused.get(cid, 0.0),
                                                       "lookup": boost.get(cid, 0.0)})
                for rank, cid in enumerate(order, 1)]

    def _reference_boost(self, query: str, fused: dict[str, float], chunk_of: dict[str, Chunk]) -> dict[str, float]:
        """Chunks the user named by 文号 and/or 第X条 go first, in fused order among themselves."""
        ref = parse_reference(query, self.index.tokenizer)
        if not ref.doc_numbers and not ref.articles:
            return {}
        if ref.doc_numbers:
            named = self.store.chunks_where(doc_numbers=self._stored_doc_numbers(ref.doc_numbers))
        else:
            # An article number alone: look in the documents the question is already about.
            top = sorted(fused, key=lambda cid: -fused[cid])[: self.settings.retrieval.lookup_docs]
            named = self.store.chunks_where(doc_ids=sorted({chunk_of[cid].doc_id for cid in top}))
        boost: dict[str, float] = {}
        for c in named:
            chunk_of.setdefault(c.chunk_id, c)
            in_article = bool(ref.articles) and any(a in c.section for a in ref.articles)
            if ref.doc_numbers and not ref.articles:
                boost[c.chunk_id] = 1.0
            elif in_article:
                boost[c.chunk_id] = 2.0 if ref.doc_numbers else 1.0
            elif ref.doc_numbers:
                boost[c.chunk_id] = 0.5
        return boost

    def _stored_doc_numbers(self, normalised: tuple[str, ...]) -> list[str]:
        """The 文号 as stored in the chunks, for the normalised forms a query names."""
        return sorted({c.doc_number for c, num in zip(self.chunks, self._doc_number_of) if num in normalised}
                      | set(normalised))
