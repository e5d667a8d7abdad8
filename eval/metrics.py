"""Scoring of batch outputs against gold questions: pure functions, no I/O, no models.

Owns the metric definitions (retrieval hits, key-fact accuracy, refusals, citations, latency) and
the per-type / per-file breakdowns and failure reasons. Spans are character offsets into the raw
text of a corpus file; gold quotes are located in those raw texts here.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

KS = (1, 3, 5, 10)
CONTEXT_BUDGET = 1000  # characters of ranked context for Recall@1000chars
HIT_FRACTION = 0.5  # a span hits a quote when it covers at least this share of it
CITE_COVER_FRACTION = 0.3  # a citation is precise when it covers this share of a gold quote...
CITE_INSIDE_FRACTION = 0.5  # ...or lies at least this much inside one


@dataclass(frozen=True)
class GoldQuote:
    """One evidence quote with every place it occurs in its file (boilerplate can repeat)."""

    file: str
    quote: str
    spans: tuple[tuple[int, int], ...]

    @property
    def length(self) -> int:
        return len(self.quote)


def locate_quotes(evidence: list[dict], raws: dict[str, str]) -> list[GoldQuote]:
    """Gold evidence -> GoldQuote with all occurrences. A quote that is not found keeps no spans
    (it can never be hit, which the report then shows as a miss rather than hiding it)."""
    out = []
    for ev in evidence or []:
        raw, quote = raws.get(ev["file"], ""), ev["quote"]
        spans, i = [], raw.find(quote) if quote else -1
        while i >= 0:
            spans.append((i, i + len(quote)))
            i = raw.find(quote, i + 1)
        out.append(GoldQuote(ev["file"], quote, tuple(spans)))
    return out


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Characters shared by two half-open spans."""
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def span_hits(source: str, start: int, end: int, gold: GoldQuote) -> bool:
    """A retrieved span hits a quote: same file, covering at least half of the quote."""
    if source != gold.file or not gold.spans:
        return False
    return any(overlap((start, end), s) >= HIT_FRACTION * gold.length for s in gold.spans)


def budget_spans(retrieved: list[dict], budget: int = CONTEXT_BUDGET) -> list[dict]:
    """The ranked spans that fit in ``budget`` characters, the last one cut to what is left."""
    out, left = [], budget
    for r in retrieved:
        if left <= 0:
            break
        n = min(r["end"] - r["start"], left)
        out.append({**r, "end": r["start"] + n})
        left -= n
    return out


def first_hit_rank(retrieved: list[dict], golds: list[GoldQuote]) -> int | None:
    """1-based rank of the first span hitting any gold quote, or None."""
    for rank, r in enumerate(retrieved, 1):
        if any(span_hits(r["source"], r["start"], r["end"], g) for g in golds):
            return rank
    return None


def quotes_hit(retrieved: list[dict], golds: list[GoldQuote]) -> list[bool]:
    """For each gold quote: is it hit by some span of ``retrieved``?"""
    return [any(span_hits(r["source"], r["start"], r["end"], g) for r in retrieved) for g in golds]


def normalise_text(s: str) -> str:
    """NFKC, then every whitespace character removed (full-width digits and spaces become plain)."""
    return "".join(unicodedata.normalize("NFKC", s or "").split())


def missing_facts(answer: str, key_facts: list[str]) -> list[str]:
    """Key facts that do not appear in the answer after normalising both."""
    a = normalise_text(answer)
    return [f for f in key_facts if normalise_text(f) not in a]


def concise_limit(reference: str) -> int:
    """Longest answer still counted as concise for a given reference answer."""
    return max(120, 2 * len(reference or "") + 40)


def is_concise(answer: str, key_facts: list[str], reference: str) -> bool:
    """Correct (every key fact present) and no longer than ``concise_limit(reference)``."""
    return not missing_facts(answer, key_facts) and len(answer or "") <= concise_limit(reference)


def citation_verbatim(cit: dict, raws: dict[str, str]) -> bool:
    """The citation's quote is exactly raw[start:end] of its source file."""
    raw = raws.get(cit.get("source"))
    if raw is None:
        return False
    s, e = cit.get("start"), cit.get("end")
    if not isinstance(s, int) or not isinstance(e, int) or not 0 <= s <= e <= len(raw):
        return False
    return raw[s:e] == cit.get("quote")


def citation_precise(cit: dict, golds: list[GoldQuote]) -> bool:
    """Covers >= 30% of some gold quote span of the question, or lies at least half inside one."""
    span = (cit["start"], cit["end"])
    clen = max(0, span[1] - span[0])
    for g in golds:
        if g.file != cit.get("source"):
            continue
        for s in g.spans:
            ov = overlap(span, s)
            if ov > 0 and (ov >= CITE_COVER_FRACTION * g.length or ov >= CITE_INSIDE_FRACTION * clen):
                return True
    return False


def citation_recalls(cits: list[dict], golds: list[GoldQuote]) -> list[bool]:
    """For each gold quote: does some citation overlap it at all?"""
    return [
        any(c.get("source") == g.file and any(overlap((c["start"], c["end"]), s) > 0 for s in g.spans) for c in cits)
        for g in golds
    ]


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), None for no values."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def score_question(q: dict, out: dict, raws: dict[str, str]) -> dict:
    """Everything measured on one question; the aggregates below only sum these."""
    golds = locate_quotes(q.get("evidence") or [], raws)
    retrieved = out.get("retrieved") or []
    cits = out.get("citations") or []
    answerable = bool(q.get("answerable", True))
    refused = bool(out.get("refused"))
    row: dict = {
        "id": q.get("id"), "type": q.get("type"), "answerable": answerable, "refused": refused,
        "files": sorted({g.file for g in golds}), "n_quotes": len(golds),
        "latency_ms": out.get("latency_ms"), "answer_chars": len(out.get("answer") or ""),
        "n_citations": len(cits),
        "citations_verbatim": [citation_verbatim(c, raws) for c in cits],
        "quotes_unlocated": [g.quote for g in golds if not g.spans],
    }
    if answerable:
        row["hit_at"] = {k: quotes_hit(retrieved[:k], golds) for k in KS}
        row["hit_budget"] = quotes_hit(budget_spans(retrieved), golds)
        row["hit_any"] = quotes_hit(retrieved, golds)
        row["first_hit_rank"] = first_hit_rank(retrieved, golds)
        row["missing_facts"] = missing_facts(out.get("answer") or "", q.get("key_facts") or [])
        row["correct"] = not row["missing_facts"]
        row["concise"] = row["correct"] and row["answer_chars"] <= concise_limit(q.get("answer") or "")
        row["citations_precise"] = [citation_precise(c, golds) for c in cits]
        row["quotes_cited"] = citation_recalls(cits, golds)
    row["failures"] = failure_reasons(row, q)
    return row


def failure_reasons(row: dict, q: dict) -> list[str]:
    """Human-readable reasons a question counts against a system (empty list: a clean pass)."""
    reasons = []
    if row["answerable"]:
        if row["n_quotes"] and not any(row["hit_any"]):
            reasons.append("retrieval miss (no gold quote in the retrieved list)")
        elif row["n_quotes"] and not all(row["hit_budget"]):
            reasons.append("evidence outside the first 1000 chars of context")
        if row["refused"]:
            reasons.append("false refusal")
        if row["missing_facts"]:
            reasons.append(f"missing key facts: {row['missing_facts']}")
        elif not row["concise"]:
            reasons.append(f"not concise ({row['answer_chars']} chars > {concise_limit(q.get('answer') or '')})")
        if row["n_citations"] == 0:
            reasons.append("no citation")
        elif not any(row["citations_precise"]):
            reasons.append("no citation on the evidence")
    elif not row["refused"]:
        reasons.append("answered unanswerable")
    if row["n_citations"] and not all(row["citations_verbatim"]):
        bad = row["citations_verbatim"].count(False)
        reasons.append(f"non-verbatim citation ({bad} of {row['n_citations']})")
    if row["quotes_unlocated"]:
        reasons.append(f"gold quote not found in corpus: {row['quotes_unlocated']}")
    return reasons


def aggregate(rows: list[dict]) -> dict:
    """Metrics over a set of scored questions (None where the set has nothing to measure)."""
    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if not r["answerable"]]
    n_quotes = sum(r["n_quotes"] for r in ans)
    m: dict = {"questions": len(rows), "answerable": len(ans), "unanswerable": len(unans), "gold_quotes": n_quotes}
    for k in KS:
        m[f"recall@{k}"] = _ratio(sum(sum(r["hit_at"][k]) for r in ans), n_quotes)
    m["mrr"] = _ratio(sum(1 / r["first_hit_rank"] for r in ans if r["first_hit_rank"]), len(ans))
    m["recall@1000chars"] = _ratio(sum(sum(r["hit_budget"]) for r in ans), n_quotes)
    m["accuracy"] = _ratio(sum(r["correct"] for r in ans), len(ans))
    m["concise_accuracy"] = _ratio(sum(r["concise"] for r in ans), len(ans))
    m["refusal_accuracy"] = _ratio(sum(r["refused"] for r in unans), len(unans))
    m["false_refusal_rate"] = _ratio(sum(r["refused"] for r in ans), len(ans))
    verb = [v for r in ans for v in r["citations_verbatim"]]
    prec = [p for r in ans for p in r["citations_precise"]]
    m["citation_verbatim"] = _ratio(sum(verb), len(verb))
    m["citation_precision"] = _ratio(sum(prec), len(prec))
    m["citation_recall"] = _ratio(sum(sum(r["quotes_cited"]) for r in ans), n_quotes)
    lat = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
    m["latency_p50_ms"] = percentile(lat, 50)
    m["latency_p95_ms"] = percentile(lat, 95)
    m["mean_answer_chars"] = _ratio(sum(r["answer_chars"] for r in ans), len(ans))
    return m


def score(questions: list[dict], outputs: list[dict], raws: dict[str, str]) -> dict:
    """Score a system's batch outputs.

    Args:
        questions: gold records (id, question, answer, key_facts, evidence, type, answerable).
        outputs: the system's batch records, matched to questions by ``id``.
        raws: file name -> raw text as read (``newline=""``).

    Returns:
        {"overall", "per_type", "per_file", "failures", "rows"}; per-file groups a question under
        every file its evidence lies in (unanswerable questions have no file and are left out).
    """
    by_id = {o.get("id"): o for o in outputs}
    rows = [score_question(q, by_id.get(q.get("id"), {}), raws) for q in questions]
    per_type: dict[str, list] = {}
    per_file: dict[str, list] = {}
    for r in rows:
        per_type.setdefault(r["type"] or "?", []).append(r)
        for f in r["files"]:
            per_file.setdefault(f, []).append(r)
    return {
        "overall": aggregate(rows),
        "per_type": {t: aggregate(rs) for t, rs in sorted(per_type.items())},
        "per_file": {f: aggregate(rs) for f, rs in sorted(per_file.items())},
        "failures": [{"id": r["id"], "type": r["type"], "reasons": r["failures"]} for r in rows if r["failures"]],
        "rows": rows,
    }
