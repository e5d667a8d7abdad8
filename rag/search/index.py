"""The on-disk index as the query side reads it: its layout, loading, and refusing (by name) an index
that is damaged or was built with other settings.

Owns the folder layout (``rag.build`` writes it, and is the only writer) and ``Index``, the loaded
build. Never builds, embeds or chunks; never calls an LLM; reads nothing back with pickle.

Layout::

    index/CURRENT            name of the live build folder, replaced atomically
    index/v-<stamp>/         manifest.json, chunks.jsonl, vectors.npy, dense.faiss,
                             bm25.npz, bm25_vocab.json, userdict.txt,
                             units.jsonl + unit_vectors.npy (one passage vector per sentence unit
                             of every chunk, ``rag.ingest.units.chunk_units``: what the answerer
                             compares the question with), clauses.jsonl (the cleaning of each clause
                             cut into several chunks); chunks.jsonl carries each chunk's provenance
                             from the cut (offset runs and unit spans, ``rag.ingest.units``)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Settings
from ..errors import IndexStateError
from ..files import file_sha256
from ..ingest.clean import Cleaned
from ..ingest.units import cut, recorded
from ..types import Chunk
from .sparse import BM25
from .tokenize import Tokenizer

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


def live_dir(root: Path) -> Path | None:
    """The live build folder CURRENT names, or None when there is no pointer (no index yet)."""
    pointer = root / CURRENT
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return root / name if name else None


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
    root = Path(settings.index_dir)
    live = live_dir(root)
    if live is None:
        raise IndexStateError(f"no index at {root}: build one with `rag index`")
    if not live.is_dir():
        raise _damaged(root, f"{CURRENT} names {live.name}, which does not exist")
    manifest = _read_manifest(live, settings)
    _check_artifacts(live, manifest, verify)
    try:
        index = _read(live, manifest)
    except Exception as exc:  # noqa: BLE001 - any parse failure means the same thing here
        raise _damaged(live, f"an artifact could not be read ({type(exc).__name__}: {exc})") from exc
    _check_agreement(index)
    return index


def _read_manifest(live: Path, settings: Settings) -> dict:
    """The manifest, if it is of this format and these settings."""
    try:
        manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _damaged(live, f"manifest.json is unreadable ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise IndexStateError(f"the index at {live} has format {manifest.get('format')!r}, this version "
                              f"reads {FORMAT!r}: rebuild it with `rag index --rebuild`")
    check_settings(manifest, settings, live)
    return manifest


def _check_artifacts(live: Path, manifest: dict, verify: bool) -> None:
    """Every artifact the manifest lists is there, of its size (and checksum, when verifying)."""
    for name, meta in manifest.get("artifacts", {}).items():
        p = live / name
        if not p.exists():
            raise _damaged(live, f"{name} is missing")
        if p.stat().st_size != meta["bytes"]:
            raise _damaged(live, f"{name} has {p.stat().st_size} bytes, the manifest says {meta['bytes']} (truncated?)")
        if verify and file_sha256(p) != meta["sha256"]:
            raise _damaged(live, f"{name} does not match its checksum in the manifest")


def _jsonl(path: Path) -> Iterator:
    # NOTE: a generator, so that each row is turned into its object before the next is parsed
    # (a list of every row first makes the load about 10% slower).
    return (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)


def _read(live: Path, manifest: dict) -> Index:
    """Every artifact of the build folder, parsed."""
    import faiss

    chunks = [Chunk.from_dict(row) for row in _jsonl(live / "chunks.jsonl")]
    terms = (live / "userdict.txt").read_text(encoding="utf-8").split()
    clauses = {(r["source"], r["start"], r["end"]): (r["text"], r["offsets"]) for r in _jsonl(live / "clauses.jsonl")}
    raws = {r["source"]: r["text"] for r in _jsonl(live / "sources.jsonl")}
    return Index(live, manifest, chunks, np.load(live / "vectors.npy", allow_pickle=False),
                 faiss.read_index(str(live / "dense.faiss")), BM25.load(live), Tokenizer(terms), raws,
                 [tuple(u) for u in _jsonl(live / "units.jsonl")],
                 np.load(live / "unit_vectors.npy", allow_pickle=False), clauses)


def _check_agreement(index: Index) -> None:
    """The artifacts agree with each other and with the manifest (counts, widths, provenance)."""
    live, manifest, chunks, vectors = index.directory, index.manifest, index.chunks, index.vectors
    n = len(chunks)
    if not (vectors.shape[0] == n == index.dense.ntotal == index.bm25.n_docs == manifest["counts"]["chunks"]):
        raise _damaged(live, f"counts disagree: {n} chunks, {vectors.shape[0]} vectors, {index.dense.ntotal} in "
                             f"FAISS, {index.bm25.n_docs} in BM25")
    spans, unit_vectors = index.unit_spans, index.unit_vectors
    if unit_vectors.shape[0] != len(spans) or any(not 0 <= u[0] < n for u in spans):
        raise _damaged(live, f"units.jsonl ({len(spans)} rows) and unit_vectors.npy "
                             f"({unit_vectors.shape[0]} rows) disagree or point past the chunks")
    if any(c.text and not c.offsets for c in chunks):
        raise _damaged(live, "chunks.jsonl lacks the provenance of a chunk (its offset map)")
    if vectors.shape[1] != manifest["embedder"]["dim"]:
        raise _damaged(live, "vector width differs from the manifest")
    if {c.source for c in chunks} - set(index.raws):
        raise _damaged(live, "sources.jsonl lacks the text of an indexed file")
