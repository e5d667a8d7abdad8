"""Selection: the sentences that answer each part of the question, by the fitted sentence model.

Per part: every candidate is scored; the best one is taken; a list brings all its items; a further
sentence is added only when it is nearly as likely and supplies what the chosen ones lack (the asked
slot or the focus). Then each picked sentence brings what it needs to be read: a heading the body
that follows it, a lead-in ending in ： the items after it, an item naming a case its lead-in.
"""

from __future__ import annotations

import re

from ..text import (CLAUSE_END, COLONS, FULL_STOP, HEADING_RE, LEADING_NUMERAL_RE, LIST_ITEM_RE, QUOTED_PHRASE_RE,
                    is_heading, names_a_case, normalize)
from . import entities
from .candidates import Candidate
from .features import Coverage, flat, sentence_features
from .frame import Part, QuestionFrame
from .model import AnswerModel
from .slots import Slot

_MAX_BROUGHT = 30  # at most this many units follow a heading or lead-in (compose fits them to the budget)


def _same(a: Candidate, b: Candidate) -> bool:
    return a.chunk.source == b.chunk.source and a.start == b.start


def _adjacent(c: Candidate, by_chunk: dict[str, list[Candidate]], step: int) -> Candidate | None:
    """The unit right after (step 1) or before (step -1) c in its clause: the next or previous unit of
    its chunk, or across the boundary of the neighbouring retrieved chunk of the same clause."""
    for cs in by_chunk.values():
        for x in cs:
            if x.chunk.source != c.chunk.source or x.chunk.clause_key != c.chunk.clause_key:
                break
            if x.chunk.chunk_id == c.chunk.chunk_id:
                if x.index == c.index + step:
                    return x
            elif step > 0 and c.index == c.n_units - 1 and x.index == 0 and 0 <= x.chunk.start - c.chunk.end <= 2:
                return x
            elif step < 0 and c.index == 0 and x.index == x.n_units - 1 and 0 <= c.chunk.start - x.chunk.end <= 2:
                return x
    return None


class Selector:
    """Args: model: the fitted answer model; cov: term coverage; add_ratio: a further sentence must
    score at least this share of the best one's probability."""

    def __init__(self, model: AnswerModel, cov: Coverage, add_ratio: float, max_extra: int):
        self.model = model
        self.cov = cov
        self.add_ratio = add_ratio
        self.max_extra = max_extra

    def score(self, part: Part, frame: QuestionFrame, cands: list[Candidate]) -> list[Candidate]:
        """Candidates with ``p`` and ``features`` set for this part, best first."""
        rows = sentence_features(part, frame, cands, self.cov, self.model.feature_constants)
        scored = []
        for c, row in zip(cands, rows):
            s = Candidate(**{**c.__dict__})
            s.features, s.p = row, self.model.sentence.p(row)
            scored.append(s)
        return sorted(scored, key=lambda c: (-c.p, c.hit_rank, c.start))

    def select(self, part: Part, ranked: list[Candidate], by_chunk: dict[str, list[Candidate]]) -> list[Candidate]:
        """The sentences that answer one part, from its candidates as ``score`` ranked them."""
        if not ranked:
            return []
        best = ranked[0]
        if Slot.LIST in part.slots or part.slot is Slot.PROCEDURE:
            items = self.list_items(part, best, by_chunk)
            if items:
                return items
        picked = [best]
        have = flat(best.text + " " + " ".join(c.text for c in self.brought(best, by_chunk)) + " "
                    + best.chunk.context)
        for c in ranked[1:]:
            if len(picked) >= 1 + self.max_extra or c.p < self.add_ratio * best.p:
                break
            if any(c.start < x.end and x.start < c.end and c.chunk.source == x.chunk.source for x in picked):
                continue
            new_slot = any(entities.has(s, c.text, part.given) and not entities.has(s, have, part.given)
                           for s in part.entity_slots)
            new_focus = bool(part.focus) and part.focus not in have and part.focus in flat(c.text)
            if new_slot or new_focus:
                picked.append(c)
                have += flat(c.text)
        return self.complete(picked, by_chunk)

    def complete(self, picked: list[Candidate], by_chunk: dict[str, list[Candidate]]) -> list[Candidate]:
        """The picked sentences with what each one needs to be read: a heading its body, a lead-in
        ending in ： its items (compose keeps as many as fit the budget), an item naming a case the
        lead-in that says what holds for it ("…一次记1分：" before "（十）驾驶摩托车，不戴安全头盔的。").
        A group that takes in sentences already there stands where the first of them stood."""
        out: list[Candidate] = []
        for c in picked:
            there = any(_same(x, c) for x in out)
            group = ([] if there else self.leading(c, by_chunk)) + [c] + self.brought(c, by_chunk)
            at = [i for i, x in enumerate(out) if any(_same(x, g) for g in group)]
            if at:
                out = [x for x in out if not any(_same(x, g) for g in group)]
                out[min(at):min(at)] = group
            else:
                out += group
        # A list reads in document order: a run of one clause holding a lead-in is sorted by position.
        i = 0
        while i < len(out):
            j = i + 1
            while j < len(out) and out[j].chunk.source == out[i].chunk.source \
                    and out[j].chunk.clause_key == out[i].chunk.clause_key:
                j += 1
            if any(x.text.rstrip()[-1:] in COLONS for x in out[i:j]):
                out[i:j] = sorted(out[i:j], key=lambda x: x.start)
            i = j
        return out

    @staticmethod
    def brought(c: Candidate, by_chunk: dict[str, list[Candidate]]) -> list[Candidate]:
        """What a picked unit brings with it from its clause (which may be split over several
        retrieved chunks): the list items after a lead-in ending in ：, or the sentence after a
        heading ("第三十条 建立健全考核机制。"); nothing for a unit that says something itself."""
        lead_in = c.text.rstrip()[-1:] in COLONS
        if not (lead_in or c.heading or is_heading(c.text)):
            return []
        after, cur = [], c
        while len(after) < _MAX_BROUGHT and (cur := _adjacent(cur, by_chunk, 1)) is not None:
            after.append(cur)
        if not after:
            return []
        if lead_in:
            items = []
            for x in after:
                if not LIST_ITEM_RE.match(x.text):
                    break
                items.append(x)
            if items:
                for x in items:
                    x.item = True
                return items
        # The body: the next unit, unless it opens the next item or article.
        nxt = after[0]
        return [] if not lead_in and (LIST_ITEM_RE.match(nxt.text) or HEADING_RE.match(nxt.text)) else [nxt]

    @staticmethod
    def leading(c: Candidate, by_chunk: dict[str, list[Candidate]]) -> list[Candidate]:
        """The lead-in ending in ： of the list a picked item belongs to, when the item only names a
        case ("…的；") and the lead-in says what holds for it; else nothing."""
        if not LIST_ITEM_RE.match(c.text) or not names_a_case(c.text):
            return []
        cur = c
        for _ in range(_MAX_BROUGHT):
            cur = _adjacent(cur, by_chunk, -1)
            if cur is None:
                return []
            if not LIST_ITEM_RE.match(cur.text):
                return [cur] if cur.text.rstrip()[-1:] in COLONS else []
        return []

    def list_items(self, part: Part, best: Candidate, by_chunk: dict[str, list[Candidate]]) -> list[Candidate]:
        """Every item of the list the best sentence belongs to: parallel paragraphs of one document
        ("推动办事流程集成，…" / "推动部门改革集成，…"), an enumeration inside one sentence, or the
        item lines of its clause, with the clause's lead-in."""
        keys = [k for k in (part.category,) if k]
        for q in QUOTED_PHRASE_RE.findall(part.text):
            keys += [p for p in self.cov.reader.pieces(normalize(q)) if not LEADING_NUMERAL_RE.match(p)]
        if keys:
            peers = []
            for cs in by_chunk.values():
                for c in cs[:1]:  # parallel paragraphs: each one's opening sentence
                    head = re.split(f"[{CLAUSE_END}{FULL_STOP}]", c.text, maxsplit=1)[0]
                    if c.chunk.doc_id == best.chunk.doc_id and 4 <= len(head) <= 20 and head != c.text \
                            and any(k in normalize(head) for k in keys):
                        peers.append(c)
            openings: dict[str, list[Candidate]] = {}
            for c in peers:
                openings.setdefault(c.text[:2], []).append(c)
            peers = max(openings.values(), key=len) if openings else []
            if len(peers) >= 3:
                for c in peers:
                    c.item = True
                return sorted(peers, key=lambda c: c.start)
        if entities.enumeration(best.text) >= 2 and not best.heading:
            return [best]
        # The clause may be split over several chunks (cut at its items): read all its parts.
        same = sorted((c for cs in by_chunk.values() for c in cs if c.chunk.clause_key == best.chunk.clause_key),
                      key=lambda c: c.start)
        items = [c for c in same if LIST_ITEM_RE.match(c.text)]
        if len(items) >= 2:
            for c in items:
                c.item = True
            i = same.index(items[0])
            if i > 0 and same[i - 1].text.rstrip()[-1:] in COLONS:
                return [same[i - 1]] + items
            return items
        return []
