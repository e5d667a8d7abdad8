"""The fitted ranking of candidate clauses: per-candidate features of a question's top fused chunks,
and a logistic model over them read from versioned JSON (fitted by ``python -m eval.fit_rank``).

Every feature is normalised within the question (a score against the question's best, a log rank,
a share of the question's terms), so a model fitted on one corpus reads another. No word lists.
Numpy only; never embeds (the query vector and the index's stored sentence-unit vectors are reused).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import RagError
from ..types import Chunk, Scored

MODEL_FILE = "rank_model.json"
DEFAULT_PATH = Path(__file__).with_name(MODEL_FILE)
FORMAT = "rank-model/1"
RANK_CAP = 100  # a rank beyond this (or none: the engine did not return the chunk) counts as this

FEATURES = (
    "fused_logrank",  # log of the rank in the fused (RRF) order
    "fused_rel",  # fused score / the question's best fused score
    "dense_gap",  # cosine of question and chunk minus the question's best among the candidates
    "dense_logrank",  # log of the dense engine's rank (capped)
    "bm25_rel",  # BM25 / the question's best BM25 among the candidates (0: no shared term)
    "bm25_logrank",  # log of the keyword engine's rank (capped)
    "unit_gap",  # best sentence of the chunk against the question, minus the question's best such sentence
    "unit_over_chunk",  # best sentence's cosine minus the whole chunk's
    "title_match",  # idf-weighted share of the question's terms found in the document title
    "section_match",  # ... in the section path (章, 条 headings)
    "text_match",  # ... in the chunk's text
    "doc_mass",  # share of the candidates' fused score held by the chunk's document
    "doc_position",  # place of the chunk in its document, 0 (first) .. 1 (last)
    "doc_first",  # the document's first chunk
    "log_chars",  # log of the chunk's length
    "part",  # a part of a clause cut in several chunks
)


def _logrank(rank) -> float:
    return math.log(min(int(rank), RANK_CAP)) if rank else math.log(RANK_CAP)


class RankSignals:
    """What the features need from a loaded index, computed once: chunk rows, sentence-unit rows per
    chunk, each chunk's place in its document, term idf.

    Args:
        index: a loaded ``rag.search.index.Index``.
    """

    def __init__(self, index):
        self.vectors = index.vectors
        self.unit_vectors = index.unit_vectors
        self.tokenizer = index.tokenizer
        self.bm25 = index.bm25
        self.idf = index.bm25.idf()
        self.row = {c.chunk_id: i for i, c in enumerate(index.chunks)}
        self.units: dict[str, list[int]] = {}
        if index.unit_vectors is not None:
            for cid, spans in index.units_by_chunk().items():
                self.units[cid] = [r for _, _, r in spans]
        by_doc: dict[str, list[Chunk]] = {}
        for c in index.chunks:
            by_doc.setdefault(c.doc_id, []).append(c)
        self.position: dict[str, float] = {}
        for parts in by_doc.values():
            parts.sort(key=lambda c: c.start)
            for i, c in enumerate(parts):
                self.position[c.chunk_id] = i / (len(parts) - 1) if len(parts) > 1 else 0.0

    def terms(self, query: str) -> dict[str, float]:
        """The question's distinct indexed terms with their idf."""
        return {t: self.idf[t] for t in dict.fromkeys(self.tokenizer.tokens(query)) if self.idf.get(t, 0.0) > 0}

    def cosines(self, chunk: Chunk, q: np.ndarray, engine_dense) -> tuple[float, float]:
        """(chunk cosine, best sentence-unit cosine) of a chunk against the query vector."""
        row = self.row.get(chunk.chunk_id)
        if row is None:  # a chunk the loaded index does not hold: what the engine said
            d = float(engine_dense or 0.0)
            return d, d
        d = float(self.vectors[row] @ q)
        rows = self.units.get(chunk.chunk_id)
        u = float(np.max(self.unit_vectors[rows] @ q)) if rows else d
        return d, u


def engine_info(query: str, q: np.ndarray, candidates: list[Scored], signals: RankSignals, depth: int) -> list[dict]:
    """Each candidate's dense and BM25 scores and ranks: as the store reported them, or, from a store
    that fuses inside its engine and reports none (Milvus), computed over the local index the same way
    (a rank past ``depth``, where the local engines stop reading, counts as none)."""
    if all("dense_rank" in s.info and "bm25_rank" in s.info for s in candidates):
        return [s.info for s in candidates]
    dense_all = signals.vectors @ q
    bm25_all = np.asarray(signals.bm25.scores(signals.tokenizer.tokens(query)), dtype=np.float64)
    out = []
    for s in candidates:
        row = signals.row.get(s.chunk.chunk_id)
        if row is None:
            out.append({"dense": None, "dense_rank": None, "bm25": None, "bm25_rank": None, **s.info})
            continue
        d, b = float(dense_all[row]), float(bm25_all[row])
        d_rank = 1 + int(np.sum(dense_all > d))
        b_rank = 1 + int(np.sum(bm25_all > b)) if b > 0 else None
        out.append({"dense": d, "dense_rank": d_rank if d_rank <= depth else None,
                    "bm25": b if b_rank and b_rank <= depth else None,
                    "bm25_rank": b_rank if b_rank and b_rank <= depth else None})
    return out


def _share(terms: dict[str, float], text: str, total: float) -> float:
    return sum(w for t, w in terms.items() if t in text) / total if total > 0 else 0.0


def features(query: str, q: np.ndarray, candidates: list[Scored], signals: RankSignals,
             depth: int = RANK_CAP) -> list[dict]:
    """One row of ``FEATURES`` per candidate (in the fused order given, best first).

    Args:
        query: the question as searched.
        q: its query vector (unit length, as the store searched with).
        candidates: the top fused chunks, each with the store's info (dense, dense_rank, bm25, bm25_rank;
            computed locally when the store reports none).
        signals: the index's ``RankSignals``.
        depth: how deep the store read each engine's ranking.
    """
    if not candidates:
        return []
    q = np.asarray(q, dtype=np.float32)
    infos = engine_info(query, q, candidates, signals, depth)
    terms = signals.terms(query)
    total = sum(terms.values())
    cos = [signals.cosines(s.chunk, q, i.get("dense")) for s, i in zip(candidates, infos)]
    best_d = max(d for d, _ in cos)
    best_u = max(u for _, u in cos)
    best_f = max(s.score for s in candidates) or 1.0
    best_b = max((i.get("bm25") or 0.0) for i in infos) or 1.0
    mass: dict[str, float] = {}
    for s in candidates:
        mass[s.chunk.doc_id] = mass.get(s.chunk.doc_id, 0.0) + s.score
    all_mass = sum(mass.values()) or 1.0
    rows = []
    for rank, (s, info, (d, u)) in enumerate(zip(candidates, infos, cos), 1):
        c = s.chunk
        rows.append({
            "fused_logrank": math.log(rank),
            "fused_rel": s.score / best_f,
            "dense_gap": d - best_d,
            "dense_logrank": _logrank(info.get("dense_rank")),
            "bm25_rel": (info.get("bm25") or 0.0) / best_b,
            "bm25_logrank": _logrank(info.get("bm25_rank")),
            "unit_gap": u - best_u,
            "unit_over_chunk": u - d,
            "title_match": _share(terms, c.title or "", total),
            "section_match": _share(terms, " ".join(c.section), total),
            "text_match": _share(terms, c.text, total),
            "doc_mass": mass[c.doc_id] / all_mass,
            "doc_position": signals.position.get(c.chunk_id, 0.0),
            "doc_first": 1.0 if signals.position.get(c.chunk_id, 0.0) == 0.0 else 0.0,
            "log_chars": math.log(1 + len(c.text)),
            "part": 1.0 if c.level.endswith("-part") else 0.0,
        })
    return rows


@dataclass(frozen=True)
class RankModel:
    """A standardised logistic model: score = coef . (x - mean) / scale + intercept (a logit)."""

    version: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    meta: dict = field(default_factory=dict)

    def logits(self, rows: list[dict]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        X = np.array([[float(r.get(n, 0.0)) for n in self.features] for r in rows], dtype=np.float64)
        scale = np.where(np.asarray(self.scale) == 0, 1.0, np.asarray(self.scale))
        return ((X - np.asarray(self.mean)) / scale) @ np.asarray(self.coef) + self.intercept

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": self.version, "features": list(self.features), "mean": list(self.mean),
                "scale": list(self.scale), "coef": list(self.coef), "intercept": self.intercept, "meta": self.meta}

    @staticmethod
    def stamp(features, mean, scale, coef, intercept) -> str:
        blob = json.dumps([list(features), list(mean), list(scale), list(coef), intercept])
        return f"{FORMAT}+{hashlib.sha256(blob.encode()).hexdigest()[:8]}"

    def save(self, path: Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)


def load_rank_model(path: Path | str | None = None) -> RankModel:
    """The fitted ranking model at ``path`` (default: the packaged one).

    Raises:
        RagError: the file is missing, unreadable, of another format, or fitted on other features.
    """
    path = Path(path or DEFAULT_PATH)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        if d.get("format") != FORMAT:
            raise RagError(f"the ranking model {path} has format {d.get('format')!r}, this version reads {FORMAT!r}")
        model = RankModel(str(d["version"]), tuple(d["features"]), tuple(map(float, d["mean"])),
                          tuple(map(float, d["scale"])), tuple(map(float, d["coef"])), float(d["intercept"]),
                          d.get("meta") or {})
    except RagError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RagError(f"the ranking model {path} is unreadable ({exc}); refit it with `python -m eval.fit_rank` "
                       f"or set retrieval.ranker = \"fusion\"") from exc
    n = len(model.features)
    if set(model.features) != set(FEATURES) or not len(model.mean) == len(model.scale) == len(model.coef) == n:
        raise RagError(f"the ranking model {path} was fitted on other features than this code computes "
                       f"(differs in {sorted(set(model.features) ^ set(FEATURES))}); refit it with "
                       f"`python -m eval.fit_rank`")
    return model
