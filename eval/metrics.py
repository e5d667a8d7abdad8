"""Scoring of batch outputs against gold questions: pure functions, no I/O, no models.

Owns the metric definitions (retrieval hits, key-fact accuracy, refusals, citations, latency) and
the per-type / per-file breakdowns and failure reasons. Spans are character offsets into the raw
text of a corpus file; gold quotes are located in those raw texts here.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from rag.text import CN_ITEM, COLONS, FULL_STOP, HEADING, ITEM_HEAD_RE, MARK_RE, SEMICOLONS, sentence_bounds

KS = (1, 3, 5, 10)
CONTEXT_BUDGET = 1000  # characters of ranked context for Recall@1000chars
HIT_FRACTION = 0.5  # a span hits a quote when it covers at least this share of it
CITE_COVER_FRACTION = 0.3  # a citation is precise when it covers this share of a gold quote...
CITE_INSIDE_FRACTION = 0.5  # ...or lies at least this much inside one
HOLD_KS = (1, 3)  # "top-k holds": the first k retrieved spans hold every key fact
HEADING_BODY_CHARS = 20  # a heading line without its body: at most this many characters after its number
# Why an answerable question is not answered concisely, first class that applies (``failure_class``).
FAILURE_CLASSES = ("ok", "too long", "refused with evidence", "retrieval miss", "heading only",
                   "list intro only", "partial", "wrong sentence")
_STRUCT_HEAD_RE = re.compile(rf"^(?:{HEADING}|{CN_ITEM})")


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


def facts_held(retrieved: list[dict], k: int, raws: dict[str, str], key_facts: list[str]) -> bool:
    """Every key fact lies in the text of the first k retrieved spans (normalised like answers)."""
    texts = [normalise_text(raws.get(r.get("source"), "")[r["start"]:r["end"]]) for r in retrieved[:k]]
    joined = "\u0000".join(texts)
    return bool(key_facts) and all(normalise_text(f) in joined for f in key_facts)


def _answer_lines(answer: str) -> list[str]:
    """The answer's sentences, markers [n] removed, blank ones dropped."""
    text = MARK_RE.sub("", answer or "")
    return [s for s in (text[a:b].strip() for a, b in sentence_bounds(text)) if s]


def is_heading_only(answer: str) -> bool:
    """Every sentence of the answer is a heading (第X条 …, （一）…, 一、…) with no body after its title."""
    lines = _answer_lines(answer)

    def heading(s: str) -> bool:
        m = ITEM_HEAD_RE.match(s) or _STRUCT_HEAD_RE.match(s)
        return bool(m) and len(s[m.end():].strip().rstrip(FULL_STOP + SEMICOLONS + COLONS)) <= HEADING_BODY_CHARS
    return bool(lines) and all(heading(s) for s in lines)


def is_list_intro_only(answer: str) -> bool:
    """The answer ends on a line that introduces a list (…如下：), without the items."""
    lines = _answer_lines(answer)
    return bool(lines) and lines[-1][-1:] in COLONS


def failure_class(row: dict, answer: str, key_facts: list[str]) -> str:
    """The first class of ``FAILURE_CLASSES`` that applies to an answerable question's answer."""
    if row["concise"]:
        return "ok"
    if row["correct"]:
        return "too long"
    if row["refused"]:
        return "refused with evidence" if row["holds"][3] else "retrieval miss"
    if not row["holds"][3]:
        return "retrieval miss"
    if is_heading_only(answer):
        return "heading only"
    if is_list_intro_only(answer):
        return "list intro only"
    return "partial" if len(row["missing_facts"]) < len(key_facts) else "wrong sentence"


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
        facts = q.get("key_facts") or []
        row["holds"] = {k: facts_held(retrieved, k, raws, facts) for k in HOLD_KS}
        row["failure_class"] = failure_class(row, out.get("answer") or "", facts)
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
    for k in HOLD_KS:
        m[f"holds@{k}"] = _ratio(sum(r["holds"][k] for r in ans), len(ans))
    # Retention: the share of what retrieval found (top-3 holds every key fact) that the answer keeps.
    m["retention"] = _ratio(m["concise_accuracy"] or 0.0, m["holds@3"]) if ans else None
    m["failure_classes"] = {c: _ratio(sum(r["failure_class"] == c for r in ans), len(ans)) for c in FAILURE_CLASSES}
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
