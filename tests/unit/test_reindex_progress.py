"""Issue 20 (8): the reindex bar moves with the work done. build_index reports a fraction that grows
with the texts embedded over the whole build (clauses and their sentences, in every file), so a big
file takes its real share of the bar and no stage sits still and then jumps."""

from __future__ import annotations

import pytest

from rag.config import Settings
from rag.build import build_index
from tests.conftest import FakeEmbedder


def clause(i: int, sentences: int) -> str:
    return f"第{i}条 " + "".join(f"第{i}片区第{j}项设施由责任单位每月检查一次。" for j in range(1, sentences + 1)) + "\n"


@pytest.fixture()
def corpus(tmp_path):
    """Files of very different sizes: one clause; many one-sentence clauses; many long clauses."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a_小.txt").write_text("示范小规定\n" + clause(1, 1), encoding="utf-8")
    (folder / "b_中.txt").write_text("示范中规定\n" + "".join(clause(i, 1) for i in range(1, 41)), encoding="utf-8")
    (folder / "c_大.txt").write_text("示范大规定\n" + "".join(clause(i, 6) for i in range(1, 61)), encoding="utf-8")
    (folder / "d_小.txt").write_text("示范另一小规定\n" + clause(1, 2), encoding="utf-8")
    return folder


def record(settings, embedder) -> list[tuple[float, str, int]]:
    said = []
    build_index(settings, embedder=embedder,
                progress=lambda frac, msg: said.append((frac, msg, embedder.passages_embedded)))
    return said


def test_progress_follows_the_texts_embedded_evenly(corpus, tmp_path):
    settings = Settings.make(corpus_dir=corpus, index_dir=tmp_path / "index", embed_batch_size=8)
    embedder = FakeEmbedder()
    said = record(settings, embedder)
    fracs = [f for f, _, _ in said]
    assert fracs == sorted(fracs), said
    assert fracs[-1] == 1.0
    total = embedder.passages_embedded
    assert total > 200  # the sentence units of the big file are embedded too
    # No jump bigger than a few batches' worth of the whole build.
    jumps = [b - a for a, b in zip(fracs, fracs[1:])]
    assert max(jumps) <= 0.06, max(jumps)
    # While embedding, the bar is where the work is: the share of all texts embedded so far.
    embedding = [(f, n) for f, m, n in said if "：片段" in m or "：句子" in m]
    assert len(embedding) >= total // 8
    for f, n in embedding:
        assert abs((f - 0.05) / 0.85 - n / total) < 0.01, (f, n, total)
    assert fracs[0] < 0.05  # the files are cut first, before any embedding


def test_a_rebuild_reusing_files_still_ends_full_and_monotone(corpus, tmp_path):
    settings = Settings.make(corpus_dir=corpus, index_dir=tmp_path / "index", embed_batch_size=8)
    build_index(settings, embedder=FakeEmbedder())
    (corpus / "d_小.txt").write_text("示范另一小规定\n" + clause(1, 3), encoding="utf-8")
    embedder = FakeEmbedder()
    said = record(settings, embedder)
    fracs = [f for f, _, _ in said]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0
    assert embedder.passages_embedded <= 5  # only the changed file
    assert any("d_小.txt：" in m for _, m, _ in said)
