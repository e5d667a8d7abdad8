"""Provenance recorded at the cut: a span's cleaning kept as an offset map, and its sentence units.

Owns: which sentences of a cleaned text make one answerable unit, and reading back the cleaning a
chunk recorded when it was cut (``Chunk.offsets``), so that citations, answers and the page never
clean a chunk again. Knows a chunk only by its ``start``, ``end``, ``text`` and ``offsets``.
"""

from __future__ import annotations

from ..text import LIST_ITEM_RE, SEMICOLONS, STOPS, drop_spaces, sentence_bounds
from .clean import Cleaned, clean


def unit_bounds(text: str) -> list[tuple[int, int]]:
    """The answerable units of a cleaned text as [a, b) bounds into it: its sentences, with a short
    heading ("(一)祈福街。", "第十二条 建立…制度。") joined to what follows it, and a heading's
    bracketed note kept with it."""
    merged: list[tuple[int, int]] = []
    for a, b in sentence_bounds(text):
        part = text[a:b]
        prev = text[merged[-1][0]:merged[-1][1]] if merged else None
        short_head = prev and len(drop_spaces(prev)) <= 12 and not LIST_ITEM_RE.match(part)
        aside = (prev and part[:1] in "(（" and len(part) <= 40 and not LIST_ITEM_RE.match(part)
                 and prev.rstrip()[-1:] not in STOPS + SEMICOLONS)
        if short_head or aside:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def unit_spans(cleaned: Cleaned) -> tuple[tuple[int, int], ...]:
    """The raw [start, end) of each unit of a cleaning: what a chunk records at the cut."""
    return tuple(cleaned.raw_span(a, b) for a, b in unit_bounds(cleaned.text))


def cut(raw: str, start: int, end: int) -> Cleaned:
    """The cleaning of raw [start, end) as a chunk cut there records it (the build's one cleaning)."""
    return clean(raw, start, end)


def recorded(raw: str, chunk) -> Cleaned:
    """The chunk's cleaning as recorded at the cut. A chunk made without provenance (by hand, or
    read back from a vector store that keeps none) is cleaned from raw instead: cleaning is a pure
    function of the span, so both give the same object."""
    if chunk.offsets:
        return Cleaned.from_runs(chunk.text, chunk.offsets)
    return clean(raw, chunk.start, chunk.end)
