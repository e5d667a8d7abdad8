"""Provenance recorded at the cut (issue 22): every chunk carries its cleaning's offset map and its
sentence units, the index stores and restores them, and reading them back gives exactly what cleaning
the chunk again would. Real text from tests/data/collection; a hashing embedder for the index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.build import build_index
from rag.config import Settings
from rag.errors import IndexStateError
from rag.ingest.chunk import chunk_source
from rag.ingest.clean import Cleaned, clean
from rag.ingest.load import load_corpus
from rag.ingest.units import recorded, unit_bounds
from rag.search.index import FORMAT, load_index

COLLECTION = Path(__file__).parents[1] / "data" / "collection"


@pytest.fixture(scope="module")
def sources():
    srcs, _ = load_corpus([COLLECTION / "txt", COLLECTION / "md"])
    return srcs[:8]


def test_runs_round_trip():
    raw = "第一条  为加强\n管理，\n\n制定 本办法。\n- 2021 第19期\nA B\n"
    c = clean(raw)
    assert Cleaned.from_runs(c.text, c.runs()) == c
    assert len(c.runs()) < len(c.text)
    with pytest.raises(ValueError):
        Cleaned.from_runs(c.text + "x", c.runs())


def test_every_chunk_records_its_own_cleaning_and_units(sources):
    n = 0
    for src in sources:
        for ch in chunk_source(src):
            fresh = clean(src.text, ch.start, ch.end)
            assert recorded(src.text, ch) == fresh, ch.chunk_id
            assert ch.units == tuple(fresh.raw_span(a, b) for a, b in unit_bounds(fresh.text)), ch.chunk_id
            n += 1
    assert n > 50


def test_the_index_stores_and_restores_provenance(tmp_path, sources, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    def split_clauses(src) -> bool:
        keys = [c.clause_key for c in chunk_source(src)]
        return len(keys) > len(set(keys))

    # Two files, one of them with a clause cut into several chunks (its list is read whole).
    chosen = [next(s for s in sources if split_clauses(s)), next(s for s in sources if not split_clauses(s))]
    for src in chosen:
        (corpus / Path(src.source).name).write_text(src.text, encoding="utf-8")
    settings = Settings.make(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, embedder=fake_embedder)
    index = load_index(settings)
    again, _ = load_corpus([corpus], root=corpus)
    cut = [c for src in again for c in chunk_source(src)]
    assert [(c.offsets, c.units) for c in index.chunks] == [(c.offsets, c.units) for c in cut]
    # Every unit the index embedded is one the chunks recorded, in the same order.
    assert [(a, b) for _, a, b in index.unit_spans] == [u for c in index.chunks for u in c.units]
    parts: dict[tuple, list] = {}
    for c in index.chunks:
        parts.setdefault(c.clause_key, []).append(c)
    for ps in parts.values():
        ps.sort(key=lambda c: c.start)
        raw = index.raws[ps[0].source]
        assert index.clause_cleaning(ps) == clean(raw, ps[0].start, ps[-1].end)
    assert any(len(ps) > 1 for ps in parts.values())


def test_an_index_of_the_previous_format_is_refused_with_the_rebuild_command(tmp_path, sources, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(sources[0].text, encoding="utf-8")
    settings = Settings.make(corpus_dir=corpus, index_dir=tmp_path / "index")
    report = build_index(settings, embedder=fake_embedder)
    manifest = report.directory / "manifest.json"
    m = json.loads(manifest.read_text(encoding="utf-8"))
    assert m["format"] == FORMAT
    m["format"] = "rag-index/3"
    manifest.write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexStateError, match="rag index --rebuild"):
        load_index(settings)
