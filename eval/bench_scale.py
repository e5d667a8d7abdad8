"""Scaling benchmark: dense (FAISS flat vs HNSW vs IVF) and BM25 at 10k and 100k chunks.

Vectors are synthetic (unit 384-d with a low intrinsic dimension like real embeddings, see
``synthetic``; queries are perturbed stored vectors, so each has true near neighbours); BM25 documents are synthetic too, drawn from the real corpus's token distribution
(so document frequencies look like Chinese policy text), queried with the real dev questions.
Prints a Markdown table and writes JSON. Run: ``python -m eval.bench_scale [--sizes 10000,100000]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DIM = 384


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _pct(xs: list[float]) -> tuple[float, float]:
    return float(np.percentile(xs, 50)), float(np.percentile(xs, 95))


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic(n: int, n_queries: int, seed: int = 0, latent: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors shaped like sentence embeddings: topic clusters in a low-dimensional latent space
    (real embeddings have an intrinsic dimension of a few dozen, not 384) mapped linearly to 384-d, plus
    a little full-dimensional noise. Queries are perturbed stored vectors, so each has true neighbours.
    NOTE: isotropic 384-d noise instead makes every point nearly equidistant, where no approximate
    index can find the exact top 10 and recall numbers say nothing about real data."""
    rng = np.random.default_rng(seed)
    proj = rng.standard_normal((latent, DIM)) / np.sqrt(latent)
    centers = rng.standard_normal((max(16, n // 200), latent)) * 2.0
    z = centers[rng.integers(0, len(centers), n)] + rng.standard_normal((n, latent))
    xb = _unit(z @ proj + 0.05 * rng.standard_normal((n, DIM)))
    zq = z[rng.integers(0, n, n_queries)] + 0.3 * rng.standard_normal((n_queries, latent))
    xq = _unit(zq @ proj + 0.05 * rng.standard_normal((n_queries, DIM)))
    return xb.astype(np.float32), xq.astype(np.float32)


def bench_dense(n: int, n_queries: int = 200, k: int = 10, seed: int = 0) -> list[dict]:
    import faiss

    from rag.config import IndexSettings
    from rag.search.store import faiss_type, make_dense_index

    faiss.omp_set_num_threads(2)
    xb, xq = synthetic(n, n_queries, seed)
    rng = np.random.default_rng(seed + 1)
    rows = []
    truth = None
    kinds = [("flat", None), ("hnsw", None), ("ivf", None), ("chosen", None)]
    for name, _ in kinds:
        m0 = rss_mb()
        t0 = time.perf_counter()
        if name == "flat":
            index = faiss.IndexFlatIP(DIM)
            index.add(xb)
        elif name == "hnsw":
            index = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 96
            index.add(xb)
        elif name == "ivf":
            nlist = int(4 * np.sqrt(n))
            quant = faiss.IndexFlatIP(DIM)
            index = faiss.IndexIVFFlat(quant, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(xb[rng.choice(n, min(n, 40 * nlist), replace=False)])
            index.add(xb)
            index.nprobe = 16
        else:
            index = make_dense_index(xb, IndexSettings().flat_max)
        build = time.perf_counter() - t0
        mem = rss_mb() - m0
        lat = []
        found = []
        for q in xq:
            t = time.perf_counter()
            _, ids = index.search(q[None, :], k)
            lat.append((time.perf_counter() - t) * 1000)
            found.append(ids[0])
        if name == "flat":
            truth = found
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)]))
        p50, p95 = _pct(lat)
        rows.append({"n": n, "index": name if name != "chosen" else f"chosen: {faiss_type(index)}",
                     "build_s": round(build, 2), "mem_mb": round(mem, 1), "p50_ms": round(p50, 3),
                     "p95_ms": round(p95, 3), "recall@10_vs_flat": round(recall, 4)})
        del index
    return rows


def _corpus_tokens():
    from rag.ingest.chunk import chunk_corpus
    from rag.search.tokenize import Tokenizer, corpus_terms

    chunks, _, _ = chunk_corpus([Path("corpus")])
    tok = Tokenizer(corpus_terms(c.text for c in chunks))
    return tok, [tok.tokens(f"{c.context}\n{c.text}") for c in chunks]


def bench_bm25(n: int, tok, real_docs: list[list[str]], questions: list[str], seed: int = 0) -> list[dict]:
    from rag.search.sparse import BM25

    rng = np.random.default_rng(seed)
    vocab, counts = np.unique(np.concatenate([np.asarray(d) for d in real_docs]), return_counts=True)
    p = counts / counts.sum()
    lengths = rng.choice([len(d) for d in real_docs], n)
    docs = [list(vocab[rng.choice(len(vocab), int(m), p=p)]) for m in lengths]
    queries = [tok.tokens(q) for q in questions]
    rows = []
    m0 = rss_mb()
    t0 = time.perf_counter()
    bm = BM25.build(docs)
    build = time.perf_counter() - t0
    mem = rss_mb() - m0
    lat = []
    for q in queries:
        t = time.perf_counter()
        s = bm.scores(q)
        np.argpartition(-s, 10)[:10]
        lat.append((time.perf_counter() - t) * 1000)
    p50, p95 = _pct(lat)
    rows.append({"n": n, "index": "bm25 (rag.sparse, scipy CSC)", "build_s": round(build, 2),
                 "mem_mb": round(mem, 1), "p50_ms": round(p50, 3), "p95_ms": round(p95, 3)})
    try:
        import bm25s

        t0 = time.perf_counter()
        r = bm25s.BM25()
        r.index(docs, show_progress=False)
        build = time.perf_counter() - t0
        vocab_s = set(r.vocab_dict)
        lat = []
        for q in queries:
            qq = [t for t in q if t in vocab_s] or [next(iter(vocab_s))]
            t = time.perf_counter()
            r.get_scores(qq)
            lat.append((time.perf_counter() - t) * 1000)
        p50, p95 = _pct(lat)
        rows.append({"n": n, "index": "bm25s", "build_s": round(build, 2), "mem_mb": None,
                     "p50_ms": round(p50, 3), "p95_ms": round(p95, 3)})
    except ImportError:
        pass
    if n <= 10_000:
        # The per-query pure-Python loop some projects ship, for contrast.
        from collections import Counter

        tfs = [Counter(d) for d in docs]
        avg = float(np.mean(lengths))
        df = Counter(t for d in tfs for t in d)
        lat = []
        for q in queries[:20]:
            t = time.perf_counter()
            out = []
            for d, L in zip(tfs, lengths):
                sc = 0.0
                for term in q:
                    f = d.get(term)
                    if f:
                        idf = np.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                        sc += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * L / avg))
                out.append(sc)
            lat.append((time.perf_counter() - t) * 1000)
        p50, p95 = _pct(lat)
        rows.append({"n": n, "index": "bm25 pure-Python loop", "build_s": None, "mem_mb": None,
                     "p50_ms": round(p50, 1), "p95_ms": round(p95, 1)})
    return rows


def _children_rss_mb() -> float:
    """Resident memory of the Milvus Lite engine (it runs as a separate `milvus` process)."""
    import os

    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            if "milvus" in cmd.lower() and "bench_scale" not in cmd:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, ValueError, IndexError):
            continue
    return total


def bench_milvus(n: int, n_queries: int = 200, k: int = 10, seed: int = 0, vocab: int = 20000) -> list[dict]:
    """Milvus Lite at n chunks: dense FLAT + sparse inverted index, insert time, query latency, memory."""
    import tempfile

    from pymilvus import AnnSearchRequest, DataType, MilvusClient, RRFRanker

    rng = np.random.default_rng(seed)
    xb, xq = synthetic(n, n_queries, seed)
    zipf = rng.zipf(1.3, size=(n, 24)) % vocab
    folder = tempfile.mkdtemp()
    client = MilvusClient(f"{folder}/bench.db")
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    ip = client.prepare_index_params()
    ip.add_index("dense", index_type="FLAT", metric_type="IP")
    ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection("bench", schema=schema, index_params=ip)
    m0 = _children_rss_mb() + rss_mb()
    t0 = time.perf_counter()
    for a in range(0, n, 2000):
        rows = [{"id": i, "dense": xb[i].tolist(), "sparse": {int(t): 1.0 + 0.1 * j for j, t in enumerate(set(zipf[i]))}}
                for i in range(a, min(n, a + 2000))]
        client.insert("bench", rows)
    client.flush("bench")
    insert_s = time.perf_counter() - t0
    mem = _children_rss_mb() + rss_mb()
    dense_lat, hybrid_lat = [], []
    for q in xq:
        t = time.perf_counter()
        client.search("bench", [q.tolist()], anns_field="dense", limit=k)
        dense_lat.append((time.perf_counter() - t) * 1000)
        sq = {int(x): 1.0 for x in rng.zipf(1.3, 4) % vocab}
        t = time.perf_counter()
        client.hybrid_search("bench", [AnnSearchRequest([q.tolist()], "dense", {}, k * 5),
                                       AnnSearchRequest([sq], "sparse", {}, k * 5)] + [AnnSearchRequest([sq], "sparse", {}, k * 5)],
                             RRFRanker(60), limit=k)
        hybrid_lat.append((time.perf_counter() - t) * 1000)
    client.close()
    d50, d95 = _pct(dense_lat)
    h50, h95 = _pct(hybrid_lat)
    return [{"n": n, "index": "milvus-lite dense (FLAT)", "build_s": round(insert_s, 2), "mem_mb": round(mem - m0, 1),
             "p50_ms": round(d50, 3), "p95_ms": round(d95, 3)},
            {"n": n, "index": "milvus-lite hybrid (dense + sparse, RRF)", "build_s": None, "mem_mb": None,
             "p50_ms": round(h50, 3), "p95_ms": round(h95, 3)}]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--out", type=Path, default=Path("eval/out/scale.json"))
    ap.add_argument("--questions", type=Path, default=Path("../shared/eval/dev.jsonl"))
    ap.add_argument("--milvus", action="store_true", help="also Milvus Lite at each size (insert, query, memory)")
    ap.add_argument("--only-milvus", action="store_true", help="Milvus Lite only")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    questions = [json.loads(x)["question"] for x in args.questions.read_text(encoding="utf-8").splitlines()] \
        if args.questions.exists() else ["门前五包包括哪些内容", "重点项目怎么申报"]
    tok, real_docs = _corpus_tokens()
    rows = []
    for n in sizes:
        if not args.only_milvus:
            rows += bench_dense(n)
            rows += bench_bm25(n, tok, real_docs, questions)
        if args.milvus or args.only_milvus:
            rows += bench_milvus(n)
    cols = ["n", "index", "build_s", "mem_mb", "p50_ms", "p95_ms", "recall@10_vs_flat"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join("" if r.get(c) is None else str(r.get(c)) for c in cols) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
