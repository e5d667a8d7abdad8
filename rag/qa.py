"""The question-answering pipeline: input safety, follow-up resolution, retrieval, answering,
citation verification, and the trace stamped on every answer. What the CLI, the chat page and the
eval call (built by ``rag.factory.open_qa``).
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterator
from dataclasses import replace

from . import prompts
from .cite import keep_verified, make_citation, renumber, sentences, span_cleaning
from .config import Settings
from .conversation import resolve
from .ingest.clean import clean_text
from .text import CONTROL_RE, ITEM_ORDINAL_RE, LIST_ITEM_RE, cn_to_int
from .types import Answer, Hit, Refusal, Trace


def sanitize(question: str | None, max_chars: int) -> tuple[str, list[str]]:
    """Plain text of at most max_chars characters, and notices for the user about what was cut."""
    q = CONTROL_RE.sub("", unicodedata.normalize("NFC", question or "")).strip()
    notices = []
    if len(q) > max_chars:
        q = q[:max_chars]
        notices.append(prompts.TRUNCATED_NOTICE.format(n=max_chars))
    return q, notices


class QA:
    """Retriever + answerer over one loaded index (built by ``rag.factory.open_qa``).

    Args:
        retriever: a ``rag.search.retrieve.Retriever``.
        answerer: anything with ``answer(question, hits) -> Answer``, ``name`` and ``version``
            (and ``stream`` to stream).
        settings: limits, retrieval depth; their ``answer_hash()`` is stamped on every answer.
    """

    def __init__(self, retriever, answerer, settings: Settings):
        self.retriever = retriever
        self.answerer = answerer
        self.settings = settings
        self.settings_hash = settings.answer_hash()
        index = retriever.index
        self.raws = index.raws
        # The parts of every clause that was split over several chunks, for QA.search.
        self._split_clauses: dict[tuple, list] = {}
        for c in index.chunks:
            if c.level.endswith("-part"):
                self._split_clauses.setdefault(c.clause_key, []).append(c)

    def search(self, question: str) -> list[Hit]:
        """The top-k hits, then the other parts of any clause that was split over several chunks
        (a long 第七条 cut at its items): a clause is read whole. Appended after the top-k, so the
        ranking itself is unchanged."""
        r = self.settings.retrieval
        hits = self.retriever.search(question, r.top_k)
        seen = {h.chunk.chunk_id for h in hits}
        for h in list(hits[: r.expand_top]):
            for c in self._split_clauses.get(h.chunk.clause_key, []) if h.chunk.level.endswith("-part") else []:
                if c.chunk_id not in seen:
                    seen.add(c.chunk_id)
                    hits.append(Hit(c, 0.0, len(hits) + 1, {"expanded_from": h.chunk.chunk_id}))
        return hits

    def ask(self, question: str, history: list[tuple[str, Answer]] | None = None) -> Answer:
        """Answer one question (with earlier turns for follow-ups). Never raises on bad input."""
        for piece in self._run(question, history, stream=False):
            answer = piece
        return answer

    def ask_stream(self, question: str, history=None) -> Iterator[str | Answer]:
        """Yield text pieces as they are produced, then the final Answer."""
        streaming = hasattr(self.answerer, "stream")
        answer = None
        for piece in self._run(question, history, stream=streaming):
            if isinstance(piece, Answer):
                answer = piece
            else:
                yield piece
        if not streaming:
            # The extractive answer exists at once; the page still receives it in short pieces.
            for i in range(0, len(answer.text), 8):
                yield answer.text[i : i + 8]
        yield answer

    def _run(self, question, history, stream: bool) -> Iterator[str | Answer]:
        """The one pipeline: input safety, follow-up resolution, retrieval, answering (streamed text
        pieces when the answerer streams), the final citation check; the Answer comes last."""
        t0 = time.perf_counter()
        q, notices = sanitize(question, self.settings.answer.max_question_chars)
        if not q:
            yield Answer(question or "", prompts.EMPTY_QUESTION, [], [], refused=True, notices=notices,
                         trace=self._stamp(Trace(refusal=Refusal.EMPTY_QUESTION), q))
            return
        resolved = resolve(q, history)
        hits = self.search(resolved.question)
        t1 = time.perf_counter()
        if resolved.item and history and len(history[-1][1].citations) >= resolved.item:
            answer = self._pick_item(resolved.question, history[-1][1], resolved.item, hits)
        elif stream:
            answer = None
            for piece in self.answerer.stream(resolved.question, hits):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    yield piece
        else:
            answer = self.answerer.answer(resolved.question, hits)
        answer = self._final_check(answer)
        answer.question = q
        if resolved.rewritten:
            notices.append(prompts.RESOLVED_NOTICE.format(question=resolved.question))
        answer.notices = notices + answer.notices
        t2 = time.perf_counter()
        answer.latency_ms = (t2 - t0) * 1000
        self._stamp(answer.trace, resolved.question)
        answer.trace.timings_ms = {"retrieve": round((t1 - t0) * 1000, 2), "answer": round((t2 - t1) * 1000, 2),
                                   "total": round(answer.latency_ms, 2)}
        yield answer

    def _stamp(self, trace: Trace, resolved: str) -> Trace:
        trace.answerer = trace.answerer or self.answerer.name
        trace.answerer_version = trace.answerer_version or self.answerer.version
        trace.settings_hash = self.settings_hash
        trace.resolved_question = resolved
        return trace

    def _pick_item(self, question: str, previous: Answer, item: int, hits: list[Hit]) -> Answer:
        """"那第二项呢？": the previous answer's citation of that item (by its own ordinal, else by position)."""
        def ordinal(quote: str) -> int | None:
            m = ITEM_ORDINAL_RE.match(quote)
            return cn_to_int(m.group(1)) if m else None

        items = [c for c in previous.citations if LIST_ITEM_RE.match(c.quote.strip())]
        cit = next((c for c in items if ordinal(c.quote) == item), None)
        if cit is None:
            pool = items or previous.citations
            cit = pool[min(item, len(pool)) - 1]
        pool_hits = hits if any(h.chunk.chunk_id == cit.chunk_id for h in hits) else previous.hits
        chunk = next((h.chunk for h in pool_hits if h.chunk.chunk_id == cit.chunk_id), None)
        if chunk is not None:
            # The whole item, not just its heading: its sentences up to the next item.
            raw = self.raws[chunk.source]
            limit = self.settings.answer.item_max_chars
            spans = [sp for sp in sentences(raw, chunk) if sp[1] > cit.start]
            end, size = cit.end, 0
            for i, (a, b, t) in enumerate(spans):
                if i and (LIST_ITEM_RE.match(t) or size + len(t) > limit):
                    break
                end, size = max(end, b), size + len(t)
            cit = make_citation(chunk, raw, cit.start, end)
            text = span_cleaning(raw, chunk, cit.start, cit.end).text
        else:
            text = clean_text(cit.quote)
        return Answer(question, f"{text}[1]", [cit], pool_hits, refused=False)

    def _final_check(self, answer: Answer) -> Answer:
        """No citation reaches the user unverified, whatever the answerer did: failed citations are
        removed with their markers, the rest renumbered; an answer left with none is a refusal."""
        if answer.refused:
            return answer
        kept, dropped = keep_verified(answer.citations, self.raws, answer.hits)
        if not dropped:
            return answer
        mapping, n = {}, 0
        for i in range(len(answer.citations)):
            if i in dropped:
                mapping[i + 1] = None
            else:
                n += 1
                mapping[i + 1] = n
        answer.trace.dropped_citations = len(dropped)
        if not kept:
            answer.trace.refusal = Refusal.UNVERIFIED_CITATIONS
            return replace(answer, text=prompts.REFUSAL_TEXT, citations=[], refused=True)
        return replace(answer, text=renumber(answer.text, mapping), citations=kept)
