"""Query -> ranked hits: the vector store's fused dense + keyword ranking, its top re-scored by the
fitted ranking model (``rag.search.rank``; ``retrieval.ranker = "fusion"`` keeps the fused order),
plus direct lookup of the 文号 and 第X条 a user types. Talks to any ``VectorStore``; has no branch
per engine. Never builds prompts or answers.
"""

from __future__ import annotations

import math
import os
import threading

from dataclasses import dataclass

from ..config import Settings
from ..errors import IndexStateError, RagError
from ..text import ARTICLE_REF_RE, cn_to_int, int_to_cn, normalize, question_tail
from ..types import Chunk, Hit
from .rank import RankModel, RankSignals, features, load_rank_model
from .store import VectorStore

RANKERS = ("fitted", "fusion")
# Not a weight: added to a re-scored candidate's logit in the order key, so that every re-scored one goes
# before the rest (whose key is their fused score, below 1).
_RESCORED_FIRST = 1e6


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
        settings: retrieval depth, fusion weights, ranker, lookup.
        rank_model: a ``RankModel`` to rank with (default: the file ``retrieval.rank_model`` names, or
            the packaged one), when ``retrieval.ranker`` is "fitted".
    """

    def __init__(self, index, embedder, store: VectorStore, settings: Settings, rank_model: RankModel | None = None):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.store = store
        self._doc_number_of = [normalize(c.doc_number) if c.doc_number else None for c in index.chunks]
        self._recent: dict[str, object] = {}
        self._recent_lock = threading.Lock()
        manifest = self.store.check(settings)
        built_dim = ((manifest or {}).get("embedder") or {}).get("dim")
        if built_dim and getattr(embedder, "dim", built_dim) != built_dim:
            # An embedder handed in by code, not by settings (which check_settings compares): say so,
            # rather than fail inside FAISS at the first question.
            raise IndexStateError(f"the index at {settings.index_dir} holds {built_dim}-dim vectors but the "
                                  f"embedder {getattr(embedder, 'name', '?')!r} makes {embedder.dim}; rebuild "
                                  f"it with `rag index --rebuild`")
        ranker = settings.retrieval.ranker
        if ranker not in RANKERS:
            raise RagError(f"Unknown ranker {ranker!r}; choose {' or '.join(RANKERS)}")
        self.rank_model = None
        if ranker == "fitted":
            self.rank_model = rank_model or load_rank_model(settings.retrieval.rank_model or None)
        self._signals: RankSignals | None = None
        self._signals_lock = threading.Lock()

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
        depth = self._depth(k)
        stored = None
        if doc_numbers:
            stored = self._stored_doc_numbers(tuple(normalize(d) for d in doc_numbers))
            depth = n  # rank everything, then keep the named documents
        q, ranked = self._fused(query, depth, stored)
        chunk_of = {s.chunk.chunk_id: s.chunk for s in ranked}
        fused = {s.chunk.chunk_id: s.score for s in ranked}
        info = {s.chunk.chunk_id: s.info for s in ranked}
        order_key = dict(fused)
        fitted: dict[str, float] = {}
        if self.rank_model is not None:
            top, rows = self.rank_candidates(query, q, ranked, depth)
            logits = self.rank_model.logits(rows)
            # The re-scored candidates go before the rest (the rest keep their fused order).
            fitted = {s.chunk.chunk_id: float(z) for s, z in zip(top, logits)}
            order_key = {cid: (_RESCORED_FIRST + fitted[cid]) if cid in fitted else v for cid, v in fused.items()}
        boost = self._reference_boost(query, fused, chunk_of) if r.reference_lookup else {}
        if stored is not None:
            boost = {cid: v for cid, v in boost.items() if chunk_of[cid].doc_number in stored}
        final = {cid: fused.get(cid, 0.0) + boost.get(cid, 0.0) for cid in set(fused) | set(boost)}
        if fitted:
            # The score shown follows the order: the model's probability for the re-scored
            # candidates, the rest's fused value scaled below the least of those (plus the lookup boost).
            p = {cid: 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z)))) for cid, z in fitted.items()}
            rest = max((v for cid, v in fused.items() if cid not in p), default=0.0)
            scale = min(p.values()) / rest if rest > 0 else 0.0
            final = {cid: boost.get(cid, 0.0) + (p[cid] if cid in p else fused.get(cid, 0.0) * scale) for cid in final}
        start_of = {cid: (chunk_of[cid].source, chunk_of[cid].start) for cid in final}
        # The lookup boost first, then the fitted or fused order; ties by place in the corpus.
        order = sorted(final, key=lambda cid: (-boost.get(cid, 0.0), -order_key.get(cid, 0.0), start_of[cid]))[:k]
        return [Hit(chunk_of[cid], final[cid], rank, {**info.get(cid, {}), "rrf": fused.get(cid, 0.0),
                                                       "lookup": boost.get(cid, 0.0),
                                                       **({"fitted": fitted[cid]} if cid in fitted else {})})
                for rank, cid in enumerate(order, 1)]

    def _depth(self, k: int) -> int:
        r = self.settings.retrieval
        return min(len(self.chunks), max(r.min_depth, r.depth_per_k * k))

    def _fused(self, query: str, depth: int, stored: list[str] | None = None):
        """(query vector, the store's fused ranking) of a question."""
        r = self.settings.retrieval
        q = self.query_vector(query)
        return q, self.store.search_hybrid(q, self.index.tokenizer.tokens(query), depth, r.rrf_k, r.dense_weight,
                                           r.keyword_weight, doc_numbers=stored)

    def candidates(self, query: str, k: int | None = None) -> tuple[list, list[dict]]:
        """The candidates ``search`` re-scores for a question and their features (what the ranking
        model is fitted on: ``python -m eval.fit_rank``)."""
        r = self.settings.retrieval
        query = query[: r.max_query_chars]
        if not self.chunks or not query.strip():
            return [], []
        depth = self._depth(k or r.top_k)
        q, ranked = self._fused(query, depth)
        return self.rank_candidates(query, q, ranked, depth)

    def rank_candidates(self, query: str, q, ranked, depth: int | None = None) -> tuple[list, list[dict]]:
        """The top ``rank_depth`` of the fused ranking (best first) and their ranking features
        (``rag.search.rank.FEATURES``): what the fitted model scores, and what it is fitted on."""
        if self._signals is None:
            with self._signals_lock:
                if self._signals is None:
                    self._signals = RankSignals(self.index)
        top = sorted(ranked, key=lambda s: (-s.score, s.chunk.source, s.chunk.start))
        top = top[: self.settings.retrieval.rank_depth]
        return top, features(query, q, top, self._signals, depth or self._depth(self.settings.retrieval.top_k))

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
        r = self.settings.retrieval
        boost: dict[str, float] = {}
        for c in named:
            chunk_of.setdefault(c.chunk_id, c)
            in_article = bool(ref.articles) and any(a in c.section for a in ref.articles)
            if ref.doc_numbers and not ref.articles:
                boost[c.chunk_id] = r.lookup_document_boost
            elif in_article:
                boost[c.chunk_id] = r.lookup_document_article_boost if ref.doc_numbers else r.lookup_article_boost
            elif ref.doc_numbers:
                boost[c.chunk_id] = r.lookup_document_rest_boost
        return boost

    def _stored_doc_numbers(self, normalised: tuple[str, ...]) -> list[str]:
        """The 文号 as stored in the chunks, for the normalised forms a query names."""
        return sorted({c.doc_number for c, num in zip(self.chunks, self._doc_number_of) if num in normalised}
                      | set(normalised))
