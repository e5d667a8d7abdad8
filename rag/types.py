"""Core data objects passed between pipeline stages: pure data, no I/O, no model imports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class SourceText:
    """One input file as read: the text every offset in the system points into."""

    source: str  # file name relative to the corpus root
    text: str  # decoded text, newlines untranslated
    encoding: str  # "utf-8", "gb18030", "pdf", "docx", "html", ...
    sha256: str  # hash of the raw bytes, for incremental rebuilds


@dataclass(frozen=True)
class Document:
    """A logical document inside a source file: one gazette notice or one newspaper article."""

    doc_id: str
    source: str
    start: int
    end: int
    kind: str  # "policy" | "news" | "front" | "back" | "text"
    title: str
    doc_number: str | None = None  # 文号, normalised, e.g. 济政发〔2021〕13号
    issuer: str | None = None
    date: str | None = None  # ISO date, e.g. 2021-09-09
    byline: str | None = None  # news only, e.g. □记者 王健 报道


@dataclass(frozen=True)
class Chunk:
    """A retrievable unit: one clause (or part of one), with exact provenance."""

    chunk_id: str  # stable across rebuilds: f"{doc_id}:{start}-{end}"
    doc_id: str
    source: str  # file name in corpus/
    start: int  # character offsets into the source file's text as read
    end: int
    text: str  # clean(raw[start:end])
    section: tuple[str, ...]  # ("第三章 监督考评", "第十三条")
    title: str
    doc_number: str | None = None
    issuer: str | None = None
    date: str | None = None
    byline: str | None = None
    level: str = "paragraph"  # what the chunk is a unit of: article, item, row, notice, paragraph, ...

    @property
    def context(self) -> str:
        """Title and section path, prepended when the chunk is embedded or indexed."""
        parts = [self.title, *self.section]
        if self.doc_number:
            parts.insert(1, self.doc_number)
        return " ".join(p for p in parts if p)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["section"] = list(self.section)
        d["context"] = self.context
        return d

    @property
    def clause_key(self) -> tuple:
        """The clause a chunk belongs to: its document and section path up to its 第X条 (the parts
        of a long article cut at its items share it)."""
        for i, s in enumerate(self.section):
            if s.startswith("第") and "条" in s[:8]:
                return (self.doc_id, tuple(self.section[: i + 1]))
        return (self.doc_id, tuple(self.section))

    @classmethod
    def from_dict(cls, d: dict) -> "Chunk":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        d["section"] = tuple(d.get("section") or ())
        return cls(**d)


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int
    scores: dict = field(default_factory=dict)  # per-retriever scores/ranks, for staff and eval


@dataclass(frozen=True)
class Citation:
    """A verified quotation: raw[start:end] == quote."""

    source: str
    start: int
    end: int
    quote: str
    chunk_id: str
    title: str
    doc_number: str | None
    section: tuple[str, ...]


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    hits: list[Hit]
    refused: bool
    latency_ms: float = 0.0
    notices: list[str] = field(default_factory=list)
    # LLM mode: answer sentences no valid citation supports (shown flagged), and token counts.
    unsupported: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
