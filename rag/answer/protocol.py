"""The one shape every answerer has (extractive and LLM alike): what ``rag.qa.QA`` calls. Types only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..types import Answer, Hit

if TYPE_CHECKING:
    from .frame import QuestionFrame


@runtime_checkable
class Answerer(Protocol):
    """Hits -> Answer (Haystack's ``reader.run(query, documents)`` shape, plus the question's frame).

    ``name`` and ``version`` are stamped on every answer's trace (and on staff feedback).
    """

    name: str
    version: str

    def answer(self, question: str, hits: list[Hit], frame: QuestionFrame | None = None,
               part_hits: list[list[Hit]] | None = None) -> Answer:
        """Answer ``question`` from ``hits`` alone.

        Args:
            question: the question as the answerer should read it (a long message's closing sentences).
            hits: every asked part's retrievals merged, best first.
            frame: the question read into its parts (None: read it yourself).
            part_hits: each part's own retrievals, for a question of several parts (else None).

        Returns:
            An Answer whose citations QA verifies once more before anyone sees them.
        """
        ...


@runtime_checkable
class StreamingAnswerer(Answerer, Protocol):
    """An answerer that can also stream: text pieces as they are produced, then the final Answer."""

    def stream(self, question: str, hits: list[Hit], frame: QuestionFrame | None = None,
               part_hits: list[list[Hit]] | None = None) -> Iterator[str | Answer]:
        """Same arguments as ``answer``; yields ``str`` pieces, and the Answer last (its text replaces them)."""
        ...
