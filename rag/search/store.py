"""Vector stores: one small protocol, two engines. The retriever talks only to ``VectorStore``.

``FaissStore`` is the default: the loaded local index (FAISS for dense vectors, our scipy BM25 for
keywords) searched in-process, fused by weighted reciprocal rank. ``MilvusStore`` (``rag.search.milvus``)
holds the same chunks, vectors and BM25 weights in a Milvus collection and fuses inside the engine.
Both rank the same query vector and the same jieba tokens; ``open_store`` picks one from settings.

Owns the protocol, the FAISS engine and the factory; never embeds, never builds the local index.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol, runtime_checkable

import numpy as np

from ..config import IndexSettings, Settings
from ..errors import IndexStateError
from ..types import Chunk, Scored, SyncReport


@runtime_checkable
class VectorStore(Protocol):
    """Where chunks, their dense vectors and their BM25 weights are searched."""

    engine: str

    def sync(self, index) -> SyncReport:
        """Hold exactly the chunks of a built index (``rag.search.index.Index``): upsert new and changed
        ones by chunk_id (vectors taken from the index, never re-embedded), delete the rest."""
        ...

    def delete_source(self, source: str) -> int:
        """Remove every chunk of one source file; returns how many were removed."""
        ...

    def search_dense(self, query_vec: np.ndarray, depth: int, doc_numbers: list[str] | None = None) -> list[Scored]:
        """Chunks by inner product with the query vector, best first."""
        ...

    def search_keyword(self, tokens: list[str], depth: int, doc_numbers: list[str] | None = None) -> list[Scored]:
        """Chunks by BM25 over the query's tokens, best first (only chunks sharing a token)."""
        ...

    def search_hybrid(self, query_vec: np.ndarray, tokens: list[str], depth: int, rrf_k: int, dense_weight: float,
                      keyword_weight: float, doc_numbers: list[str] | None = None) -> list[Scored]:
        """Dense and BM25 rankings fused by weighted reciprocal rank; score = the fused value."""
        ...

    def chunks_where(self, doc_numbers: list[str] | None = None, doc_ids: list[str] | None = None) -> list[Chunk]:
        """Chunks of the named documents (文号 as stored, or doc ids)."""
        ...

    def manifest(self) -> dict | None:
        """The build manifest the store holds (embedder, fingerprint, counts), or None when empty."""
        ...

    def check(self, settings: Settings) -> dict:
        """The manifest, if the store was built with these settings; else IndexStateError naming why."""
        ...


def rrf(rankings: list[list[int]], k: int, weights: list[float] | None = None) -> dict[int, float]:
    """Reciprocal rank fusion: sum of w / (k + rank) over the rankings a document appears in."""
    weights = weights or [1.0] * len(rankings)
    out: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, i in enumerate(ranking, start=1):
            out[i] = out.get(i, 0.0) + w / (k + rank)
    return out


class FaissStore:
    """The loaded local index as a store: FAISS for dense search, scipy BM25 for keywords.

    Args:
        index: a loaded ``rag.search.index.Index`` (None: an empty store, e.g. before a first build).
    """

    engine = "faiss"

    def __init__(self, index=None, flat_max: int | None = None):
        self.index = index
        self.flat_max = flat_max or IndexSettings().flat_max

    @property
    def chunks(self) -> list[Chunk]:
        return self.index.chunks if self.index is not None else []

    def _allowed(self, doc_numbers: list[str] | None) -> set[int] | None:
        if doc_numbers is None:
            return None
        wanted = set(doc_numbers)
        return {i for i, c in enumerate(self.chunks) if c.doc_number in wanted}

    def _dense(self, query_vec: np.ndarray, depth: int) -> tuple[list[int], dict[int, float]]:
        q = np.ascontiguousarray(np.asarray(query_vec, dtype=np.float32).reshape(1, -1))
        scores, ids = self.index.dense.search(q, depth)
        pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        return [i for i, _ in pairs], dict(pairs)

    def _keyword(self, tokens: list[str], depth: int) -> tuple[list[int], dict[int, float]]:
        scores = self.index.bm25.scores(tokens)
        if not scores.size:
            return [], {}
        top = np.argsort(-scores, kind="stable")[:depth]
        top = [int(i) for i in top if scores[i] > 0]
        return top, {i: float(scores[i]) for i in top}

    def _single(self, ranking: tuple[list[int], dict[int, float]], name: str, doc_numbers) -> list[Scored]:
        """One engine's ranking as Scored rows, with its raw score and rank under ``name``."""
        ids, scores = ranking
        allowed = self._allowed(doc_numbers)
        return [Scored(self.chunks[i], scores[i], {name: scores[i], f"{name}_rank": r})
                for r, i in enumerate(ids, 1) if allowed is None or i in allowed]

    def search_dense(self, query_vec, depth, doc_numbers=None) -> list[Scored]:
        return self._single(self._dense(query_vec, depth), "dense", doc_numbers) if self.chunks else []

    def search_keyword(self, tokens, depth, doc_numbers=None) -> list[Scored]:
        return self._single(self._keyword(tokens, depth), "bm25", doc_numbers) if self.chunks else []

    def search_hybrid(self, query_vec, tokens, depth, rrf_k, dense_weight, keyword_weight,
                      doc_numbers=None) -> list[Scored]:
        if not self.chunks:
            return []
        d_rank, d_score = self._dense(query_vec, depth)
        b_rank, b_score = self._keyword(tokens, depth)
        fused = rrf([d_rank, b_rank], rrf_k, [dense_weight, keyword_weight])
        d_pos = {i: r for r, i in enumerate(d_rank, 1)}
        b_pos = {i: r for r, i in enumerate(b_rank, 1)}
        allowed = self._allowed(doc_numbers)
        return [Scored(self.chunks[i], v, {"dense": d_score.get(i), "dense_rank": d_pos.get(i),
                                           "bm25": b_score.get(i), "bm25_rank": b_pos.get(i)})
                for i, v in fused.items() if allowed is None or i in allowed]

    def chunks_where(self, doc_numbers=None, doc_ids=None) -> list[Chunk]:
        numbers = set(doc_numbers or ())
        ids = set(doc_ids or ())
        return [c for c in self.chunks
                if (not numbers or c.doc_number in numbers) and (not ids or c.doc_id in ids)]

    def sync(self, index) -> SyncReport:
        """The local build *is* the FAISS store: take it, counting what changed against the one held."""
        old = {c.chunk_id: c for c in self.chunks}
        report = SyncReport(self.engine)
        for c in index.chunks:
            prev = old.pop(c.chunk_id, None)
            if prev is None:
                report.inserted += 1
            elif prev == c:
                report.unchanged += 1
            else:
                report.updated += 1
        report.deleted = len(old)
        self.index = index
        return report

    def delete_source(self, source: str) -> int:
        """Drop one file's chunks from the loaded store (the on-disk index changes with the next build)."""
        if self.index is None:
            return 0
        keep = [i for i, c in enumerate(self.index.chunks) if c.source != source]
        removed = len(self.index.chunks) - len(keep)
        if removed:
            ix = self.index
            vectors = ix.vectors[keep]
            self.index = replace(ix, chunks=[ix.chunks[i] for i in keep], vectors=vectors,
                                 dense=make_dense_index(vectors, self.flat_max), bm25=ix.bm25.subset(keep),
                                 raws={k: v for k, v in ix.raws.items() if k != source})
        return removed

    def manifest(self) -> dict | None:
        return self.index.manifest if self.index is not None else None

    def check(self, settings: Settings) -> dict:
        if self.index is None:
            raise IndexStateError(f"no index at {settings.index_dir}: build one with `rag index`")
        diffs = settings.index_differences(self.index.manifest.get("params", {}))
        if diffs:
            raise IndexStateError(f"the index at {self.index.directory} was built with other settings "
                                  f"({'; '.join(diffs)}); rebuild it with `rag index --rebuild`")
        return self.index.manifest


def make_dense_index(vectors: np.ndarray, flat_max: int):
    """FAISS inner-product index for unit vectors: exact flat search up to flat_max rows, HNSW above."""
    import faiss

    n, dim = vectors.shape if vectors.size else (0, vectors.shape[1] if vectors.ndim == 2 else 0)
    if n <= flat_max:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 96
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def faiss_type(index) -> str:
    return type(index).__name__


def is_milvus(uri: str | None) -> bool:
    return bool(uri) and uri != "faiss"


def open_store(settings: Settings, index=None) -> VectorStore:
    """The store settings name: FAISS over ``index`` (the loaded local index), or the Milvus collection
    at ``settings.index.vector_store`` (queried with the index's BM25 vocabulary)."""
    if is_milvus(settings.index.vector_store):
        from .milvus import MilvusStore

        return MilvusStore.from_settings(settings, vocab=index.bm25.vocab if index is not None else None)
    return FaissStore(index, settings.index.flat_max)
