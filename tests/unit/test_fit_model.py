"""What ``python -m eval.fit`` writes, ``load_model`` reads back: the model it assembles (from the
blank reading model, as ``eval.fit.fit`` does) keeps the packaged model's feature constants and
carries add_ratio and the budgets, and its version names them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from eval.fit import BUDGETS, READ_ADD_RATIO, fit_logistic, reading_model, version_of
from rag.answer.features import QUESTION_FEATURES, SENTENCE_FEATURES
from rag.answer.model import load_model


def test_a_fitted_model_is_saved_with_every_field_and_loads_back(tmp_path):
    rng = np.random.default_rng(0)
    blank = reading_model()
    assert blank.feature_constants == load_model().feature_constants
    assert (blank.add_ratio, (blank.budget_chars, blank.how_budget_chars)) == (READ_ADD_RATIO, BUDGETS[0])
    fitted = {}
    for names in (SENTENCE_FEATURES, QUESTION_FEATURES):
        X = rng.normal(size=(40, len(names)))
        fitted[names] = fit_logistic(X, (X[:, 0] > 0).astype(int), names)
    model = replace(blank, sentence=fitted[SENTENCE_FEATURES], answerable=fitted[QUESTION_FEATURES], threshold=0.4,
                    gate_threshold=0.3, add_ratio=0.45, budget_chars=200, how_budget_chars=300, meta={"fitted": "now"})
    model = replace(model, version=version_of(model))
    model.save(tmp_path / "m.json")
    assert load_model(tmp_path / "m.json") == model
    assert version_of(replace(model, budget_chars=160)) != model.version != version_of(
        replace(model, feature_constants=replace(model.feature_constants, short_chars=12)))
