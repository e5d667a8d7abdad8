"""Follow-up questions resolved against the conversation before retrieval (offline rules), and the
conversations the service holds by id.

"那第二项呢？" after a list answer points at that list's second item, and keeps pointing at the same
list after an item was picked ("那第五项呢？" next); "这个办法什么时候失效？" names the document the
previous answer cited. ``resolve`` is a pure function over the earlier turns; a turn may come without
its answer (a client that sends only its earlier questions), and is then resolved in turn, not answered.
``ListItems`` then picks the item from that list's clause, which is read whole from the index.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from collections.abc import Callable, Iterator

from . import prompts
from .cite import make_citation, sentences, span_cleaning
from .text import LIST_ITEM_RE, ORDINAL_REF_RE, cn_to_int, list_items
from .types import Answer, Chunk, Citation, Hit, Refusal, Trace

_DEMONSTRATIVE_RE = re.compile(
    r"(?:这个|那个|这份|那份|该|本|上述|此|这一|这项|那项|其)\s*(办法|方案|规划|通知|文件|规定|政策|意见|名单|条款|规划|项目|工程|措施)"
)
_PRONOUN_ONLY_RE = re.compile(r"^(?:那|那么|还有|另外|然后|再问一下)?\s*(?:它|这个|那个|这|那)?\s*(?:呢|吗)?[？?]?$")
_FOLLOWUP_HINT_RE = re.compile(r"^(?:那|那么|还有|另外|它|其|这个|那个|该)")


@dataclass(frozen=True)
class Resolved:
    question: str  # standalone question used for retrieval and answering
    item: int | None = None  # 1-based item of an earlier list answer the user points at
    rewritten: bool = False
    # With item: the position in history of the turn whose list is meant (None: no earlier turn).
    refers_to: int | None = None


@dataclass(frozen=True)
class _Turn:
    question: str  # standalone
    answer: Answer | None
    picked: bool  # the turn itself asked for an item of a list


def item_reference(question: str) -> int | None:
    """The item number a short follow-up asks for ("那第二项呢？" -> 2), else None."""
    q = question.strip()
    m = ORDINAL_REF_RE.search(q)
    if m and (len(q) <= 8 or (len(q) <= 20 and _FOLLOWUP_HINT_RE.search(q))):
        return cn_to_int(m.group(1))
    return None


def is_list_item(citation: Citation) -> bool:
    """A citation that quotes one item of a list: its quote opens with an item marker."""
    return bool(LIST_ITEM_RE.match(citation.quote.strip()))


def is_list_answer(answer: Answer | None) -> bool:
    """An answer that lists items: two or more of its citations are list items, or its text is a list."""
    if answer is None or answer.refused:
        return False
    quoted = sum(1 for c in answer.citations if is_list_item(c))
    return quoted >= 2 or len(list_items(answer.text)) >= 2


def _topic(answer: Answer | None) -> str | None:
    """The document an answer was about: its first citation's title."""
    if answer is None:
        return None
    if answer.citations:
        return answer.citations[0].title
    if answer.hits:
        return answer.hits[0].chunk.title
    return None


def _list_turn(turns: list[_Turn]) -> int | None:
    """The turn an item follow-up points at: the latest whose answer is a list (a turn without its
    answer may be one), else the latest that was not itself an item pick."""
    candidates = [i for i in range(len(turns) - 1, -1, -1) if not turns[i].picked]
    listed = next((i for i in candidates if turns[i].answer is None or is_list_answer(turns[i].answer)), None)
    return listed if listed is not None else next(iter(candidates), None)


def _resolve(q: str, turns: list[_Turn]) -> Resolved:
    if not turns:
        return Resolved(q)
    prev = turns[-1]
    n = item_reference(q)
    if n is not None:
        i = _list_turn(turns)
        if i is not None:
            return Resolved(turns[i].question, item=n, rewritten=True, refers_to=i)
        return Resolved(f"{prev.question} {q}", item=n, rewritten=True)
    topic = _topic(prev.answer)
    if _DEMONSTRATIVE_RE.search(q):
        if topic:
            return Resolved(_DEMONSTRATIVE_RE.sub(f"《{topic}》", q, count=1), rewritten=True)
        return Resolved(f"{prev.question} {q}", rewritten=True)
    if _PRONOUN_ONLY_RE.match(q) or (_FOLLOWUP_HINT_RE.search(q) and len(q) <= 12):
        subject = f"《{topic}》" if topic else prev.question
        return Resolved(f"{subject} {q}", rewritten=True)
    return Resolved(q)


def resolve(question: str, history: list[tuple[str, Answer | None]] | None) -> Resolved:
    """Rewrite a follow-up into a standalone question.

    Args:
        question: the latest user question.
        history: earlier turns, oldest first: (standalone question, Answer) as the service keeps
            them, or (question as asked, None) when only the earlier questions are known; those are
            resolved in order (never answered), and stand in for the document an answer would name.

    Returns:
        The standalone question; for "那第二项呢？" the item number and the turn whose list is meant
        (the latest list answer, not an earlier item pick), with that turn's question as the
        standalone one.
    """
    turns: list[_Turn] = []
    for i, (asked, answer) in enumerate(history or []):
        if answer is None:
            r = _resolve(asked.strip(), turns)
            turns.append(_Turn(r.question, None, r.item is not None))
        else:
            said = answer.question or asked
            turns.append(_Turn(asked, answer, bool(turns) and item_reference(said) is not None))
    return _resolve(question.strip(), turns)


class ListItems:
    """"那第二项呢？" answered from an earlier list answer (``Resolved.item``): the item picked by its
    own ordinal from the clause(s) that answer cited, never answered again.

    Args:
        index: the loaded index (its raw texts, and ``clause_cleaning`` to read a clause whole).
        clauses: the chunks of each clause in text order, by ``clause_key``.
        settings: the ``answer`` settings group (``item_max_chars``, ``max_hits``).
    """

    def __init__(self, index, clauses: dict[tuple, list[Chunk]], settings):
        self.index = index
        self.raws = index.raws
        self.clauses = clauses
        self.chunks: dict[str, Chunk] = {c.chunk_id: c for c in index.chunks}
        self.settings = settings

    def pick(self, question: str, listed: Answer | None, hits: list[Hit], item: int) -> Answer:
        """That item of an earlier list answer, found by its own ordinal in the clause(s) the answer
        cited, whole (its sentences up to the next item, within item_max_chars). An item the list
        does not have, or an answer that listed nothing, gets a plain reply instead.

        Args:
            question: the standalone question of the turn whose list is meant.
            listed: that turn's Answer; None when only its question is known (a client sent history,
                not a conversation id): its list is then taken from what the question retrieves
                (``hits``), without answering it again.
            hits: what the question retrieves.
            item: the 1-based item asked for.
        """
        if listed is None:
            listed = self._retrieved_as_cited(question, hits)
        items = self.items(listed)
        found = next((x for x in items if x[0] == item), None)
        if found is None:
            text = (prompts.ITEM_NOT_IN_LIST.format(n=len(items), k=item) if len(items) >= 2
                    else prompts.NO_LIST_TO_PICK_FROM)
            return Answer(question, text, [], listed.hits, refused=True,
                          trace=Trace(refusal=Refusal.NO_SUCH_ITEM, refusal_detail=f"item {item} of {len(items)}"))
        _, chunk, start, end = found
        raw = self.raws[chunk.source]
        limit = self.settings.item_max_chars
        spans = [sp for sp in sentences(raw, chunk) if start <= sp[0] < end]
        stop, size = start, 0
        for i, (a, b, t) in enumerate(spans):
            if i and size + len(t) > limit:
                break
            stop, size = max(stop, b), size + len(t)
        cit = make_citation(chunk, raw, start, min(max(stop, start + 1), end))
        shown = list(listed.hits)
        if not any(h.chunk.chunk_id == chunk.chunk_id for h in shown):
            shown.append(Hit(chunk, 0.0, len(shown) + 1, {"item_of": listed.citations[0].chunk_id}))
        return Answer(question, f"{span_cleaning(raw, chunk, cit.start, cit.end).text}[1]", [cit], shown, refused=False)

    def _retrieved_as_cited(self, question: str, hits: list[Hit]) -> Answer:
        """The top retrieved clauses as if an answer had cited them whole: what ``items`` reads
        when an earlier turn came without its answer."""
        top = hits[: self.settings.max_hits]
        cits = [make_citation(h.chunk, self.raws[h.chunk.source], h.chunk.start, h.chunk.end) for h in top]
        return Answer(question, "", cits, hits, refused=False)

    def items(self, answer: Answer) -> list[tuple[int, Chunk, int, int]]:
        """The items an answer listed, as (ordinal, chunk, raw start, raw end): the items of the first
        clause it cited that holds a list (all parts of a clause split over chunks), numbered as the
        clause numbers them, so the list is whole even when the answer quoted part of it."""
        if answer.refused:
            return []
        clauses: list[tuple] = []
        for c in answer.citations:
            chunk = self.chunks.get(c.chunk_id)
            if chunk is not None and chunk.clause_key not in clauses:
                clauses.append(chunk.clause_key)
        for key in clauses:
            parts = self.clauses[key]
            text = self.index.clause_cleaning(parts)
            found = []
            for n, a, b in list_items(text.text):
                start = text.raw_span(a, a + 1)[0]
                end = text.raw_span(a, len(text.text[:b].rstrip()))[1]
                chunk = next((p for p in parts if p.start <= start < p.end), None)
                if chunk is not None:
                    found.append((n, chunk, start, min(end, chunk.end)))
            if len(found) >= 2:
                return found
        # No cited clause holds a list (one chunk per item, a table): the cited items in order, else
        # every citation in order.
        cited = [c for c in answer.citations if c.chunk_id in self.chunks]
        marked = [c for c in cited if is_list_item(c)]
        pool = marked if len(marked) >= 2 else cited
        return [(i + 1, self.chunks[c.chunk_id], c.start, c.end) for i, c in enumerate(pool)] if len(pool) >= 2 else []


class ConversationStore:
    """Conversations held in memory by id, for clients that send ``conversation_id`` instead of the
    whole history. Thread-safe; bounded: a conversation expires ``serve.conversation_ttl_s`` seconds
    after its last use, at most ``serve.max_conversations`` are kept (the least recently used is
    dropped first), and each keeps its last ``serve.max_history_turns`` turns.

    Args:
        settings: a ``rag.config.Settings`` (its ``serve`` group is read once).
        clock: seconds, monotonic; injectable for tests.
    """

    def __init__(self, settings, clock=time.monotonic):
        serve = settings.serve
        self.ttl_s = serve.conversation_ttl_s
        self.max_conversations = serve.max_conversations
        self.max_turns = serve.max_history_turns
        self._clock = clock
        self._lock = threading.Lock()
        # id -> (last use, turns); ordered from least to most recently used.
        self._items: OrderedDict[str, tuple[float, list[tuple[str, Answer]]]] = OrderedDict()

    def new(self) -> str:
        """Start an empty conversation; its random url-safe id."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            cid = secrets.token_urlsafe(16)
            while cid in self._items:
                cid = secrets.token_urlsafe(16)
            self._items[cid] = (now, [])
            while len(self._items) > self.max_conversations:
                self._items.popitem(last=False)
            return cid

    def turns(self, cid: str) -> list[tuple[str, Answer]] | None:
        """The conversation's (standalone question, Answer) turns, oldest first (a copy); None when
        the id is unknown or expired. Counts as a use."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            entry = self._items.get(cid)
            if entry is None:
                return None
            self._items[cid] = (now, entry[1])
            self._items.move_to_end(cid)
            return list(entry[1])

    def append(self, cid: str, question: str, answer: Answer) -> None:
        """Add a turn (its standalone question and answer); the oldest turns beyond the cap are
        dropped. Raises KeyError when the id is unknown or expired."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            entry = self._items.get(cid)
            if entry is None:
                raise KeyError(cid)
            turns = entry[1]
            turns.append((question, answer))
            del turns[: max(0, len(turns) - self.max_turns)]
            self._items[cid] = (now, turns)
            self._items.move_to_end(cid)

    def turn(self, ask_stream: Callable[[str, list], Iterator[str | Answer]], question: str,
             cid: str | None = None, history: list[str] | None = None) -> Iterator[str | tuple[str, Answer]]:
        """One turn of a conversation, the same for the page, ``/api/ask``, Gradio's ``/ask`` and the
        CLI: the follow-up is resolved against the stored turns (never answered again), the answer
        streams, and the turn is stored (bounded; an empty question is not a turn). Without an id, or
        with an expired one (then with a notice), a new conversation starts; ``history`` (earlier
        questions an older client sends) then only helps resolve the follow-up. Yields the answer's
        text pieces, then (conversation id, Answer)."""
        turns = self.turns(cid) if cid else None
        notice = None
        if turns is None:
            notice = prompts.CONVERSATION_EXPIRED if cid else None
            cid = self.new()
            turns = [(q, None) for q in history or []]
        answer = None
        for piece in ask_stream(question, turns):
            if isinstance(piece, Answer):
                answer = piece
            else:
                yield piece
        if notice:
            answer.notices = [notice] + list(answer.notices)
        if answer.trace.refusal is not Refusal.EMPTY_QUESTION:
            try:
                self.append(cid, answer.trace.resolved_question or answer.question, answer)
            except KeyError:  # expired while this question was answered: the next turn starts anew
                pass
        yield cid, answer

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._items)

    def _expire(self, now: float) -> None:
        # Least recently used first: stop at the first one still fresh.
        while self._items:
            cid, (last, _) = next(iter(self._items.items()))
            if now - last < self.ttl_s:
                break
            del self._items[cid]


class RateLimiter:
    """Token bucket per client: ``per_minute`` questions a minute on average, ``burst`` at once.
    Idle clients are forgotten, so memory stays bounded."""

    def __init__(self, per_minute: int, burst: int, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0 when the request may go, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if len(self._buckets) > 10 * 1024:
                full = self.burst / self.rate
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)
            return 0.0
