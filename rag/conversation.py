"""Follow-up questions resolved against the conversation before retrieval (offline rules).

"那第二项呢？" after a list answer points at that list's second item; "这个办法什么时候失效？"
names the document the previous answer cited. Pure functions over the previous turns.
"""

from __future__ import annotations

import re
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
