"""Candidate sentences: every sentence unit of the retrieved clauses, with its similarity in meaning
to the question (the unit vectors the index stored at build time, against the query vector).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ingest.units import chunk_units
from ..text import HEADING_RE, LEAD_FURNITURE_RE, COLONS, drop_spaces, normalize
from ..types import Chunk, Hit


@dataclass
class Candidate:
    chunk: Chunk
    hit_rank: int
    start: int  # raw offsets of the unit
    end: int
    text: str  # cleaned text of the unit
    index: int  # position of the unit in its chunk
    n_units: int  # units in its chunk
    dense: float  # cosine of the question and the unit (passage side of the index's embedder)
    item: bool = False  # chosen as one item of a list
    p: float = 0.0  # fitted probability that the unit holds what the part asks
    features: dict = field(default_factory=dict)

    @property
    def body(self) -> str:
        """The text without newspaper furniture or a leading heading label."""
        text = self.text
        m = LEAD_FURNITURE_RE.match(text)
        if m and m.end() < len(text) - 4:
            text = text[m.end():]
        m = HEADING_RE.match(text.lstrip())
        return text.lstrip()[m.end():].strip() if m else text

    @property
    def heading(self) -> bool:
        """A unit that names what follows rather than saying it: the short opening of a clause with
        more to it ("第三十条 建立健全考核机制。") or a lead-in ending in a colon."""
        if self.index + 1 >= self.n_units:
            return False
        body = drop_spaces(self.body)
        return (self.index == 0 and len(body) <= 16) or body[-1:] in COLONS


class CandidatePool:
    """Builds candidates from hits with the index's stored unit vectors.

    Args:
        index: the loaded ``rag.search.index.Index`` (chunks, raws, unit spans and vectors).
        query_vector: text -> query-side vector (the retriever's, so the question is embedded once).
    """

    def __init__(self, index, query_vector):
        self.raws = index.raws
        self.query_vector = query_vector
        self.unit_vectors = index.unit_vectors
        self.units_of = index.units_by_chunk() if index.unit_vectors is not None else {}
        self.chunk_row = {c.chunk_id: i for i, c in enumerate(index.chunks)}
        self.chunk_vectors = index.vectors
        # Every 文号 the index holds, normalised as questions' are.
        self.doc_numbers = {n for c in index.chunks if c.doc_number for n in index.tokenizer.doc_numbers(c.doc_number)}

    def build(self, question: str, hits: list[Hit]) -> dict[str, list[Candidate]]:
        """chunk_id -> its candidates, for every hit (a list's items may be spread over them); the
        title line shown on every citation card is not a candidate."""
        q = np.asarray(self.query_vector(question), dtype=np.float32) if hits else None
        out: dict[str, list[Candidate]] = {}
        for h in hits:
            raw = self.raws.get(h.chunk.source)
            if raw is None:
                continue
            spans = chunk_units(raw, h.chunk)
            row_of = {(a, b): r for a, b, r in self.units_of.get(h.chunk.chunk_id, [])}
            row = self.chunk_row.get(h.chunk.chunk_id)
            # A unit the index holds no vector for (an index built by other code) gets its chunk's.
            fallback = float(self.chunk_vectors[row] @ q) if row is not None else 0.0
            dense = [float(self.unit_vectors[row_of[(a, b)]] @ q) if (a, b) in row_of else fallback
                     for a, b, _ in spans]
            title = normalize(drop_spaces(h.chunk.title or ""))
            keep = [i for i, (_, _, t) in enumerate(spans)
                    if not (title and title in normalize(drop_spaces(t))
                            and len(drop_spaces(t)) <= len(title) + 14)] or list(range(len(spans)))
            out[h.chunk.chunk_id] = [Candidate(h.chunk, h.rank, spans[i][0], spans[i][1], spans[i][2], j, len(keep),
                                               dense[i]) for j, i in enumerate(keep)]
        return out
