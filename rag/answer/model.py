"""The fitted answer model: two logistic regressions stored as versioned JSON (no pickle).

``sentence``: P(a candidate sentence holds what a question part asks), over ``SENTENCE_FEATURES``.
``answerable``: P(the documents answer the question), over ``QUESTION_FEATURES``, with the fitted
no-answer ``threshold`` and a lower ``gate_threshold`` (the offline gate in front of an LLM refuses
only below it). Both are fitted by ``python -m eval.fit`` on the training split of
``tests/data/train`` (see README, "Answers"); the file says what it was fitted on. Beside them the file
holds what the fit chose for composition (``add_ratio``, the length budgets) and the numbers inside the
features' definitions (``feature_constants``), which the weights are only valid with: this code has no
defaults of its own for any of them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import RagError
from .features import QUESTION_FEATURES, SENTENCE_FEATURES, FeatureConstants

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
    """Everything the file holds; every field is required (a file without one is refused)."""

    version: str
    sentence: Logistic
    answerable: Logistic
    threshold: float  # refuse when P(answerable) is below this
    gate_threshold: float  # the LLM's offline gate refuses only below this (confident refusals)
    # A further sentence joins an answer at this share of the best one's probability (chosen on
    # the fit split by concise accuracy; see eval/fit.py).
    add_ratio: float
    # The answer's length budget in characters, and for a procedure, list or condition (chosen on the
    # fit split by right answers of the whole pipeline; see eval/fit.py).
    budget_chars: int
    how_budget_chars: int
    # The numbers inside the features' definitions, which the weights were fitted with.
    feature_constants: FeatureConstants
    meta: dict

    @classmethod
    def blank(cls, like: "AnswerModel") -> "AnswerModel":
        """All weights zero (every p = 0.5) and nothing refused, with ``like``'s feature constants and
        composition: what the fit reads features with."""
        def zero(names):
            return Logistic(tuple(names), (0.0,) * len(names), (1.0,) * len(names), (0.0,) * len(names), 0.0)

        return replace(like, version="blank", sentence=zero(SENTENCE_FEATURES), answerable=zero(QUESTION_FEATURES),
                       threshold=0.0, gate_threshold=0.0, meta={})

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": self.version, "sentence": self.sentence.to_dict(),
                "answerable": {**self.answerable.to_dict(), "threshold": self.threshold,
                               "gate_threshold": self.gate_threshold}, "add_ratio": self.add_ratio,
                "budget": {"chars": self.budget_chars, "how_chars": self.how_budget_chars},
                "feature_constants": self.feature_constants.to_dict(), "meta": self.meta}

    def save(self, path: Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)


def load_model(path: Path | None = None) -> AnswerModel:
    """The fitted model at ``path`` (default: the one shipped with the package).

    Raises:
        RagError: the file is missing, unreadable, of another format, lacks a field (add_ratio, budget,
            feature_constants...), or lacks a feature this code computes.
    """
    path = Path(path or DEFAULT_PATH)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RagError(f"the answer model {path} is unreadable ({exc}); refit it with `python -m eval.fit`") from exc
    if d.get("format") != FORMAT:
        raise RagError(f"the answer model {path} has format {d.get('format')!r}, this version reads {FORMAT!r}")
    try:
        sentence, answerable = Logistic.from_dict(d["sentence"]), Logistic.from_dict(d["answerable"])
        a, budget = d["answerable"], d["budget"]
        model = AnswerModel(d["version"], sentence, answerable, float(a["threshold"]), float(a["gate_threshold"]),
                            float(d["add_ratio"]), int(budget["chars"]), int(budget["how_chars"]),
                            FeatureConstants.from_dict(d["feature_constants"]), d.get("meta", {}))
    except KeyError as exc:
        raise RagError(f"the answer model {path} lacks the field {exc}; refit it with `python -m eval.fit`") from exc
    for m, names in ((sentence, SENTENCE_FEATURES), (answerable, QUESTION_FEATURES)):
        if set(m.features) != set(names):
            raise RagError(f"the answer model {path} was fitted on other features than this code computes "
                           f"(differs in {sorted(set(m.features) ^ set(names))}); refit it with `python -m eval.fit`")
    return model
