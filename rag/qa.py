"""The question-answering pipeline: input safety, follow-up resolution, retrieval, answering,
citation verification, and the trace stamped on every answer. What the CLI, the chat page and the
eval call (built by ``rag.factory.open_qa``).
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Generator, Iterator
from dataclasses import replace
from itertools import zip_longest
from typing import TYPE_CHECKING

from . import prompts
from .cite import keep_verified, renumber
from .config import Settings
from .conversation import ListItems, Resolved, resolve
from .text import CONTROL_RE, INVISIBLE_RE, SURROGATE_RE, question_tail
from .types import Answer, Chunk, Hit, Refusal, Trace

if TYPE_CHECKING:
    # NOTE: types only: importing rag.answer at run time would load the extractive answerer (numpy)
    # into every importer of rag.qa.
    from .answer.frame import QuestionFrame
    from .answer.protocol import Answerer


def _interleave(lists: list[list[Hit]]) -> list[Hit]:
    """Several rankings as one: first hits of each in turn, then the second ones..., each chunk once,
    ranks numbered anew."""
    out: list[Hit] = []
    seen: set[str] = set()
    for row in zip_longest(*lists):
        for h in row:
            if h is not None and h.chunk.chunk_id not in seen:
                seen.add(h.chunk.chunk_id)
                out.append(Hit(h.chunk, h.score, len(out) + 1, h.scores))
    return out


def sanitize(question: str | None, max_chars: int) -> tuple[str, list[str]]:
    """Plain text of at most max_chars characters, and notices for the user about what was cut."""
    q = INVISIBLE_RE.sub("", question or "")
    q = CONTROL_RE.sub("", unicodedata.normalize("NFC", SURROGATE_RE.sub("", q))).strip()
    notices = []
    if len(q) > max_chars:
        q = q[:max_chars]
        notices.append(prompts.TRUNCATED_NOTICE.format(n=max_chars))
    return q, notices


class QA:
    """Retriever + answerer over one loaded index (built by ``rag.factory.open_qa``).

    Args:
        retriever: a ``rag.search.retrieve.Retriever``.
        answerer: an ``Answerer`` (``rag.answer.protocol``): ``answer(question, hits, frame, part_hits)``,
            ``name`` and ``version``; a ``StreamingAnswerer`` also streams. ``hits`` are every part's
            retrievals merged; ``part_hits`` each part's own (None for a question of one part).
        settings: limits, retrieval depth; their ``answer_hash()`` is stamped on every answer.
        reader: a ``QuestionReader`` (the frame of parts); without one a question is one part.
    """

    def __init__(self, retriever, answerer: Answerer, settings: Settings, reader=None):
        self.retriever = retriever
        self.answerer = answerer
        # Reads a question once into its frame of parts, for retrieval and the answerer alike.
        self.reader = reader
        self.settings = settings
        self.settings_hash = settings.answer_hash()
        index = retriever.index
        self.raws = index.raws
        # The chunks of each clause in text order (the parts of a clause split over several chunks, for
        # QA.search; the items of a list answer).
        self._clauses: dict[tuple, list[Chunk]] = {}
        for c in index.chunks:
            self._clauses.setdefault(c.clause_key, []).append(c)
        for parts in self._clauses.values():
            parts.sort(key=lambda c: c.start)
        self.items = ListItems(index, self._clauses, settings.answer)

    def search(self, question: str) -> list[Hit]:
        """The top-k hits, then the other parts of any clause that was split over several chunks
        (a long 第七条 cut at its items): a clause is read whole. Appended after the top-k, so the
        ranking itself is unchanged."""
        r = self.settings.retrieval
        hits = self.retriever.search(question, r.top_k)
        seen = {h.chunk.chunk_id for h in hits}
        for h in list(hits[: r.expand_top]):
            parts = self._clauses.get(h.chunk.clause_key, []) if h.chunk.level.endswith("-part") else []
            for c in (p for p in parts if p.level.endswith("-part")):
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
        # A StreamingAnswerer (checked by the method alone: rag.answer is not imported here).
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
        """The one pipeline: sanitize -> frame -> retrieve -> answer (streamed text pieces when the
        answerer streams) -> check; the Answer comes last."""
        t0 = time.perf_counter()
        q, notices = sanitize(question, self.settings.answer.max_question_chars)
        if not q:
            yield self._empty(question, q, notices)
            return
        resolved = resolve(q, history)
        focus, frame, parts, cut = self._frame(resolved.question)
        hits, part_hits = self._retrieve(resolved, parts)
        t1 = time.perf_counter()
        answer = yield from self._answer(resolved, history, focus, hits, frame, part_hits, stream)
        answer = self._final_check(answer)
        yield self._finish(answer, q, resolved, notices + cut, (t0, t1))

    def _empty(self, question: str | None, q: str, notices: list[str]) -> Answer:
        """The reply to a question that is empty once sanitized."""
        return Answer(question or "", prompts.EMPTY_QUESTION, [], [], refused=True, notices=notices,
                      trace=self._stamp(Trace(refusal=Refusal.EMPTY_QUESTION), q))

    def _frame(self, question: str) -> tuple[str, QuestionFrame | None, tuple, list[str]]:
        """The question's focus (a long message's closing sentences: what the answerer reads and the
        embedder embeds), its frame of parts, the parts kept (at most max_parts) and a notice if some
        were cut."""
        focus = question_tail(question, self.settings.retrieval.question_focus_chars)
        frame = self.reader.read(focus) if self.reader is not None else None
        parts = frame.parts[: self.settings.answer.max_parts] if frame is not None else ()
        cut = []
        if frame is not None and len(frame.parts) > len(parts):
            cut.append(prompts.TOO_MANY_PARTS_NOTICE.format(n=len(parts)))
        return focus, frame, parts, cut

    def _retrieve(self, resolved: Resolved, parts: tuple) -> tuple[list[Hit], list[list[Hit]] | None]:
        """The hits for the whole question, and each part's own hits for a question of several parts
        (None otherwise)."""
        if len(parts) > 1 and not resolved.item:
            # Every asked part is retrieved on its own, beside the whole question (a clause that answers
            # several parts at once): each part's evidence is its own hits and the question's, in turn.
            whole = self.search(resolved.question)
            part_hits = [_interleave([self.search(p.query), whole]) for p in parts]
            return _interleave([whole] + part_hits), part_hits
        return self.search(resolved.question), None  # keyword search reads all of it

    def _answer(self, resolved: Resolved, history, focus: str, hits: list[Hit], frame, part_hits,
                stream: bool) -> Generator[str, None, Answer]:
        """The answerer's Answer (its text pieces yielded first when streaming), or for "那第二项呢？"
        the item picked from an earlier list answer."""
        if resolved.item and resolved.refers_to is not None:
            return self.items.pick(resolved.question, history[resolved.refers_to][1], hits, resolved.item)
        if not stream:
            return self.answerer.answer(focus, hits, frame, part_hits)
        answer = None
        for piece in self.answerer.stream(focus, hits, frame, part_hits):
            if isinstance(piece, Answer):
                answer = piece
            else:
                yield piece
        return answer

    def _finish(self, answer: Answer, q: str, resolved: Resolved, notices: list[str],
                started: tuple[float, float]) -> Answer:
        """The checked answer as the user sees it: the question as asked, notices (sanitizing, parts
        cut, follow-up resolution) before the answerer's own, trace stamped, timings."""
        t0, t1 = started
        answer.question = q
        if resolved.item and resolved.refers_to is not None:
            notices.append(prompts.RESOLVED_ITEM_NOTICE.format(question=resolved.question, n=resolved.item))
        elif resolved.rewritten:
            notices.append(prompts.RESOLVED_NOTICE.format(question=resolved.question))
        answer.notices = notices + answer.notices
        t2 = time.perf_counter()
        answer.latency_ms = (t2 - t0) * 1000
        self._stamp(answer.trace, resolved.question)
        answer.trace.timings_ms = {"retrieve": round((t1 - t0) * 1000, 2), "answer": round((t2 - t1) * 1000, 2),
                                   "total": round(answer.latency_ms, 2)}
        return answer

    def _stamp(self, trace: Trace, resolved: str) -> Trace:
        trace.answerer = trace.answerer or self.answerer.name
        trace.answerer_version = trace.answerer_version or self.answerer.version
        trace.settings_hash = self.settings_hash
        trace.resolved_question = resolved
        return trace

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
