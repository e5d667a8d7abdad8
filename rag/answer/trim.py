"""Trimming: a chosen sentence cut to the run of clauses that carries what was asked.

A sentence within its share of the answer budget is kept whole (less newspaper furniture); a longer
one is cut to the run of clauses with the most of the question's terms, the asked slot's entities
and the focus, shorter runs winning ties. Offsets stay exact: the cut is mapped back to raw text.
"""

from __future__ import annotations

import re

from ..cite import span_cleaning
from ..text import CLAUSE_END, COMMAS, FULL_STOP, LEAD_FURNITURE_RE
from . import entities
from .candidates import Candidate
from .features import Coverage, flat
from .frame import Part
from .slots import Slot


def trim(cand: Candidate, raw: str, parts: tuple[Part, ...], cov: Coverage, limit: int) -> tuple[int, int, str]:
    """(raw start, raw end, text) of the part of the candidate to quote."""
    text = cand.text
    c = span_cleaning(raw, cand.chunk, cand.start, cand.end)
    a0 = 0
    m = LEAD_FURNITURE_RE.match(text)
    if m and m.end() < len(text) - 4:
        a0 = m.end()
    a0 += len(text[a0:]) - len(text[a0:].lstrip(COMMAS + FULL_STOP + " "))
    if cand.item:
        # An item is named by its opening clause ("推动办事流程集成").
        cut = re.search(f"[{CLAUSE_END}{FULL_STOP}]", text[a0:])
        if cut and len(text) > 40:
            b = a0 + cut.start()
            s, e = c.raw_span(a0, b)
            return s, e, text[a0:b]
    if len(text) - a0 <= limit:
        s, e = c.raw_span(a0, len(text))
        return s, e, text[a0:]
    terms: dict[str, float] = {}
    for p in parts:
        for t, w in p.terms.items():
            terms[t] = max(terms.get(t, 0.0), w)
    # Terms the citation's title and section already show need not be repeated in the quote.
    for t in cov.cover(terms, cand.chunk.context):
        terms[t] *= 0.3
    bounds = sorted({a0} | {i + 1 for i, ch in enumerate(text) if ch in CLAUSE_END and i >= a0} | {len(text)})
    # A run that repeats the question's words but drops the asked entity ("经营者违反本规定…的" without
    # "由…部门") answers nothing: runs holding more of the asked entities always win.
    asked = [p for p in parts if p.entity_slots and any(entities.has(s, text, p.given) for s in p.entity_slots)]
    best = (-1, -1e9, a0, len(text))
    for i in range(len(bounds) - 1):
        for j in range(i + 1, len(bounds)):
            a, b = bounds[i], bounds[j]
            if b - a > limit and j > i + 1:
                break
            piece = text[a:b]
            held = sum(1 for p in asked if any(entities.has(s, piece, p.given) for s in p.entity_slots))
            w = cov.share(terms, piece)
            for p in parts:
                if not p.own or cov.cover(p.own, piece):
                    w += window_score(p, piece)
            w -= 0.002 * len(piece)  # on a tie the shorter run wins
            if (held, w) > best[:2]:
                best = (held, w, a, b)
    _, _, a, b = best
    piece = text[a:b]
    lead = len(piece) - len(piece.lstrip())
    piece = piece.strip().rstrip(CLAUSE_END)
    a += lead
    b = a + len(piece)
    s, e = c.raw_span(a, b)
    return s, e, piece


def window_score(part: Part, piece: str) -> float:
    """How well a run of clauses answers one part beyond its words: the asked slot's entity, the
    enumeration of a list, the focus (answers rarely repeat the question)."""
    score = 0.0
    for slot in part.entity_slots | (part.slots & {Slot.DEFINITION, Slot.CONSEQUENCE}):
        if entities.has(slot, piece, part.given):
            score += 0.5
    if Slot.LIST in part.slots:
        score += min(0.5, 0.1 * entities.enumeration(piece))
    f = flat(piece)
    if part.category and part.category in f:
        score += 0.2
    if part.focus and part.focus in f:
        score += 0.3
    return score
