"""Follow-up questions resolved against the conversation before retrieval (offline rules).

"那第二项呢？" after a list answer points at that list's second item; "这个办法什么时候失效？"
names the document the previous answer cited. Pure functions over the previous turns; and the
conversations the service holds by id.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from .text import ORDINAL_REF_RE, cn_to_int
from .types import Answer

_DEMONSTRATIVE_RE = re.compile(
    r"(?:这个|那个|这份|那份|该|本|上述|此|这一|这项|那项|其)\s*(办法|方案|规划|通知|文件|规定|政策|意见|名单|条款|规划|项目|工程|措施)"
)
_PRONOUN_ONLY_RE = re.compile(r"^(?:那|那么|还有|另外|然后|再问一下)?\s*(?:它|这个|那个|这|那)?\s*(?:呢|吗)?[？?]?$")
_FOLLOWUP_HINT_RE = re.compile(r"^(?:那|那么|还有|另外|它|其|这个|那个|该)")


@dataclass(frozen=True)
class Resolved:
    question: str  # standalone question used for retrieval and answering
    item: int | None = None  # 1-based item of the previous answer the user points at
    rewritten: bool = False


def _topic(answer: Answer) -> str | None:
    """The document the previous answer was about: its first citation's title."""
    if answer.citations:
        return answer.citations[0].title
    if answer.hits:
        return answer.hits[0].chunk.title
    return None


def resolve(question: str, history: list[tuple[str, Answer]] | None) -> Resolved:
    """Rewrite a follow-up into a standalone question.

    Args:
        question: the latest user question.
        history: earlier (standalone question, answer) turns, oldest first.

    Returns:
        The standalone question, and the list item pointed at when the user asked for one.
    """
    q = question.strip()
    if not history:
        return Resolved(q)
    prev_q, prev_a = history[-1]
    topic = _topic(prev_a)
    m = ORDINAL_REF_RE.search(q)
    if m and len(q) <= 20 and _FOLLOWUP_HINT_RE.search(q) or (m and len(q) <= 8):
        n = cn_to_int(m.group(1))
        return Resolved(f"{prev_q} {q}", item=n, rewritten=True)
    if _DEMONSTRATIVE_RE.search(q) and topic:
        return Resolved(_DEMONSTRATIVE_RE.sub(f"《{topic}》", q, count=1), rewritten=True)
    if _PRONOUN_ONLY_RE.match(q) or (_FOLLOWUP_HINT_RE.search(q) and len(q) <= 12):
        subject = f"《{topic}》" if topic else prev_q
        return Resolved(f"{subject} {q}", rewritten=True)
    return Resolved(q)

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
