"""Refusal: whether the chosen evidence answers the question, by the fitted answerability model.

The model reads how well the best sentences answer each part (their fitted probability, meaning,
coverage) and the evidence about the asked slot: a clause that names the subject but holds no
entity of the asked kind, or only for another year, place or quantity. Below the fitted threshold
the question is refused, with the reason that weighed most against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..types import Refusal
from .candidates import Candidate
from .features import Coverage, question_features
from .frame import QuestionFrame
from .model import AnswerModel

# Features that name a refusal reason when they fire, most specific first.
_REASONS = (("year_mismatch", Refusal.OTHER_YEAR), ("place_mismatch", Refusal.OTHER_PLACE),
            ("quantity_mismatch", Refusal.QUANTITY_NOT_NAMED), ("entity_missing", Refusal.SLOT_NOT_ANSWERED))


@dataclass
class Decision:
    answer: bool
    p: float  # P(answerable)
    reason: Refusal | None
    detail: str
    features: dict


class Judge:
    def __init__(self, model: AnswerModel, cov: Coverage, threshold: float):
        self.model = model
        self.cov = cov
        self.threshold = threshold

    def judge(self, frame: QuestionFrame, best: list[Candidate], chosen: list[Candidate], max_dense: float) -> Decision:
        row = question_features(frame, best, chosen, max_dense, self.cov)
        p = self.model.answerable.p(row)
        if p >= self.threshold:
            return Decision(True, p, None, "", row)
        reason = next((r for name, r in _REASONS if row.get(name, 0.0) > 0), Refusal.NOT_CONFIDENT)
        return Decision(False, p, reason, f"P(answerable)={p:.2f} < {self.threshold:.2f}", row)
