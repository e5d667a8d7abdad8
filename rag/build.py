"""Build the index: ingest (load, clean, structure, chunk, units) -> embed -> store, published atomically.

Owns: the build's plan (per file, the chunks it keeps and which of them the previous build already
holds, so only files that changed are re-embedded), dropping a chunk that repeats an earlier file's
card (``card_key``: a copy of a document under another name adds nothing; the manifest counts what
each file lost, and a file gets its chunks back once the earlier one is gone), embedding in batches
with progress, and writing the index folder (``rag.search.index`` describes its layout; a fresh
``v-<stamp>/`` with its manifest, published by one rename of ``CURRENT``). A Milvus deployment keeps
this local build too (it is the source of truth and what makes re-embedding incremental);
``rag.search.store.open_store(...).sync`` brings the collection in line with it.

Reading and querying an index is ``rag.search``'s; this module is the only writer. Never calls an
LLM, never verifies citations.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import prompts
from .config import Settings
from .errors import IndexStateError, RagError
from .files import file_sha256
from .ingest.chunk import chunk_source
from .ingest.units import clause_cleanings, unit_plan
from .search.index import ARTIFACTS, CURRENT, FORMAT, Index, live_dir, load_index
from .search.sparse import BM25
from .search.store import faiss_type, make_dense_index, open_store
from .search.tokenize import Tokenizer, corpus_terms
from .types import Chunk, SourceText
from .version import __version__

log = logging.getLogger(__name__)

Say = Callable[[float, str], None]


@dataclass
class BuildReport:
    directory: Path
    chunks: int
    embedded_files: list[str] = field(default_factory=list)
    reused_files: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    store: object | None = None  # rag.types.SyncReport: what the vector store changed
    # file -> {earlier file: chunks dropped because that file has the same card (``card_key``)}
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)
    embedded_chunks: int = 0
    embedded_units: int = 0
    seconds: float = 0.0
    faiss_type: str = ""


def passage_text(chunk: Chunk, settings: Settings) -> str:
    """What is embedded and keyword-indexed for a chunk: its context line, then its text."""
    return f"{chunk.context}\n{chunk.text}" if settings.index.embed_with_context else chunk.text


def card_key(chunk: Chunk) -> tuple:
    """What makes two chunks the same card: the same cleaned text under the same title, 文号 and
    section. A build keeps the first chunk of each key (in file order) and drops later files' repeats,
    so a copy of a document adds nothing, while a clause worded alike in two different documents
    ("本办法自发布之日起施行。") stays in both."""
    return (chunk.title, chunk.doc_number, chunk.section, chunk.text)


def build_index(
    settings: Settings,
    paths: list[Path] | None = None,
    embedder=None,
    full: bool = False,
    progress: Say | None = None,
) -> BuildReport:
    """Build the index from the corpus and publish it atomically.

    Args:
        settings: chunking, embedding and index location.
        paths: files or folders to index (default: settings.corpus_dir).
        embedder: an ``Embedder``; loaded from settings when None.
        full: re-embed everything even when an earlier build could be reused.
        progress: called with (fraction done, message) while building; the messages are Chinese
            (the staff page shows them).

    Returns:
        What was embedded, reused, removed and skipped, and which chunks were dropped as repeats.
    """
    from .search.embed import load_embedder

    t0 = time.perf_counter()
    say = progress or (lambda f, m: None)
    root = Path(settings.index_dir)
    sources, problems = _read_corpus(settings, paths)
    embedder = embedder or load_embedder(settings.index.embedder, settings.index.embed_batch_size)
    prev = _Previous.read(settings, embedder, full)
    report = BuildReport(root, 0, skipped=[p.message for p in problems])
    plans = _plan(sources, prev, settings, say)
    gathered = _embed_all(plans, prev, embedder, settings, report, say)
    report.removed_files = sorted(set(prev.files) - set(gathered.files))

    say(0.9, prompts.STAGE_KEYWORDS)
    built = _assemble(root, settings, gathered, sources, embedder.dim)
    report.faiss_type, report.chunks = faiss_type(built.dense), len(built.chunks)

    say(0.95, prompts.STAGE_WRITING)
    built.directory, built.manifest = write_index(root, settings, embedder, built, gathered.files, problems)
    report.directory = built.directory
    # The local build is the source of truth; the vector store is brought to match it without
    # embedding anything again (for FAISS the build is the store).
    say(0.97, prompts.STAGE_VECTOR_STORE)
    report.store = open_store(settings, prev.index).sync(built)
    report.seconds = time.perf_counter() - t0
    say(1.0, prompts.STAGE_DONE)
    return report


def ensure_index(settings: Settings, embedder=None, announce: Callable[[], None] | None = None) -> BuildReport | None:
    """Build the index from the corpus when there is none yet (first run of `rag ask` or `rag serve`).

    Returns:
        The build report, or None when an index was already there.
    """
    if live_dir(Path(settings.index_dir)) is not None:
        return None
    if announce:
        announce()
    return build_index(settings, embedder=embedder)


# --- ingest and plan ---------------------------------------------------------------------------


def _read_corpus(settings: Settings, paths: list[Path] | None) -> tuple[list[SourceText], list]:
    """The readable files under paths (default: the corpus folder) and a problem per unreadable one."""
    from .ingest.load import load_corpus

    paths = [Path(p) for p in (paths or [settings.corpus_dir])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise RagError(prompts.INDEX_PATHS_MISSING.format(paths=", ".join(missing)))
    corpus_root = paths[0] if len(paths) == 1 and paths[0].is_dir() else None
    sources, problems = load_corpus(paths, root=corpus_root)
    if not sources:
        raise RagError(prompts.INDEX_NOTHING_READABLE.format(paths=", ".join(map(str, paths))))
    return sources, problems


@dataclass
class _Previous:
    """The live build as a new one reuses it (none: nothing to reuse)."""

    index: Index | None = None
    rows: dict[str, list[int]] = field(default_factory=dict)  # source -> its chunk rows
    units: dict[int, list[int]] = field(default_factory=dict)  # chunk row -> its unit rows

    @classmethod
    def read(cls, settings: Settings, embedder, full: bool) -> "_Previous":
        """The live index if a build with this embedder can reuse it, else nothing (logged when an
        index is there but cannot be read)."""
        if full:
            return cls()
        try:
            index = load_index(settings)
        except IndexStateError as exc:
            if live_dir(Path(settings.index_dir)) is not None:
                log.warning("not reusing the existing index: %s", exc)
            return cls()
        if index.manifest["embedder"]["name"] != embedder.name:
            return cls()
        prev = cls(index)
        for i, c in enumerate(index.chunks):
            prev.rows.setdefault(c.source, []).append(i)
        for u, (ci, _, _) in enumerate(index.unit_spans):
            prev.units.setdefault(ci, []).append(u)
        return prev

    @property
    def files(self) -> dict[str, dict]:
        return self.index.manifest["files"] if self.index else {}


@dataclass
class _FilePlan:
    """One file's part of a build, decided before anything is embedded."""

    src: SourceText
    same: bool  # unchanged since the previous build
    have: dict[str, int]  # chunk_id -> its row in the previous build (unchanged files only)
    chunks: list[Chunk]  # what the file keeps: repeats of an earlier file's cards dropped
    dropped: dict[str, int]  # earlier file -> chunks dropped as repeats of its cards
    fresh: list[int]  # rows of ``chunks`` the previous build lacks: to embed
    units: tuple | None  # ``unit_plan`` of the fresh chunks


def _plan(sources: list[SourceText], prev: _Previous, settings: Settings, say: Say) -> list[_FilePlan]:
    """The plan of every file, in order (cheap next to embedding): an earlier file owns a card, so
    the order decides which copy of a repeated chunk is kept."""
    owners: dict[tuple, str] = {}  # card_key -> the file whose chunk is kept
    plans = []
    for k, src in enumerate(sources):
        say(0.05 * k / len(sources), prompts.STAGE_SPLITTING.format(k=k + 1, n=len(sources), source=src.source))
        plans.append(_plan_file(src, prev, owners, settings))
    return plans


def _plan_file(src: SourceText, prev: _Previous, owners: dict[tuple, str], settings: Settings) -> _FilePlan:
    old = prev.files.get(src.source)
    same = bool(prev.index and old and old["sha256"] == src.sha256)
    rows = prev.rows.get(src.source, [])
    have = {prev.index.chunks[i].chunk_id: i for i in rows} if same else {}
    # The previous build holds every chunk of an unchanged file, unless it dropped some as repeats;
    # then the file is cut again (cheap) and only chunks it lacks are embedded.
    if same and not old.get("dropped"):
        cut = [prev.index.chunks[i] for i in rows]
    else:
        cut = chunk_source(src, settings.ingest)
    kept, dropped = [], {}
    for c in cut:
        owner = owners.setdefault(card_key(c), src.source)
        if owner == src.source:
            kept.append(c)
        else:
            dropped[owner] = dropped.get(owner, 0) + 1
    fresh = [j for j, c in enumerate(kept) if c.chunk_id not in have]
    units = unit_plan([kept[j] for j in fresh], src.text) if fresh else None
    return _FilePlan(src, same, have, kept, dropped, fresh, units)


# --- embed -------------------------------------------------------------------------------------


class _Bar:
    """Progress from 0.05 to 0.9 moving with the texts embedded over the whole build, so a big file,
    or the sentence half of a file, takes its real share of it."""

    def __init__(self, say: Say, total: int):
        self.say, self.total, self.done = say, total, 0

    def at(self) -> float:
        return 0.05 + 0.85 * self.done / max(self.total, 1)

    def tick(self, source: str, what: str) -> Callable[[int, int, int], None]:
        def on_batch(n: int, of: int, embedded: int) -> None:
            self.done += embedded
            self.say(self.at(), prompts.STAGE_EMBEDDING.format(source=source, what=what, n=n, of=of))
        return on_batch


@dataclass
class _Gathered:
    """The new build's chunks, vectors and units, file after file."""

    chunks: list[Chunk] = field(default_factory=list)
    blocks: list[np.ndarray] = field(default_factory=list)  # chunk vectors, one block per file
    unit_spans: list[tuple[int, int, int]] = field(default_factory=list)
    unit_rows: list[np.ndarray] = field(default_factory=list)  # one vector per unit span
    files: dict[str, dict] = field(default_factory=dict)  # the manifest's record of each file

    def add(self, plan: _FilePlan, vecs: np.ndarray, units_of: dict[int, list]) -> None:
        for j in range(len(plan.chunks)):
            for a, b, v in units_of.get(j, []):
                self.unit_spans.append((len(self.chunks) + j, a, b))
                self.unit_rows.append(v)
        self.chunks.extend(plan.chunks)
        self.blocks.append(vecs)
        src = plan.src
        self.files[src.source] = {"sha256": src.sha256, "encoding": src.encoding, "chunks": len(plan.chunks),
                                  "dropped": sum(plan.dropped.values())}
        if plan.dropped:
            self.files[src.source]["same_as"] = plan.dropped


def _embed_all(plans: list[_FilePlan], prev: _Previous, embedder, settings: Settings, report: BuildReport,
               say: Say) -> _Gathered:
    """Every file's vectors, reused or embedded, gathered in file order."""
    bar = _Bar(say, sum(len(p.fresh) + len(p.units[2]) for p in plans if p.units is not None))
    out = _Gathered()
    for k, plan in enumerate(plans):
        say(bar.at(), prompts.STAGE_FILE.format(k=k + 1, n=len(plans), source=plan.src.source))
        vecs, units_of = _embed_file(plan, prev, embedder, settings, bar, report)
        (report.reused_files if plan.same and not plan.fresh else report.embedded_files).append(plan.src.source)
        out.add(plan, vecs, units_of)
        if plan.dropped:
            report.dropped[plan.src.source] = plan.dropped
    return out


def _embed_file(plan: _FilePlan, prev: _Previous, embedder, settings: Settings, bar: _Bar, report: BuildReport
                ) -> tuple[np.ndarray, dict[int, list[tuple[int, int, np.ndarray]]]]:
    """A file's chunk vectors, and per chunk row its units as (start, end, vector): taken from the
    previous build where it holds the chunk, else embedded."""
    vecs = np.zeros((len(plan.chunks), embedder.dim), dtype=np.float32)
    units_of: dict[int, list[tuple[int, int, np.ndarray]]] = {}
    for j, c in enumerate(plan.chunks):
        if c.chunk_id in plan.have:
            row = plan.have[c.chunk_id]
            vecs[j] = prev.index.vectors[row]
            units_of[j] = [(*prev.index.unit_spans[u][1:], prev.index.unit_vectors[u]) for u in prev.units.get(row, [])]
    if plan.fresh:
        batch, source = settings.index.embed_batch_size, plan.src.source
        texts = [passage_text(plan.chunks[j], settings) for j in plan.fresh]
        new_vecs = _embed_batches(embedder, texts, batch, bar.tick(source, prompts.EMBEDDING_CHUNKS))
        spans, uvecs, n_embedded = _embed_units(
            plan.units, new_vecs, embedder,
            lambda texts: _embed_batches(embedder, texts, batch, bar.tick(source, prompts.EMBEDDING_SENTENCES)))
        vecs[plan.fresh] = new_vecs
        for (r, a, b), v in zip(spans, uvecs):
            units_of.setdefault(plan.fresh[r], []).append((a, b, v))
        report.embedded_chunks += len(plan.fresh)
        report.embedded_units += n_embedded
    return vecs, units_of


def _embed_batches(embedder, texts: list[str], batch: int, tick: Callable[[int, int, int], None]) -> np.ndarray:
    """Passage vectors of texts, embedded a few batches at a time with tick(done, total, batch size)
    after each."""
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    step = max(1, batch)
    out = []
    for i in range(0, len(texts), step):
        out.append(np.asarray(embedder.embed_passages(texts[i : i + step]), dtype=np.float32))
        tick(min(i + step, len(texts)), len(texts), len(out[-1]))
    return np.concatenate(out)


def _embed_units(plan, chunk_vectors: np.ndarray, embedder, embed: Callable[[list[str]], np.ndarray]):
    """One passage vector per unit of ``rag.ingest.units.unit_plan``: the spans (chunk row within the
    plan's chunks, start, end), the vectors, and how many texts were embedded for them."""
    spans, reuse, texts = plan
    vecs: list[np.ndarray | None] = [chunk_vectors[j] if j is not None else None for j in reuse]
    if texts:
        for text, row in zip(texts, embed(list(texts))):
            for i in texts[text]:
                vecs[i] = row
    out = np.stack(vecs).astype(np.float32) if vecs else np.zeros((0, embedder.dim), dtype=np.float32)
    return spans, out, len(texts)


def _assemble(root: Path, settings: Settings, g: _Gathered, sources: list[SourceText], dim: int) -> Index:
    """The new build in memory: vectors, FAISS, keyword index, and the clause cleanings recorded."""
    vectors = np.concatenate(g.blocks) if g.blocks else np.zeros((0, dim), dtype=np.float32)
    unit_vectors = np.stack(g.unit_rows).astype(np.float32) if g.unit_rows else np.zeros((0, dim), dtype=np.float32)
    tokenizer = Tokenizer(corpus_terms(c.text for c in g.chunks))
    bm25 = BM25.build([tokenizer.tokens(passage_text(c, settings)) for c in g.chunks])
    dense = make_dense_index(vectors, settings.index.flat_max)
    raws = {src.source: src.text for src in sources}
    return Index(root, {}, g.chunks, vectors, dense, bm25, tokenizer, raws, g.unit_spans, unit_vectors,
                 clause_cleanings(g.chunks, raws))


# --- store -------------------------------------------------------------------------------------


def write_index(root: Path, settings: Settings, embedder, index: Index, files: dict[str, dict],
                problems: list) -> tuple[Path, dict]:
    """Write a complete build into a fresh folder, then point CURRENT at it in one rename.

    Returns:
        The live folder and its manifest.
    """
    root.mkdir(parents=True, exist_ok=True)
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tmp = root / f".tmp-{name}"
    tmp.mkdir()
    try:
        _write_artifacts(tmp, index)
        manifest = _manifest(tmp, settings, embedder, index, files, problems)
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        previous = _publish(root, tmp, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # Keep the build just replaced (a reader may still be loading it); older ones go.
    for old in root.glob("v-*"):
        if old.name not in (name, previous.name if previous else None):
            shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".tmp-v-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return root / name, manifest


def _write_jsonl(path: Path, rows: Iterable) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_artifacts(folder: Path, index: Index) -> None:
    import faiss

    _write_jsonl(folder / "chunks.jsonl", (c.to_dict(provenance=True) for c in index.chunks))
    # NOTE: the index keeps the text of every source, so citations stay exact even if corpus/
    # changes before the next build.
    _write_jsonl(folder / "sources.jsonl", ({"source": s, "text": t} for s, t in index.raws.items()))
    np.save(folder / "vectors.npy", index.vectors, allow_pickle=False)
    _write_jsonl(folder / "units.jsonl", ([ci, a, b] for ci, a, b in index.unit_spans))
    np.save(folder / "unit_vectors.npy", index.unit_vectors, allow_pickle=False)
    _write_jsonl(folder / "clauses.jsonl", (
        {"source": source, "start": start, "end": end, "text": text, "offsets": [list(r) for r in runs]}
        for (source, start, end), (text, runs) in index.clauses.items()))
    faiss.write_index(index.dense, str(folder / "dense.faiss"))
    index.bm25.save(folder)
    (folder / "userdict.txt").write_text("\n".join(index.tokenizer.user_terms) + "\n", encoding="utf-8")


def _manifest(folder: Path, settings: Settings, embedder, index: Index, files: dict[str, dict], problems) -> dict:
    chunks = index.chunks
    return {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "fingerprint": settings.fingerprint(),
        "params": settings.index_params(),
        "embedder": {"name": embedder.name, "dim": int(embedder.dim)},
        "faiss": {"type": faiss_type(index.dense)},
        "counts": {"chunks": len(chunks), "files": len(files), "units": len(index.unit_spans),
                   "documents": len({c.doc_id for c in chunks}),
                   "dropped": sum(f.get("dropped", 0) for f in files.values())},
        "files": files,
        "skipped": [p.message for p in problems],
        "artifacts": {a: {"sha256": file_sha256(folder / a), "bytes": (folder / a).stat().st_size} for a in ARTIFACTS},
        "versions": _versions(),
    }


def _publish(root: Path, tmp: Path, name: str) -> Path | None:
    """Make the written folder the live build; returns the build it replaced."""
    for p in tmp.iterdir():
        with open(p, "rb") as f:
            os.fsync(f.fileno())
    os.replace(tmp, root / name)
    pointer_tmp = root / f".{CURRENT}.{uuid.uuid4().hex[:6]}"
    pointer_tmp.write_text(name, encoding="utf-8")
    with open(pointer_tmp, "rb") as f:
        os.fsync(f.fileno())
    previous = live_dir(root)
    os.replace(pointer_tmp, root / CURRENT)  # the one step that publishes the build
    return previous


def _versions() -> dict:
    import faiss
    import jieba

    return {"rag": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "faiss": faiss.__version__, "jieba": jieba.__version__}
