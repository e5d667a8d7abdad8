"""Trimming: a chosen unit cut to the whole sentences that carry what was asked.

A unit within its share of the answer budget is kept whole (less newspaper furniture); a longer one
is cut to the run of its whole sentences (``rag.text.whole_sentences``: each ends at 。！？；, a line
end or an item's end) with the most of the question's terms, the asked slot's entities and the focus,
shorter runs winning ties. A sentence is never cut inside (no comma cut, no full stop added): a single
sentence longer than the share is quoted whole. An item of a list is quoted from its start; a run that
is only a heading ("第三条 工作原则") brings the sentence after it, one ending in ： the items after it. Offsets stay exact: the cut is
mapped back to raw text.
"""

from __future__ import annotations

import math

from ..cite import span_cleaning
from ..config import AnswerSettings
from ..text import COLONS, COMMAS, FULL_STOP, LEAD_FURNITURE_RE, LIST_ITEM_RE, is_heading, whole_sentences
from . import entities
from .candidates import Candidate
from .features import Coverage, flat
from .frame import Part
from .slots import Slot


def trim(cand: Candidate, raw: str, parts: tuple[Part, ...], cov: Coverage, limit: int,
         settings: AnswerSettings) -> tuple[int, int, str]:
    """(raw start, raw end, text) of the part of the candidate to quote (``settings``: the answer
    group, whose ``trim_*`` weights score the runs)."""
    text = cand.text
    c = span_cleaning(raw, cand.chunk, cand.start, cand.end)
    a0 = 0
    m = LEAD_FURNITURE_RE.match(text)
    if m and m.end() < len(text) - 4:
        a0 = m.end()
    a0 += len(text[a0:]) - len(text[a0:].lstrip(COMMAS + FULL_STOP + " "))
    spans = [(max(a, a0), b) for a, b in whole_sentences(text) if b > a0]
    if len(text) - a0 <= limit or len(spans) <= 1:
        a, b = (spans[0][0], spans[-1][1]) if spans else (a0, len(text))
    elif cand.item:
        # An item is named by its opening sentence(s): quoted from its start, as many whole
        # sentences as fit (its first whatever its length).
        j = 1
        while j < len(spans) and spans[j][1] - spans[0][0] <= limit:
            j += 1
        a, b = spans[0][0], spans[j - 1][1]
    else:
        i, j = _best_run(text, spans, parts, cov, cand.chunk.context, limit, settings)
        # A heading alone names what follows without saying it: the sentence after it comes with it,
        # whatever the share (unless that opens the next item or article).
        if j < len(spans) and is_heading(text[spans[i][0]:spans[j - 1][1]]) and not _starts_part(text, spans[j]):
            j += 1
        # A lead-in ending in ： brings the items after it ("…如下：一是…；二是…"): as many whole ones as
        # fit the share, the first whatever its length.
        if j < len(spans) and text[spans[j - 1][1] - 1] in COLONS:
            j += 1
            while j < len(spans) and spans[j][1] - spans[i][0] <= limit:
                j += 1
        a, b = spans[i][0], spans[j - 1][1]
    s, e = c.raw_span(a, b)
    return s, e, text[a:b]


def _best_run(text: str, spans: list[tuple[int, int]], parts: tuple[Part, ...], cov: Coverage, context: str,
              limit: int, settings: AnswerSettings) -> tuple[int, int]:
    """(i, j): the run spans[i:j] within the share (or a single sentence) that holds the most asked
    entities, then scores best."""
    terms: dict[str, float] = {}
    for p in parts:
        for t, w in p.terms.items():
            terms[t] = max(terms.get(t, 0.0), w)
    # Terms the citation's title and section already show need not be repeated in the quote.
    for t in cov.cover(terms, context):
        terms[t] *= settings.trim_shown_term_share
    # A run that repeats the question's words but drops the asked entity ("经营者违反本规定…的" without
    # "由…部门") answers nothing: runs holding more of the asked entities always win.
    asked = [p for p in parts if p.entity_slots and any(entities.has(s, text, p.given) for s in p.entity_slots)]
    best = (-1, -math.inf, 0, len(spans))
    for i in range(len(spans)):
        for j in range(i + 1, len(spans) + 1):
            a, b = spans[i][0], spans[j - 1][1]
            if b - a > limit and j > i + 1:
                break
            piece = text[a:b]
            held = sum(1 for p in asked if any(entities.has(s, piece, p.given) for s in p.entity_slots))
            w = cov.share(terms, piece)
            for p in parts:
                if not p.own or cov.cover(p.own, piece):
                    w += window_score(p, piece, settings)
            w -= settings.trim_char_cost * len(piece)  # on a tie the shorter run wins
            if (held, w) > best[:2]:
                best = (held, w, i, j)
    return best[2], best[3]


def _starts_part(text: str, span: tuple[int, int]) -> bool:
    """The sentence opens a new item or article rather than continuing a heading's body."""
    return bool(LIST_ITEM_RE.match(text[span[0]:span[1]])) or is_heading(text[span[0]:span[1]])


def window_score(part: Part, piece: str, settings: AnswerSettings) -> float:
    """How well a run of sentences answers one part beyond its words: the asked slot's entity, the
    enumeration of a list, the focus (answers rarely repeat the question)."""
    score = 0.0
    for slot in part.entity_slots | (part.slots & {Slot.DEFINITION, Slot.CONSEQUENCE}):
        if entities.has(slot, piece, part.given):
            score += settings.trim_entity_bonus
    if Slot.LIST in part.slots:
        score += min(settings.trim_items_max, settings.trim_item_bonus * entities.enumeration(piece))
    f = flat(piece)
    if part.category and part.category in f:
        score += settings.trim_category_bonus
    if part.focus and part.focus in f:
        score += settings.trim_focus_bonus
    return score
