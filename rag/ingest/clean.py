"""PDF/OCR artefact removal with a character-offset map back to the raw text.

Owns: splitting raw text into lines, recognising page furniture, removing spaces and line breaks
that extraction put inside Chinese sentences. Does not know documents, sections or chunks.

Cleaning is *local*: the cleaned text of a span depends only on the characters inside it, so
``clean(raw[a:b]).text`` is exactly what a chunk cut at ``a:b`` carries, and every cleaned
character maps back to one raw offset. The converse does not hold: a part of a chunk cleaned on its
own may differ from that part of the chunk's cleaning (whether a line break is joined depends on the
whole line before it, "举措。免费创\n\n业工位" joins in the chunk but not from "免费创" on). Spans
inside a chunk (sentences, units, trimmed quotes) therefore take their text and offsets from the
chunk's cleaning (``Cleaned.within``), never from cleaning the part again.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from ..text import CLOSERS, HEADING_RE, INVISIBLE, MIDLINE_HEAD_RE, SENTENCE_PUNCT, STRUCT_RE, TERMINAL, squeeze

# Markdown-ish markers that the PDF converter put at line starts ("- ", "> ", "## ").
_LEAD_MARK_RE = re.compile(rf"[ \t\u3000\r\f{INVISIBLE}]*(?:(?:[-*>]|#{{1,6}})[ \t\u3000{INVISIBLE}]+)*")

# Whole lines that are page furniture, not content (tested against the whitespace-free line).
_FURNITURE_RES = [
    re.compile(p)
    for p in (
        r"^[A-Za-z\u4e00-\u9fff]{2,12}(?:人民政府|日报|晚报|时报)公报$",  # gazette running title
        r"^\d{4}年?第\d+期(?:\(总第\d+期\)|（总第\d+期）)?$",  # "2021 第19期 (总第353期)"
        r"^[(（]总第\d+期[)）]$",
        r"^\d{4}年第\d+期\d{1,2}月\d{1,2}日出版.*$",
        r"^\d{4}年\d{1,2}月\d{1,2}日出版$",
        r"^(?:主管主办|主办单位|编辑出版|印刷单位|内部刊号|地址|邮编|联系电话|网址|电话|传真)[:：].*$",
        r"^中心文印部$",
        r"^□?责任编辑.*$",
        r"^(?:大众日报|济南日报|齐鲁晚报|客户端|微信)$",
        r"^扫描二维码.*$",
        r"^[-—–]?\d{1,3}[-—–]?$",  # bare page numbers
    )
]


def is_furniture(line: str) -> bool:
    """True for running titles, issue numbers, masthead and contact lines, bare page numbers."""
    flat = squeeze(line)
    return bool(flat) and any(r.match(flat) for r in _FURNITURE_RES)


@dataclass(frozen=True)
class Line:
    """One raw line's content bounds (markers and outer whitespace stripped)."""

    start: int  # raw offset of the first content character
    end: int  # raw offset one past the last content character
    furniture: bool

    def raw(self, text: str) -> str:
        return text[self.start : self.end]


def split_lines(raw: str, start: int = 0, end: int | None = None) -> list[Line]:
    """Split raw[start:end] into non-blank lines with content bounds in raw offsets."""
    end = len(raw) if end is None else end
    lines: list[Line] = []
    pos = start
    while pos < end:
        nl = raw.find("\n", pos, end)
        stop = end if nl < 0 else nl
        m = _LEAD_MARK_RE.match(raw, pos, stop)
        a = m.end() if m else pos
        b = stop
        while b > a and (raw[b - 1].isspace() or raw[b - 1] in INVISIBLE):
            b -= 1
        # NOTE: two-column extraction sometimes runs the next article onto the same line
        # ("……实施考核。 第十四条 区县政府……"); a heading after a full stop starts a new line.
        for m2 in MIDLINE_HEAD_RE.finditer(raw, a, b):
            if m2.start(1) > a:
                lines.append(Line(a, m2.start(1), is_furniture(raw[a : m2.start(1)])))
                a = m2.end(1)
        if b > a:
            lines.append(Line(a, b, is_furniture(raw[a:b])))
        pos = stop + 1
    return lines


def is_row(text: str) -> bool:
    """A line with no sentence punctuation: a title, a table row, a signature, a byline."""
    if any(ch in SENTENCE_PUNCT for ch in text):
        return False
    return not STRUCT_RE.match(text) or text[0] in "□◆#"


@dataclass(frozen=True)
class Cleaned:
    text: str
    offsets: tuple[int, ...]  # offsets[i] is the raw index of text[i]

    def raw_span(self, a: int, b: int) -> tuple[int, int]:
        """Raw [start, end) covering cleaned text[a:b] (b > a)."""
        return self.offsets[a], self.offsets[b - 1] + 1

    def index_span(self, start: int, end: int) -> tuple[int, int]:
        """Cleaned [a, b) of the characters that come from raw [start, end) (offsets only grow)."""
        return bisect_left(self.offsets, start), bisect_left(self.offsets, end)

    def within(self, start: int, end: int) -> "Cleaned":
        """The part of this cleaning whose characters come from raw [start, end)."""
        a, b = self.index_span(start, end)
        return Cleaned(self.text[a:b], self.offsets[a:b])

    def runs(self) -> tuple[tuple[int, int, int], ...]:
        """The offset map, compactly: (cleaned start, raw start, length) of each stretch of cleaned
        characters that come from consecutive raw characters. What the index stores per chunk."""
        out: list[tuple[int, int, int]] = []
        for i, o in enumerate(self.offsets):
            if out and o == out[-1][1] + out[-1][2] and i == out[-1][0] + out[-1][2]:
                a, r, n = out[-1]
                out[-1] = (a, r, n + 1)
            else:
                out.append((i, o, 1))
        return tuple(out)

    @classmethod
    def from_runs(cls, text: str, runs) -> "Cleaned":
        """The cleaning recorded as ``runs()``, with its text: the same object, without cleaning again."""
        offsets: list[int] = []
        for _, r, n in runs:
            offsets.extend(range(r, r + n))
        if len(offsets) != len(text):
            raise ValueError(f"an offset map of {len(offsets)} characters for a text of {len(text)}")
        return cls(text, tuple(offsets))


def _clean_line(raw: str, line: Line, out: list[str], offs: list[int]) -> None:
    """Append the line's characters, dropping whitespace unless it separates two Latin/digit runs
    or follows a 第X章/条 heading marker."""
    i, b = line.start, line.end
    m = HEADING_RE.match(raw, i, b)
    heading_end = m.end() if m else -1
    while 0 <= heading_end < b and raw[heading_end] in INVISIBLE:
        heading_end += 1
    while i < b:
        ch = raw[i]
        if ch in INVISIBLE:  # takes no space: dropped, and joins what it stood between
            i += 1
            continue
        if ch.isspace():
            j = i
            while j < b and raw[j].isspace():
                j += 1
            left = out[-1] if out else ""
            right = raw[j] if j < b else ""
            latin = left.isascii() and left.isalnum() and right.isascii() and right.isalnum()
            if left and right and (latin or i == heading_end):
                out.append(" ")
                offs.append(i)
            i = j
            continue
        out.append(ch)
        offs.append(i)
        i += 1


def _joins(prev_text: str, next_text: str) -> bool:
    """Whether a line break between these lines is an extraction artefact inside a sentence."""
    if not prev_text or not next_text:
        return False
    last = prev_text.rstrip()[-1]
    if last in TERMINAL or (last in CLOSERS and len(prev_text) > 1 and prev_text.rstrip()[-2] in TERMINAL):
        return False
    if STRUCT_RE.match(next_text):
        return False
    if is_row(prev_text):
        return False
    return True


def clean(raw: str, start: int = 0, end: int | None = None) -> Cleaned:
    """Clean raw[start:end].

    Args:
        raw: the source file's text as read.
        start, end: the span to clean (defaults to all of it).

    Returns:
        The cleaned text, with one raw offset per cleaned character. Paragraph breaks become one
        "\\n"; breaks inside a sentence disappear; furniture lines are dropped.
    """
    out: list[str] = []
    offs: list[int] = []
    prev_text = ""
    prev_end = -1
    for line in split_lines(raw, start, end):
        if line.furniture:
            continue
        line_out: list[str] = []
        line_offs: list[int] = []
        _clean_line(raw, line, line_out, line_offs)
        text = "".join(line_out)
        if out:
            if _joins(prev_text, text):
                if out[-1].isascii() and out[-1].isalnum() and text[0].isascii() and text[0].isalnum():
                    out.append(" ")
                    offs.append(prev_end)
            else:
                out.append("\n")
                offs.append(prev_end)  # the break maps to the raw character after the line
        out.extend(line_out)
        offs.extend(line_offs)
        prev_text, prev_end = text, line.end
    return Cleaned("".join(out), tuple(offs))


def clean_text(raw: str, start: int = 0, end: int | None = None) -> str:
    return clean(raw, start, end).text
