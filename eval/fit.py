"""Fit the answer model (sentence selection and answerability) on the training questions.

    python -m eval.fit                      # tests/data/train/*.jsonl over tests/data/collection/md
    python -m eval.fit --out /tmp/m.json    # write elsewhere (default: the packaged rag/answer/answer_model.json)

Procedure (rerunnable, deterministic):
1. The questions are split by document: a question belongs to the document its first evidence quote
   is in (an unanswerable one to its id); a document goes to the *fit* split or the *held* split by
   a hash of its name (about 70/30). The held split is never fitted on: `rag eval` on it (written
   to ``<work>/held.jsonl``) is the training-side number that is not a fitting number.
2. An index of the collection is built (reused when unchanged); every fit question is retrieved and
   read by the product's own answerer with a blank model, so the features are exactly what it computes.
   The blank model has the packaged model's ``feature_constants`` (the numbers inside the features'
   definitions), which the refit file keeps, and until step 5 chooses them ``READ_ADD_RATIO`` and the
   first budgets of ``BUDGETS``.
3. Sentence model: logistic regression, one row per candidate sentence of each part of an
   answerable question, label 1 when the sentence overlaps a gold evidence quote.
4. Answerability model: logistic regression over the question features, read with sentence
   probabilities from a model that did not see that question (5 folds by document), label = the
   question is answerable. Threshold: the one of least expected cost on those out-of-fold
   probabilities, where a false refusal (telling a citizen "文件中没有相关规定" when the document does
   answer) costs ``--false-refusal-cost`` (2) and answering an unanswerable question costs 1; the
   curve (refusals and false refusals over the threshold) is saved beside the split files. The gate
   threshold is the highest one under which at least 80% of questions are unanswerable (the LLM's
   gate refuses only there).
5. Composition: ``add_ratio`` (when a further sentence joins an answer) from a small grid, then
   the length budgets (an answer's, and a procedure's or list's) from ``BUDGETS``, each by the share
   of fit questions the whole pipeline gets right (concise and correct, or refused when
   unanswerable); the budget grid's acc and concise are printed and saved beside it.
6. Saved as JSON with its version, what it was fitted on (document list, hashes of the fit
   questions, so `rag eval` can mark a run on them as the fitting split) and its fit-time metrics.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.answer.model import question_key

ROOT = Path(__file__).resolve().parents[1]
TRAIN_DIR = ROOT / "tests" / "data" / "train"
COLLECTION_MD = ROOT / "tests" / "data" / "collection" / "md"
HELD_SHARE = 0.3
FOLDS = 5
GATE_PRECISION = 0.8
ADD_RATIOS = (0.2, 0.3, 0.45, 0.6, 0.8)
# The share at which a further sentence joins while the features are read (steps 2-4), before step 5
# chooses add_ratio: the chosen sentences are what the answerability features look at.
READ_ADD_RATIO = 0.6
# (answer budget, budget of a procedure, list or condition), in characters: the grid of step 5.
BUDGETS = ((120, 170), (160, 240), (160, 300), (200, 300))
FALSE_REFUSAL_COST = 2.0  # a false refusal, against 1 for answering an unanswerable question


def group_of(q: dict) -> str:
    ev = q.get("evidence") or []
    return ev[0]["file"] if ev else f"id:{q['id']}"


def bucket(name: str, n: int) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % n


def split(questions: list[dict]) -> tuple[list[dict], list[dict]]:
    """(fit, held) by document, deterministic."""
    fit, held = [], []
    for q in questions:
        (held if bucket(group_of(q), 1000) < HELD_SHARE * 1000 else fit).append(q)
    return fit, held


def overlaps(c, golds) -> bool:
    """A candidate sentence holds gold evidence: it covers half of a quote, or lies half inside one."""
    for g in golds:
        if g.file != c.chunk.source:
            continue
        for s, e in g.spans:
            ov = min(e, c.end) - max(s, c.start)
            if ov > 0 and (ov >= 0.5 * (e - s) or ov >= 0.5 * (c.end - c.start)):
                return True
    return False


def fit_logistic(X: np.ndarray, y: np.ndarray, names, C: float = 1.0):
    from sklearn.linear_model import LogisticRegression

    from rag.answer.model import Logistic

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=2000)
    lr.fit((X - mean) / scale, y)
    return Logistic(tuple(names), tuple(map(float, mean)), tuple(map(float, scale)), tuple(map(float, lr.coef_[0])),
                    float(lr.intercept_[0]))


def _auc(p: np.ndarray, y: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else None


class Reader:
    """The product's retrieval and extractive reading over the training collection (``settings``:
    flat settings changed from the defaults, e.g. ``ranker="fusion"``)."""

    def __init__(self, work: Path, corpus: Path, **settings):
        from rag.config import Settings
        from rag.factory import open_retriever
        from rag.build import build_index

        # The evidence names files as "md/<name>.md": a corpus view with one link per file.
        view = work / "corpus"
        (view / "md").mkdir(parents=True, exist_ok=True)
        for f in sorted(corpus.iterdir()):
            link = view / "md" / f.name
            if f.is_file() and not link.exists():
                link.symlink_to(f.resolve())
        self.settings = Settings.make(corpus_dir=view, index_dir=work / "index", **settings)
        t0 = time.perf_counter()
        report = build_index(self.settings)
        print(f"index: {report.chunks} chunks ({len(report.embedded_files)} files embedded) in "
              f"{time.perf_counter() - t0:.0f}s", file=sys.stderr)
        self.retriever = open_retriever(self.settings)
        self.raws = self.retriever.index.raws
    def readings(self, questions: list[dict], model) -> list:
        """Each question retrieved and read by the product's answerer with the given model."""
        from rag.factory import make_extractive
        from rag.qa import QA

        answerer = make_extractive(self.settings, self.retriever.index, self.retriever.query_vector, model)
        qa = QA(self.retriever, answerer, self.settings)
        self.cues_version = answerer.reader.cues.version
        return [answerer.read(q["question"], qa.search(q["question"])) for q in questions]


    def scores(self, questions: list[dict], model) -> dict:
        """The whole extractive pipeline (compose and citation check included) on questions: ``right``,
        the share it gets right (concise and correct when answerable, refused when not), and over the
        answerable ones ``acc`` (every key fact) and ``concise`` (and short enough)."""
        from .metrics import score
        from rag.factory import make_extractive
        from rag.qa import QA
        from rag.record import answer_record

        answerer = make_extractive(self.settings, self.retriever.index, self.retriever.query_vector, model)
        qa = QA(self.retriever, answerer, self.settings)
        outputs = [{**answer_record(qa.ask(q["question"]), q.get("id")), "question": q["question"], "latency_ms": 0.0}
                   for q in questions]
        rows = score(questions, outputs, self.raws)["rows"]
        ans = [r for r in rows if r["answerable"]]
        return {"right": round(sum(r["concise"] if r["answerable"] else r["refused"] for r in rows) / max(1, len(rows)), 4),
                "acc": round(sum(r["correct"] for r in ans) / max(1, len(ans)), 4),
                "concise": round(sum(r["concise"] for r in ans) / max(1, len(ans)), 4)}


def sentence_rows(questions, readings, raws):
    from .metrics import locate_quotes
    from rag.answer.features import SENTENCE_FEATURES

    X, y, groups = [], [], []
    for q, r in zip(questions, readings):
        if not q.get("answerable", True) or not r.ranked:
            continue
        golds = locate_quotes(q.get("evidence") or [], raws)
        for ranked in r.ranked:
            for c in ranked:
                X.append([c.features[n] for n in SENTENCE_FEATURES])
                y.append(1 if overlaps(c, golds) else 0)
                groups.append(group_of(q))
    return np.array(X, dtype=float), np.array(y), groups


def question_rows(questions, readings):
    from rag.answer.features import QUESTION_FEATURES

    X, y, keep = [], [], []
    for q, r in zip(questions, readings):
        if r.decision is None:
            continue
        X.append([r.decision.features[n] for n in QUESTION_FEATURES])
        y.append(1 if q.get("answerable", True) else 0)
        keep.append(q)
    return np.array(X, dtype=float), np.array(y), keep


def refusal_curve(p: np.ndarray, y: np.ndarray) -> list[dict]:
    """Over every candidate threshold t (refuse when p < t): the share of unanswerable questions
    refused and the share of answerable ones refused (false refusals)."""
    out = []
    for t in np.unique(np.concatenate([np.round(p, 3), [0.0, 1.0]])):
        out.append({"t": float(t),
                    "refusal": float(np.mean(p[y == 0] < t)) if (y == 0).any() else 1.0,
                    "false_refusal": float(np.mean(p[y == 1] < t)) if (y == 1).any() else 0.0})
    return out


def choose_thresholds(p: np.ndarray, y: np.ndarray, false_refusal_cost: float = FALSE_REFUSAL_COST
                      ) -> tuple[float, float]:
    """(threshold of least expected cost, gate threshold with refusals >= GATE_PRECISION unanswerable).

    Expected cost per question at t: false_refusal_cost x (answerable refused) + 1 x (unanswerable
    answered), counted over the questions as they come (their own share of unanswerable ones); ties go
    to the lower threshold (fewer refusals)."""
    n = max(1, len(y))
    best, best_t = float("inf"), 0.5
    for point in refusal_curve(p, y):
        cost = (false_refusal_cost * point["false_refusal"] * int((y == 1).sum())
                + (1 - point["refusal"]) * int((y == 0).sum())) / n
        if cost < best - 1e-12:
            best, best_t = cost, point["t"]
    gate = 0.0
    for t in np.unique(np.round(p, 3)):
        below = y[p < t]
        if len(below) >= 3 and float(np.mean(below == 0)) >= GATE_PRECISION:
            gate = max(gate, float(t))
    return best_t, min(gate, best_t)


def plot_refusal_curve(curve: list[dict], threshold: float, path: Path, title: str) -> None:
    """Refusals (of unanswerable questions) against false refusals (of answerable ones), one point
    per threshold, the chosen one marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot([c["false_refusal"] for c in curve], [c["refusal"] for c in curve], "-", lw=1.5)
    chosen = min(curve, key=lambda c: abs(c["t"] - threshold))
    ax.plot([chosen["false_refusal"]], [chosen["refusal"]], "o", color="#b42318",
            label=f"threshold {threshold:.2f}: refusal {chosen['refusal']:.2f}, false {chosen['false_refusal']:.2f}")
    ax.set_xlabel("false refusals (answerable questions refused)")
    ax.set_ylabel("refusals (unanswerable questions refused)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def top1_rate(readings_ranked, questions, raws) -> float:
    from .metrics import locate_quotes

    hit = n = 0
    for q, r in zip(questions, readings_ranked):
        if not q.get("answerable", True) or not r.best:
            continue
        golds = locate_quotes(q.get("evidence") or [], raws)
        n += 1
        hit += overlaps(r.best[0], golds)
    return hit / n if n else 0.0


def read_questions(paths: list[Path]) -> list[dict]:
    out = []
    for p in paths:
        out += [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def reading_model():
    """The blank model the fit reads with (step 2): every weight zero, the packaged model's feature
    constants, ``READ_ADD_RATIO`` and the first budgets of the grid."""
    from rag.answer.model import AnswerModel, load_model

    return replace(AnswerModel.blank(load_model()), add_ratio=READ_ADD_RATIO, budget_chars=BUDGETS[0][0],
                   how_budget_chars=BUDGETS[0][1])


def version_of(model) -> str:
    """``answer-model/1+<hash>`` of everything the model's file holds that can change an answer."""
    stamp = hashlib.sha256(json.dumps([model.sentence.to_dict(), model.answerable.to_dict(), model.threshold,
                                       model.gate_threshold, model.add_ratio,
                                       [model.budget_chars, model.how_budget_chars],
                                       model.feature_constants.to_dict()]).encode()).hexdigest()[:8]
    return f"answer-model/1+{stamp}"


def fit(questions: list[dict], reader: Reader, work: Path, false_refusal_cost: float = FALSE_REFUSAL_COST) -> tuple:
    from rag.answer.features import QUESTION_FEATURES, SENTENCE_FEATURES

    fit_q, held_q = split(questions)
    blank = reading_model()
    t0 = time.perf_counter()
    base = reader.readings(fit_q, blank)
    print(f"read {len(fit_q)} fit questions in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    X, y, groups = sentence_rows(fit_q, base, reader.raws)
    sentence = fit_logistic(X, y, SENTENCE_FEATURES)

    # Out-of-fold: each fold's questions read with a sentence model fitted without their documents.
    docs = sorted({group_of(q) for q in fit_q})
    fold_of = {d: bucket("fold:" + d, FOLDS) for d in docs}
    oof_readings = [None] * len(fit_q)
    for k in range(FOLDS):
        train_rows = np.array([fold_of[g] != k for g in groups])
        if not train_rows.any() or len(set(y[train_rows].tolist())) < 2:
            continue
        m = replace(blank, sentence=fit_logistic(X[train_rows], y[train_rows], SENTENCE_FEATURES))
        idx = [i for i, q in enumerate(fit_q) if fold_of[group_of(q)] == k]
        for i, r in zip(idx, reader.readings([fit_q[i] for i in idx], m)):
            oof_readings[i] = r
    oof_readings = [r if r is not None else b for r, b in zip(oof_readings, base)]
    QX, Qy, kept = question_rows(fit_q, oof_readings)
    answerable = fit_logistic(QX, Qy, QUESTION_FEATURES)
    # Out-of-fold answerability probabilities for the threshold.
    qfold = np.array([fold_of[group_of(q)] for q in kept])
    p_oof = np.zeros(len(kept))
    for k in range(FOLDS):
        tr, te = qfold != k, qfold == k
        if te.any() and len(set(Qy[tr].tolist())) == 2:
            p_oof[te] = [fit_logistic(QX[tr], Qy[tr], QUESTION_FEATURES).p(dict(zip(QUESTION_FEATURES, row)))
                         for row in QX[te]]
    threshold, gate = choose_thresholds(p_oof, Qy, false_refusal_cost)
    curve = refusal_curve(p_oof, Qy)
    (work / "refusal_curve.json").write_text(json.dumps(curve), encoding="utf-8")
    plot_refusal_curve(curve, threshold, work / "refusal_curve.png",
                       f"answerability, out of fold ({len(Qy)} fit questions); false refusal costs {false_refusal_cost:g}")
    model = replace(blank, sentence=sentence, answerable=answerable, threshold=threshold, gate_threshold=gate)
    model = replace(model, version=version_of(model))

    # Composition: the share of the best sentence's probability at which a further sentence joins,
    # chosen on the fit split by the share of questions the whole pipeline gets right (ties: the larger share).
    scores = {r: reader.scores(fit_q, replace(model, add_ratio=r))["right"] for r in ADD_RATIOS}
    model = replace(model, add_ratio=max(ADD_RATIOS, key=lambda r: (scores[r], r)))
    print(f"add_ratio by right answers on the fit split: {scores} -> {model.add_ratio}", file=sys.stderr)
    # The length budgets, the same way (ties: the shorter answer); acc and concise shown beside.
    budget_grid = {b: reader.scores(fit_q, replace(model, budget_chars=b[0], how_budget_chars=b[1])) for b in BUDGETS}
    best = max(BUDGETS, key=lambda b: (budget_grid[b]["right"], -b[0], -b[1]))
    model = replace(model, budget_chars=best[0], how_budget_chars=best[1])
    for b, s in budget_grid.items():
        print(f"budget {b[0]}/{b[1]}: right {s['right']:.3f} acc {s['acc']:.3f} concise {s['concise']:.3f}"
              + ("  <- chosen" if b == best else ""), file=sys.stderr)
    model = replace(model, version=version_of(model))

    # Fit-time metrics: in-sample (fit) and held-out (held) sentence top-1 and answerability AUC.
    held_read = reader.readings(held_q, model)
    fit_read = reader.readings(fit_q, model)
    HX, Hy, _ = question_rows(held_q, held_read)
    hp = np.array([model.answerable.p(dict(zip(QUESTION_FEATURES, row))) for row in HX]) if len(HX) else np.array([])
    metrics = {
        "fit": {"questions": len(fit_q), "sentence_rows": int(len(y)), "positive_rows": int(y.sum()),
                "top1_evidence": round(top1_rate(fit_read, fit_q, reader.raws), 3),
                "answerable_auc_out_of_fold": _round(_auc(p_oof, Qy))},
        "held": {"questions": len(held_q), "top1_evidence": round(top1_rate(held_read, held_q, reader.raws), 3),
                 "answerable_auc": _round(_auc(hp, Hy)) if len(hp) else None,
                 "refusal_accuracy": _round(float(np.mean(hp[Hy == 0] < threshold))) if (Hy == 0).any() else None,
                 "false_refusals": _round(float(np.mean(hp[Hy == 1] < threshold))) if (Hy == 1).any() else None},
        "blank_model_top1_fit": round(top1_rate(base, fit_q, reader.raws), 3),
        "add_ratio_grid": {str(r): s for r, s in scores.items()},
        "budget_grid": {f"{b[0]}/{b[1]}": s for b, s in budget_grid.items()},
    }
    import sklearn

    meta = {
        "fitted": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "procedure": "python -m eval.fit (eval/fit.py docstring)",
        "sklearn": sklearn.__version__,
        "cues_version": reader.cues_version,
        "split": {"rule": f"by document, sha256(name) mod 1000 < {HELD_SHARE * 1000:.0f} -> held", "folds": FOLDS},
        "threshold_rule": {"least expected cost, out of fold": {"false_refusal": false_refusal_cost,
                                                                "answered_unanswerable": 1.0}},
        "fit_documents": sorted({group_of(q) for q in fit_q if q.get("evidence")}),
        "held_documents": sorted({group_of(q) for q in held_q if q.get("evidence")}),
        "fit_questions": sorted(question_key(q["question"]) for q in fit_q),
        "metrics": metrics,
    }
    model = replace(model, meta=meta)
    with open(work / "held.jsonl", "w", encoding="utf-8") as f:
        for q in held_q:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    with open(work / "fit.jsonl", "w", encoding="utf-8") as f:
        for q in fit_q:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    return model, metrics


def _round(v):
    return None if v is None else round(v, 3)


def fit_arguments(prog: str, doc: str, default_out: Path, work_help: str) -> argparse.ArgumentParser:
    """The arguments every fitting procedure takes (training questions, their corpus, the work folder
    whose index is shared, the output model file)."""
    ap = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
    ap.add_argument("--questions", nargs="*", type=Path, default=sorted(TRAIN_DIR.glob("questions_*.jsonl")))
    ap.add_argument("--corpus", type=Path, default=COLLECTION_MD, help="folder the evidence 'md/...' files are in")
    ap.add_argument("--work", type=Path, default=Path("eval/out/fit"), help=work_help)
    ap.add_argument("--out", type=Path, default=default_out)
    return ap


def main(argv=None) -> int:
    from rag.answer.model import DEFAULT_PATH

    ap = fit_arguments("python -m eval.fit", __doc__, DEFAULT_PATH, "index, split files")
    ap.add_argument("--false-refusal-cost", type=float, default=FALSE_REFUSAL_COST,
                    help="cost of refusing an answerable question, against 1 for answering an unanswerable one")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    questions = read_questions(args.questions)
    reader = Reader(args.work, args.corpus)
    model, metrics = fit(questions, reader, args.work, args.false_refusal_cost)
    model.save(args.out)
    print(json.dumps({"version": model.version, "threshold": model.threshold, "gate_threshold": model.gate_threshold,
                      "metrics": metrics, "out": str(args.out), "held_questions": str(args.work / "held.jsonl")},
                     ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
