"""Fit the ranking model (the order of the top fused candidate clauses) on the training questions.

    python -m eval.fit_rank --work /work/fitwork                     # packaged rag/search/rank_model.json
    python -m eval.fit_rank --work /tmp/fit --out /tmp/rank.json      # elsewhere

Procedure (rerunnable, deterministic):
1. The questions are split by document exactly as ``eval.fit`` splits them (``eval.fit.split``); the
   held split is never fitted on. The training collection's index is built in ``<work>/index`` by
   ``eval.fit.Reader`` (reused when unchanged).
2. Every answerable fit question is searched by the product's retriever with plain fusion; its top
   ``retrieval.rank_depth`` fused chunks are the candidates, with the features the product computes
   (``rag.search.rank.FEATURES``). A candidate is positive when it holds a gold evidence quote (covers
   at least half of it: the evaluation's own rule, ``eval.metrics.span_hits``). Questions none of whose
   candidates holds a quote say nothing about the order and are left out.
3. Logistic regression on standardised features; its strength C from a small grid by the mean
   reciprocal rank of the first positive, out of fold (5 folds by document, as ``eval.fit``).
4. Parameters rounded to 6 decimals (a rerun then gives the same version; the embedder's last bits
   vary between runs). Saved as JSON (``rag.search.rank.RankModel``) with its version, the fit split's
   and held split's R@1/R@5/MRR of the product's search with plain fusion and with the model, and
   what it was fitted on.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from .fit import (FOLDS, HELD_SHARE, Reader, bucket, fit_arguments, fit_logistic, group_of,
                  read_questions, split)
from .metrics import locate_quotes, span_hits

C_GRID = (0.01, 0.1, 1.0, 10.0)
METRIC_K = 10  # hits scored per question (the product's top_k)
DIGITS = 6  # decimals the model's parameters are saved with


def candidate_rows(retriever, questions: list[dict], raws: dict) -> tuple[np.ndarray, np.ndarray, list[int], list[str]]:
    """(features, labels, question number of each row, document of each question) over the answerable
    questions with at least one positive candidate."""
    from rag.search.rank import FEATURES

    X, y, qid, docs = [], [], [], []
    for q in questions:
        if not q.get("answerable", True) or not q.get("evidence"):
            continue
        golds = locate_quotes(q["evidence"], raws)
        top, rows = retriever.candidates(q["question"])
        labels = [int(any(span_hits(s.chunk.source, s.chunk.start, s.chunk.end, g) for g in golds)) for s in top]
        if not any(labels):
            continue
        for row, label in zip(rows, labels):
            X.append([row[n] for n in FEATURES])
            y.append(label)
            qid.append(len(docs))
        docs.append(group_of(q))
    return np.array(X, dtype=float), np.array(y), qid, docs


def mrr_of(scores: np.ndarray, y: np.ndarray, qid: np.ndarray) -> float:
    """Mean reciprocal rank of the first positive per question when its candidates are ordered by
    ``scores`` (ties: the fused order, which the rows keep)."""
    rr = []
    for k in np.unique(qid):
        idx = np.where(qid == k)[0]
        order = idx[np.argsort(-scores[idx], kind="stable")]
        rr.append(1.0 / (1 + int(np.argmax(y[order] == 1))))
    return float(np.mean(rr)) if rr else 0.0


def choose_c(X: np.ndarray, y: np.ndarray, qid: list[int], docs: list[str]) -> tuple[float, dict]:
    """C of best out-of-fold MRR over the candidates (ties: the smaller C, the stronger prior)."""
    from rag.search.rank import FEATURES

    qid = np.array(qid)
    fold = np.array([bucket("fold:" + docs[k], FOLDS) for k in qid])
    grid = {}
    for c in C_GRID:
        oof = np.zeros(len(y))
        for f in range(FOLDS):
            tr, te = fold != f, fold == f
            if not te.any() or len(set(y[tr].tolist())) < 2:
                continue
            m = fit_logistic(X[tr], y[tr], FEATURES, C=c)
            oof[te] = ((X[te] - np.array(m.mean)) / np.array(m.scale)) @ np.array(m.coef) + m.intercept
        grid[c] = round(mrr_of(oof, y, qid), 4)
    grid["fused order"] = round(mrr_of(-np.arange(len(y), dtype=float), y, qid), 4)
    best = max(C_GRID, key=lambda c: (grid[c], -c))
    return best, grid


def retrieval_metrics(retriever, questions: list[dict], raws: dict) -> dict:
    """R@1, R@5, R@10, MRR, R@1000c of the product's search (``eval.bench_retrieval.score_rankings``)."""
    from .bench_retrieval import hit_spans, score_rankings

    return score_rankings(questions, raws, lambda text: hit_spans(retriever.search(text, METRIC_K)))


def fit(questions: list[dict], reader: Reader) -> tuple:
    import sklearn

    from rag.search.rank import FEATURES, RankModel
    from rag.search.retrieve import Retriever

    fit_q, held_q = split(questions)
    fusion = reader.retriever
    t0 = time.perf_counter()
    X, y, qid, docs = candidate_rows(fusion, fit_q, reader.raws)
    print(f"candidates of {len(docs)} fit questions ({len(y)} rows, {int(y.sum())} positive) in "
          f"{time.perf_counter() - t0:.0f}s", file=sys.stderr)
    c, grid = choose_c(X, y, qid, docs)
    print(f"out-of-fold MRR over the candidates by C: {grid} -> C={c}", file=sys.stderr)
    lr = fit_logistic(X, y, FEATURES, C=c)
    # Rounded, so a rerun gives the same file and version (the embedder's and BLAS's last bits vary).
    mean, scale, coef = (tuple(round(v, DIGITS) for v in vs) for vs in (lr.mean, lr.scale, lr.coef))
    intercept = round(lr.intercept, DIGITS)
    version = RankModel.stamp(lr.features, mean, scale, coef, intercept)
    model = RankModel(version, lr.features, mean, scale, coef, intercept)
    fitted = Retriever(fusion.index, fusion.embedder, fusion.store, reader.settings.replace(ranker="fitted"),
                       rank_model=model)
    metrics = {}
    for name, qs in (("fit", fit_q), ("held", held_q)):
        metrics[name] = {"questions": len(qs), "answerable": sum(1 for q in qs if q.get("answerable", True)),
                         "fusion": retrieval_metrics(fusion, qs, reader.raws),
                         "fitted": retrieval_metrics(fitted, qs, reader.raws)}
    meta = {
        "fitted": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "procedure": "python -m eval.fit_rank (eval/fit_rank.py docstring)",
        "sklearn": sklearn.__version__,
        "split": {"rule": f"by document as eval.fit, sha256(name) mod 1000 < {HELD_SHARE * 1000:.0f} -> held",
                  "folds": FOLDS},
        "label": "candidate covers at least half of a gold evidence quote (eval.metrics.span_hits)",
        "rank_depth": reader.settings.retrieval.rank_depth,
        "rows": {"questions": len(docs), "candidates": int(len(y)), "positive": int(y.sum())},
        "C": c, "C_grid_out_of_fold_mrr": {str(k): v for k, v in grid.items()},
        "fit_documents": sorted({group_of(q) for q in fit_q if q.get("evidence")}),
        "held_documents": sorted({group_of(q) for q in held_q if q.get("evidence")}),
        "metrics": metrics,
    }
    return RankModel(version, lr.features, mean, scale, coef, intercept, meta), metrics


def main(argv=None) -> int:
    from rag.search.rank import DEFAULT_PATH

    ap = fit_arguments("python -m eval.fit_rank", __doc__, DEFAULT_PATH, "index (shared with eval.fit)")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    questions = read_questions(args.questions)
    reader = Reader(args.work, args.corpus, ranker="fusion")
    model, metrics = fit(questions, reader)
    model.save(args.out)
    print(json.dumps({"version": model.version, "C": model.meta["C"], "metrics": metrics, "out": str(args.out),
                      "coef": dict(zip(model.features, [round(w, 3) for w in model.coef]))},
                     ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
