"""The evaluation run: build each system, answer every gold question, score, write the reports.

Owns the output folder layout (report.md, report.json, metrics.png, latency.png, <system>.jsonl,
cache/) and the build-time and memory measurements. Scoring lives in ``eval.metrics``, the
systems in ``eval.systems``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.errors import RagError

from . import metrics as M
from .systems import SYSTEMS, make_system, needs_embedder, read_raw

# (key in the metrics dict, short label): the main table, the stdout line and the bar chart.
MAIN = [
    ("recall@1", "R@1"), ("recall@3", "R@3"), ("recall@5", "R@5"), ("recall@10", "R@10"),
    ("mrr", "MRR"), ("recall@1000chars", "R@1000c"), ("accuracy", "acc"), ("concise_accuracy", "concise"),
    ("refusal_accuracy", "refusal"), ("false_refusal_rate", "false-ref"), ("citation_precision", "cite-P"),
    ("citation_recall", "cite-R"), ("citation_verbatim", "verbatim"),
    ("holds@1", "hold@1"), ("holds@3", "hold@3"), ("retention", "retention"),
]
SUMMARY = ["R@1", "R@5", "MRR", "R@1000c", "acc", "concise", "refusal", "false-ref", "cite-P", "verbatim",
           "hold@3", "retention"]


def read_questions(path: Path) -> list[dict]:
    """JSON Lines of question records; blank lines skipped, bad lines named."""
    path = Path(path)
    if not path.exists():
        raise RagError(f"Question file {str(path)!r} not found; give --questions PATH to a JSON Lines file.")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RagError(f"{path}:{n} is not valid JSON: {exc}") from exc
        if not isinstance(q, dict) or not q.get("question"):
            raise RagError(f"{path}:{n} has no 'question' field.")
        q.setdefault("id", f"q{n:03d}")
        out.append(q)
    return out


def _rss_mb() -> float:
    # NOTE: ru_maxrss is the process's peak resident set (KiB on Linux), so it only ever grows;
    # per system we report the peak after its run and how much it grew during it.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_system(name: str, questions: list[dict], corpus_dir: Path, settings: Settings, embedder_factory,
               cache_dir: Path | None) -> tuple[list[dict], dict]:
    """Build one system and answer every question. Returns (batch records, run info)."""
    rss0 = _rss_mb()
    system = make_system(name, settings, embedder_factory, cache_dir)
    build_s = system.build(Path(corpus_dir))
    outputs = [system.answer(q) for q in questions]
    info = {"build_s": round(build_s, 3), "peak_rss_mb": round(_rss_mb(), 1),
            "rss_growth_mb": round(_rss_mb() - rss0, 1), "stats": dict(getattr(system, "stats", {}))}
    info["stats"].update(llm_stats(outputs))
    return outputs, info


def llm_stats(outputs: list[dict]) -> dict:
    """Token throughput of the answers an LLM produced (empty for systems without one)."""
    llms = [(o.get("trace") or {}).get("llm") or {} for o in outputs]
    runs = [m for m in llms if m.get("seconds")]
    if not runs:
        return {}
    tokens = sum(m.get("output_tokens") or 0 for m in runs)
    seconds = sum(m["seconds"] for m in runs)
    firsts = [m["first_token_s"] for m in runs if m.get("first_token_s") is not None]
    return {"llm_answers": len(runs), "llm_output_tokens": tokens,
            "llm_tokens_per_s": round(sum(m["tokens_per_s"] for m in runs) / len(runs), 1),
            "llm_seconds_p95": round(float(np.percentile([m["seconds"] for m in runs], 95)), 2),
            "first_token_s_p50": round(float(np.percentile(firsts, 50)), 2) if firsts else None,
            "overall_tokens_per_s": round(tokens / seconds, 1) if seconds else None}


def run_eval(questions_path, systems=("ours", "naive", "bm25"), out_dir="eval/out", corpus_dir="corpus",
             settings: Settings | None = None) -> dict:
    """Run the suite and write its reports.

    Args:
        questions_path: gold JSON Lines (id, question, answer, key_facts, evidence, type, answerable).
        systems: names from ``eval.systems.SYSTEMS``, run in this order in this process.
        out_dir: where report.md, report.json, the charts, ``<system>.jsonl`` and the embedding
            cache go.
        corpus_dir: the corpus folder the gold quotes refer to.
        settings: embedder and retrieval settings (default: ``Settings.from_env()``).

    Returns:
        The report dict written to report.json.
    """
    settings = settings or Settings.from_env()
    systems = [s.strip() for s in systems if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown or not systems:
        raise RagError(f"Unknown systems {unknown}; choose from {', '.join(SYSTEMS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    questions = read_questions(Path(questions_path))
    raws = read_raw(Path(corpus_dir))

    _warm_jieba()
    embedder_box: dict = {}
    model_load_s = None
    if needs_embedder(systems):
        from rag.search.embed import load_embedder

        # NOTE: the model is loaded once, outside every build timing, and shared by the systems.
        t0 = time.perf_counter()
        embedder_box["e"] = load_embedder(settings.index.embedder, settings.index.embed_batch_size)
        model_load_s = round(time.perf_counter() - t0, 3)

    report: dict = {
        "questions_file": str(questions_path), "questions": len(questions), "corpus_dir": str(corpus_dir),
        "embedder": settings.index.embedder if needs_embedder(systems) else None, "model_load_s": model_load_s,
        "memory_note": "peak_rss_mb = process ru_maxrss after the system ran (systems share one process and "
                       "one loaded model, run in the order listed); rss_growth_mb = growth of that peak "
                       "during the system's build and answers",
        "systems": {},
    }
    fitted = fitting_split(questions, settings)
    if fitted["questions"]:
        report["fitting_split"] = fitted
        print(f"NOTE: {fitted['questions']} of {len(questions)} questions are on the fitting split of "
              f"{fitted['model']}: lines marked [fit] are measured on questions it was fitted on, "
              f"[not fitted] on the rest", flush=True)
    for name in systems:
        outputs, info = run_system(name, questions, Path(corpus_dir), settings, lambda: embedder_box["e"],
                                   out / "cache")
        write_jsonl(out / f"{name}.jsonl", outputs)
        scored = M.score(questions, outputs, raws)
        report["systems"][name] = {**info, **{k: v for k, v in scored.items() if k != "rows"},
                                   "latencies_ms": [o["latency_ms"] for o in outputs]}
        print(summary_line(name, scored["overall"]), flush=True)
        print(classes_line(name, scored["overall"]), flush=True)
        if fitted["questions"]:
            for label, keep in (("fit", True), ("not fitted", False)):
                sub = [(q, o) for q, o in zip(questions, outputs) if (q["id"] in fitted["ids"]) is keep]
                if sub:
                    part = M.score([q for q, _ in sub], [o for _, o in sub], raws)["overall"]
                    report["systems"][name][f"overall_{label.replace(' ', '_')}"] = part
                    print(summary_line(f"{name} [{label}, {len(sub)} q]", part), flush=True)

    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    plot_metrics(report, out / "metrics.png")
    plot_latency(report, out / "latency.png")
    return report


def fitting_split(questions: list[dict], settings: Settings) -> dict:
    """Which of these questions the answer model (the one settings name, else the packaged one) was
    fitted on, by the question hashes its file lists: numbers on them are training numbers."""
    from rag.answer.model import DEFAULT_PATH, load_model, question_key

    try:
        model = load_model(Path(settings.answer.answer_model) if settings.answer.answer_model else DEFAULT_PATH)
    except RagError:
        return {"questions": 0, "ids": [], "model": None}
    keys = set(model.meta.get("fit_questions") or [])
    ids = [q["id"] for q in questions if question_key(q["question"]) in keys]
    return {"questions": len(ids), "ids": ids, "model": model.version}


def _warm_jieba() -> None:
    """Load jieba's dictionary up front, so the first system to tokenise is not charged for it."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()


def write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _fmt(v, digits: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def summary_line(name: str, m: dict) -> str:
    """`ours: R@1 0.xx R@5 0.xx ... p95 NNms` - one line per system on stdout."""
    labels = dict((lab, key) for key, lab in MAIN)
    parts = [f"{lab} {_fmt(m[labels[lab]])}" for lab in SUMMARY]
    p95 = m["latency_p95_ms"]
    p95s = "n/a" if p95 is None else f"{p95:.0f}ms" if p95 >= 10 else f"{p95:.1f}ms"
    return f"{name}: " + " ".join(parts) + f" p95 {p95s}"


def classes_line(name: str, m: dict) -> str:
    """`ours classes: ok 0.xx, retrieval miss 0.xx, ...` - the failure classes of the answerable questions."""
    shares = m.get("failure_classes") or {}
    return f"{name} classes: " + ", ".join(f"{c} {_fmt(shares.get(c))}" for c in M.FAILURE_CLASSES)


def render_markdown(report: dict) -> str:
    """report.md: side-by-side main table, per-type and per-file tables, failures."""
    names = list(report["systems"])
    S = report["systems"]
    fitted = report.get("fitting_split")
    lines = [
        "# Evaluation report", "",
        *([f"**{fitted['questions']} of {report['questions']} questions are on the fitting split of "
           f"{fitted['model']}**: the main table mixes training and unseen questions; see the split "
           "tables below.", ""] if fitted else []),
        f"{report['questions']} questions from `{report['questions_file']}`, corpus `{report['corpus_dir']}`, "
        f"embedder `{report['embedder']}` (model load {report['model_load_s']} s, shared, not in build times).", "",
        "| metric | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names),
    ]
    for key, lab in MAIN:
        lines.append(f"| {lab} | " + " | ".join(_fmt(S[n]["overall"][key]) for n in names) + " |")
    for key, lab, d in (("latency_p50_ms", "latency p50 (ms)", 1), ("latency_p95_ms", "latency p95 (ms)", 1),
                        ("mean_answer_chars", "mean answer chars", 0)):
        lines.append(f"| {lab} | " + " | ".join(_fmt(S[n]["overall"][key], d) for n in names) + " |")
    lines.append("| build (s) | " + " | ".join(f"{S[n]['build_s']:.2f}" for n in names) + " |")
    lines.append("| peak RSS (MB) | " + " | ".join(f"{S[n]['peak_rss_mb']:.0f}" for n in names) + " |")
    lines.append("| RSS growth (MB) | " + " | ".join(f"{S[n]['rss_growth_mb']:.0f}" for n in names) + " |")
    lines += ["", f"Memory: {report['memory_note']}.", ""]
    for n in names:
        if S[n]["stats"]:
            lines.append(f"- `{n}`: " + ", ".join(f"{k} {v}" for k, v in S[n]["stats"].items()))
    lines += ["", "Metrics: R@k = share of gold quotes covered (≥ half) by a span in the top k; MRR = mean "
              "1/rank of the first hitting span; R@1000c = the same within the first 1,000 characters of "
              "ranked context; acc = every key fact in the answer (NFKC, no whitespace); concise = acc and "
              "answer ≤ max(120, 2·reference+40) chars; refusal = unanswerable questions refused; false-ref = "
              "answerable questions refused; cite-P/cite-R/verbatim = citation precision, recall, exactness.", ""]
    for title, group in (("Per question type", "per_type"), ("Per file (questions with evidence in it)", "per_file")):
        lines += [f"## {title}", "", "Cells: R@5 / MRR / acc for answerable questions; refusal accuracy where "
                  "the group has unanswerable ones.", ""]
        keys = sorted({k for n in names for k in S[n][group]})
        lines.append("| group | n | " + " | ".join(names) + " |")
        lines.append("| --- | --- |" + " --- |" * len(names))
        for k in keys:
            cells, count = [], 0
            for n in names:
                m = S[n][group].get(k)
                if not m:
                    cells.append("")
                    continue
                count = m["questions"]
                c = []
                if m["answerable"]:
                    c.append(f"{_fmt(m['recall@5'])} / {_fmt(m['mrr'])} / {_fmt(m['accuracy'])}")
                if m["unanswerable"]:
                    c.append(f"refusal {_fmt(m['refusal_accuracy'])}")
                cells.append("; ".join(c))
            lines.append(f"| {k} | {count} | " + " | ".join(cells) + " |")
        lines.append("")
    if fitted:
        for label in ("fit", "not_fitted"):
            key = f"overall_{label}"
            if not all(key in S[n] for n in names):
                continue
            lines += [f"## Questions {'the model was fitted on' if label == 'fit' else 'it was not fitted on'}"
                      f" ({label.replace('_', ' ')})", "", "| metric | " + " | ".join(names) + " |",
                      "| --- |" + " --- |" * len(names)]
            for k, lab in MAIN:
                lines.append(f"| {lab} | " + " | ".join(_fmt(S[n][key][k]) for n in names) + " |")
            lines.append("")
    lines += ["## Failure classes (answerable questions)", "",
              "hold@k = the first k retrieved spans hold every key fact; retention = concise / hold@3. Each "
              "answerable question is counted in the first class that applies.", "",
              "| class | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for c in M.FAILURE_CLASSES:
        lines.append(f"| {c} | " + " | ".join(_fmt(S[n]["overall"]["failure_classes"].get(c)) for n in names) + " |")
    lines += ["", "## Failures", ""]
    for n in names:
        fails = S[n]["failures"]
        lines += [f"### {n} ({len(fails)} of {report['questions']} questions)", ""]
        kinds = Counter(r.split(" (")[0].split(":")[0] for f in fails for r in f["reasons"])
        if kinds:
            lines += ["Counts: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()), ""]
        for f in fails:
            lines.append(f"- `{f['id']}` ({f['type']}): " + "; ".join(f["reasons"]))
        lines.append("")
    return "\n".join(lines)


def plot_metrics(report: dict, path: Path) -> None:
    """Grouped bars: the main metrics, one colour per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(report["systems"])
    labels = [lab for _, lab in MAIN]
    x = np.arange(len(labels))
    w = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(13, 4.5))
    for i, n in enumerate(names):
        m = report["systems"][n]["overall"]
        vals = [m[k] if m[k] is not None else 0.0 for k, _ in MAIN]
        ax.bar(x + (i - (len(names) - 1) / 2) * w, vals, w, label=n)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (false-ref: lower is better)")
    ax.set_title(f"Evaluation, {report['questions']} questions")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(report: dict, path: Path) -> None:
    """Box plot of per-question latency per system (log scale: systems differ by orders)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["systems"])
    data = [[max(v, 1e-3) for v in report["systems"][n]["latencies_ms"]] or [0.001] for n in names]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set_yscale("log")
    ax.set_ylabel("latency per question (ms, log)")
    ax.set_title("Answer latency")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """``python -m eval.run QUESTIONS [SYSTEMS] [OUT]`` (the CLI is ``rag eval``)."""
    argv = sys.argv[1:] if argv is None else argv
    run_eval(argv[0], tuple(argv[1].split(",")) if len(argv) > 1 else SYSTEMS,
             argv[2] if len(argv) > 2 else "eval/out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
