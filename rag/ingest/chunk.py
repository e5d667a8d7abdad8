"""Document -> chunks, article- and clause-aware, with exact raw offsets. Does not embed.

One chunk per 条 (split at its （一） items, then sentences, when over the cap); in documents
without 条 one chunk per leaf list item, table row or road; news articles by paragraph groups.
A chunk never crosses a document boundary or a dropped duplicate paragraph, and its text is
always ``clean(raw[start:end])``; it carries that cleaning's offset map and its sentence units
(``rag.ingest.units``), recorded here at the cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import IngestSettings
from ..text import ITEM_HEAD_RE, SOFT_BREAKS, TERMINAL, head_of
from ..types import Chunk, Document, SourceText
from .clean import clean
from .structure import Node, ParsedDocument, doc_kind, parse
from .units import cut, unit_spans

@dataclass
class _Unit:
    lines: list  # list[Line], in raw order
    section: tuple[str, ...]
    title: str
    level: str  # article, item, row, notice, paragraph, ...
    splittable_by_item: bool = False


def _walk(node: Node, path: tuple[str, ...], title: str, units: list[_Unit], news: bool) -> None:
    """Turn the section tree into retrievable units (pre-cap)."""
    kind = node.kind
    if kind == "title":
        title = node.label
    label_here = node.label if kind not in ("root", "title", "sign") else None
    here = path + ((label_here,) if label_here else ())
    if kind == "article":
        units.append(_Unit(node.all_lines(), here, title, "article", True))
        return
    if kind == "sign":
        if units:
            units[-1].lines.extend(node.lines)  # the date stamp stays with what it closes
        for child in node.children:
            _walk(child, path, title, units, news)
        return
    own = list(node.lines)
    if kind in ("part", "chapter", "section") and len(own) <= 1 and not node.children:
        return  # a heading with nothing under it: a table-of-contents entry
    heading_only = len(own) <= 1 and node.children
    if kind in ("part", "chapter", "section", "title") and heading_only:
        own = []  # the heading lives on in the section path / title of every chunk below it
    pending = []
    if own:
        if node.children and kind == "item" and heading_only:
            pending = own  # a bare list heading joins its first sub-item
        else:
            level = {"root": "notice" if not news else "lead", "row": "row", "subhead": "paragraph"}.get(kind, kind)
            units.append(_Unit(own, here, title, level))
    for i, child in enumerate(node.children):
        before = len(units)
        _walk(child, here, title, units, news)
        if pending and len(units) > before:
            units[before].lines[:0] = pending
            pending = []


def _runs(lines: list, order: dict[int, int]) -> list[tuple[int, int]]:
    """Contiguous raw spans covering the lines, broken wherever a line that is not theirs lies between
    (a dropped duplicate, or a line of another unit). ``order``: line start -> position among the
    document's non-furniture lines."""
    spans: list[tuple[int, int]] = []
    last = None
    for ln in sorted(lines, key=lambda x: x.start):
        if spans and order.get(ln.start, -1) == order.get(last, -2) + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], ln.end))
        else:
            spans.append((ln.start, ln.end))
        last = ln.start
    return spans


def _break_points(text: str) -> tuple[list[int], list[int], list[int]]:
    paras = [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    sents = [i + 1 for i, ch in enumerate(text) if ch in TERMINAL]
    softs = [i + 1 for i, ch in enumerate(text) if ch in SOFT_BREAKS]
    return paras, sents, softs


def _split(text: str, cap: int) -> list[tuple[int, int]]:
    """Cut text into pieces of at most cap characters, preferring paragraph, then sentence,
    then comma boundaries."""
    paras, sents, softs = _break_points(text)
    pieces = []
    p = 0
    n = len(text)
    while p < n:
        while p < n and text[p].isspace():
            p += 1
        if p >= n:
            break
        if n - p <= cap:
            pieces.append((p, n))
            break
        q = None
        for cands, floor in ((paras, cap // 4), (sents, cap // 4), (softs, cap // 3)):
            ok = [x for x in cands if p + floor <= x <= p + cap]
            if ok:
                q = ok[-1]
                break
        q = q or p + cap
        pieces.append((p, q))
        p = q
    return pieces


def chunk_parsed(src: SourceText, parsed: list[ParsedDocument], settings: IngestSettings | None = None) -> list[Chunk]:
    """Cut parsed documents into chunks.

    Args:
        src: the file as read (offsets point into ``src.text``).
        parsed: its documents, from ``structure.parse``.
        settings: the ingest group (the size cap).

    Returns:
        Chunks in file order.
    """
    cap = (settings or IngestSettings()).chunk_max_chars
    chunks: list[Chunk] = []
    for pd in parsed:
        if pd.doc.kind != "front":
            chunks.extend(_chunk_document(src, pd, cap))
    return chunks


def _chunk_document(src: SourceText, pd: ParsedDocument, cap: int) -> list[Chunk]:
    """The chunks of one document: its units (``_walk``), each cut at the runs of its lines."""
    units: list[_Unit] = []
    _walk(pd.root, (), pd.doc.title, units, pd.doc.kind == "news")
    order = {ln.start: i for i, ln in enumerate(x for x in pd.lines if not x.furniture)}
    chunks: list[Chunk] = []
    for u in units:
        # A notice's attached text (办法, 方案, 名单) is of the kind its own title names.
        kind = pd.doc.kind if u.title == pd.doc.title else doc_kind(u.title, pd.doc.kind)
        for a, b in _runs(u.lines, order):
            chunks.extend(_cut_run(src, pd.doc, u, kind, a, b, cap))
    return chunks


def _cut_run(src: SourceText, doc: Document, u: _Unit, kind: str, a: int, b: int, cap: int) -> list[Chunk]:
    """The chunks of one contiguous raw run [a, b) of a unit: its cleaning split at the cap, each piece
    trimmed of edge whitespace and recorded with its own cleaning and sentence units."""
    raw = src.text
    c = clean(raw, a, b)
    if not c.text.strip():
        return []
    chunks: list[Chunk] = []
    for x, y in _split(c.text, cap):
        piece = c.text[x:y]
        x, y = x + len(piece) - len(piece.lstrip()), y - (len(piece) - len(piece.rstrip()))
        if y <= x:
            continue
        whole = (x, y) == (0, len(c.text))
        start, end = c.raw_span(x, y)
        own = cut(raw, start, end)  # the chunk's cleaning, recorded with it
        section = u.section
        if u.splittable_by_item and ITEM_HEAD_RE.match(own.text) and x > 0:
            section = section + (head_of(own.text)[:30],)
        chunks.append(Chunk(
            chunk_id=f"{doc.doc_id}:{start}-{end}", doc_id=doc.doc_id, source=src.source, start=start, end=end,
            text=own.text, section=section, title=u.title, doc_number=doc.doc_number, issuer=doc.issuer,
            date=doc.date, byline=doc.byline, level=u.level if whole else u.level + "-part", kind=kind,
            offsets=own.runs(), units=unit_spans(own),
        ))
    return chunks


def chunk_source(src: SourceText, settings: IngestSettings | None = None) -> list[Chunk]:
    """Parse and chunk one source file."""
    return chunk_parsed(src, parse(src), settings)


def chunk_corpus(paths, settings: IngestSettings | None = None):
    """Load and chunk every supported file under ``paths``.

    Args:
        paths: files or folders.
        settings: chunking settings.

    Returns:
        (chunks, sources, problems): chunks in file order, the loaded sources, and one
        ``LoadProblem`` per file that could not be read (reported and skipped).
    """
    from pathlib import Path

    from .load import load_corpus

    paths = [Path(p) for p in paths]
    root = paths[0] if len(paths) == 1 and paths[0].is_dir() else None
    sources, problems = load_corpus(paths, root=root)
    chunks: list[Chunk] = []
    for src in sources:
        chunks.extend(chunk_source(src, settings))
    return chunks, sources, problems
