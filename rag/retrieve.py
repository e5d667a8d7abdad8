"""Query -> ranked hits: dense (FAISS) and keyword (jieba BM25) rankings fused, plus direct lookup
of the 文号 and 第X条 a user types. Never builds prompts or answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .config import Settings
from .index import Index
from .ingest.structure import cn_to_int, int_to_cn
from .tokenize import normalize
from .types import Chunk, Hit

_ARTICLE_RE = re.compile(r"第\s*([一二三四五六七八九十百零〇两\d]+)\s*条")


@dataclass(frozen=True)
class Reference:
    """What the user pointed at explicitly: a 文号 and/or an article number."""

    doc_numbers: tuple[str, ...]
    articles: tuple[str, ...]  # normalised labels, e.g. "第十二条"


def parse_reference(query: str, tokenizer) -> Reference:
    numbers = tuple(tokenizer.doc_numbers(query))
    articles = []
    for m in _ARTICLE_RE.finditer(query):
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

    def __init__(self, index: Index, embedder, settings: Settings | None = None):
        self.index = index
        self.embedder = embedder
        self.settings = settings or Settings()
        self._doc_number_of = [normalize(c.doc_number) if c.doc_number else None for c in index.chunks]

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

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """Rank chunks for a question.

        Args:
            query: the user's question (any length; only the first 2,000 characters are used).
            k: how many hits (default settings.top_k).

        Returns:
            Hits, best first, each with its dense/keyword ranks and scores for staff and eval.
        """
        k = k or self.settings.top_k
        query = query[:2000]
        n = len(self.chunks)
        if n == 0 or not query.strip():
            return []
        depth = min(n, max(50, 5 * k))
        d_rank, d_score = self.dense_ranking(query, depth)
        b_rank, b_score = self.keyword_ranking(query, depth)
        fused = rrf([d_rank, b_rank], self.settings.rrf_k,
                    [self.settings.dense_weight, self.settings.keyword_weight])
        boost = self._reference_boost(query, fused)
        final = {i: fused.get(i, 0.0) + boost.get(i, 0.0) for i in set(fused) | set(boost)}
        order = sorted(final, key=lambda i: (-final[i], i))[:k]
        d_pos = {i: r for r, i in enumerate(d_rank, 1)}
        b_pos = {i: r for r, i in enumerate(b_rank, 1)}
        return [
            Hit(self.chunks[i], final[i], rank, {
                "dense": d_score.get(i), "dense_rank": d_pos.get(i), "bm25": b_score.get(i),
                "bm25_rank": b_pos.get(i), "rrf": fused.get(i, 0.0), "lookup": boost.get(i, 0.0),
            })
            for rank, i in enumerate(order, 1)
        ]

    def _reference_boost(self, query: str, fused: dict[int, float]) -> dict[int, float]:
        """Chunks the user named by 文号 and/or 第X条 go first, in fused order among themselves."""
        ref = parse_reference(query, self.index.tokenizer)
        if not ref.doc_numbers and not ref.articles:
            return {}
        docs: set[str] = set()
        if ref.doc_numbers:
            docs = {c.doc_id for c, num in zip(self.chunks, self._doc_number_of) if num in ref.doc_numbers}
        elif ref.articles:
            # An article number alone: look in the documents the question is already about.
            top = sorted(fused, key=lambda i: -fused[i])[:5]
            docs = {self.chunks[i].doc_id for i in top}
        boost: dict[int, float] = {}
        for i, c in enumerate(self.chunks):
            if c.doc_id not in docs:
                continue
            in_article = bool(ref.articles) and any(a in c.section for a in ref.articles)
            if ref.doc_numbers and not ref.articles:
                boost[i] = 1.0
            elif in_article:
                boost[i] = 2.0 if ref.doc_numbers else 1.0
            elif ref.doc_numbers:
                boost[i] = 0.5
        return boost
