"""Compare two evaluation runs (or two `rag batch` files) answer by answer.

    python -m eval.compare BEFORE_DIR AFTER_DIR        # report.json metrics + every <system>.jsonl
    python -m eval.compare before.jsonl after.jsonl    # two batch files

Prints each metric side by side and every question whose answer, refusal, citation spans or retrieved
spans differ; exits 1 when anything but latency differs. Used to show a refactor changes no answer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _key(r: dict) -> tuple:
    spans = lambda xs: [(x["source"], x["start"], x["end"]) for x in xs]  # noqa: E731
    return r["answer"], r["refused"], spans(r["citations"]), spans(r["retrieved"])


def compare_batches(a: Path, b: Path, label: str) -> int:
    ra, rb = _rows(a), _rows(b)
    diffs = [(x, y) for x, y in zip(ra, rb) if _key(x) != _key(y)]
    if len(ra) != len(rb):
        print(f"{label}: {len(ra)} vs {len(rb)} answers")
        return 1
    for x, y in diffs:
        print(f"{label} {x.get('id')}: {x['answer'][:50]!r} -> {y['answer'][:50]!r}")
    print(f"{label}: {len(ra)} answers, {len(diffs)} differ (answer, refusal, citation or retrieved spans)")
    return int(bool(diffs))


def compare_runs(a: Path, b: Path) -> int:
    ma, mb = (json.loads((d / "report.json").read_text(encoding="utf-8"))["systems"] for d in (a, b))
    bad = 0
    print("| system | metric | before | after |\n|---|---|---|---|")
    for name in ma:
        for metric, va in ma[name]["overall"].items():
            vb = mb.get(name, {}).get("overall", {}).get(metric)
            timing = "latency" in metric or metric.endswith("_ms")
            if va != vb and not timing:
                bad = 1
            if va != vb or metric in ("concise_accuracy", "mrr"):
                print(f"| {name} | {metric} | {va} | {vb} |")
    for name in ma:
        bad |= compare_batches(a / f"{name}.jsonl", b / f"{name}.jsonl", name)
    return bad


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = Path(argv[0]), Path(argv[1])
    return compare_runs(a, b) if a.is_dir() else compare_batches(a, b, a.stem)


if __name__ == "__main__":
    sys.exit(main())
