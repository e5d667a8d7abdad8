"""The fitted answer model: two logistic regressions stored as versioned JSON (no pickle).

``sentence``: P(a candidate sentence holds what a question part asks), over ``SENTENCE_FEATURES``.
``answerable``: P(the documents answer the question), over ``QUESTION_FEATURES``, with the fitted
no-answer ``threshold`` and a lower ``gate_threshold`` (the offline gate in front of an LLM refuses
only below it). Both are fitted by ``python -m eval.fit`` on the training split of
``tests/data/train`` (see README, "Answers"); the file says what it was fitted on.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import RagError
from .features import QUESTION_FEATURES, SENTENCE_FEATURES

MODEL_FILE = "answer_model.json"
DEFAULT_PATH = Path(__file__).with_name(MODEL_FILE)
FORMAT = "answer-model/1"


def question_key(text: str) -> str:
    """A short hash of a question's text (whitespace ignored), as a model file lists its fit questions."""
    return hashlib.sha256("".join(text.split()).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Logistic:
    """A standardised logistic regression: p = sigmoid(coef . (x - mean) / scale + intercept)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def logit(self, row: dict) -> float:
        z = self.intercept
        for name, m, s, w in zip(self.features, self.mean, self.scale, self.coef):
            z += w * (float(row.get(name, 0.0)) - m) / (s or 1.0)
        return z

    def p(self, row: dict) -> float:
        z = self.logit(row)
        return 1.0 / (1.0 + math.exp(-z)) if z > -50 else 0.0

    def to_dict(self) -> dict:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "intercept": self.intercept}

    @classmethod
    def from_dict(cls, d: dict) -> "Logistic":
        return cls(tuple(d["features"]), tuple(d["mean"]), tuple(d["scale"]), tuple(d["coef"]), float(d["intercept"]))


@dataclass(frozen=True)
class AnswerModel:
    version: str
    sentence: Logistic
    answerable: Logistic
    threshold: float  # refuse when P(answerable) is below this
    gate_threshold: float  # the LLM's offline gate refuses only below this (confident refusals)
    meta: dict
    # A further sentence joins an answer at this share of the best one's probability (chosen on
    # the fit split by concise accuracy; see eval/fit.py).
    add_ratio: float = 0.6
    # The answer's length budget in characters, and for a procedure, list or condition (chosen on the
    # fit split by right answers of the whole pipeline; see eval/fit.py).
    budget_chars: int = 120
    how_budget_chars: int = 170

    @classmethod
    def blank(cls) -> "AnswerModel":
        """All weights zero (every p = 0.5) and nothing refused: what the fit reads features with."""
        def zero(names):
            return Logistic(tuple(names), (0.0,) * len(names), (1.0,) * len(names), (0.0,) * len(names), 0.0)

        return cls("blank", zero(SENTENCE_FEATURES), zero(QUESTION_FEATURES), 0.0, 0.0, {})

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": self.version, "sentence": self.sentence.to_dict(),
                "answerable": {**self.answerable.to_dict(), "threshold": self.threshold,
                               "gate_threshold": self.gate_threshold}, "add_ratio": self.add_ratio,
                "budget": {"chars": self.budget_chars, "how_chars": self.how_budget_chars}, "meta": self.meta}

    def save(self, path: Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)


def load_model(path: Path | None = None) -> AnswerModel:
    """The fitted model at ``path`` (default: the one shipped with the package).

    Raises:
        RagError: the file is missing, unreadable, of another format, or lacks a feature this code computes.
    """
    path = Path(path or DEFAULT_PATH)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RagError(f"the answer model {path} is unreadable ({exc}); refit it with `python -m eval.fit`") from exc
    if d.get("format") != FORMAT:
        raise RagError(f"the answer model {path} has format {d.get('format')!r}, this version reads {FORMAT!r}")
    sentence, answerable = Logistic.from_dict(d["sentence"]), Logistic.from_dict(d["answerable"])
    for model, names in ((sentence, SENTENCE_FEATURES), (answerable, QUESTION_FEATURES)):
        if set(model.features) != set(names):
            raise RagError(f"the answer model {path} was fitted on other features than this code computes "
                           f"(differs in {sorted(set(model.features) ^ set(names))}); refit it with `python -m eval.fit`")
    a, budget = d["answerable"], d.get("budget") or {}
    return AnswerModel(d["version"], sentence, answerable, float(a["threshold"]), float(a["gate_threshold"]),
                       d.get("meta", {}), float(d.get("add_ratio", 0.6)), int(budget.get("chars", 120)),
                       int(budget.get("how_chars", 170)))
