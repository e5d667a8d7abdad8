"""The fitted ranking without a model or an index: its features, its model file, and how the retriever
orders with it (the 文号/第X条 lookup still first; plain fusion when set)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from rag.config import Settings
from rag.errors import RagError
from rag.search.rank import DEFAULT_PATH, FEATURES, RankModel, RankSignals, features, load_rank_model
from rag.search.retrieve import Retriever
from rag.search.tokenize import Tokenizer
from rag.types import Chunk, Scored


def _chunk(i: int, doc: str, section: tuple, text: str, title: str = "济南市城市管理条例", number=None) -> Chunk:
    return Chunk(f"{doc}:{i * 100}-{i * 100 + 50}", doc, f"{doc}.md", i * 100, i * 100 + 50, text, section, title,
                 doc_number=number, level="article")


CHUNKS = [
    _chunk(0, "a", ("第一章 总则", "第一条"), "为了加强城市管理，制定本条例。"),
    _chunk(1, "a", ("第二章 市容环境", "第二条"), "门前五包责任区的范围由区县人民政府划定。沿街单位负责清扫。"),
    _chunk(2, "a", ("第二章 市容环境", "第三条"), "违反本条例规定的，由城市管理部门责令改正。"),
    _chunk(0, "b", ("第五条",), "养犬人应当为犬只办理登记。", title="济南市养犬管理规定", number="济政发〔2021〕1号"),
]


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


# The question vector is [1, 0, 0]; chunk 1 is second by its whole vector, first by its best sentence.
VECTORS = np.stack([_unit([0.9, 0.4, 0.1]), _unit([0.6, 0.8, 0.0]), _unit([0.2, 0.9, 0.4]), _unit([0.0, 0.1, 1.0])])
UNITS = {  # chunk row -> its sentence-unit vectors
    0: [_unit([0.9, 0.4, 0.1])],
    1: [_unit([0.99, 0.1, 0.0]), _unit([0.1, 1.0, 0.0])],
    2: [_unit([0.2, 0.9, 0.4])],
    3: [_unit([0.0, 0.1, 1.0])],
}


def _index():
    spans, vecs = [], []
    for row, vs in UNITS.items():
        for j, v in enumerate(vs):
            spans.append((row, CHUNKS[row].start + j, CHUNKS[row].start + j + 1))
            vecs.append(v)

    def units_by_chunk():
        out = {}
        for r, (ci, a, b) in enumerate(spans):
            out.setdefault(CHUNKS[ci].chunk_id, []).append((a, b, r))
        return out

    idf = {"门前": 3.0, "五包": 4.0, "责任区": 3.0, "范围": 1.0, "城市": 0.5, "管理": 0.5}
    bm25 = SimpleNamespace(idf=lambda: idf, scores=lambda tokens: BM25.copy())
    return SimpleNamespace(chunks=CHUNKS, vectors=VECTORS, unit_vectors=np.stack(vecs), units_by_chunk=units_by_chunk,
                           tokenizer=Tokenizer(), bm25=bm25, raws={})


BM25 = np.array([2.0, 5.0, 0.0, 0.0])  # the keyword scores of the four chunks for any question


Q = np.array([1.0, 0.0, 0.0], dtype=np.float32)
QUESTION = "门前五包责任区的范围怎么定？"


class FakeStore:
    """search_hybrid answers a fixed fused ranking (chunk 0 first); chunks_where filters by 文号."""

    engine = "fake"

    def check(self, settings):
        return {}

    def search_hybrid(self, q, tokens, depth, rrf_k, dw, kw, doc_numbers=None):
        info = [{"dense": 0.9, "dense_rank": 1, "bm25": 2.0, "bm25_rank": 2},
                {"dense": 0.6, "dense_rank": 2, "bm25": 5.0, "bm25_rank": 1},
                {"dense": 0.2, "dense_rank": 3, "bm25": None, "bm25_rank": None},
                {"dense": 0.0, "dense_rank": 4, "bm25": None, "bm25_rank": None}]
        return [Scored(c, 0.05 - 0.01 * i, info[i]) for i, c in enumerate(CHUNKS)
                if doc_numbers is None or c.doc_number in doc_numbers]

    def chunks_where(self, doc_numbers=None, doc_ids=None):
        return [c for c in CHUNKS if (not doc_numbers or c.doc_number in doc_numbers)
                and (not doc_ids or c.doc_id in doc_ids)]


def _model(**weights) -> RankModel:
    coef = tuple(float(weights.get(n, 0.0)) for n in FEATURES)
    zeros = (0.0,) * len(FEATURES)
    return RankModel("rank-model/1+test", FEATURES, zeros, (1.0,) * len(FEATURES), coef, 0.0)


def _retriever(model=None, **settings) -> Retriever:
    embedder = SimpleNamespace(embed_queries=lambda texts: np.stack([Q] * len(texts)))
    return Retriever(_index(), embedder, FakeStore(), Settings.make(**{"ranker": "fitted", **settings}),
                     rank_model=model)


def test_features_are_normalised_within_the_question():
    cands = FakeStore().search_hybrid(Q, [], 10, 60, 1.0, 2.0)
    rows = features(QUESTION, Q, cands, RankSignals(_index()))
    assert [list(r) for r in rows] == [list(FEATURES)] * len(cands)
    assert rows[0]["fused_logrank"] == 0.0 and rows[0]["fused_rel"] == 1.0
    assert max(r["dense_gap"] for r in rows) == 0.0 == rows[0]["dense_gap"]
    # The best sentence of chunk 1 beats every other sentence, though its whole vector does not.
    assert rows[1]["unit_gap"] == 0.0 and rows[1]["unit_over_chunk"] > 0.3 and rows[0]["unit_gap"] < 0
    assert rows[1]["bm25_rel"] == 1.0 and rows[2]["bm25_rel"] == 0.0
    assert rows[2]["bm25_logrank"] > rows[1]["bm25_logrank"]
    # Its terms are in chunk 1's text, not in any heading; the place of each chunk in its document.
    assert rows[1]["text_match"] > 0.8 and rows[1]["section_match"] == 0.0 and rows[0]["text_match"] < 0.2
    assert [r["doc_position"] for r in rows] == [0.0, 0.5, 1.0, 0.0] and rows[3]["doc_first"] == 1.0
    assert rows[0]["doc_mass"] == pytest.approx((0.05 + 0.04 + 0.03) / (0.05 + 0.04 + 0.03 + 0.02))
    assert features(QUESTION, Q, cands, RankSignals(_index())) == rows  # deterministic


def test_a_store_that_reports_no_engine_ranks_gets_them_from_the_local_index():
    """Milvus fuses inside its engine and reports no per-engine scores: the same features result."""
    dense = VECTORS @ Q
    order = np.argsort(-dense, kind="stable")
    reported = [Scored(c, 0.05 - 0.01 * i, {"dense": float(dense[i]), "dense_rank": int(np.where(order == i)[0][0]) + 1,
                                            "bm25": float(BM25[i]) if BM25[i] else None,
                                            "bm25_rank": {0: 2, 1: 1}.get(i)}) for i, c in enumerate(CHUNKS)]
    silent = [Scored(s.chunk, s.score, {"engine": "milvus"}) for s in reported]
    signals = RankSignals(_index())
    a, b = features(QUESTION, Q, reported, signals, 50), features(QUESTION, Q, silent, signals, 50)
    assert [r.keys() for r in a] == [r.keys() for r in b]
    assert all(r[k] == pytest.approx(t[k], abs=1e-6) for r, t in zip(a, b) for k in FEATURES)


def test_the_fitted_model_reorders_and_fusion_keeps_the_fused_order():
    fused = [h.chunk.chunk_id for h in _retriever(ranker="fusion").search(QUESTION, 4)]
    assert fused == [c.chunk_id for c in CHUNKS]
    r = _retriever(_model(unit_gap=10.0))
    hits = r.search(QUESTION, 4)
    assert hits[0].chunk.chunk_id == CHUNKS[1].chunk_id and "fitted" in hits[0].scores
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.chunk.chunk_id for h in r.search(QUESTION, 4)] == [h.chunk.chunk_id for h in hits]
    # Only the top rank_depth are re-scored; the rest follow in fused order.
    shallow = [h.chunk.chunk_id for h in _retriever(_model(doc_first=10.0), rank_depth=2).search(QUESTION, 4)]
    assert shallow == [CHUNKS[0].chunk_id, CHUNKS[1].chunk_id, CHUNKS[2].chunk_id, CHUNKS[3].chunk_id]


def test_a_typed_doc_number_still_goes_first():
    hits = _retriever(_model(unit_gap=10.0)).search("济政发〔2021〕1号 第五条 " + QUESTION, 4)
    assert hits[0].chunk.doc_id == "b" and hits[0].scores["lookup"] > 0


def test_unknown_ranker_and_bad_model_files_are_named(tmp_path):
    with pytest.raises(RagError, match="ranker"):
        _retriever(_model(), ranker="magic")
    missing = tmp_path / "nope.json"
    with pytest.raises(RagError, match="nope.json"):
        _retriever(None, rank_model=str(missing))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(RagError, match="bad.json"):
        load_rank_model(bad)
    other = tmp_path / "other.json"
    d = _model().to_dict()
    other.write_text(json.dumps({**d, "features": d["features"][:-1] + ["shoe_size"]}), encoding="utf-8")
    with pytest.raises(RagError, match="other.json.*shoe_size"):
        load_rank_model(other)
    with pytest.raises(RagError, match="format"):
        other.write_text(json.dumps({**d, "format": "rank-model/0"}), encoding="utf-8")
        load_rank_model(other)


def test_the_packaged_model_loads_and_round_trips(tmp_path):
    m = load_rank_model()
    assert m.version.startswith("rank-model/1+") and set(m.features) == set(FEATURES)
    assert DEFAULT_PATH.name == "rank_model.json" and "held" in m.meta["metrics"]
    m.save(tmp_path / "m.json")
    again = load_rank_model(tmp_path / "m.json")
    rows = features(QUESTION, Q, FakeStore().search_hybrid(Q, [], 10, 60, 1.0, 2.0), RankSignals(_index()))
    assert np.array_equal(again.logits(rows), m.logits(rows))
