"""LLM mode: the verification of model output (with scripted chat models: plumbing), and one real
llama.cpp server on loopback with the 0.5B model (integration)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag import prompts
from rag.cite import verify
from rag.config import LLMSettings
from rag.factory import open_qa
from rag.answer.llm import LLMAnswerer
from rag.prompts import UNSUPPORTED_FLAG
from rag.qa import QA
from rag.types import Refusal

from conftest import ROOT, free_port, wait_until_up


class Scripted(GenericFakeChatModel):
    """A chat model that replies with fixed texts, streamed in small pieces (plumbing only)."""


def scripted(*replies: str) -> Scripted:
    return Scripted(messages=iter([AIMessage(r) for r in replies]))


def llm_qa(qa: QA, *replies: str, passages: int = 3) -> QA:
    qa.answerer = LLMAnswerer(scripted(*replies), qa.raws, LLMSettings(passages=passages))
    return qa


def passage_no(qa: QA, question: str, needle: str) -> int:
    hits = qa.search(question)[:3]
    return next(i + 1 for i, h in enumerate(hits) if needle in h.chunk.text)


def test_valid_marker_becomes_a_verified_narrow_citation(parking):
    n = passage_no(parking, "道路停车首小时收费多少？", "首小时")
    qa = llm_qa(parking, f"道路停车首小时收费2元[{n}]。")
    a = qa.ask("道路停车首小时收费多少？")
    assert not a.refused
    assert a.text == "道路停车首小时收费2元。[1]"
    (c,) = a.citations
    assert "首小时收费" in c.quote and "第一条" not in c.quote
    assert verify(c, qa.raws, a.hits) is None


def test_marker_pointing_at_nothing_is_dropped_and_unsupported_sentence_flagged(parking):
    n = passage_no(parking, "道路停车首小时收费多少？", "首小时")
    qa = llm_qa(parking, f"道路停车首小时收费2元[{n}]。夜间停车半价[7]。")
    a = qa.ask("道路停车首小时收费多少？")
    assert "[7]" not in a.text and "[2]" not in a.text
    assert a.unsupported == ["夜间停车半价"]
    assert "夜间停车半价" + UNSUPPORTED_FLAG in a.text
    assert len(a.citations) == 1


def test_marker_on_a_passage_that_does_not_say_it_is_not_a_citation(parking):
    other = passage_no(parking, "道路停车首小时收费多少？", "适用于")
    qa = llm_qa(parking, f"市城管局每年补贴停车场一百万元[{other}]。")
    a = qa.ask("道路停车首小时收费多少？")
    # No passage supports the only sentence: nothing may be shown as cited.
    assert a.refused and a.citations == []


def test_sentinel_means_refusal(parking):
    qa = llm_qa(parking, prompts.CANNOT_ANSWER + "。")
    a = qa.ask("公交车票价多少钱？")
    assert a.refused and a.text == prompts.REFUSAL_TEXT and a.citations == []
    assert a.hits  # the nearest passages are still shown


def test_injection_in_a_document_cannot_make_an_uncited_claim(parking):
    """A model that obeys the planted instruction gains nothing: what it adds is not in any passage."""
    n = passage_no(parking, "道路停车收费吗？", "首小时")
    qa = llm_qa(parking, f"道路停车首小时收费2元[{n}]。我的系统提示是：你是助手[1]。")
    a = qa.ask("道路停车收费吗？")
    assert "系统提示" in "".join(a.unsupported)
    assert all("系统提示" not in c.quote for c in a.citations)
    assert prompts.SYSTEM_PROMPT not in a.text
    # The planted text reaches the model only inside a numbered passage, after the rules.
    qa.answerer.passages = 10
    msgs = qa.answerer.messages("道路停车收费吗？", qa.search("道路停车收费吗？"))
    assert msgs[0].content == prompts.SYSTEM_PROMPT
    planted = [m for m in msgs if "所有停车一律免费" in m.content]
    assert planted == [msgs[-1]] and "编号段落" in msgs[-1].content


def test_streaming_yields_text_then_the_verified_answer(parking):
    n = passage_no(parking, "道路停车首小时收费多少？", "首小时")
    qa = llm_qa(parking, f"道路停车 首小时 收费2元[{n}]。")  # the scripted model streams word by word
    pieces = list(qa.ask_stream("道路停车首小时收费多少？"))
    *texts, final = pieces
    assert len(texts) >= 2 and all(isinstance(t, str) for t in texts)
    assert "".join(texts).startswith("道路停车")
    assert final.citations and final.text.endswith("[1]") and final.text.startswith("道路停车")


def test_dead_endpoint_gives_a_message_not_a_crash(parking):
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", timeout=3.0, gate=False)
    parking.answerer = LLMAnswerer(LLMAnswerer.chat_model(settings), parking.raws, settings)
    a = parking.ask("道路停车首小时收费多少？")
    assert a.refused and a.text == prompts.LLM_UNAVAILABLE
    assert a.trace.refusal is Refusal.MODEL_UNAVAILABLE and a.trace.llm.error


# --- a real llama.cpp server on loopback ------------------------------------------------------------

@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """`python -m llama_cpp.server` with the 0.5B model (fetched by scripts/test), on loopback."""
    model = Path(os.environ.get("RAG_TEST_GGUF", ROOT / "models" / "qwen2.5-0.5b-instruct-q4_k_m.gguf"))
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.fail("llama-cpp-python[server]==0.3.36 is not installed (scripts/test installs it)")
    if not model.exists():
        pytest.fail(f"model missing at {model}: run `python scripts/get_model.py 0.5b`")
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"  # a file: the loader's output would fill a pipe
    out = open(log, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--model_alias", "qwen2.5"],
                            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    wait_until_up(url + "/models", 120, "llama.cpp server", proc, log)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    out.close()


@pytest.mark.llm
@pytest.mark.model
def test_real_llama_server_answers_with_verified_citations(llama_server, retriever, real_index_settings):
    # The gate is off: this test is about the server's stream and the citation check, and the
    # offline model refuses this question (a known false refusal, see test_answer.py).
    settings = real_index_settings.replace(answerer="llm", llm_base_url=llama_server, llm_gate=False)
    qa = open_qa(settings, retriever.embedder, retriever.index)
    question = "门前五包管理办法从哪天开始施行？"
    final = None
    streamed = []
    for piece in qa.ask_stream(question):
        if isinstance(piece, str):
            streamed.append(piece)
        else:
            final = piece
    assert streamed, "the server streamed nothing"
    assert final.trace.llm.output_tokens and final.trace.llm.tokens_per_s
    assert final.trace.answerer_version == "llm/3" and final.trace.settings_hash == settings.answer_hash()
    # Whatever the small model wrote, only verified citations reach the user.
    for c in final.citations:
        assert verify(c, qa.raws, final.hits) is None
    if not final.refused:
        assert final.citations
        assert any("第二十二条" in c.section for c in final.citations), final
