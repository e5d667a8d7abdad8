"""LLM answerer: any OpenAI-compatible chat endpoint through LangChain, held to the same citation
rules as the extractive answerer.

The model sees the top passages numbered [1]..[n] and must end each sentence with the numbers it
used. Afterwards every sentence is checked: markers that point at no passage, or at a passage that
does not contain the sentence's words, are dropped; a sentence left with no valid support is kept
but flagged; each valid marker becomes a citation of the passage sentence that best matches the
answer sentence (an exact raw span). The sentinel ``CANNOT_ANSWER`` means "not in the documents".
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator

from .. import prompts
from ..cite import make_citation, sentences
from ..config import LLMSettings
from ..text import COMMAS, FULL_STOP, LOOSE_MARK_RE, LOOSE_MARKED_SENTENCE_RE, SEMICOLONS, STOPS, STOPS_ASCII
from ..types import Answer, Citation, Hit, LLMTrace, Refusal, Trace

log = logging.getLogger(__name__)

# A unit of the model's answer: text up to its marker group ("…4月16日[2]，") or a sentence end.
_CJK_OR_WORD = re.compile(r"[\u4e00-\u9fff]|[A-Za-z]+|\d+")
# Not a weight: keeps tokens per second finite when the stream took no measurable time.
SECONDS_EPS = 1e-6


def _units(text: str) -> list[str]:
    return _CJK_OR_WORD.findall(text)


def _bigrams(text: str) -> set[str]:
    u = _units(text)
    return {u[i] + u[i + 1] for i in range(len(u) - 1)} or set(u)


def support(sentence: str, passage: str, question: str = "") -> float:
    """How far a passage supports a sentence (0..1): the share of the sentence's character bigrams
    found in the passage or the question (an answer may echo the question), provided that what the
    sentence adds to the question (its own bigrams or numbers) is found in the passage at all."""
    s = _bigrams(LOOSE_MARK_RE.sub("", sentence))
    if not s:
        return 0.0
    p, q = _bigrams(passage), _bigrams(question)
    novel = s - q
    numbers = set(re.findall(r"\d+(?:\.\d+)?", sentence)) - set(re.findall(r"\d+(?:\.\d+)?", question))
    anchored = bool(novel & p) or any(n in passage for n in numbers)
    if not anchored:
        return 0.0
    return len(s & (p | q)) / len(s)


def seen(hit: Hit) -> str:
    """What the model was shown of a hit: where it is and its text."""
    return hit.chunk.where + "\n" + hit.chunk.text


class LLMAnswerer:
    """Answers with a chat model over numbered passages; verifies every marker afterwards.

    Args:
        chat: a LangChain chat model (``ChatOpenAI`` in production, anything with ``stream``).
        raws: source -> raw text, for exact citation spans.
        settings: the llm group: passages shown and their length, the support a citation needs.
        gate: optional extractive answerer: its confident refusal short-circuits the model call
            (otherwise the model decides, with the sentinel), and its reading of the question picks
            the sentences each passage shows.
    """

    name = "llm"
    version = "llm/3"

    def __init__(self, chat, raws: dict[str, str], settings: LLMSettings, gate=None):
        self.chat = chat
        self.raws = raws
        self.passages = settings.passages
        self.passage_chars = settings.passage_chars
        self.compact = settings.compact_passages
        self.best_sentences = settings.best_sentences
        self.min_support = settings.min_support
        self.unmarked_support = settings.unmarked_support
        self.gate = gate

    @staticmethod
    def chat_model(settings: LLMSettings):
        """A LangChain chat model for the OpenAI-compatible endpoint the settings name."""
        from langchain_openai import ChatOpenAI

        key = os.environ.get("RAG_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY") or "not-needed"
        return ChatOpenAI(base_url=settings.base_url, model=settings.model, api_key=key, temperature=0,
                          max_tokens=settings.max_tokens, timeout=settings.timeout, max_retries=settings.max_retries,
                          stream_usage=True)

    def passage(self, hit: Hit, reading=None) -> str:
        """What the model reads of a hit: with a reading of the question (the gate's), the chunk's
        best sentences and their neighbours in text order (fewer prompt tokens, sooner a first
        token); else the chunk's opening ``passage_chars`` characters."""
        if reading is None or not self.compact or not reading.ranked:
            return hit.chunk.text[: self.passage_chars]
        units = reading.by_chunk.get(hit.chunk.chunk_id) or []
        if len(units) <= 1:
            return hit.chunk.text[: self.passage_chars]
        # The best sentences for every asked part (a two-part question's evidence for both).
        best = [c.index for ranked in reading.ranked
                for c in [c for c in ranked if c.chunk.chunk_id == hit.chunk.chunk_id][: self.best_sentences]]
        keep = sorted({j for i in best for j in (i - 1, i, i + 1) if 0 <= j < len(units)})
        text, last = "", None
        for j in keep:
            gap = "" if last is None or j == last + 1 else "……"
            text += gap + units[j].text
            last = j
        return text[: self.passage_chars]

    def messages(self, question: str, hits: list[Hit], reading=None) -> list:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        blocks = [prompts.PASSAGE_TEMPLATE.format(n=i + 1, source_line=h.chunk.where,
                                                  text=self.passage(h, reading))
                  for i, h in enumerate(hits[: self.passages])]
        user = prompts.USER_TEMPLATE.format(passages="\n\n".join(blocks), question=question)
        return [SystemMessage(prompts.SYSTEM_PROMPT), HumanMessage(prompts.EXAMPLE_USER),
                AIMessage(prompts.EXAMPLE_ANSWER), HumanMessage(user)]

    def answer(self, question: str, hits: list[Hit], frame=None, part_hits=None) -> Answer:
        final = None
        for piece in self.stream(question, hits, frame, part_hits):
            if isinstance(piece, Answer):
                final = piece
        return final

    def stream(self, question: str, hits: list[Hit], frame=None, part_hits=None) -> Iterator[str | Answer]:
        """Yield the model's text as it arrives, then the verified Answer (whose text replaces it).

        The model reads ``hits`` (every asked part's retrievals merged, in turn); ``part_hits`` are
        not read apart: one call answers every part."""
        hits = list(hits)
        if not hits:
            yield self._refuse(question, hits, Refusal.NO_EVIDENCE)
            return
        reading = None
        if self.gate is not None:
            reading = self.gate.read(question, hits, frame)
            gated = self.gate.refusal_from(question, hits, reading)
            if gated is not None:
                # The model is not asked: the offline model is confident the documents do not answer.
                gated.trace.answerer, gated.trace.answerer_version = self.name, self.version
                gated.trace.llm = LLMTrace(called=False)
                yield gated
                return
        t0 = time.perf_counter()
        first = None
        parts: list[str] = []
        usage: dict = {}
        try:
            for chunk in self.chat.stream(self.messages(question, hits, reading)):
                text = chunk.content if isinstance(chunk.content, str) else ""
                if getattr(chunk, "usage_metadata", None):
                    usage = dict(chunk.usage_metadata)
                if text:
                    first = first or time.perf_counter()
                    parts.append(text)
                    yield text
        except Exception as exc:  # noqa: BLE001 - a dead endpoint must not take the page down
            log.error("LLM endpoint failed: %s", exc)
            answer = self._refuse(question, hits, Refusal.MODEL_UNAVAILABLE, f"{type(exc).__name__}: {exc}")
            answer.text = prompts.LLM_UNAVAILABLE
            answer.trace.llm = LLMTrace(called=True, error=f"{type(exc).__name__}: {exc}")
            yield answer
            return
        elapsed = time.perf_counter() - t0
        text = "".join(parts)
        answer = self.finalize(question, text, hits)
        out_tokens = usage.get("output_tokens") or max(1, len(parts))
        answer.trace.llm = LLMTrace(
            called=True, input_tokens=usage.get("input_tokens"), output_tokens=out_tokens, seconds=round(elapsed, 3),
            first_token_s=round(first - t0, 3) if first else None,
            tokens_per_s=round(out_tokens / max(elapsed - ((first or t0) - t0), SECONDS_EPS), 2), model_text=text)
        yield answer

    # --- verification -------------------------------------------------------------------------

    def finalize(self, question: str, text: str, hits: list[Hit]) -> Answer:
        """Model text -> Answer with verified citations, renumbered markers and flagged sentences."""
        shown = hits[: self.passages]
        body = text.strip()
        if not body or prompts.CANNOT_ANSWER in body.replace(" ", "")[: len(prompts.CANNOT_ANSWER) + 8]:
            return self._refuse(question, hits, Refusal.MODEL_CANNOT_ANSWER)
        citations: list[Citation] = []
        keys: dict[tuple, int] = {}
        out: list[str] = []
        unsupported: list[str] = []
        for sent in LOOSE_MARKED_SENTENCE_RE.findall(body):
            plain = LOOSE_MARK_RE.sub("", sent).strip()
            if not plain:
                continue
            marks = []
            for m in LOOSE_MARK_RE.findall(sent):
                n = int(m)
                if 1 <= n <= len(shown) and support(plain, seen(shown[n - 1]), question) >= self.min_support:
                    marks.append(n)
            if not marks:
                # An unmarked or wrongly marked sentence may still quote a shown passage.
                best = max(range(len(shown)), key=lambda i: support(plain, seen(shown[i]), question))
                if support(plain, seen(shown[best]), question) >= self.unmarked_support:
                    marks = [best + 1]
            numbers = []
            for n in dict.fromkeys(marks):
                cit = self._cite(plain, shown[n - 1])
                if cit is None:
                    continue
                key = (cit.source, cit.start, cit.end)
                if key not in keys:
                    citations.append(cit)
                    keys[key] = len(citations)
                numbers.append(keys[key])
            last = sent.rstrip()[-1:]
            body = plain.rstrip(STOPS + STOPS_ASCII + COMMAS + SEMICOLONS)
            end = last if last in COMMAS + SEMICOLONS + STOPS + STOPS_ASCII else (plain[len(body):][:1] or FULL_STOP)
            if numbers:
                refs = "".join(f"[{k}]" for k in numbers)
                out.append(body + refs + end if end in COMMAS + SEMICOLONS else body + end + refs)
            elif len(_units(plain)) >= 2:
                unsupported.append(body)
                out.append(body + prompts.UNSUPPORTED_FLAG + end)
        if not citations:
            return self._refuse(question, hits, Refusal.UNVERIFIED_CITATIONS, "no sentence of the model's is supported")
        return Answer(question, "".join(out), citations, hits, refused=False, unsupported=unsupported,
                      trace=Trace(answerer=self.name, answerer_version=self.version))

    def _cite(self, sentence: str, hit: Hit) -> Citation | None:
        """The sentence of the hit's chunk that best supports the answer sentence, as a raw span."""
        raw = self.raws.get(hit.chunk.source)
        if raw is None:
            return None
        spans = sentences(raw, hit.chunk)
        if not spans:
            return None
        s, e, _ = max(spans, key=lambda sp: (support(sentence, sp[2]), -len(sp[2])))
        # A sentence drawing on several sentences of the clause cites the whole clause.
        least = self.min_support
        if support(sentence, raw[s:e]) < least and support(sentence, hit.chunk.text) >= least:
            s, e = spans[0][0], spans[-1][1]
        return make_citation(hit.chunk, raw, s, e)

    def _refuse(self, question: str, hits: list[Hit], why: Refusal, detail: str = "") -> Answer:
        return Answer(question, prompts.REFUSAL_TEXT, [], hits, refused=True,
                      trace=Trace(answerer=self.name, answerer_version=self.version, refusal=why, refusal_detail=detail))
