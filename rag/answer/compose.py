"""Composition: the chosen sentences, trimmed to whole sentences, in answer order, each with its
citation marker.

The asked fact comes first (selection returns the best sentence of the first part first), the whole
answer within about ``budget_chars`` (a procedure or list may take ``how_budget_chars``): each
sentence gets its share, a list as many whole items as fit. Quotes are the source's characters, no
punctuation added; the whole clause stays one click away on the citation card.
"""

from __future__ import annotations

from ..cite import make_citation
from ..config import AnswerSettings
from ..text import TERMINAL
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
        # A unit ending without punctuation (a heading line) is followed by its line break, not by a
        # full stop the source does not have.
        text = "".join(c.text if c.text[-1:] in TERMINAL else c.text + "\n" for c in chosen).rstrip()
        return f"{text}[1]", [cit]
    items = any(c.item for c in chosen)
    long_form = items or any(p.slots & {Slot.PROCEDURE, Slot.LIST, Slot.CONDITION} for p in frame.parts)
    budget = settings.how_budget_chars if long_form else settings.budget_chars
    per = max(settings.min_sentence_chars, budget // max(1, len(chosen)))
    citations, pieces = [], []
    used, items_kept, list_full = 0, 0, False
    for cand in chosen:
        s, e, text = trim(cand, raws[cand.chunk.source], frame.parts, cov, per, settings)
        if not text:
            continue
        if cand.item:
            # Whole items, as many as fit the budget (the first always: a lead-in without any of
            # its items says nothing); the rest are one click away on the citation card.
            if list_full or (items_kept and used + len(text) > budget):
                list_full = True
                continue
            items_kept += 1
        used += len(text)
        citations.append(make_citation(cand.chunk, raws[cand.chunk.source], s, e))
        # Quotes are the source's characters: no full stop is added where the source has none.
        pieces.append(f"{text}[{len(citations)}]")
    return "".join(pieces), citations
