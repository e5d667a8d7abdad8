"""Selection: the sentences that answer each part of the question, by the fitted sentence model.

Per part: every candidate is scored; the best one is taken; a heading brings the body that follows
it; a list brings all its items; a further sentence is added only when it is nearly as likely and
supplies what the chosen ones lack (the asked slot or the focus).
"""

from __future__ import annotations

import re

from ..text import CLAUSE_END, COLONS, FULL_STOP, LEADING_NUMERAL_RE, LIST_ITEM_RE, normalize
from . import entities
from .candidates import Candidate
from .features import Coverage, flat, sentence_features
from .frame import Part, QuestionFrame
from .model import AnswerModel
from .slots import Slot

_QUOTED_RE = re.compile(r"[“\"「]([^”\"」]{2,12})[”\"」]")


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
        rows = sentence_features(part, frame, cands, self.cov)
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
        if best.heading:
            # "第三十条 建立健全考核机制。": the heading brings the sentence that says what it names.
            nxt = next((c for c in by_chunk.get(best.chunk.chunk_id, []) if c.index == best.index + 1), None)
            if nxt is not None:
                picked.append(nxt)
        have = flat(" ".join(c.text for c in picked) + " " + best.chunk.context)
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
        return picked

    def list_items(self, part: Part, best: Candidate, by_chunk: dict[str, list[Candidate]]) -> list[Candidate]:
        """Every item of the list the best sentence belongs to: parallel paragraphs of one document
        ("推动办事流程集成，…" / "推动部门改革集成，…"), an enumeration inside one sentence, or the
        item lines of its clause, with the clause's lead-in."""
        keys = [k for k in (part.category,) if k]
        for q in _QUOTED_RE.findall(part.text):
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
