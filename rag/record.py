"""The batch record: one JSON object per answer, shared by `rag ask --json`, `rag batch`, POST /api/ask,
the feedback store and every system of the evaluation suite. Spans are character offsets into the
raw source text. Pure functions.
"""

from __future__ import annotations

from .types import Answer, Chunk, Citation


def citation_record(c: Citation | Chunk, quote: str | None = None) -> dict:
    """A citation (or a whole chunk cited by a baseline) in the batch format."""
    return {"source": c.source, "start": c.start, "end": c.end, "quote": c.quote if quote is None else quote,
            "title": c.title, "doc_number": c.doc_number, "section": list(c.section), "chunk_id": c.chunk_id}


def retrieved_record(source: str, start: int, end: int, score: float, chunk_id: str) -> dict:
    return {"source": source, "start": start, "end": end, "score": round(float(score), 6), "chunk_id": chunk_id}


def batch_record(qid, question: str, answer: str, refused: bool, citations: list[dict], retrieved: list[dict],
                 latency_ms: float, **extra) -> dict:
    """The record every system writes; ``extra`` adds fields a system knows more about (trace, notices)."""
    return {"id": qid, "question": question, "answer": answer, "refused": refused, "citations": citations,
            "retrieved": retrieved, "latency_ms": round(latency_ms, 2), **extra}


def answer_record(answer: Answer, qid=None) -> dict:
    """A product answer as a batch record, with its notices, flagged sentences and trace."""
    return batch_record(
        qid, answer.question, answer.text, answer.refused, [citation_record(c) for c in answer.citations],
        [retrieved_record(h.chunk.source, h.chunk.start, h.chunk.end, h.score, h.chunk.chunk_id) for h in answer.hits],
        answer.latency_ms, notices=answer.notices, unsupported=answer.unsupported,
        settings_hash=answer.trace.settings_hash, trace=answer.trace.to_dict())
