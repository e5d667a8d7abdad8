"""Features: what selection scores a candidate sentence by, and what refusal judges a question by.

Each is a named number; the fitted model (``model.py``) holds one weight per name, so adding a
feature means refitting, never hand-weighting. Meaning (the question-sentence cosine of the
index's embedder), shared words (idf-weighted coverage), retrieval rank and the asked slot are all
signals here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..text import LIST_ITEM_RE, drop_spaces, normalize
from . import entities
from .candidates import Candidate
from .frame import Part, QuestionFrame, QuestionReader
from .slots import Slot

# Slots with a recognisable mark in the answer sentence; each gets an "asked and present" feature.
MARKED_SLOTS = (Slot.MONEY, Slot.DURATION, Slot.DATE, Slot.NUMBER, Slot.WHO, Slot.PLACE, Slot.DEFINITION,
                Slot.CONSEQUENCE, Slot.CONDITION, Slot.PROCEDURE, Slot.YESNO, Slot.PURPOSE)

SENTENCE_FEATURES = (
    "dense", "dense_gap", "dense_rank", "lex", "lex_gap", "local_lex", "local_lex_gap", "ctx_lex", "chunk_lex", "hit_prior", "focus",
    "category", "entity_asked", "entity_missing", "list_shape", "list_item", "heading", "first", "position",
    "log_len", "short", "clause_asked", "reference_in_chunk",
    *(f"has_{s.value}" for s in MARKED_SLOTS),
)

QUESTION_FEATURES = (
    "best_p", "mean_best_p", "best_dense", "max_dense", "coverage", "own_coverage", "focus_missing",
    "entity_missing", "year_mismatch", "year_absent", "place_mismatch", "quantity_mismatch", "unknown_share", "best_hit_prior",
    "reference", "parts", "has_focus", "entity_asked",
)


@dataclass(frozen=True)
class FeatureConstants:
    """The numbers inside the features' definitions. The fitted weights were fitted on features
    computed with them, so they live in the model's file (``answer_model.json``, "feature_constants")
    and a refit keeps them."""

    partial_cover: float  # a term counts this much when only a piece of it is present (1 when whole)
    list_items: int  # "list_shape": the enumeration's items, counted up to this many, as a share of it
    log_len_divisor: float  # "log_len": log(1 + characters) divided by this
    short_chars: int  # "short": a body of fewer characters than this

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConstants":
        return cls(float(d["partial_cover"]), int(d["list_items"]), float(d["log_len_divisor"]), int(d["short_chars"]))


def flat(text: str) -> str:
    return normalize(drop_spaces(text))


class Coverage:
    """How far a text covers weighted terms: 1 when a term is present, ``partial`` when a piece of it is
    (the model's ``FeatureConstants.partial_cover``)."""

    def __init__(self, reader: QuestionReader, partial: float):
        self.reader = reader
        self.partial = partial

    def cover(self, terms: dict[str, float], text: str) -> dict[str, float]:
        f = flat(text)
        out = {}
        for t in terms:
            if t in f:
                out[t] = 1.0
            elif any(p in f for p in self.reader.pieces(t)):
                out[t] = self.partial
        return out

    def share(self, terms: dict[str, float], text: str) -> float:
        covered = self.cover(terms, text)
        mass = sum(terms.values()) or 1.0
        return sum(terms[t] * c for t, c in covered.items()) / mass


def sentence_features(part: Part, frame: QuestionFrame, cands: list[Candidate], cov: Coverage,
                      consts: FeatureConstants) -> list[dict]:
    """One feature dict per candidate, for one part of the question (pool-relative features included)."""
    rows = []
    chunk_share: dict[str, float] = {}
    for c in cands:
        cid = c.chunk.chunk_id
        if cid not in chunk_share:
            chunk_share[cid] = cov.share(part.terms, c.chunk.context + " " + c.chunk.text)
    dense_order = sorted(range(len(cands)), key=lambda i: -cands[i].dense)
    dense_rank = {i: r for r, i in enumerate(dense_order)}
    covers = [cov.cover(part.terms, c.text) for c in cands]
    mass = part.mass
    lex = [sum(part.terms[t] * v for t, v in cv.items()) / mass for cv in covers]
    # The same coverage with each term re-weighted by how few of these candidates hold it: a term of
    # the document's title, present in nearly every retrieved sentence, tells them apart no more than
    # a stopword does (local idf over the pool).
    n = len(cands)
    local_terms = {t: w * math.log(1.0 + n / (1.0 + sum(1 for cv in covers if t in cv)))
                   for t, w in part.terms.items()}
    local_mass = sum(local_terms.values()) or 1.0
    local = [sum(local_terms[t] * v for t, v in cv.items()) / local_mass for cv in covers]
    max_local = max(local, default=0.0)
    max_dense = max((c.dense for c in cands), default=0.0)
    max_lex = max(lex, default=0.0)
    asked_entity = part.entity_slots
    for i, c in enumerate(cands):
        text = c.text
        f = flat(text)
        has = {s: (s in part.slots and entities.has(s, text, part.given)) for s in MARKED_SLOTS}
        row = {
            "dense": c.dense,
            "dense_gap": c.dense - max_dense,
            "dense_rank": 1.0 / (1.0 + dense_rank[i]),
            "lex": lex[i],
            "lex_gap": lex[i] - max_lex,
            "local_lex": local[i],
            "local_lex_gap": local[i] - max_local,
            "ctx_lex": cov.share(part.terms, text + " " + c.chunk.context),
            "chunk_lex": chunk_share[c.chunk.chunk_id],
            "hit_prior": 1.0 / c.hit_rank,
            "focus": (cov.cover({part.focus: 1.0}, text).get(part.focus, 0.0) if part.focus else 0.0),
            "category": 1.0 if part.category and part.category in f else 0.0,
            "entity_asked": 1.0 if asked_entity else 0.0,
            "entity_missing": 1.0 if asked_entity and not any(has[s] for s in asked_entity) else 0.0,
            "list_shape": (min(entities.enumeration(text), consts.list_items) / consts.list_items
                           if Slot.LIST in part.slots else 0.0),
            "list_item": 1.0 if Slot.LIST in part.slots and LIST_ITEM_RE.match(text.strip()) else 0.0,
            "heading": 1.0 if c.heading else 0.0,
            "first": 1.0 if c.index == 0 else 0.0,
            "position": c.index / max(1, c.n_units),
            "log_len": math.log1p(len(f)) / consts.log_len_divisor,
            "short": 1.0 if len(drop_spaces(c.body)) < consts.short_chars else 0.0,
            "clause_asked": 1.0 if part.slot is Slot.CLAUSE else 0.0,
            "reference_in_chunk": 1.0 if frame.reference and c.hit_rank == 1 else 0.0,
        }
        for s in MARKED_SLOTS:
            row[f"has_{s.value}"] = 1.0 if has[s] else 0.0
        rows.append(row)
    return rows


def question_features(frame: QuestionFrame, best: list[Candidate], chosen: list[Candidate], all_dense: float,
                      cov: Coverage) -> dict:
    """What the refusal model sees: how well the chosen evidence answers each part, in meaning, words
    and slot, and whether it speaks of another year, place or quantity than the question names."""
    evidence = " ".join(c.chunk.context + " " + c.chunk.text for c in chosen)
    shown = " ".join(c.text + " " + c.chunk.context for c in chosen)
    ev_flat = flat(evidence + " " + " ".join((c.chunk.issuer or "") for c in chosen))
    primary = frame.parts[0]
    asked = [p for p in frame.parts if p.entity_slots]
    missing = 0.0
    for p in asked:
        if not any(entities.has(s, c.text, p.given) for s in p.entity_slots for c in chosen):
            missing += 1.0 / len(frame.parts)
    ev_years = entities.years(evidence)
    # Another year than the asked one, or none at all where the question names one.
    year_mismatch = 1.0 if frame.years and ev_years and not (frame.years & ev_years) else 0.0
    year_absent = 1.0 if frame.years and not ev_years else 0.0
    place_mismatch = 1.0 if any(p[:-1] not in ev_flat and p not in ev_flat for p in frame.places) else 0.0
    quantity_mismatch = 1.0 if any(q not in ev_flat for q in frame.quantities) else 0.0
    ps = [c.p for c in best] or [0.0]
    return {
        "best_p": min(ps),
        "mean_best_p": sum(ps) / len(ps),
        "best_dense": max((c.dense for c in best), default=0.0),
        "max_dense": all_dense,
        "coverage": cov.share(frame.terms, shown),
        "own_coverage": min((cov.share(p.own, shown) for p in frame.parts), default=0.0),
        "focus_missing": 1.0 if primary.focus and primary.focus not in flat(shown) else 0.0,
        "entity_missing": missing,
        "year_mismatch": year_mismatch,
        "year_absent": year_absent,
        "place_mismatch": place_mismatch,
        "quantity_mismatch": quantity_mismatch,
        "unknown_share": frame.unknown_share,
        "best_hit_prior": max((1.0 / c.hit_rank for c in best), default=0.0),
        "reference": 1.0 if frame.reference else 0.0,
        "parts": float(len(frame.parts)),
        "has_focus": 1.0 if primary.focus else 0.0,
        "entity_asked": 1.0 if asked else 0.0,
    }
