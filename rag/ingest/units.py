"""Provenance recorded at the cut: a span's cleaning kept as an offset map, and its sentence units.

Owns: which sentences of a cleaned text make one answerable unit, reading back the cleaning a chunk
recorded when it was cut (``Chunk.offsets``, ``Chunk.units``) so that citations, answers and the page
never clean a chunk again, and what a build records beside the chunks: the sentence units it embeds
(``unit_plan``) and the cleaning of each clause cut into several chunks (``clause_cleanings``).
Embeds nothing.
"""

from __future__ import annotations

from ..text import LIST_ITEM_RE, SEMICOLONS, STOPS, drop_spaces, sentence_bounds
from ..types import Chunk
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
    """The chunk's cleaning as recorded at the cut (the FAISS index and the Milvus collection both keep
    it). A chunk made without provenance (by hand, in tests and tools) is cleaned from raw instead:
    cleaning is a pure function of the span, so both give the same object."""
    if chunk.offsets:
        return Cleaned.from_runs(chunk.text, chunk.offsets)
    return clean(raw, chunk.start, chunk.end)


def chunk_units(raw: str, chunk: Chunk) -> list[tuple[int, int, str]]:
    """The answerable units of a chunk (``unit_bounds``), as recorded at the cut: (raw start, raw end,
    cleaned text). What the index embeds one vector for and the answerer selects from. Texts are cut
    from the chunk's cleaning, like its sentences'."""
    c = recorded(raw, chunk)
    if chunk.offsets:
        bounds = [c.index_span(a, b) for a, b in chunk.units]
    else:
        bounds = unit_bounds(c.text)
    return [(*c.raw_span(a, b), c.text[a:b]) for a, b in bounds]


def unit_plan(chunks: list[Chunk], raw: str
              ) -> tuple[list[tuple[int, int, int]], list[int | None], dict[str, list[int]]]:
    """The sentence units of each chunk of one file, before any embedding.

    Args:
        chunks: chunks of one file.
        raw: that file's text as read.

    Returns:
        (spans, reuse, texts): each unit's (chunk row within ``chunks``, raw start, raw end); per
        unit the chunk whose own vector it reuses (a chunk of one unit: the same text, with its
        context line) or None; and the texts to embed, each with the units it serves (a sentence
        repeated in a file is embedded once).
    """
    spans: list[tuple[int, int, int]] = []
    reuse: list[int | None] = []
    texts: dict[str, list[int]] = {}
    for j, c in enumerate(chunks):
        us = chunk_units(raw, c)
        for a, b, text in us:
            spans.append((j, a, b))
            if len(us) == 1:
                reuse.append(j)
            else:
                texts.setdefault(text, []).append(len(reuse))
                reuse.append(None)
    return spans, reuse, texts


def clause_cleanings(chunks: list[Chunk], raws: dict[str, str]) -> dict[tuple[str, int, int], tuple[str, tuple]]:
    """The cleaning of every clause cut into several chunks, over its whole span (first part's start to
    last part's end), as (source, start, end) -> (cleaned text, offset runs): recorded at build time so
    that reading a clause's list never cleans at query time."""
    parts: dict[tuple, list[Chunk]] = {}
    for c in chunks:
        parts.setdefault(c.clause_key, []).append(c)
    out = {}
    for ps in parts.values():
        if len(ps) > 1:
            ps = sorted(ps, key=lambda c: c.start)
            span = (ps[0].source, ps[0].start, ps[-1].end)
            if span not in out:
                whole = cut(raws[ps[0].source], ps[0].start, ps[-1].end)
                out[span] = (whole.text, whole.runs())
    return out
