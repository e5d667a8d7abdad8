"""Core data objects passed between pipeline stages: pure data, no I/O, no model imports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


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
    kind: str  # regulation | notice | plan | list | news | other (and "back" for a gazette's back matter)
    title: str
    doc_number: str | None = None  # 文号, normalised, e.g. 济政发〔2021〕13号
    issuer: str | None = None
    date: str | None = None  # ISO date, e.g. 2021-09-09
    byline: str | None = None  # news only, e.g. □记者 王健 报道
    header: str | None = None  # promulgation / revision lines above the first article


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
    kind: str = ""  # the document's kind: regulation, notice, plan, list, news, other
    # Provenance recorded at the cut (``rag.ingest.units``): the cleaning's offset map to raw as
    # (cleaned start, raw start, length) runs, and the raw [start, end) of each sentence unit. Empty
    # for a chunk made by hand; not part of its identity, nor of the public view (``to_dict``).
    offsets: tuple[tuple[int, int, int], ...] = field(default=(), repr=False, compare=False)
    units: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

    @property
    def context(self) -> str:
        """Title and section path, prepended when the chunk is embedded or indexed."""
        parts = [self.title, *self.section]
        if self.doc_number:
            parts.insert(1, self.doc_number)
        return " ".join(p for p in parts if p)

    def to_dict(self, provenance: bool = False) -> dict:
        """The public view (what the CLI prints); with provenance, also the recorded cleaning and
        units (what the index stores)."""
        d = asdict(self)
        d["section"] = list(self.section)
        d["context"] = self.context
        if provenance:
            d["offsets"] = [list(r) for r in self.offsets]
            d["units"] = [list(u) for u in self.units]
        else:
            del d["offsets"], d["units"]
        return d

    @property
    def where(self) -> str:
        return where_label(self.title, self.doc_number, self.section, self.source)

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
        d["offsets"] = tuple(tuple(r) for r in d.get("offsets") or ())
        d["units"] = tuple(tuple(u) for u in d.get("units") or ())
        return cls(**d)


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int
    scores: dict = field(default_factory=dict)  # per-retriever scores/ranks, for staff and eval


@dataclass(frozen=True)
class Scored:
    """A chunk as a vector store ranked it, with what the engine tells about why (ranks, raw scores)."""

    chunk: Chunk
    score: float
    info: dict = field(default_factory=dict)


@dataclass
class SyncReport:
    """What bringing a vector store in line with a built index changed."""

    engine: str = ""
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    seconds: float = 0.0


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

    @property
    def where(self) -> str:
        return where_label(self.title, self.doc_number, self.section, self.source)


def where_label(title: str | None, doc_number: str | None, section, source: str = "") -> str:
    """The one label of where a passage sits: 《title》 文号 章 / 条 (the file name when untitled)."""
    head = f"《{title}》" if title else source
    return " ".join(x for x in (head, doc_number or "", " / ".join(section or ())) if x)


class Refusal(str, Enum):
    """Why an answer is a refusal (``Trace.refusal``)."""

    EMPTY_QUESTION = "empty_question"
    NO_EVIDENCE = "no_evidence"  # nothing retrieved, or no sentence to read
    NO_CONTENT_WORDS = "no_content_words"  # the question holds no evidence term
    LOW_COVERAGE = "low_coverage"  # the evidence covers too little of the question
    NO_AMOUNT = "no_amount"  # "多少钱" and no amount of money in the evidence
    QUANTITY_NOT_NAMED = "quantity_not_named"  # the question names "4号线", the evidence never does
    SLOT_NOT_ANSWERED = "slot_not_answered"  # the clause names the subject but holds no entity of the asked kind
    OTHER_YEAR = "other_year"  # the evidence speaks of another year than the one asked
    OTHER_PLACE = "other_place"  # the evidence speaks of another place than the one asked
    NOT_CONFIDENT = "not_confident"  # the fitted answerability model is below its threshold
    REFERENCE_NOT_FOUND = "reference_not_found"  # the question names a 文号 or 第X条 the documents do not hold
    UNVERIFIED_CITATIONS = "unverified_citations"  # every citation failed verification
    MODEL_CANNOT_ANSWER = "model_cannot_answer"  # the LLM said the documents do not cover it
    MODEL_UNAVAILABLE = "model_unavailable"  # the LLM endpoint failed
    NO_SUCH_ITEM = "no_such_item"  # "那第五项呢？" and the list answered before has fewer items, or none


@dataclass
class LLMTrace:
    """What the language model did for one answer."""

    called: bool = False
    input_tokens: int | None = None
    output_tokens: int | None = None
    seconds: float | None = None
    first_token_s: float | None = None
    tokens_per_s: float | None = None
    model_text: str = ""
    error: str = ""


@dataclass
class Trace:
    """How an answer came about: for staff, evaluation and feedback rows, never shown as the answer."""

    answerer: str = ""  # "extractive" | "llm"
    answerer_version: str = ""
    settings_hash: str = ""  # Settings.answer_hash(): every setting that can change an answer
    resolved_question: str = ""  # the standalone question after follow-up resolution
    coverage: float | None = None  # share of the question's weighted terms the evidence covers
    answerable_p: float | None = None  # the fitted model's P(the documents answer the question)
    model_version: str = ""  # the fitted answer model (weights, threshold) the answer came from
    slot: str = ""  # the asked slot of the question's first part
    nearest: str = ""  # a refusal: the clause nearest to answering (chunk_id)
    refusal: Refusal | None = None
    refusal_detail: str = ""
    dropped_citations: int = 0  # citations removed by the final verification
    timings_ms: dict[str, float] = field(default_factory=dict)  # retrieve, answer, total
    # A question of several parts: per part, what was searched and whether it was answered.
    parts: list[dict] = field(default_factory=list)
    llm: LLMTrace | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["refusal"] = self.refusal.value if self.refusal else None
        return d


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    hits: list[Hit]
    refused: bool
    latency_ms: float = 0.0
    notices: list[str] = field(default_factory=list)  # for the user to read (a cut question, a rewrite)
    # LLM mode: answer sentences no valid citation supports (shown flagged).
    unsupported: list[str] = field(default_factory=list)
    trace: Trace = field(default_factory=Trace)
