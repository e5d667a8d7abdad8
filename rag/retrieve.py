"""Query -> ranked hits: dense (FAISS) and keyword (jieba BM25) rankings fused, plus direct lookup
of the 文号 and 第X条 a user types. Never builds prompts or answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import Settings
from .index import Index
from .text import ARTICLE_REF_RE, cn_to_int, int_to_cn, normalize
from .types import Chunk, Hit


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


def rrf(rankings: list[list[int]], k: int, weights: list[float] | None = None) -> dict[int, float]:
    """Reciprocal rank fusion: sum of w / (k + rank) over the rankings a document appears in."""
    weights = weights or [1.0] * len(rankings)
    out: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, i in enumerate(ranking, start=1):
            out[i] = out.get(i, 0.0) + w / (k + rank)
    return out


class Retriever:
    """Hybrid retrieval over a loaded index."""

    def __init__(self, index: Index, embedder, settings: Settings | None = None, store=None):
        from .milvus import MilvusStore, is_milvus

        self.index = index
        self.embedder = embedder
        self.settings = settings or Settings()
        self._doc_number_of = [normalize(c.doc_number) if c.doc_number else None for c in index.chunks]
        # With a Milvus URI in settings, ranking and fusion run in the engine (rag.milvus).
        self.store = store
        if self.store is None and is_milvus(self.settings.vector_store):
            self.store = MilvusStore.from_settings(self.settings)
        if self.store is not None:
            self.store.check(self.settings)

    @property
    def chunks(self) -> list[Chunk]:
        return self.index.chunks

    def dense_ranking(self, query: str, depth: int) -> tuple[list[int], dict[int, float]]:
        q = self.embedder.embed_queries([query])
        scores, ids = self.index.dense.search(np.ascontiguousarray(q, dtype=np.float32), depth)
        pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        return [i for i, _ in pairs], dict(pairs)

    def keyword_ranking(self, query: str, depth: int) -> tuple[list[int], dict[int, float]]:
        scores = self.index.bm25.scores(self.index.tokenizer.tokens(query))
        if not scores.size:
            return [], {}
        top = np.argsort(-scores, kind="stable")[:depth]
        top = [int(i) for i in top if scores[i] > 0]
        return top, {i: float(scores[i]) for i in top}

    def search(self, query: str, k: int | None = None, doc_numbers: list[str] | None = None) -> list[Hit]:
        """Rank chunks for a question.

        Args:
            query: the user's question (any length; only the first 2,000 characters are used).
            k: how many hits (default settings.top_k).
            doc_numbers: only these documents (by 文号), for staff searches; in Milvus the filter runs
                inside the engine.

        Returns:
            Hits, best first, each with its dense/keyword ranks and scores for staff and eval.
        """
        k = k or self.settings.top_k
        query = query[:2000]
        n = len(self.chunks)
        if n == 0 or not query.strip():
            return []
        depth = min(n, max(50, 5 * k))
        only = None
        if doc_numbers:
            wanted = {normalize(d) for d in doc_numbers}
            only = {c.chunk_id for c, num in zip(self.chunks, self._doc_number_of) if num in wanted}
            depth = n  # rank everything, then keep the named documents
        if self.store is not None:
            return self._search_engine(query, k, depth, self._stored_doc_numbers(tuple(wanted)) if only is not None
                                       else None)
        d_rank, d_score = self.dense_ranking(query, depth)
        b_rank, b_score = self.keyword_ranking(query, depth)
        fused_i = rrf([d_rank, b_rank], self.settings.rrf_k,
                      [self.settings.dense_weight, self.settings.keyword_weight])
        chunk_of = {c.chunk_id: c for c in self.chunks}
        fused = {self.chunks[i].chunk_id: v for i, v in fused_i.items()}
        boost = self._reference_boost(query, fused, chunk_of)
        d_pos = {self.chunks[i].chunk_id: r for r, i in enumerate(d_rank, 1)}
        b_pos = {self.chunks[i].chunk_id: r for r, i in enumerate(b_rank, 1)}
        d_val = {self.chunks[i].chunk_id: v for i, v in d_score.items()}
        b_val = {self.chunks[i].chunk_id: v for i, v in b_score.items()}
        if only is not None:
            fused = {cid: v for cid, v in fused.items() if cid in only}
            boost = {cid: v for cid, v in boost.items() if cid in only}
        return self._hits(k, fused, boost, chunk_of, lambda cid: {
            "dense": d_val.get(cid), "dense_rank": d_pos.get(cid), "bm25": b_val.get(cid),
            "bm25_rank": b_pos.get(cid)})

    def _search_engine(self, query: str, k: int, depth: int, doc_numbers: list[str] | None = None) -> list[Hit]:
        """Hybrid search inside Milvus: the same query vector and the same BM25 terms as FAISS."""
        q = self.embedder.embed_queries([query])[0]
        vocab = self.index.bm25.vocab
        sparse = {vocab[t]: 1.0 for t in set(self.index.tokenizer.tokens(query)) if t in vocab}
        pairs = self.store.hybrid(q, sparse, min(depth, 1000), self.settings.rrf_k, self.settings.keyword_weight,
                                  self.settings.dense_weight, doc_numbers=doc_numbers)
        chunk_of = {c.chunk_id: c for c, _ in pairs}
        fused = {c.chunk_id: v for c, v in pairs}
        boost = self._reference_boost(query, fused, chunk_of)
        if doc_numbers:
            boost = {cid: v for cid, v in boost.items() if chunk_of[cid].doc_number in doc_numbers}
        return self._hits(k, fused, boost, chunk_of, lambda cid: {"engine": "milvus"})

    def _hits(self, k: int, fused: dict, boost: dict, chunk_of: dict, info) -> list[Hit]:
        final = {cid: fused.get(cid, 0.0) + boost.get(cid, 0.0) for cid in set(fused) | set(boost)}
        start_of = {cid: (chunk_of[cid].source, chunk_of[cid].start) for cid in final}
        order = sorted(final, key=lambda cid: (-final[cid], start_of[cid]))[:k]
        return [Hit(chunk_of[cid], final[cid], rank, {**info(cid), "rrf": fused.get(cid, 0.0),
                                                       "lookup": boost.get(cid, 0.0)})
                for rank, cid in enumerate(order, 1)]

    def _reference_boost(self, query: str, fused: dict[str, float], chunk_of: dict[str, Chunk]) -> dict[str, float]:
        """Chunks the user named by 文号 and/or 第X条 go first, in fused order among themselves."""
        ref = parse_reference(query, self.index.tokenizer)
        if not ref.doc_numbers and not ref.articles:
            return {}
        if ref.doc_numbers:
            if self.store is not None:
                named = self.store.chunks_where(doc_numbers=self._stored_doc_numbers(ref.doc_numbers))
            else:
                named = [c for c, num in zip(self.chunks, self._doc_number_of) if num in ref.doc_numbers]
        else:
            # An article number alone: look in the documents the question is already about.
            top = sorted(fused, key=lambda cid: -fused[cid])[:5]
            docs = {chunk_of[cid].doc_id for cid in top}
            named = (self.store.chunks_where(doc_ids=sorted(docs)) if self.store is not None
                     else [c for c in self.chunks if c.doc_id in docs])
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
