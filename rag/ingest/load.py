"""File -> SourceText: decoding and text extraction; knows nothing of structure or chunks."""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from .. import prompts
from ..errors import LoadError
from ..text import drop_spaces, int_to_cn, is_cjk
from ..types import SourceText

log = logging.getLogger(__name__)

SUPPORTED = (".txt", ".md", ".pdf", ".docx", ".html", ".htm")


@dataclass(frozen=True)
class LoadProblem:
    """A file that was skipped, and why."""

    source: str  # file name (relative to root when given)
    message: str  # names the file and the remedy


# Bytes that never occur in text files; \t \n \f \r are allowed.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_BINARY_SHARE = 0.05
# Share of the non-ASCII characters that must be CJK for a GB18030 decode to be believed.
_CJK_SHARE = 0.5
def _binary_error(name: str) -> LoadError:
    return LoadError(
        f"{name}: looks like a binary file, not text (found NUL/control bytes); "
        "convert it to UTF-8 text or remove it from the corpus",
        zh=prompts.LOAD_BINARY,
    )


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f"


def _plausible_chinese(text: str) -> bool:
    """GB18030 decodes most byte soup without error, so only accept output that reads as Chinese."""
    if any(_is_control(ch) for ch in text):
        return False
    non_ascii = [ch for ch in text if ord(ch) > 127]
    return bool(non_ascii) and sum(map(is_cjk, non_ascii)) / len(non_ascii) >= _CJK_SHARE


def _check_not_binary(data: bytes, name: str) -> None:
    # Counted on bytes, not on a UTF-8 decode with replacements: legacy-encoded Chinese text would
    # decode to mostly U+FFFD yet is not binary.
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if b"\x00" in data or controls > _BINARY_SHARE * len(data):
        raise _binary_error(name)


def _decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode a plain-text file strictly; newlines are left exactly as they are."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LoadError(f"{name}: the file is UTF-16 encoded; re-save it as UTF-8", zh=prompts.LOAD_UTF16)
    _check_not_binary(data, name)
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise LoadError(
                f"{name}: starts with a UTF-8 byte-order mark but is not valid UTF-8 "
                f"(bad byte at offset {exc.start}); re-save it as UTF-8",
                zh=prompts.LOAD_BAD_UTF8,
            ) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and _plausible_chinese(text):
        return text, "gb18030"
    raise LoadError(f"{name}: cannot decode the text as UTF-8 or GB18030; re-save it as UTF-8",
                    zh=prompts.LOAD_UNDECODABLE)


_PAGE_NO_RE = re.compile(r"^(?:[-—–]\s*\d{1,4}\s*[-—–]|第\s*\d{1,4}\s*页(?:\s*[/，,]?\s*共\s*\d{1,4}\s*页)?|"
                         r"\d{1,4}\s*/\s*\d{1,4}|(?:page|Page)\s*\d{1,4}(?:\s*of\s*\d{1,4})?|\d{1,4})$")
FURNITURE_EDGE = 3  # lines at the top and at the bottom of a page where running heads and feet sit


def strip_page_furniture(pages: list[str]) -> list[str]:
    """Drop what a printed copy repeats on every page: running headers and footers (the same line,
    digits aside, near the top or bottom of at least half the pages; the first copy is kept, since a
    running header is usually the title) and page numbers ("- 3 -", "第 3 页 共 9 页"). The body
    text, its wrapped lines included, is left as it is."""
    split = [p.split("\n") for p in pages]
    edges: list[list[int]] = []
    for lines in split:
        idx = [i for i, ln in enumerate(lines) if ln.strip()]
        edges.append(sorted(set(idx[:FURNITURE_EDGE] + idx[-FURNITURE_EDGE:])))

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", drop_spaces(line))

    seen: dict[str, int] = {}
    for lines, idx in zip(split, edges):
        for k in {key(lines[i]) for i in idx}:
            seen[k] = seen.get(k, 0) + 1
    repeated = {k for k, n in seen.items() if len(pages) >= 2 and n >= max(2, len(pages) / 2)}
    out = []
    kept: set[str] = set()  # the first copy of a running header stays: it is usually the title
    for lines, idx in zip(split, edges):
        drop = set()
        for i in idx:
            k = key(lines[i])
            if _PAGE_NO_RE.match(lines[i].strip()) or (k in repeated and k in kept):
                drop.add(i)
            elif k in repeated:
                kept.add(k)
        out.append("\n".join(ln for i, ln in enumerate(lines) if i not in drop))
    return out


def _read_pdf(data: bytes, name: str) -> tuple[str, str]:
    try:
        from pypdf import PdfReader
    except ImportError as exc:
        raise LoadError(f"{name}: reading PDF files needs pypdf; run `pip install pypdf`",
                        zh=prompts.LOAD_NO_PYPDF) from exc
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    # pypdf raises many exception types (PdfReadError, ValueError, KeyError, ...) on damaged input.
    except Exception as exc:
        raise LoadError(
            f"{name}: cannot read the PDF ({exc}); the file is damaged or encrypted; "
            "re-export it from the original or remove it from the corpus",
            zh=prompts.LOAD_BAD_PDF,
        ) from exc
    text = "\n\n".join(strip_page_furniture(pages))
    if not text.strip():
        raise LoadError(
            f"{name}: the PDF has no text layer (scanned images?); run OCR on it first "
            "(e.g. ocrmypdf) and index the result",
            zh=prompts.LOAD_SCANNED_PDF,
        )
    return text, "pdf"


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CN_FORMATS = {"chineseCounting", "chineseCountingThousand", "chineseLegalSimplified", "ideographTraditional",
               "taiwaneseCounting", "japaneseCounting"}


def _val(element, tag: str) -> str | None:
    """The w:val of a child element, or None."""
    child = element.find(f"{_W}{tag}")
    return child.get(f"{_W}val") if child is not None else None


class _WordNumbering:
    """Word's automatic numbering, which is stored outside the paragraph text (numbering.xml): the
    label each numbered paragraph shows ("第一条 ", "（一）", "1."), counted as Word counts it."""

    def __init__(self, document):
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}  # (numId, ilvl) -> (fmt, text, start)
        self.styles: dict[str, tuple[str, int]] = {}  # paragraph style id -> (numId, ilvl)
        self.counters: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            root = None
        if root is not None:
            abstract = {}
            for a in root.iter(f"{_W}abstractNum"):
                lvls = {}
                for lvl in a.iter(f"{_W}lvl"):
                    lvls[int(lvl.get(f"{_W}ilvl", "0"))] = (_val(lvl, "numFmt") or "decimal",
                                                           _val(lvl, "lvlText") or "", int(_val(lvl, "start") or 1))
                abstract[a.get(f"{_W}abstractNumId")] = lvls
            for num in root.iter(f"{_W}num"):
                ref = num.find(f"{_W}abstractNumId")
                for ilvl, spec in abstract.get(ref.get(f"{_W}val") if ref is not None else None, {}).items():
                    self.levels[(num.get(f"{_W}numId"), ilvl)] = spec
        for style in document.styles.element.iter(f"{_W}style"):
            num_pr = style.find(f"{_W}pPr/{_W}numPr")
            if num_pr is not None:
                self.styles[style.get(f"{_W}styleId")] = self._ids(num_pr)

    @staticmethod
    def _ids(num_pr) -> tuple[str, int]:
        num_id = num_pr.find(f"{_W}numId")
        ilvl = num_pr.find(f"{_W}ilvl")
        return (num_id.get(f"{_W}val") if num_id is not None else None,
                int(ilvl.get(f"{_W}val")) if ilvl is not None else 0)

    def label(self, paragraph) -> str:
        """The number Word shows in front of this paragraph, with a space after it; "" when none."""
        p_pr = paragraph._p.pPr
        num_pr = p_pr.find(f"{_W}numPr") if p_pr is not None else None
        ids = self._ids(num_pr) if num_pr is not None else None
        if ids is None or ids[0] is None:
            style = p_pr.find(f"{_W}pStyle") if p_pr is not None else None
            ids = self.styles.get(style.get(f"{_W}val")) if style is not None else None
        if not ids or ids[0] in (None, "0") or (ids[0], ids[1]) not in self.levels:
            return ""
        num_id, ilvl = ids
        counts = self.counters.setdefault(num_id, [0] * 9)
        fmt, text, start = self.levels[(num_id, ilvl)]
        counts[ilvl] = start if counts[ilvl] == 0 else counts[ilvl] + 1
        for deeper in range(ilvl + 1, 9):
            counts[deeper] = 0
        if fmt == "bullet" or not text:
            return ""

        def show(level: int) -> str:
            n = max(counts[level], self.levels.get((num_id, level), ("decimal", "", 1))[2])
            level_fmt = self.levels.get((num_id, level), ("decimal",))[0]
            return int_to_cn(n) if level_fmt in _CN_FORMATS else str(n)

        label = re.sub(r"%([1-9])", lambda m: show(int(m.group(1)) - 1), text)
        return label if label.endswith(("、", "）", ")", ".", "．")) else label + " "


def _read_docx(data: bytes, name: str) -> tuple[str, str]:
    try:
        import docx
        from docx.table import Table
    except ImportError as exc:
        raise LoadError(f"{name}: reading DOCX files needs python-docx; run `pip install python-docx`",
                        zh=prompts.LOAD_NO_DOCX) from exc
    try:
        document = docx.Document(io.BytesIO(data))
        numbering = _WordNumbering(document)
        blocks: list[str] = []
        for item in document.iter_inner_content():  # body order: paragraphs and tables interleaved
            if isinstance(item, Table):
                rows = []
                for row in item.rows:
                    # A merged cell is returned once per grid column it spans; keep it once.
                    cells, seen = [], set()
                    for cell in row.cells:
                        if id(cell._tc) not in seen:
                            seen.add(id(cell._tc))
                            cells.append(cell.text.strip())
                    rows.append(" ".join(c for c in cells if c))
                block = "\n".join(r for r in rows if r)
            else:
                block = numbering.label(item) + item.text
            if block.strip():
                blocks.append(block)
    except Exception as exc:  # zipfile/lxml/python-docx errors on damaged input
        raise LoadError(
            f"{name}: cannot read the DOCX ({exc}); the file is damaged or not a Word 2007+ document; "
            "re-save it as .docx or remove it from the corpus",
            zh=prompts.LOAD_BAD_DOCX,
        ) from exc
    return "\n\n".join(blocks), "docx"


_BLOCK_TAGS = frozenset(
    "p div br li tr h1 h2 h3 h4 h5 h6 section article table title ul ol dl dt dd "
    "blockquote pre hr header footer main nav aside figure figcaption caption form body".split()
)
_SKIP_TAGS = frozenset(("script", "style", "noscript", "template", "iframe", "nav", "footer", "aside", "form",
                        "button", "select"))
# Page furniture of government web pages by class or id: menus, breadcrumbs, share bars, footers.
_FURNITURE_ATTR = re.compile(r"(?:^|[-_\s])(?:nav|navbar|menu|footer|foot|breadcrumb|crumbs?|bread|copyright|share|"
                             r"sidebar|toolbar|topbar|skip|sitemap|friendlink|links)(?:$|[-_\s\d])", re.IGNORECASE)
_VOID_TAGS = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_HTML_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([-\w:.]+)""", re.IGNORECASE)


class _HTMLText(HTMLParser):
    """Collects visible text; block elements end a line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities arrive unescaped in handle_data
        self.parts: list[str] = []
        self._skip = 0  # how many open elements are furniture (scripts, menus, footers)
        self._open: list[tuple[str, bool]] = []
        self._in_head = False
        self._in_title = False
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            if tag in _BLOCK_TAGS:
                self.parts.append("\n")
            return
        marks = " ".join(v or "" for k, v in attrs if k in ("class", "id", "role"))
        furniture = tag in _SKIP_TAGS or bool(_FURNITURE_ATTR.search(marks)) or "navigation" in marks
        self._open.append((tag, furniture))
        self._skip += furniture
        if tag == "head":
            self._in_head = True
        elif tag == "body":
            self._in_head = False
        elif tag == "title":
            self._in_title = True
        elif tag == "pre":
            self._pre += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS:
            return
        # Close up to the matching open tag (HTML in the wild leaves some unclosed).
        if any(t == tag for t, _ in self._open):
            while self._open:
                t, furniture = self._open.pop()
                self._skip -= furniture
                if t == tag:
                    break
        if tag == "head":
            self._in_head = False
        elif tag == "title":
            self._in_title = False
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _BLOCK_TAGS and tag != "br":  # <br/> reports an end tag too; one newline is enough
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip or (self._in_head and not self._in_title):
            return
        if not self._pre:
            # Source line breaks are layout, as in a browser; U+3000 indentation is kept.
            data = re.sub(r"[ \t\r\n\f]+", " ", data)
        self.parts.append(data)

    def text(self) -> str:
        lines = (line.strip(" \t") for line in "".join(self.parts).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _decode_html(data: bytes, name: str) -> str:
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        _check_not_binary(data, name)
        match = _HTML_CHARSET.search(data[:4096])
        # A wrong label (GB2312 pages with GB18030-only characters) falls through to the next try.
        declared = match.group(1).decode("ascii").lower() if match else None
        candidates = [c for c in (declared, "utf-8", "gb18030") if c]
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    raise LoadError(f"{name}: cannot decode the HTML as {', '.join(candidates)}; re-save it as UTF-8",
                    zh=prompts.LOAD_BAD_HTML)


def _read_html(data: bytes, name: str) -> tuple[str, str]:
    parser = _HTMLText()
    parser.feed(_decode_html(data, name))
    parser.close()
    return parser.text(), "html"


_READERS: dict[str, Callable[[bytes, str], tuple[str, str]]] = {
    ".txt": _decode_text,
    ".md": _decode_text,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
    ".html": _read_html,
    ".htm": _read_html,
}


def _source_name(path: Path, root: Path | None) -> str:
    if root is not None:
        for p, r in ((path, root), (path.resolve(), root.resolve())):
            try:
                return p.relative_to(r).as_posix()
            except ValueError:
                continue
    return path.name


def read_source(path: Path, root: Path | None = None) -> SourceText:
    """Read one file. Raises LoadError (message names the file and what to do) when it is empty,
    binary, undecodable, has no text layer (PDF), or has an unsupported extension.

    Args:
        path: the file to read.
        root: corpus root; when given, ``source`` is the posix path relative to it.

    Returns:
        The decoded text, exactly as read (newlines untranslated), with encoding and raw-bytes sha256.
    """
    path = Path(path)
    name = _source_name(path, root)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise LoadError(
            f"{name}: unsupported file type {suffix or '(no extension)'}; supported: "
            f"{', '.join(SUPPORTED)}; convert it or remove it from the corpus",
            zh=prompts.LOAD_UNSUPPORTED.format(types="、".join(s.lstrip(".") for s in SUPPORTED)),
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{name}: cannot read the file ({exc.strerror}); check that it exists and is readable",
                        zh=prompts.LOAD_CANNOT_OPEN) from exc
    if not data.strip():
        raise LoadError(f"{name}: the file is empty; nothing to index", zh=prompts.LOAD_EMPTY)
    text, encoding = _READERS[suffix](data, name)
    if not text.strip():
        raise LoadError(f"{name}: the file is empty; nothing to index", zh=prompts.LOAD_EMPTY)
    return SourceText(source=name, text=text, encoding=encoding, sha256=hashlib.sha256(data).hexdigest())


def iter_source_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand directories (recursively, sorted, hidden files skipped) into supported files; plain files kept.

    Args:
        paths: files and directories.

    Returns:
        Files in input order, each directory replaced by its supported files in sorted order.
        Plain files are kept whatever their type, so that read_source can report them.
    """
    out: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            out.append(path)
            continue
        for child in sorted(path.rglob("*")):
            rel = child.relative_to(path)
            # "~$x.docx" is Word's lock file for an open x.docx, not a document.
            if any(part.startswith((".", "~$")) for part in rel.parts):
                continue
            if child.is_file() and child.suffix.lower() in SUPPORTED:
                out.append(child)
    return out


def load_corpus(paths: Iterable[Path], root: Path | None = None) -> tuple[list[SourceText], list[LoadProblem]]:
    """Load every file; one bad file is reported (a LoadProblem) and skipped, the rest still load.
    Also logs each problem with logging.getLogger(__name__).warning.

    Args:
        paths: files and directories, expanded by iter_source_paths.
        root: corpus root for relative ``source`` names; see read_source.

    Returns:
        The files that loaded, and one LoadProblem per file that did not.
    """
    sources: list[SourceText] = []
    problems: list[LoadProblem] = []
    for path in iter_source_paths(paths):
        try:
            sources.append(read_source(path, root))
        except LoadError as exc:
            problems.append(LoadProblem(source=_source_name(path, root), message=str(exc)))
            log.warning("%s", exc)
    return sources, problems
