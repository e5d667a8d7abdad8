"""Composition: the chosen sentences, trimmed, in answer order, each with its citation marker.

The asked fact comes first (selection returns the best sentence of the first part first), the whole
answer within about ``budget_chars`` (a procedure or list may take ``how_budget_chars``); the whole
clause stays one click away on the citation card.
"""

from __future__ import annotations

from ..cite import make_citation
from ..config import AnswerSettings
from ..text import COLONS, FULL_STOP, SEMICOLONS, STOPS
from .candidates import Candidate
from .features import Coverage
from .frame import QuestionFrame
from .slots import Slot
from .trim import trim


def compose(frame: QuestionFrame, chosen: list[Candidate], raws: dict[str, str], cov: Coverage,
            settings: AnswerSettings, whole_clause: bool = False) -> tuple[str, list]:
    """(answer text with [n] markers, citations)."""
    if whole_clause and len({c.chunk.chunk_id for c in chosen}) == 1:
        # A whole clause is one quotation: one citation from its first sentence to its last.
        first, last = chosen[0], chosen[-1]
        cit = make_citation(first.chunk, raws[first.chunk.source], first.start, last.end)
        text = "".join(c.text if c.text[-1:] in STOPS + SEMICOLONS[0] else c.text + FULL_STOP for c in chosen)
        return f"{text}[1]", [cit]
    items = any(c.item for c in chosen)
    long_form = any(p.slots & {Slot.PROCEDURE, Slot.LIST, Slot.CONDITION} for p in frame.parts)
    budget = settings.how_budget_chars if long_form else settings.budget_chars
    per = max(settings.min_sentence_chars, budget // max(1, len(chosen)))
    citations, pieces = [], []
    for cand in chosen:
        s, e, text = trim(cand, raws[cand.chunk.source], frame.parts, cov, per)
        if not text:
            continue
        citations.append(make_citation(cand.chunk, raws[cand.chunk.source], s, e))
        end = "" if text[-1:] in STOPS + SEMICOLONS[0] + COLONS else (SEMICOLONS[0] if items else FULL_STOP)
        pieces.append(f"{text}{end}[{len(citations)}]")
    return "".join(pieces), citations
