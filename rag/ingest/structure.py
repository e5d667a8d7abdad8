"""Document structure: split a source file into documents and each document into a section tree.

Owns: gazette notice headers (title, 文号, issuer, date), newspaper articles (headline, byline),
the 章/节/条 hierarchy and list levels 一、/（一）/1./（1）, attachments and table rows, and
near-duplicate paragraph detection. Works on raw line spans; never builds chunk text itself.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from ..text import (
    ARTICLE_RE, BYLINE_RE, DATE_RE, DATELINE_RE, DOCNUM_RE, HEADLINE_PUNCT, MARKERS, PARENTHESISED_RE, STRUCT_RE,
    TRAILING_NOTE_RE, WEB_BYLINE_RE, cn_to_int, head_of, int_to_cn, iso_date, lead_sentence, normalize_doc_number,
    squeeze,
)
from ..types import Document, SourceText
from .clean import Line, clean_text, is_row, split_lines

log = logging.getLogger(__name__)
_ARTICLE_MARK = next(rx for _, kind, rx in MARKERS if kind == "article")

_ISSUED_RE = re.compile(r"^[(（]\d{4}年\d{1,2}月\d{1,2}日印发[)）]$")
_REGNO_RE = re.compile(r"^[A-Z]{2,6}-\d{4}-\d{4,}$")
_DATE_ONLY_RE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
_TITLE_HINT_RE = re.compile(r"(通知|决定|意见|办法|规定|方案|规划|通告|公告|批复|函)$")

ROW_MAX = 40  # a table row or title is short

# What kind of document a title names (GB/T 9704 and the drafting conventions of laws): the last
# matching suffix decides. Checked on the title without its parenthesised notes ("（2019年修订）").
KINDS = (
    ("regulation", re.compile(r"(?:条例|办法|规定|细则|规则|法|章程|准则)$")),
    ("notice", re.compile(r"(?:通知|意见|决定|通告|公告|批复|函|命令|决议)$")),
    ("plan", re.compile(r"(?:规划|方案|计划|纲要)$")),
    ("list", re.compile(r"(?:名单|目录|清单|名录)$")),
)
# A promulgation or revision line above the first article ("2020年3月27日…通过", "（…修订）"): it is
# the document's header, not a chunk of its own.
_PROMULGATION_RE = re.compile(r"\d{4}\s*年.*?(?:通过|修订|修正|公布|发布|施行|批准|印发|命令|决定)")
_ISSUER_RE = re.compile(r"([\u4e00-\u9fff]{2,40}?(?:人民代表大会常务委员会|人民代表大会|人民政府|国务院|办公厅|委员会|部|局|署))"
                        r"(?:第.{1,8}?次会议|令|公告)")
MIN_ARTICLES = 3  # a file with at least this many articles in sequence from 第一条 is a regulation


_TRANSMITS_RE = re.compile(r"(?:印发|公布|发布|转发)《?(.+?)》?的(?:通知|决定)$")


def doc_kind(title: str, default: str = "other") -> str:
    """regulation, notice, plan or list, by the title's last word; else ``default``. A notice that
    issues another text ("关于印发…方案的通知") is of the kind of the text it issues."""
    bare = TRAILING_NOTE_RE.sub("", squeeze(title))
    m = _TRANSMITS_RE.search(bare)
    if m:
        inner = doc_kind(m.group(1), "")
        if inner:
            return inner
    for kind, rx in KINDS:
        if rx.search(bare):
            return kind
    return default


@dataclass
class Node:
    """A section of a document: its heading line and intro (``lines``) and its sub-sections."""

    kind: str  # root, part, chapter, section, article, item, title, row, sign, headline, subhead
    level: int
    label: str  # what the section path shows: "第二章 实施标准", "第七条", "(一)包环境卫生"
    lines: list[Line] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)
    num: int | None = None

    def all_lines(self) -> list[Line]:
        out = list(self.lines)
        for c in self.children:
            out.extend(c.all_lines())
        return out


@dataclass
class ParsedDocument:
    doc: Document
    root: Node
    lines: list[Line]  # every line of the document, duplicates marked in ``dups``
    dups: set[int]  # raw start offsets of near-duplicate lines to leave out


def _label(text: str, limit: int = 30) -> str:
    head = head_of(text)
    return head if len(head) <= limit else head[:limit] + "…"


def find_duplicates(raw: str, lines: list[Line], min_len: int = 30, exact: bool = False) -> set[int]:
    """Lines that repeat an earlier line of the file verbatim or nearly (≥90% of 5-grams, or
    contained in it; with ``exact``, verbatim only). Returns their start offsets; the first
    occurrence is kept."""
    seen: list[tuple[str, set[str]]] = []
    dups: set[int] = set()
    for ln in lines:
        if ln.furniture:
            continue
        t = squeeze(raw[ln.start : ln.end])
        if len(t) < min_len:
            continue
        grams = {t[i : i + 5] for i in range(len(t) - 4)}
        for prev, pgrams in seen:
            if t == prev if exact else (t in prev or len(grams & pgrams) >= 0.9 * len(grams)):
                dups.add(ln.start)
                break
        else:
            seen.append((t, grams))
    return dups


class _TreeBuilder:
    """Builds the section tree of one document from its lines, with sequence guards so that a
    cross-reference or a stray list fragment is not taken for a heading."""

    def __init__(self, raw: str, root: Node):
        self.raw = raw
        self.root = root
        self.stack: list[Node] = [root]
        self.last_num: dict[int, int] = {}

    def text(self, ln: Line) -> str:
        return clean_text(self.raw, ln.start, ln.end)

    def marker(self, t: str) -> tuple[int, str, int] | None:
        for level, kind, rx in MARKERS:
            m = rx.match(t)
            if not m:
                continue
            n = cn_to_int(m.group(1))
            if n is None:
                return None
            last = self.last_num.get(level, 0)
            if n == 1 or last < n <= last + 3:
                if level == 3 and n == 1 and last > 1:
                    return None  # a second 第一条 inside one document is a cross-reference
                return level, kind, n
            return None
        return None

    def push(self, node: Node) -> None:
        while len(self.stack) > 1 and self.stack[-1].level >= node.level:
            self.stack.pop()
        self.stack[-1].children.append(node)
        self.stack.append(node)

    def add(self, ln: Line, t: str) -> None:
        found = self.marker(t)
        if found:
            level, kind, n = found
            last = self.last_num.get(level, 0)
            if level == 3 and n > last + 1 and last:
                # Both articles are kept; a gap is worth a look (a repealed article, or an extraction loss).
                log.info("article numbering jumps from 第%s条 to 第%s条", int_to_cn(last), int_to_cn(n))
            self.last_num[level] = n
            # Items restart their numbering inside each 章/条; articles number through chapters.
            if level <= 3:
                for deeper in [k for k in self.last_num if k > 3]:
                    self.last_num.pop(deeper)
            label = t.split(" ")[0] if level == 3 else (t if level <= 2 else _label(t))
            if level == 3:
                label = ARTICLE_RE.match(t).group(0)
            self.push(Node(kind, level, label, [ln], num=n))
            return
        self.stack[-1].lines.append(ln)


def _tables(raw: str, lines: list[Line], min_rows: int = 5) -> set[int]:
    """Start offsets of lines that form tables: ≥ min_rows consecutive short rows."""
    out: set[int] = set()
    run: list[Line] = []

    def flush() -> None:
        if len(run) >= min_rows:
            out.update(x.start for x in run)
        run.clear()

    for ln in lines:
        if ln.furniture:
            continue
        t = clean_text(raw, ln.start, ln.end)
        if is_row(t) and len(t) <= ROW_MAX and not _ISSUED_RE.match(t):
            run.append(ln)
        else:
            flush()
    flush()
    return out


def _policy_headers(raw: str, lines: list[Line]) -> list[int]:
    """Indexes of lines that open a policy document: a title line directly above a 文号 line."""
    starts = []
    body = [i for i, ln in enumerate(lines) if not ln.furniture]
    for k, i in enumerate(body):
        t = squeeze(raw[lines[i].start : lines[i].end])
        m = DOCNUM_RE.fullmatch(t)
        if not m or k == 0:
            continue
        title_i = body[k - 1]
        title = squeeze(raw[lines[title_i].start : lines[title_i].end])
        if not _TITLE_HINT_RE.search(title) or title.startswith(("(", "（")):
            continue
        first = title_i
        if k >= 2 and _REGNO_RE.match(squeeze(raw[lines[body[k - 2]].start : lines[body[k - 2]].end])):
            first = body[k - 2]
        starts.append(first)
    return starts


def _policy_header(texts: list[str]) -> tuple[int, str, str, str | None]:
    """A notice's header: the index of its 文号 line, its title (the line above), the 文号 normalised,
    and the issuer the title opens with ("济南市人民政府关于…")."""
    number_i = next(i for i, t in enumerate(texts) if DOCNUM_RE.fullmatch(squeeze(t)))
    title = squeeze(texts[number_i - 1])
    m = re.match(r"^(.*?)(?:关于|印发)", title)
    return number_i, title, normalize_doc_number(texts[number_i]), (m.group(1) if m and m.group(1) else None)


def _is_signature(issuer: str | None, flat: str, following: str, prev_flat: str, after_sign: bool) -> bool:
    """A line of the notice's signature: the issuer and the date on one line, or the same printed on
    two lines (the issuer, then the date: ``following`` is the next non-empty line), or a note in
    brackets under it ("（此件公开发布）")."""
    if not issuer:
        return False
    if re.fullmatch(rf"{re.escape(issuer)}\d{{4}}年\d{{1,2}}月\d{{1,2}}日(附件)?", flat):
        return True
    return bool((flat == issuer and _DATE_ONLY_RE.fullmatch(following)) or (_DATE_ONLY_RE.fullmatch(flat) and
                prev_flat == issuer) or (after_sign and PARENTHESISED_RE.match(flat)))


def _parse_policy(src: SourceText, lines: list[Line], doc_id: str, dups: set[int]) -> ParsedDocument:
    """A gazette notice: title and 文号 (the header), then its body, signature, and the text it
    attaches (办法, 方案, 名单…) under that text's own title; table rows one node each."""
    raw = src.text
    texts = [clean_text(raw, ln.start, ln.end) for ln in lines]
    number_i, title, doc_number, issuer = _policy_header(texts)
    date = None
    root = Node("root", 0, "通知")
    b = _TreeBuilder(raw, root)
    tables = _tables(raw, lines)
    after_sign = after_title = False
    prev_flat = ""
    body_title: str | None = None
    for i, (ln, t) in enumerate(zip(lines, texts)):
        if ln.furniture or ln.start in dups:
            continue
        flat = squeeze(t)
        if i <= number_i:
            root.lines.append(ln)
            continue
        following = next((squeeze(texts[j]) for j in range(i + 1, len(lines)) if not lines[j].furniture
                          and squeeze(texts[j])), "")
        sign = _is_signature(issuer, flat, following, prev_flat, after_sign)
        prev_flat = flat
        if sign or _ISSUED_RE.match(flat):
            date = date or iso_date(flat)
            if not root.children and b.stack[-1] is root:
                root.lines.append(ln)  # the notice's own signature stays with the notice
            else:
                # A date stamp closes what precedes it; notes that follow it stay with it.
                b.stack = [root]
                b.push(Node("sign", 1, "落款", [ln]))
            after_sign = bool(sign)
            continue
        if after_sign and is_row(t) and not b.marker(t):
            # The attached text (办法, 方案, 名单…) opens with its own title.
            body_title = flat
            b.stack = [root]
            b.last_num.clear()
            b.push(Node("title", 0.5, body_title, [ln]))
            after_sign, after_title = False, True
            continue
        if after_title and PARENTHESISED_RE.match(flat) and re.search(r"\d{4}", flat):
            # Its period or edition in brackets ("（2013-2020年）", "（2019年修订）") is part of the title.
            b.stack[-1].label += flat
            b.stack[-1].lines.append(ln)
            after_title = False
            continue
        after_sign = after_title = False
        if ln.start in tables:
            b.push(Node("row", 9, _label(flat, 20), [ln]))
            b.stack.pop()
            continue
        b.add(ln, t)
    doc = Document(doc_id, src.source, lines[0].start, lines[-1].end, doc_kind(title, "notice"), title,
                   doc_number=doc_number, issuer=issuer, date=date)
    return ParsedDocument(doc, root, lines, dups)


def _is_headlike(raw: str, ln: Line) -> bool:
    t = clean_text(raw, ln.start, ln.end)
    if t.startswith("◆") or (_heading_mark(raw, ln) and len(t) <= ROW_MAX):
        return True
    # Headlines may hold 、 but no sentence punctuation.
    return len(t) <= ROW_MAX and not any(ch in HEADLINE_PUNCT for ch in t) and not STRUCT_RE.match(t)


def _news_blocks(raw: str, lines: list[Line]) -> list[int]:
    """Indexes of lines that open an article: the head block before a byline or dateline."""
    starts: list[int] = []
    n = len(lines)
    i = 0
    while i < n:
        if lines[i].furniture:
            i += 1
            continue
        j = i
        while j < n and (lines[j].furniture or _is_headlike(raw, lines[j])) and not BYLINE_RE.match(
            squeeze(raw[lines[j].start : lines[j].end])
        ):
            j += 1
        prev = next((lines[k] for k in range(i - 1, -1, -1) if not lines[k].furniture), None)
        after_byline = prev is not None and BYLINE_RE.match(squeeze(raw[prev.start : prev.end]))
        if j > i and j < n and not after_byline:
            nxt = squeeze(raw[lines[j].start : lines[j].end])
            marked = any(_heading_mark(raw, lines[k]) for k in range(i, j))
            if BYLINE_RE.match(nxt) or DATELINE_RE.match(nxt) or marked:
                starts.append(i)
                i = j + 1
                continue
        elif j == i and BYLINE_RE.match(squeeze(raw[lines[i].start : lines[i].end])) and i > 0:
            # A byline with no headline above it: the layout put the headline elsewhere.
            starts.append(i)
        i = max(j, i + 1)
    return starts


def _heading_mark(raw: str, ln: Line) -> bool:
    """True when the converter marked the line as a markdown heading ("# ...")."""
    k = raw.rfind("\n", 0, ln.start) + 1
    return raw[k : ln.start].lstrip().startswith("#")


def _marked_heads(raw: str, lines: list[Line]) -> list[str]:
    """Markdown-marked headlines in the head block at the top of an article's lines."""
    out = []
    for ln in lines:
        if ln.furniture:
            continue
        if not _is_headlike(raw, ln) or BYLINE_RE.match(squeeze(raw[ln.start : ln.end])):
            break
        if _heading_mark(raw, ln):
            out.append(squeeze(clean_text(raw, ln.start, ln.end)))
    return out


def _parse_news(
    src: SourceText, lines: list[Line], doc_id: str, dups: set[int], title_override: str | None = None,
    skip_first_mark: bool = False,
) -> ParsedDocument:
    raw = src.text
    root = Node("root", 0, "")
    head: list[str] = []
    byline: list[str] = []
    i = 0
    # The head block: kickers, headline, subtitles, then the byline.
    while i < len(lines) and (lines[i].furniture or _is_headlike(raw, lines[i])):
        t = clean_text(raw, lines[i].start, lines[i].end)
        if not lines[i].furniture:
            if BYLINE_RE.match(squeeze(t)):
                break
            head.append((t, _heading_mark(raw, lines[i])))
        root.lines.append(lines[i])
        i += 1
    while i < len(lines) and not lines[i].furniture:
        t = clean_text(raw, lines[i].start, lines[i].end)
        if BYLINE_RE.match(squeeze(t)) or (byline and is_row(t) and len(t) <= ROW_MAX and "报道" in t):
            byline.append(t)
            root.lines.append(lines[i])
            i += 1
        else:
            break
    marked = [t for t, mk in head if mk][1 if skip_first_mark else 0 :]
    kept = [t for t, mk in head if len(squeeze(t)) > 6 and not t.startswith("◆")] or [t for t, _ in head]
    title = marked[-1] if marked else " ".join(kept[-2:]) if kept else clean_text(raw, lines[0].start, lines[0].end)[:30]
    if title_override:
        title = title_override
    elif not head and i < len(lines):
        # No headline at all: name the article by its lead sentence.
        lead = DATELINE_RE.sub("", squeeze(clean_text(raw, lines[i].start, lines[i].end)))
        title = lead_sentence(lead)[:30]
    current = root
    for ln in lines[i:]:
        if ln.furniture or ln.start in dups:
            continue
        t = clean_text(raw, ln.start, ln.end)
        if _is_headlike(raw, ln) and len(squeeze(t)) >= 4:
            current = Node("subhead", 1, squeeze(t), [ln])
            root.children.append(current)
            continue
        current.lines.append(ln)
    doc = Document(
        doc_id=doc_id,
        source=src.source,
        start=lines[0].start,
        end=lines[-1].end,
        kind="news",
        title=squeeze(title) if not re.search(r"[A-Za-z0-9] [A-Za-z0-9]", title) else title,
        byline=" ".join(squeeze(b) for b in byline) or None,
    )
    return ParsedDocument(doc, root, lines, dups)


def article_starts(raw: str, lines: list[Line]) -> list[int]:
    """Numbers of the lines that open an article (第X条 at the start of a paragraph), in order."""
    out = []
    for ln in lines:
        if ln.furniture:
            continue
        m = _ARTICLE_MARK.match(clean_text(raw, ln.start, ln.end))
        if m:
            n = cn_to_int(m.group(1))
            if n:
                out.append(n)
    return out


def _is_regulation(raw: str, lines: list[Line]) -> bool:
    """Articles from 第一条 on, at least MIN_ARTICLES of them: laws, regulations, rules, and notices
    drafted in articles. Chapter headings inside them never start a document of their own."""
    nums = article_starts(raw, lines)
    return len(nums) >= MIN_ARTICLES and nums[0] == 1 and nums[1] == 2


def _parse_regulation(src: SourceText, lines: list[Line], doc_id: str, dups: set[int]) -> ParsedDocument:
    """A document drafted in articles: title line (a Markdown ``#`` line or the first line), then
    promulgation lines (kept as the header), then 编/章/节/条 with their 款 and 项."""
    raw = src.text
    body = [ln for ln in lines if not ln.furniture and ln.start not in dups]
    b = _TreeBuilder(raw, Node("root", 0, ""))
    first = clean_text(raw, body[0].start, body[0].end)
    has_title = b.marker(first) is None
    title = squeeze(first)[:80] if has_title else src.source.rsplit(".", 1)[0]
    header: list[str] = []
    started = False
    for ln in body[1:] if has_title else body:
        t = clean_text(raw, ln.start, ln.end)
        if not started:
            if b.marker(t) is None and (_PROMULGATION_RE.search(t) or PARENTHESISED_RE.match(t) or not t.strip()):
                header.append(t)
                continue
            started = True
        b.add(ln, t)
    head = " ".join(header)
    dates = [iso_date(m.group(0)) for m in DATE_RE.finditer(head)]
    issuer = _ISSUER_RE.search(squeeze(head))
    number = next((normalize_doc_number(h) for h in header if DOCNUM_RE.search(h)), None)
    doc = Document(doc_id, src.source, lines[0].start, lines[-1].end, doc_kind(title, "regulation"), title,
                   doc_number=number, issuer=issuer.group(1) if issuer else None, date=dates[-1] if dates else None,
                   header=head or None)
    return ParsedDocument(doc, b.root, lines, dups)


def _parse_plain(src: SourceText, lines: list[Line], doc_id: str, dups: set[int], kind: str) -> ParsedDocument:
    """A document without notice header or bylines: first line is the title; 章/条/items parsed."""
    raw = src.text
    first = next((ln for ln in lines if not ln.furniture), lines[0])
    title = squeeze(clean_text(raw, first.start, first.end))[:60]
    root = Node("root", 0, "")
    b = _TreeBuilder(raw, root)
    for ln in lines:
        if ln.furniture or ln.start in dups:
            continue
        b.add(ln, clean_text(raw, ln.start, ln.end))
    number = next((normalize_doc_number(clean_text(raw, ln.start, ln.end)) for ln in lines[:6]
                   if DOCNUM_RE.fullmatch(squeeze(raw[ln.start:ln.end]))), None)
    if not kind:
        # Untitled by kind: a web news page shows its time and source under the headline.
        head = "".join(squeeze(raw[ln.start:ln.end]) for ln in lines[:6] if not ln.furniture)
        kind = doc_kind(title, "news" if WEB_BYLINE_RE.search(head) else "other")
    doc = Document(doc_id, src.source, lines[0].start, lines[-1].end, kind, title, doc_number=number)
    return ParsedDocument(doc, root, lines, dups)


def parse(src: SourceText) -> list[ParsedDocument]:
    """Split one source file into its documents, each with a section tree.

    Args:
        src: the file as read.

    Returns:
        Parsed documents in file order. A gazette yields one per notice (its cover and table of
        contents are skipped, its back matter kept as a last document); a newspaper page yields one
        per article; any other file is one document.
    """
    raw = src.text
    lines = split_lines(raw)
    if not any(not ln.furniture for ln in lines):
        return []
    stem = src.source.rsplit(".", 1)[0]
    heads = _policy_headers(raw, lines)
    if not heads and _is_regulation(raw, lines):
        # Laws repeat whole clauses on purpose (the same 复议 rule under two articles): in a text drafted
        # in articles only an article printed twice under its own number is a duplicate.
        opening = [ln for ln in lines if not ln.furniture and _ARTICLE_MARK.match(clean_text(raw, ln.start, ln.end))]
        return [_parse_regulation(src, lines, f"{stem}/00", find_duplicates(raw, opening, exact=True))]
    dups = find_duplicates(raw, lines)
    if heads:
        return _parse_gazette(src, lines, heads, dups, stem)
    # A newspaper page shows itself by a byline or dateline somewhere; Markdown headings alone do not
    # make one (a list or a notice with # headings is one document).
    paper = any(BYLINE_RE.match(t) or DATELINE_RE.match(t) for t in (squeeze(raw[ln.start:ln.end]) for ln in lines
                                                                     if not ln.furniture))
    starts = _news_blocks(raw, lines) if paper else []
    if starts:
        return _parse_paper(src, lines, starts, dups, stem)
    return [_parse_plain(src, lines, f"{stem}/00", dups, "")]


def _parse_gazette(src: SourceText, lines: list[Line], heads: list[int], dups: set[int],
                   stem: str) -> list[ParsedDocument]:
    """A gazette: one document per notice (``heads`` the lines that open them), then whatever follows
    the last notice's 印发 line, the publication's back matter, as a last document."""
    raw = src.text
    out: list[ParsedDocument] = []
    bounds = heads + [len(lines)]
    for k, (a, z) in enumerate(zip(bounds, bounds[1:])):
        seg = lines[a:z]
        # Whatever follows the last notice's 印发 line is the publication's back matter.
        tail = None
        if k == len(heads) - 1:
            for j, ln in enumerate(seg):
                if _ISSUED_RE.match(squeeze(raw[ln.start : ln.end])):
                    tail = j + 1
            if tail is not None and tail < len(seg) and any(not x.furniture for x in seg[tail:]):
                back = seg[tail:]
                seg = seg[:tail]
            else:
                back = None
        out.append(_parse_policy(src, seg, f"{stem}/{k:02d}", dups))
        if k == len(heads) - 1 and tail is not None and back:
            out.append(_parse_plain(src, back, f"{stem}/{k + 1:02d}", dups, "other"))
    return out


def _parse_paper(src: SourceText, lines: list[Line], starts: list[int], dups: set[int],
                 stem: str) -> list[ParsedDocument]:
    """A newspaper page: one document per article (``starts`` the lines that open them; what comes
    before the first is a document of its own)."""
    raw = src.text
    if starts[0] != 0 and any(not ln.furniture for ln in lines[: starts[0]]):
        starts = [0] + starts
    bounds = starts + [len(lines)]
    segs = [lines[a:z] for a, z in zip(bounds, bounds[1:])]
    heads_of = [_marked_heads(raw, seg) for seg in segs]
    out: list[ParsedDocument] = []
    for k, seg in enumerate(segs):
        override, skip = None, False
        bare = BYLINE_RE.match(squeeze(raw[seg[0].start : seg[0].end]))
        # Column extraction can print a headline after its article: when an article opens with
        # a bare byline and the next head block stacks two headlines, the first one is ours.
        if bare and k + 1 < len(segs) and len(heads_of[k + 1]) >= 2:
            override = heads_of[k + 1][0]
        if k > 0 and len(heads_of[k]) >= 2 and BYLINE_RE.match(squeeze(raw[segs[k - 1][0].start : segs[k - 1][0].end])):
            skip = True
        out.append(_parse_news(src, seg, f"{stem}/{k:02d}", dups, override, skip))
    return out
