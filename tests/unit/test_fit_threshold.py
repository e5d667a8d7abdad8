"""The answerability threshold is chosen by expected cost (issue 21): a false refusal costs more than
answering an unanswerable question, so the threshold moves down as that cost grows."""

from __future__ import annotations

import numpy as np
import pytest

from eval.fit import choose_thresholds, refusal_curve

# Out-of-fold P(answerable): unanswerable questions low, answerable high, with an overlap.
P = np.array([0.10, 0.20, 0.55, 0.60, 0.62, 0.58, 0.70, 0.80, 0.90, 0.95])
Y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])


def cost(t, c_fr):
    return (c_fr * np.sum((P < t) & (Y == 1)) + np.sum((P >= t) & (Y == 0))) / len(Y)


def test_the_threshold_is_the_one_of_least_expected_cost():
    for c_fr in (1.0, 2.0, 5.0):
        t, _ = choose_thresholds(P, Y, c_fr)
        grid = np.unique(np.concatenate([P, [0.0, 1.0]]))
        assert cost(t, c_fr) == pytest.approx(min(cost(g, c_fr) for g in grid))


def test_a_dearer_false_refusal_lowers_the_threshold_and_refuses_fewer_answerable_questions():
    t1, _ = choose_thresholds(P, Y, 1.0)
    t5, _ = choose_thresholds(P, Y, 5.0)
    assert t5 < t1
    assert np.mean(P[Y == 1] < t5) < np.mean(P[Y == 1] < t1)


def test_the_curve_runs_from_refusing_nothing_to_refusing_everything():
    curve = refusal_curve(P, Y)
    assert curve[0]["t"] == 0.0 and curve[0]["refusal"] == 0.0 and curve[0]["false_refusal"] == 0.0
    assert curve[-1]["t"] == 1.0 and curve[-1]["refusal"] == 1.0 and curve[-1]["false_refusal"] == 1.0
    assert all(a["refusal"] <= b["refusal"] and a["false_refusal"] <= b["false_refusal"]
               for a, b in zip(curve, curve[1:]))


def test_the_gate_never_exceeds_the_threshold():
    t, gate = choose_thresholds(P, Y, 2.0)
    assert gate <= t
