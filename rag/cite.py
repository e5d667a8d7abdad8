"""Citations: sentence spans of chunks, and verification of every quote before it is shown.

Pure functions. A citation is shown only if its quote equals the raw source span and the span lies
inside a chunk that was retrieved for the question.
"""

from __future__ import annotations

import logging
import re

from .ingest.clean import Cleaned
from .ingest.units import recorded
from .text import ITEM_HEAD_RE, MARK_RE, MARKED_SEGMENT_RE, head_of, sentence_bounds
from .types import Chunk, Citation, Hit

log = logging.getLogger(__name__)



def sentences(raw: str, chunk: Chunk) -> list[tuple[int, int, str]]:
    """The sentences of a chunk as (raw start, raw end, cleaned text), in order."""
    c = recorded(raw, chunk)
    return [(*c.raw_span(a, b), c.text[a:b]) for a, b in sentence_bounds(c.text)]


def span_cleaning(raw: str, chunk: Chunk, start: int, end: int) -> Cleaned:
    """The cleaned text of raw [start, end) inside chunk, with its offsets: the part of the chunk's
    cleaning, so that indices into a unit's text map back to the right raw characters."""
    return recorded(raw, chunk).within(start, end)


def make_citation(chunk: Chunk, raw: str, start: int, end: int) -> Citation:
    """A citation of raw [start, end) inside chunk, labelled with the section path of the quote itself
    (the list item it lies in, not the item the chunk happens to start with)."""
    cleaned = recorded(raw, chunk)
    section = quoted_section(chunk.section, cleaned.text, [cleaned.index_span(start, end)[0]])
    return Citation(chunk.source, start, end, raw[start:end], chunk.chunk_id, chunk.title, chunk.doc_number,
                    section)


def quoted_section(section: tuple[str, ...], text: str, starts: list[int]) -> tuple[str, ...]:
    """The section path of quotes starting at cleaned indices ``starts`` of a chunk's text: when each
    lies in a list item (（四）…), the chunk's path with the items quoted in place of the item the
    chunk happens to start with. The one rule for the API's label and the page's card."""
    base = section[:-1] if section and ITEM_HEAD_RE.match(section[-1]) else section
    items = [item_at(text, a) for a in starts]
    if not starts or any(it is None for it in items):
        return base if starts else section
    return (*base, "、".join(dict.fromkeys(items)))


def item_at(text: str, i: int) -> str | None:
    """The label ("（四）包秩序良好") of the list item whose paragraph, or a later paragraph of which,
    holds cleaned index i; None before the first item."""
    start = text.rfind("\n", 0, i) + 1
    while True:
        end = text.find("\n", start)
        line = text[start:end if end >= 0 else len(text)]
        if ITEM_HEAD_RE.match(line):
            return head_of(line)[:30]
        if start == 0:
            return None
        start = text.rfind("\n", 0, start - 1) + 1


def verify(citation: Citation, raws: dict[str, str], hits: list[Hit]) -> str | None:
    """None when the citation may be shown, else the reason it may not."""
    raw = raws.get(citation.source)
    if raw is None:
        return f"unknown source {citation.source!r}"
    if not (0 <= citation.start < citation.end <= len(raw)) or raw[citation.start : citation.end] != citation.quote:
        return "quote differs from the source span"
    if not any(h.chunk.source == citation.source and h.chunk.start <= citation.start and citation.end <= h.chunk.end
               for h in hits):
        return "span lies outside every retrieved passage"
    return None


def keep_verified(citations: list[Citation], raws: dict[str, str], hits: list[Hit]) -> tuple[list[Citation], list[int]]:
    """Citations that pass verification, and the (0-based) positions of those dropped."""
    kept, dropped = [], []
    for i, c in enumerate(citations):
        why = verify(c, raws, hits)
        if why is None:
            kept.append(c)
        else:
            log.warning("citation dropped (%s): %s %d-%d", why, c.source, c.start, c.end)
            dropped.append(i)
    return kept, dropped




def renumber(text: str, mapping: dict[int, int | None], drop_orphans: bool = True) -> str:
    """Rewrite [n] markers by mapping (1-based old -> new); markers mapped to None are removed, and
    with drop_orphans so is the sentence they ended when none of its markers survive."""
    def seg(m: re.Match) -> str:
        olds = [int(x) for x in MARK_RE.findall(m.group(2))]
        news = [mapping.get(o) for o in olds]
        if not any(news):
            return "" if drop_orphans else m.group(1)
        return m.group(1) + "".join(f"[{n}]" for n in news if n)

    return MARKED_SEGMENT_RE.sub(seg, text)


def markers(text: str) -> list[int]:
    return [int(m.group(1)) for m in MARK_RE.finditer(text)]
