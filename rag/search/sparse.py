"""BM25 as a sparse matrix: built once, persisted without pickle, scored by column sums.

Owns: the BM25 (Lucene variant) weights of every (document, term) pair and the vocabulary. Scoring
a query sums the weight columns of its terms, so query time grows with the postings of the query
terms, not with a Python loop over all documents (the approach of bm25s, in ~60 lines of scipy).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

FORMAT = "rag-bm25/1"


class BM25:
    def __init__(self, vocab: dict[str, int], matrix, k1: float, b: float):
        self.vocab = vocab
        self.matrix = matrix  # scipy.sparse.csc_matrix, shape (n_docs, n_terms)
        self.k1 = k1
        self.b = b

    @property
    def n_docs(self) -> int:
        return self.matrix.shape[0]

    @classmethod
    def build(cls, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> "BM25":
        """Args: docs: one token list per document. Returns: the index."""
        from scipy import sparse

        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(len(docs), dtype=np.float32)
        for i, toks in enumerate(docs):
            lengths[i] = len(toks)
            for term, tf in Counter(toks).items():
                rows.append(i)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        n = max(len(docs), 1)
        avg = float(lengths.mean()) if len(docs) else 1.0
        rows_a = np.asarray(rows, dtype=np.int64)
        cols_a = np.asarray(cols, dtype=np.int64)
        tf_a = np.asarray(tfs, dtype=np.float32)
        df = np.bincount(cols_a, minlength=len(vocab)).astype(np.float32)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        norm = k1 * (1 - b + b * lengths[rows_a] / max(avg, 1e-9))
        weights = idf[cols_a] * tf_a * (k1 + 1) / (tf_a + norm)
        matrix = sparse.csc_matrix((weights, (rows_a, cols_a)), shape=(len(docs), len(vocab)), dtype=np.float32)
        return cls(vocab, matrix, k1, b)

    def idf(self) -> dict[str, float]:
        """Inverse document frequency of every vocabulary term (the Lucene BM25 formula)."""
        df = np.diff(self.matrix.tocsc().indptr)
        n = self.n_docs
        values = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        return {t: float(values[i]) for t, i in self.vocab.items()}

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every document for the query (repeated query terms count once each)."""
        ids = [self.vocab[t] for t in set(query_tokens) if t in self.vocab]
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.matrix[:, ids].sum(axis=1)).ravel()

    def doc_vectors(self):
        """The sparse BM25 weights of every document in order (term id -> weight), read row-wise once."""
        csr = self.matrix.tocsr()
        for i in range(self.n_docs):
            row = csr.getrow(i)
            yield {int(j): float(w) for j, w in zip(row.indices, row.data) if w > 0}

    def subset(self, rows: list[int]) -> "BM25":
        """The same weights for some documents only (the vocabulary and idf stay as they were)."""
        return BM25(self.vocab, self.matrix.tocsr()[rows].tocsc(), self.k1, self.b)

    def save(self, directory: Path) -> list[str]:
        """Write bm25.npz (arrays only) and bm25_vocab.json; returns the file names."""
        m = self.matrix.tocsc()
        np.savez(
            directory / "bm25.npz",
            data=m.data, indices=m.indices, indptr=m.indptr, shape=np.asarray(m.shape, dtype=np.int64),
        )
        meta = {"format": FORMAT, "k1": self.k1, "b": self.b, "vocab": self.vocab}
        (directory / "bm25_vocab.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return ["bm25.npz", "bm25_vocab.json"]

    @classmethod
    def load(cls, directory: Path) -> "BM25":
        from scipy import sparse

        meta = json.loads((directory / "bm25_vocab.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"unknown BM25 format {meta.get('format')!r}")
        with np.load(directory / "bm25.npz", allow_pickle=False) as z:
            shape = tuple(int(x) for x in z["shape"])
            matrix = sparse.csc_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
        if len(meta["vocab"]) != shape[1]:
            raise ValueError("BM25 vocabulary and matrix disagree")
        return cls(meta["vocab"], matrix, meta["k1"], meta["b"])

