"""Build, save and load the on-disk index: chunks, dense vectors + FAISS, BM25, manifest.

Owns: the index folder layout, atomic publication of a new build, incremental re-embedding of only
the files that changed, dropping a chunk that repeats an earlier file's card (``card_key``: a copy of
a document under another name adds nothing; the manifest counts what each file lost, and a file gets
its chunks back once the earlier one is gone), and refusing (by name) an index that is damaged or was
built with other settings. Never calls an LLM; reads nothing back with pickle.

Layout::

    index/CURRENT            name of the live build folder, replaced atomically
    index/v-<stamp>/         manifest.json, chunks.jsonl, vectors.npy, dense.faiss,
                             bm25.npz, bm25_vocab.json, userdict.txt,
                             units.jsonl + unit_vectors.npy (one passage vector per sentence unit
                             of every chunk, ``rag.ingest.units.chunk_units``: what the answerer compares the
                             question with), clauses.jsonl (the cleaning of each clause cut into
                             several chunks); chunks.jsonl carries each chunk's provenance from
                             the cut (offset runs and unit spans, ``rag.ingest.units``)

A Milvus deployment keeps this local build too (it is the source of truth and what makes re-embedding
incremental); ``rag.search.store.open_store(...).sync`` brings the collection in line with it.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import prompts
from ..ingest.chunk import chunk_source
from ..config import Settings
from ..errors import IndexStateError, RagError
from ..files import file_sha256
from ..ingest.clean import Cleaned
from ..ingest.units import clause_cleanings, cut, recorded, unit_plan
from .sparse import BM25
from .store import faiss_type, make_dense_index, open_store
from .tokenize import Tokenizer, corpus_terms
from ..types import Chunk

log = logging.getLogger(__name__)

# 4: chunks carry the provenance recorded at the cut (offset runs, unit spans); clauses.jsonl.
FORMAT = "rag-index/4"
CURRENT = "CURRENT"
ARTIFACTS = ("chunks.jsonl", "sources.jsonl", "vectors.npy", "dense.faiss", "bm25.npz", "bm25_vocab.json",
             "userdict.txt", "units.jsonl", "unit_vectors.npy", "clauses.jsonl")


@dataclass
class Index:
    directory: Path
    manifest: dict
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: object  # faiss.Index
    bm25: BM25
    tokenizer: Tokenizer
    raws: dict[str, str]  # source -> text as read: what every offset points into
    unit_spans: list[tuple[int, int, int]] = field(default_factory=list)  # (chunk row, start, end) per unit
    unit_vectors: np.ndarray | None = None  # one row per unit span
    # (source, start, end) of a clause cut into several chunks -> (cleaned text, offset runs) of the
    # whole clause, recorded at build time (what the items of a list answer are read from).
    clauses: dict[tuple[str, int, int], tuple[str, tuple]] = field(default_factory=dict)

    def clause_cleaning(self, parts: list[Chunk]) -> Cleaned:
        """The cleaning of a clause from its first part's start to its last part's end (parts in text
        order, as ``clause_key`` groups them), as recorded: a chunk's own for a clause of one chunk,
        else the build's record of the whole clause."""
        raw = self.raws[parts[0].source]
        if len(parts) == 1:
            return recorded(raw, parts[0])
        found = self.clauses.get((parts[0].source, parts[0].start, parts[-1].end))
        if found is None:  # not a clause this index recorded (parts chosen by the caller)
            return cut(raw, parts[0].start, parts[-1].end)
        return Cleaned.from_runs(*found)

    def units_by_chunk(self) -> dict[str, list[tuple[int, int, int]]]:
        """chunk_id -> [(start, end, unit row)] in text order."""
        out: dict[str, list[tuple[int, int, int]]] = {}
        for row, (ci, a, b) in enumerate(self.unit_spans):
            out.setdefault(self.chunks[ci].chunk_id, []).append((a, b, row))
        return out


@dataclass
class BuildReport:
    directory: Path
    chunks: int
    embedded_files: list[str] = field(default_factory=list)
    reused_files: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    store: object | None = None  # rag.search.store.SyncReport: what the vector store changed
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


def _versions() -> dict:
    import faiss
    import jieba

    from .. import __version__

    return {"rag": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "faiss": faiss.__version__, "jieba": jieba.__version__}


def _live_dir(root: Path) -> Path | None:
    pointer = root / CURRENT
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return root / name if name else None


def _previous(settings: Settings) -> Index | None:
    """The live index if it can be reused for an incremental build, else None (logged)."""
    try:
        return load_index(settings)
    except IndexStateError as exc:
        if _live_dir(Path(settings.index_dir)) is not None:
            log.warning("not reusing the existing index: %s", exc)
        return None


def build_index(
    settings: Settings,
    paths: list[Path] | None = None,
    embedder=None,
    full: bool = False,
    progress: Callable[[float, str], None] | None = None,
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
    from .embed import load_embedder
    from ..ingest.load import load_corpus

    t0 = time.perf_counter()
    say = progress or (lambda f, m: None)
    root = Path(settings.index_dir)
    paths = [Path(p) for p in (paths or [settings.corpus_dir])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise RagError(prompts.INDEX_PATHS_MISSING.format(paths=", ".join(missing)))
    corpus_root = paths[0] if len(paths) == 1 and paths[0].is_dir() else None
    sources, problems = load_corpus(paths, root=corpus_root)
    if not sources:
        raise RagError(prompts.INDEX_NOTHING_READABLE.format(paths=", ".join(map(str, paths))))
    embedder = embedder or load_embedder(settings.index.embedder, settings.index.embed_batch_size)
    prev = None if full else _previous(settings)
    if prev is not None and prev.manifest["embedder"]["name"] != embedder.name:
        prev = None
    prev_files = prev.manifest["files"] if prev else {}
    prev_rows: dict[str, list[int]] = {}
    prev_units: dict[int, list[int]] = {}  # previous chunk row -> its unit rows
    if prev:
        for i, c in enumerate(prev.chunks):
            prev_rows.setdefault(c.source, []).append(i)
        for u, (ci, _, _) in enumerate(prev.unit_spans):
            prev_units.setdefault(ci, []).append(u)

    report = BuildReport(root, 0, skipped=[p.message for p in problems])
    chunks: list[Chunk] = []
    blocks: list[np.ndarray] = []
    unit_spans: list[tuple[int, int, int]] = []
    unit_rows: list[np.ndarray] = []  # one vector per unit span
    files: dict[str, dict] = {}
    owners: dict[tuple, str] = {}  # card_key -> the file whose chunk is kept
    # First the plan (cheap next to embedding): per file, the chunks it keeps (repeats of an earlier
    # file's cards dropped), which of them the previous build holds, and the sentence texts the
    # others need. The bar then moves with the texts embedded over the whole build, so a big file,
    # or the sentence half of a file, takes its real share of it.
    plans = []
    for k, src in enumerate(sources):
        say(0.05 * k / len(sources), prompts.STAGE_SPLITTING.format(k=k + 1, n=len(sources), source=src.source))
        old = prev_files.get(src.source)
        same = bool(prev and old and old["sha256"] == src.sha256)
        # The previous build holds every chunk of an unchanged file, unless it dropped some as
        # repeats; then the file is cut again (cheap) and only chunks it lacks are embedded.
        have = {prev.chunks[i].chunk_id: i for i in prev_rows.get(src.source, [])} if same else {}
        if same and not old.get("dropped"):
            cut = [prev.chunks[i] for i in prev_rows.get(src.source, [])]
        else:
            cut = chunk_source(src, settings.ingest)
        cs, dropped = [], {}
        for c in cut:
            owner = owners.setdefault(card_key(c), src.source)
            if owner == src.source:
                cs.append(c)
            else:
                dropped[owner] = dropped.get(owner, 0) + 1
        fresh = [j for j, c in enumerate(cs) if c.chunk_id not in have]
        units_plan = unit_plan([cs[j] for j in fresh], src.text) if fresh else None
        plans.append((src, same, have, cs, dropped, fresh, units_plan))
    total = sum(len(p[5]) + len(p[6][2]) for p in plans if p[6] is not None)
    done = 0

    def tick(src: str, what: str):
        def on_batch(n: int, of: int, embedded: int) -> None:
            nonlocal done
            done += embedded
            say(0.05 + 0.85 * done / max(total, 1), prompts.STAGE_EMBEDDING.format(source=src, what=what, n=n, of=of))
        return on_batch

    batch = settings.index.embed_batch_size
    for k, (src, same, have, cs, dropped, fresh, units_plan) in enumerate(plans):
        say(0.05 + 0.85 * done / max(total, 1), prompts.STAGE_FILE.format(k=k + 1, n=len(sources), source=src.source))
        vecs = np.zeros((len(cs), embedder.dim), dtype=np.float32)
        units_of: dict[int, list[tuple[int, int, np.ndarray]]] = {}  # chunk j -> (start, end, vector)
        for j, c in enumerate(cs):
            if c.chunk_id in have:
                row = have[c.chunk_id]
                vecs[j] = prev.vectors[row]
                units_of[j] = [(*prev.unit_spans[u][1:], prev.unit_vectors[u]) for u in prev_units.get(row, [])]
        if fresh:
            new = [cs[j] for j in fresh]
            new_vecs = _embed_batches(embedder, [passage_text(c, settings) for c in new], batch,
                                      tick(src.source, prompts.EMBEDDING_CHUNKS))
            spans, uvecs, n_embedded = _embed_units(
                units_plan, new_vecs, embedder, 0,
                lambda texts, src=src: _embed_batches(embedder, texts, batch, tick(src.source, prompts.EMBEDDING_SENTENCES)))
            vecs[fresh] = new_vecs
            for (r, a, b), v in zip(spans, uvecs):
                units_of.setdefault(fresh[r], []).append((a, b, v))
            report.embedded_chunks += len(fresh)
            report.embedded_units += n_embedded
        (report.reused_files if same and not fresh else report.embedded_files).append(src.source)
        for j in range(len(cs)):
            for a, b, v in units_of.get(j, []):
                unit_spans.append((len(chunks) + j, a, b))
                unit_rows.append(v)
        chunks.extend(cs)
        blocks.append(vecs)
        files[src.source] = {"sha256": src.sha256, "encoding": src.encoding, "chunks": len(cs),
                             "dropped": sum(dropped.values())}
        if dropped:
            files[src.source]["same_as"] = dropped
            report.dropped[src.source] = dropped
    report.removed_files = sorted(set(prev_files) - set(files))
    vectors = np.concatenate(blocks) if blocks else np.zeros((0, embedder.dim), dtype=np.float32)
    unit_vectors = np.stack(unit_rows).astype(np.float32) if unit_rows else np.zeros(
        (0, embedder.dim), dtype=np.float32)

    say(0.9, prompts.STAGE_KEYWORDS)
    terms = corpus_terms(c.text for c in chunks)
    tokenizer = Tokenizer(terms)
    bm25 = BM25.build([tokenizer.tokens(passage_text(c, settings)) for c in chunks])
    dense = make_dense_index(vectors, settings.index.flat_max)
    report.faiss_type = faiss_type(dense)
    report.chunks = len(chunks)

    say(0.95, prompts.STAGE_WRITING)
    raws = {src.source: src.text for src in sources}
    built = Index(root, {}, chunks, vectors, dense, bm25, tokenizer, raws, unit_spans, unit_vectors,
                  clause_cleanings(chunks, raws))
    live, manifest = _write(root, settings, embedder, built, files, problems)
    built.directory, built.manifest = live, manifest
    report.directory = live
    # The local build is the source of truth; the vector store is brought to match it without
    # embedding anything again (for FAISS the build is the store).
    say(0.97, prompts.STAGE_VECTOR_STORE)
    report.store = open_store(settings, prev).sync(built)
    report.seconds = time.perf_counter() - t0
    say(1.0, prompts.STAGE_DONE)
    return report


def ensure_index(settings: Settings, embedder=None, announce: Callable[[], None] | None = None) -> BuildReport | None:
    """Build the index from the corpus when there is none yet (first run of `rag ask` or `rag serve`).

    Returns:
        The build report, or None when an index was already there.
    """
    if _live_dir(Path(settings.index_dir)) is not None:
        return None
    if announce:
        announce()
    return build_index(settings, embedder=embedder)


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


def _embed_units(plan, chunk_vectors: np.ndarray, embedder, first_row: int,
                 embed: Callable[[list[str]], np.ndarray] | None = None):
    """One passage vector per unit of ``rag.ingest.units.unit_plan``; the spans with their chunk rows
    counted from first_row, the vectors, and how many texts were embedded for them."""
    spans, reuse, texts = plan
    vecs: list[np.ndarray | None] = [chunk_vectors[j] if j is not None else None for j in reuse]
    if texts:
        for text, row in zip(texts, (embed or embedder.embed_passages)(list(texts))):
            for i in texts[text]:
                vecs[i] = row
    out = np.stack(vecs).astype(np.float32) if vecs else np.zeros((0, embedder.dim), dtype=np.float32)
    return [(first_row + j, a, b) for j, a, b in spans], out, len(texts)


def _write(root, settings, embedder, index: Index, files, problems) -> tuple[Path, dict]:
    """Write a complete build into a fresh folder, then point CURRENT at it in one rename."""
    import faiss

    chunks, vectors, dense, bm25, tokenizer, raws = (index.chunks, index.vectors, index.dense, index.bm25,
                                                     index.tokenizer, index.raws)

    root.mkdir(parents=True, exist_ok=True)
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tmp = root / f".tmp-{name}"
    tmp.mkdir()
    try:
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(c.to_dict(provenance=True), ensure_ascii=False) + "\n")
        # NOTE: the index keeps the text of every source, so citations stay exact even if corpus/
        # changes before the next build.
        with open(tmp / "sources.jsonl", "w", encoding="utf-8") as f:
            for source, text in raws.items():
                f.write(json.dumps({"source": source, "text": text}, ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
        with open(tmp / "units.jsonl", "w", encoding="utf-8") as f:
            for ci, a, b in index.unit_spans:
                f.write(json.dumps([ci, a, b]) + "\n")
        np.save(tmp / "unit_vectors.npy", index.unit_vectors, allow_pickle=False)
        with open(tmp / "clauses.jsonl", "w", encoding="utf-8") as f:
            for (source, start, end), (text, runs) in index.clauses.items():
                f.write(json.dumps({"source": source, "start": start, "end": end, "text": text,
                                    "offsets": [list(r) for r in runs]}, ensure_ascii=False) + "\n")
        faiss.write_index(dense, str(tmp / "dense.faiss"))
        bm25.save(tmp)
        (tmp / "userdict.txt").write_text("\n".join(tokenizer.user_terms) + "\n", encoding="utf-8")
        manifest = {
            "format": FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "fingerprint": settings.fingerprint(),
            "params": settings.index_params(),
            "embedder": {"name": embedder.name, "dim": int(embedder.dim)},
            "faiss": {"type": faiss_type(dense)},
            "counts": {"chunks": len(chunks), "files": len(files), "units": len(index.unit_spans),
                       "documents": len({c.doc_id for c in chunks}),
                       "dropped": sum(f.get("dropped", 0) for f in files.values())},
            "files": files,
            "skipped": [p.message for p in problems],
            "artifacts": {a: {"sha256": file_sha256(tmp / a), "bytes": (tmp / a).stat().st_size} for a in ARTIFACTS},
            "versions": _versions(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        for p in tmp.iterdir():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        final = root / name
        os.replace(tmp, final)
        pointer_tmp = root / f".{CURRENT}.{uuid.uuid4().hex[:6]}"
        pointer_tmp.write_text(name, encoding="utf-8")
        with open(pointer_tmp, "rb") as f:
            os.fsync(f.fileno())
        previous = _live_dir(root)
        os.replace(pointer_tmp, root / CURRENT)  # the one step that publishes the build
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # Keep the build just replaced (a reader may still be loading it); older ones go.
    for old in root.glob("v-*"):
        if old.name not in (name, previous.name if previous else None):
            shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".tmp-v-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return final, manifest


def _damaged(directory: Path, what: str) -> IndexStateError:
    return IndexStateError(
        f"the index at {directory} is damaged: {what}. Rebuild it with `rag index --rebuild` "
        f"(or delete the folder and run `rag index`)."
    )


def check_settings(manifest: dict, settings: Settings, directory: Path) -> None:
    """Refuse an index built with other chunking/embedding settings, saying what differs."""
    diffs = settings.index_differences(manifest.get("params", {}))
    if diffs:
        raise IndexStateError(
            f"the index at {directory} was built with other settings ({'; '.join(diffs)}). "
            "Rebuild it with `rag index --rebuild`, or run with the settings it was built with."
        )


def load_index(settings: Settings, verify: bool = True) -> Index:
    """Load the live index, checking its manifest, artifacts and settings.

    Args:
        settings: the settings the caller will query with.
        verify: check every artifact's size and sha256 against the manifest.

    Returns:
        The loaded index.

    Raises:
        IndexStateError: missing, damaged, or built with other settings; the message names the
            file or setting and the remedy.
    """
    import faiss

    root = Path(settings.index_dir)
    live = _live_dir(root)
    if live is None:
        raise IndexStateError(f"no index at {root}: build one with `rag index`")
    if not live.is_dir():
        raise _damaged(root, f"{CURRENT} names {live.name}, which does not exist")
    try:
        manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _damaged(live, f"manifest.json is unreadable ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise IndexStateError(f"the index at {live} has format {manifest.get('format')!r}, this version "
                              f"reads {FORMAT!r}: rebuild it with `rag index --rebuild`")
    check_settings(manifest, settings, live)
    for name, meta in manifest.get("artifacts", {}).items():
        p = live / name
        if not p.exists():
            raise _damaged(live, f"{name} is missing")
        if p.stat().st_size != meta["bytes"]:
            raise _damaged(live, f"{name} has {p.stat().st_size} bytes, the manifest says {meta['bytes']} (truncated?)")
        if verify and file_sha256(p) != meta["sha256"]:
            raise _damaged(live, f"{name} does not match its checksum in the manifest")
    try:
        chunks = [Chunk.from_dict(json.loads(line)) for line in
                  (live / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
        vectors = np.load(live / "vectors.npy", allow_pickle=False)
        dense = faiss.read_index(str(live / "dense.faiss"))
        bm25 = BM25.load(live)
        terms = (live / "userdict.txt").read_text(encoding="utf-8").split()
        unit_spans = [tuple(json.loads(line)) for line in
                      (live / "units.jsonl").read_text(encoding="utf-8").splitlines() if line]
        unit_vectors = np.load(live / "unit_vectors.npy", allow_pickle=False)
        clauses = {}
        for line in (live / "clauses.jsonl").read_text(encoding="utf-8").splitlines():
            if line:
                row = json.loads(line)
                clauses[(row["source"], row["start"], row["end"])] = (row["text"], row["offsets"])
        raws = {}
        for line in (live / "sources.jsonl").read_text(encoding="utf-8").splitlines():
            if line:
                row = json.loads(line)
                raws[row["source"]] = row["text"]
    except Exception as exc:  # noqa: BLE001 - any parse failure means the same thing here
        raise _damaged(live, f"an artifact could not be read ({type(exc).__name__}: {exc})") from exc
    n = len(chunks)
    if not (vectors.shape[0] == n == dense.ntotal == bm25.n_docs == manifest["counts"]["chunks"]):
        raise _damaged(live, f"counts disagree: {n} chunks, {vectors.shape[0]} vectors, {dense.ntotal} in FAISS, "
                             f"{bm25.n_docs} in BM25")
    if unit_vectors.shape[0] != len(unit_spans) or any(not 0 <= u[0] < n for u in unit_spans):
        raise _damaged(live, f"units.jsonl ({len(unit_spans)} rows) and unit_vectors.npy "
                             f"({unit_vectors.shape[0]} rows) disagree or point past the chunks")
    if any(c.text and not c.offsets for c in chunks):
        raise _damaged(live, "chunks.jsonl lacks the provenance of a chunk (its offset map)")
    if vectors.shape[1] != manifest["embedder"]["dim"]:
        raise _damaged(live, "vector width differs from the manifest")
    if {c.source for c in chunks} - set(raws):
        raise _damaged(live, "sources.jsonl lacks the text of an indexed file")
    return Index(live, manifest, chunks, vectors, dense, bm25, Tokenizer(terms), raws, unit_spans, unit_vectors,
                 clauses)
