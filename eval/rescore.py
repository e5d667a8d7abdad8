"""Score the answers of an earlier evaluation run again with today's metrics.

    python -m eval.rescore RUN_DIR --questions Q.jsonl [--corpus DIR]

Reads every ``<system>.jsonl`` that ``rag eval`` wrote into RUN_DIR (an older release's run, say) and
prints each system's summary line and failure classes as ``rag eval`` prints them now, so a release
measured before a metric existed (retention, failure classes) is shown side by side with today's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import metrics as M
from .run import classes_line, read_questions, summary_line
from .systems import read_raw


def rescore(run_dir: Path, questions_path: Path, corpus_dir: Path) -> dict[str, dict]:
    """System name -> today's overall metrics of its saved answers."""
    questions = read_questions(questions_path)
    raws = read_raw(corpus_dir)
    out = {}
    for path in sorted(run_dir.glob("*.jsonl")):
        outputs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out[path.stem] = M.score(questions, outputs, raws)["overall"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.rescore", description=__doc__.split("\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, default=Path("corpus"))
    args = ap.parse_args(argv)
    for name, m in rescore(args.run_dir, args.questions, args.corpus).items():
        print(summary_line(name, m))
        print(classes_line(name, m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
