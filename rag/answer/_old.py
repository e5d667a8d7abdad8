"""Hits -> Answer. The default answerer is extractive and offline: it picks and trims the sentences
of the retrieved clauses that answer the question and cites each one; it refuses when the evidence
does not cover the question. Knows nothing of retrieval internals or of the UI.

How a question is read: it is split into parts (one per "？"); each part has weighted evidence terms
(idf from the index; a term the corpus never uses weighs the most), a *focus* term (the content word
right before the question word: 门票 in "门票多少钱", which the evidence must name) and the kinds of
answer it wants (a date, a number, a responsible body, a list, a whole clause). Each part picks the
best sentence (its own term coverage, its clause's coverage and retrieval rank, the wanted kind
present), then greedily adds sentences that cover what is still missing; lists keep every item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import prompts
from .cite import make_citation, sentences
from .ingest.clean import clean
from .text import (
    ARTICLE, CLAUSE_END, CN_SMALL, COMMAS, DOCNUM_RE, DOCNUM_REF, ENUM_COMMA, FULL_STOP, LEAD_FURNITURE_RE,
    LEADING_NUMERAL_RE, LIST_ITEM_RE, QUESTION_BREAKS, SEMICOLONS, STOPS, COLONS, normalize,
)
from .config import AnswerSettings
from .search.tokenize import STOPWORDS
from .types import Answer, Chunk, Hit, Refusal, Trace

# Words that say what kind of answer is wanted; they are not evidence terms.
QUESTION_WORDS = frozenset(
    "多少 多少钱 多少天 多少人 多少条 多少项 多少次 几 几个 几项 几类 几条 几次 几天 几年 几度 几月 哪 哪些 哪个 哪几 "
    "哪几个 哪几类 哪几条 哪几项 哪几家 哪家 哪天 哪年 哪位 哪里 哪儿 哪五 哪三 哪四 哪两 什么 什么样 什么时候 何时 多久 多长 "
    "多宽 多大 多高 多远 如何 怎么 怎样 怎么办 是否 是不是 能不能 可不可以 可以 有没有 有没 谁 一共 分别 具体 主要 规定 要求 "
    "问 请问 需要 要 有 会 能 吗 呢 么 了 的 是 得 到 给 被 把 都 还 就 又 也 我 我们 咱 咱们 你 你们 想 想问 知道 说 讲 "
    "现在 目前 一般 那个 这个 那 这 个 啥 咋 呀 吧 啊 嘛 里 上 下 时候".split()
)
_QWORD_RE = re.compile(
    r"多少|几|哪|什么|何时|多久|多长|多宽|多大|多高|多远|如何|怎么|怎样|是否|是不是|能不能|有没有|谁|吗|呢|啥|咋")
_DATE_Q = re.compile(r"哪天|哪一天|什么时候|何时|哪年|几月|日期|时间|期限|截止|到期|多久|哪几年|规划期|有效期|起止|开始|结束|办到")
_NUMBER_Q = re.compile(r"多少|几|多久|多长|多宽|多大|多高|多远|比例|比重|最高|最低|上限|下限|每月|每年|标准是")
_WHO_Q = re.compile(r"谁|哪个部门|哪些部门|哪个单位|哪些单位|哪家|哪几家|哪位|责任主体|责任单位|牵头|主办|由什么人|什么人|跟谁|和谁|与谁")
_LIST_Q = re.compile(r"哪些|哪几[类项个条种家方]|包括|包含|有哪|几项|几类|几个方面|哪[两三四五六七八九十]|分别是|都是什么|都有什么")
_CLAUSE_Q = re.compile(r"(?:规定|讲|说|写)了?(?:些)?(?:什么|啥)|(?:什么|哪些)内容|内容是什么|是怎么规定")
_REFERENCE_Q = re.compile(f"{ARTICLE}|{DOCNUM_REF}")

_DATE_S = re.compile(r"\d{1,4}\s*年|\d{1,2}\s*月|\d{1,2}\s*日|年底|年前|月底|月前|日前|[" + CN_SMALL + r"]+月|季度|\d{4}\s*[-—–~至]\s*\d{4}")
_NUMBER_S = re.compile(r"\d|[" + CN_SMALL + r"百千万两半]+\s*(?:个|项|名|条|次|天|日|月|年|家|人|所|处|类|度|档|倍|成|批|户|米|公里|元|万)|%|％")
_WHO_S = re.compile(r"部门|局|委|办公室|办事处|政府|中心|公司|集团|银行|单位|担任|牵头|负责|主任|书记|局长|处长|市长|主体|代表|街道|居委会|协会")
_ENUM_S = re.compile(ENUM_COMMA)
# Question words with a numeral and measure word ("哪五项", "多少家", "几个"): not evidence.
_COUNT_Q = re.compile(r"(?:哪|多少|几)[" + CN_SMALL + r"两几]?[个项类条种家位批所座名次天年处点]?")
_DEFINE_Q = re.compile(r"什么意思|指什么|指哪|含义|定义|何谓|是指什么|指的是什么")
_DEFINE_S = re.compile(r"是指|指的是|又称|称为|简称|也就是|即[“\"]")
_HOW_Q = re.compile(r"怎么|如何|怎样|程序|流程|步骤|手续|怎么办|怎么处理")
_QUOTED_Q = re.compile(r"[“\"「]([^”\"」]{2,12})[”\"」]")
# The noun a question word governs names the answer's type ("什么制度", "哪几条断层"): answers often
# carry it ("…制度", "…等断层"), but need not.
_CATEGORY_RE = re.compile(r"(?:哪些|哪几[类项个条种家位座所批]|哪[两三四五六七八九十][个项类条种家位]|什么|哪个|哪种|哪类|何种)([\u4e00-\u9fff]{2,8})")
_MONEY_Q = re.compile(r"多少钱|几块钱|多少元|费用是|价格|票价|收费标准|罚款多少|罚多少|津贴|补贴多少|能贷多少|贷多少")
_MONEY_S = re.compile(r"\d\s*(?:元|万元|亿元|块)|[" + CN_SMALL + r"百千万]+\s*(?:元|万元)|免费")
# Quantities a question states ("4号线", "60岁"): evidence that never names them does not answer it.
_QUANTITY_RE = re.compile(r"(?<![\d年])(\d+(?:\.\d+)?)\s*(号线|岁|号楼|周岁|公里|米|批|届|项|条|名|户|个|次|万|亿|%)")
_FUNCTION_POS = set("dpcuryefq")
# Sentence-score weights, calibrated on the dev set (see README, "Answers").
CATEGORY_BONUS = 0.1
KIND_HIT = 0.15
KIND_MISS = 0.15
_YEAR_RE = re.compile(r"\d{4}\s*年度?|\d{4}\s*[-—–~至]\s*\d{4}")
_PART_RE = re.compile(f"[{QUESTION_BREAKS}]")
@dataclass
class Need:
    """One part of a question: what it is about and what kind of answer it wants."""

    text: str
    terms: dict[str, float]
    focus: str | None
    kinds: frozenset
    category: str | None = None  # the noun a list question counts ("哪几条断层" -> 断层)
    own: dict = field(default_factory=dict)  # the part's own terms, before focus weight or inheritance

    @property
    def mass(self) -> float:
        return sum(self.terms.values()) or 1.0


@dataclass
class Candidate:
    chunk: Chunk
    hit_rank: int
    start: int
    end: int
    text: str
    index: int  # position of the sentence in its chunk
    item: bool = False  # chosen as one item of a list spread over parallel paragraphs
    score: float = 0.0
    covered: dict = field(default_factory=dict)


def question_parts(question: str) -> list[str]:
    """The parts of a question that asks several things (…多久？设计时速是多少？)."""
    parts = [p.strip() for p in _PART_RE.split(question) if len(p.strip()) >= 4]
    return parts or [question.strip()]


class ExtractiveAnswerer:
    """Selects, trims and cites sentences from the retrieved clauses; refuses on thin evidence.

    Args:
        tokenizer: the index's tokenizer (same term handling as BM25).
        idf: term -> idf from the index.
        raws: source -> raw text, for exact citation spans.
        settings: the answer group: refusal threshold (``min_coverage``), hits read, length budgets.
    """

    name = "extractive"
    version = "extractive/1"

    def __init__(self, tokenizer, idf: dict[str, float], raws: dict[str, str], settings: AnswerSettings):
        self.tokenizer = tokenizer
        self.idf = idf
        self.max_idf = max(idf.values()) if idf else 1.0
        self.raws = raws
        self.settings = settings

    # --- reading the question ----------------------------------------------------------------

    def _weight(self, term: str) -> float:
        if term in self.idf:
            return self.idf[term]
        pieces = [p for p in self._pieces(term) if p in self.idf]
        # A word the corpus never uses: as rare as its rarest known piece, else the rarest of all.
        return max((self.idf[p] for p in pieces), default=self.max_idf)

    def _pieces(self, term: str) -> list[str]:
        return [p for p in self.tokenizer.sub_words(term) if len(p) >= 2 and p != term]

    def _pos(self):
        return self.tokenizer.tagger()

    def terms(self, text: str) -> dict[str, float]:
        """Evidence terms (jieba with parts of speech, 文号 whole) with their weights.

        Function words (adverbs, prepositions, pronouns, particles, locatives) are not evidence.
        A word the corpus never uses weighs like a rare term when it is a noun (票价, 津贴: the
        question asks about something the documents do not name), and little otherwise (报上去,
        改好: colloquial verbs the documents phrase differently).
        """
        out: dict[str, float] = {}
        for n in self.tokenizer.doc_numbers(text):
            out[n] = self.max_idf * 1.5
        text = re.sub(r"<[^>]{0,200}>", " ", text)  # markup is not a question
        body = normalize(_COUNT_Q.sub(" ", DOCNUM_RE.sub(" ", text)))
        for pair in self._pos().lcut(body):
            t, flag = pair.word.strip(), pair.flag
            if not t or t in QUESTION_WORDS or t in STOPWORDS or not re.search(r"[\w\u4e00-\u9fff]", t):
                continue
            if flag[:1] in _FUNCTION_POS:
                continue
            if t.isdigit() and len(t) == 1:
                continue
            if len(t) == 1:
                # A one-character verb or noun (挂, 罚) is weak evidence, but evidence.
                if flag[:1] in "vn":
                    out[t] = 0.3 * self._weight(t)
                continue
            if t in self.idf or any(p in self.idf for p in self._pieces(t)):
                out[t] = self._weight(t)
            else:
                out[t] = self.max_idf * 0.8 if flag[:1] in "n" or flag in ("vn", "eng", "m") else 1.0
        return out

    def focus_term(self, text: str) -> str | None:
        """What the question asks about: the noun a question word governs ("用什么制度" -> 制度),
        else the last noun before the question word ("门票多少钱" -> 门票)."""
        m = _QWORD_RE.search(text)
        if not m:
            return None
        after = re.match(r"(?:谁是|(?:多少|几)[个条家名项户人次批类所座位]?)([\u4e00-\u9fff]{2,6})", text[m.start():])
        if after:
            for p in self._pos().lcut(normalize(after.group(1))):
                if (p.flag[:1] == "n" or p.flag == "vn") and len(p.word) >= 2 and p.word not in QUESTION_WORDS:
                    return p.word
                break
        nouns = [p.word for p in self._pos().lcut(normalize(text[: m.start()]))
                 if (p.flag[:1] == "n" or p.flag in ("vn", "eng")) and len(p.word) >= 2 and p.word not in QUESTION_WORDS]
        return nouns[-1] if nouns else None

    def need(self, part: str) -> Need:
        terms = self.terms(part)
        own = dict(terms)
        focus = self.focus_term(part)
        if focus in terms:
            terms[focus] *= 1.5
        kinds = set()
        if _MONEY_Q.search(part):
            kinds.add("money")
        if _DATE_Q.search(part):
            kinds.add("date")
        if _NUMBER_Q.search(_LIST_Q.sub("", part)):
            kinds.add("number")
        if _HOW_Q.search(part):
            kinds.add("how")
        if _DEFINE_Q.search(part):
            kinds.add("define")
        if _WHO_Q.search(part):
            kinds.add("who")
        if _LIST_Q.search(part):
            kinds.add("list")
        if _CLAUSE_Q.search(part) and _REFERENCE_Q.search(part):
            kinds.add("clause")
        category = None
        m = _CATEGORY_RE.search(part)
        if m:
            words = [w for w in self.tokenizer.words(normalize(m.group(1))) if len(w) >= 2]
            category = words[0] if words else None
        return Need(part, terms, focus, frozenset(kinds), category, own)

    def _cover(self, terms: dict[str, float], text: str) -> dict[str, float]:
        """term -> how far the text covers it: 1 when present, 0.6 when a piece of it is."""
        flat = normalize(re.sub(r"\s+", "", text))
        out = {}
        for t in terms:
            if t in flat:
                out[t] = 1.0
            elif any(p in flat for p in self._pieces(t)):
                out[t] = 0.6
        return out

    @staticmethod
    def _share(terms: dict[str, float], covered: dict[str, float]) -> float:
        mass = sum(terms.values()) or 1.0
        return sum(terms[t] * c for t, c in covered.items() if t in terms) / mass

    # --- main ------------------------------------------------------------------------------------

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        hits = list(hits)
        needs = [self.need(p) for p in question_parts(question)]
        for need in needs[1:]:
            # "…要求什么时候完成？" is about the subject named in the first part.
            for t, w in needs[0].terms.items():
                need.terms.setdefault(t, 0.3 * w)
        all_terms = self.terms(question)
        if not hits:
            return self._refuse(question, hits, Refusal.NO_EVIDENCE)
        if not all_terms:
            return self._refuse(question, hits, Refusal.NO_CONTENT_WORDS)
        by_chunk = self._candidates(hits)  # all hits: a list's items may be spread over them
        cands = [c for cs in by_chunk.values() for c in cs if c.hit_rank <= self.settings.max_hits]
        if not cands:
            return self._refuse(question, hits, Refusal.NO_EVIDENCE)
        chosen: list[Candidate] = []
        whole_clause = False
        for need in needs:
            if "clause" in need.kinds and hits[0].chunk.chunk_id in by_chunk:
                # "第十二条规定了什么": the clause itself is the answer.
                chosen += [c for c in by_chunk[hits[0].chunk.chunk_id] if c not in chosen]
                whole_clause = True
                continue
            if chosen and self._answered(need, chosen):
                continue
            picked = self._select(need, cands, by_chunk, exclude=chosen)
            if chosen and picked:
                # A later part adds a sentence only if it names more of that part's own words.
                own = need.own
                had: dict[str, float] = {}
                for c in chosen:
                    for t, v in self._cover(own, c.text).items():
                        had[t] = max(had.get(t, 0.0), v)
                new = self._cover(own, " ".join(c.text for c in picked))
                if not any(v > had.get(t, 0.0) for t, v in new.items()):
                    continue
            for c in picked:
                if all(c.start != x.start for x in chosen):
                    chosen.append(c)
        # Coverage of the whole question by what was chosen (and the clauses' titles and sections).
        covered: dict[str, float] = {}
        for c in chosen:
            for t, v in self._cover(all_terms, c.text + " " + c.chunk.context).items():
                covered[t] = max(covered.get(t, 0.0), v)
        coverage = self._share(all_terms, covered)
        if not chosen or coverage < self.settings.min_coverage:
            return self._refuse(question, hits, Refusal.LOW_COVERAGE, coverage,
                                f"evidence covers {coverage:.0%} of the question")
        # The kind of answer asked for must be there: an amount of money for "多少钱", and any
        # quantity the question names ("4号线", "60岁") in the clauses the answer comes from.
        evidence = " ".join(c.chunk.context + " " + c.chunk.text for c in chosen)
        flat = normalize(re.sub(r"\s+", "", evidence))
        for need in needs:
            if "money" in need.kinds and not any(_MONEY_S.search(c.text) for c in chosen):
                return self._refuse(question, hits, Refusal.NO_AMOUNT, coverage, "no amount of money in the evidence")
        for num, unit in _QUANTITY_RE.findall(normalize(question)):
            if num + unit not in flat:
                return self._refuse(question, hits, Refusal.QUANTITY_NOT_NAMED, coverage,
                                    f"evidence never names {num}{unit}")
        return self._compose(question, hits, chosen, needs, coverage, trim=not whole_clause)

    def _answered(self, need: Need, chosen: list[Candidate]) -> bool:
        """Whether sentences already chosen answer this part too (its own terms and wanted kind)."""
        own = need.own
        for c in chosen:
            covered = self._cover(own, c.text)
            if self._share(own, covered) >= 0.8 and self._kind_score(
                    Need(need.text, {}, None, need.kinds - {"list", "clause"}), c.text) >= 0:
                return True
        return False

    def _candidates(self, hits: list[Hit]) -> dict[str, list[Candidate]]:
        out: dict[str, list[Candidate]] = {}
        for h in hits:
            raw = self.raws.get(h.chunk.source)
            if raw is None:
                continue
            spans = sentences(raw, h.chunk)
            merged: list[tuple[int, int, str]] = []
            for s, e, text in spans:
                prev = merged[-1] if merged else None
                short_head = prev and len(re.sub(r"\s", "", prev[2])) <= 12 and not LIST_ITEM_RE.match(text)
                aside = (prev and text[:1] in "(（" and len(text) <= 40 and not LIST_ITEM_RE.match(text)
                         and prev[2].rstrip()[-1:] not in STOPS + SEMICOLONS)  # a heading's note, not a new line
                if short_head or aside:
                    # "(一)祈福街。" / "第十二条 建立…制度。": a heading belongs with what follows it.
                    merged[-1] = (prev[0], e, clean(raw, prev[0], e).text)
                else:
                    merged.append((s, e, text))
            # The document's title line is shown on every citation card; it is not an answer.
            title = normalize(re.sub(r"\s+", "", h.chunk.title or ""))
            kept = [m for m in merged if not (title and title in normalize(re.sub(r"\s+", "", m[2]))
                                              and len(re.sub(r"\s+", "", m[2])) <= len(title) + 14)] or merged
            out[h.chunk.chunk_id] = [Candidate(h.chunk, h.rank, s, e, text, i) for i, (s, e, text) in enumerate(kept)]
        return out

    @staticmethod
    def _kind_score(need: Need, text: str) -> float:
        score = 0.0
        m = LEAD_FURNITURE_RE.match(text)
        if m:
            text = text[m.end():]
        # A number the question already states, or a year, does not answer "how many".
        bare = _YEAR_RE.sub("", text)
        for n in re.findall(r"\d+(?:\.\d+)?", need.text):
            bare = bare.replace(n, "")
        checks = {"date": (_DATE_S, text), "number": (_NUMBER_S, bare), "who": (_WHO_S, text),
                  "money": (_MONEY_S, text), "define": (_DEFINE_S, text)}
        for kind, (rx, t) in checks.items():
            if kind in need.kinds:
                score += KIND_HIT if rx.search(t) else -KIND_MISS
        if "list" in need.kinds and len(_ENUM_S.findall(text)) >= 2:
            score += 0.12
            if need.category and need.category in normalize(text):
                score += 0.15
        return score

    def _score(self, need: Need, cand: Candidate, chunk_share: float) -> None:
        cand.covered = self._cover(need.terms, cand.text)
        own = self._share(need.terms, cand.covered)
        prior = 1.0 / (1.0 + 0.3 * (cand.hit_rank - 1))
        focus = 0.15 if need.focus and cand.covered.get(need.focus, 0) >= 1.0 else 0.0
        if need.category and need.category in normalize(cand.text):
            focus += CATEGORY_BONUS
        m = LEAD_FURNITURE_RE.match(cand.text)
        body = cand.text[m.end():] if m else cand.text
        short = 0.1 if len(re.sub(r"\s", "", body)) < 10 else 0.0
        cand.score = 0.45 * own + 0.25 * chunk_share + 0.12 * prior + focus + self._kind_score(need, cand.text) - short

    def _select(self, need: Need, cands: list[Candidate], by_chunk: dict[str, list[Candidate]],
                exclude: list[Candidate] = ()) -> list[Candidate]:
        chunk_share = {cid: self._share(need.terms, self._cover(need.terms, cs[0].chunk.context + " " + cs[0].chunk.text))
                       for cid, cs in by_chunk.items() if cs}
        for c in cands:
            self._score(need, c, chunk_share[c.chunk.chunk_id])
        taken = {c.start for c in exclude}
        ranked = sorted((c for c in cands if c.start not in taken), key=lambda c: -c.score)
        if not ranked or ranked[0].score <= 0:
            return []
        best = ranked[0]
        picked = [best]
        if "list" in need.kinds:
            items = self._list_items(need, best, by_chunk)
            if items:
                return items
        # Greedy cover: add a sentence only for what the best one lacks: the wanted kind of answer
        # (a date, a number, a body), the focus term, or most of the question's weight.
        have = dict(best.covered)
        for t, v in self._cover(need.terms, best.chunk.context).items():
            have[t] = max(have.get(t, 0.0), v)
        kinds = need.kinds & {"date", "number", "who", "money", "define"}
        kind_ok = {k for k in kinds if self._kind_score(Need(need.text, {}, None, frozenset({k})), best.text) > 0}
        for _ in range(2):
            missing = {t: w for t, w in need.terms.items() if have.get(t, 0.0) < 1.0}
            best_gain, best_c = 0.0, None
            for c in ranked[1:12]:
                if c in picked or c.score < 0.6 * best.score:
                    continue
                gain = sum(need.terms[t] * (v - have.get(t, 0.0)) for t, v in c.covered.items()
                           if t in missing and v > have.get(t, 0.0)) / need.mass
                new_kind = any(self._kind_score(Need(need.text, {}, None, frozenset({k})), c.text) > 0
                               for k in kinds - kind_ok)
                new_focus = need.focus in missing and c.covered.get(need.focus, 0) >= 1.0
                if not ((new_kind or new_focus) and gain >= 0.1):
                    continue
                if gain > best_gain:
                    best_gain, best_c = gain, c
            if best_c is None:
                break
            picked.append(best_c)
            kind_ok |= {k for k in kinds if self._kind_score(Need(need.text, {}, None, frozenset({k})), best_c.text) > 0}
            for t, v in best_c.covered.items():
                have[t] = max(have.get(t, 0.0), v)
        return picked

    def _list_items(self, need: Need, best: Candidate, by_chunk: dict[str, list[Candidate]]) -> list[Candidate]:
        """Every item of the list the best sentence belongs to: parallel paragraphs of one document
        ("推动办事流程集成，…" / "推动部门改革集成，…"), an enumeration inside one sentence, or the
        item lines of its clause."""
        keys = [k for k in (need.category,) if k]
        for q in _QUOTED_Q.findall(need.text):
            keys += [p for p in self._pieces(normalize(q)) if not LEADING_NUMERAL_RE.match(p)]
        if keys:
            peers = []
            for cs in by_chunk.values():
                for c in cs[:1]:  # parallel paragraphs: each one's opening sentence
                    head = re.split(f"[{CLAUSE_END}{FULL_STOP}]", c.text, maxsplit=1)[0]
                    if c.chunk.doc_id == best.chunk.doc_id and 4 <= len(head) <= 20 and head != c.text \
                            and any(k in normalize(head) for k in keys):
                        peers.append(c)
            openings = {}
            for c in peers:
                openings.setdefault(c.text[:2], []).append(c)
            peers = max(openings.values(), key=len) if openings else []
            if len(peers) >= 3:
                for c in peers:
                    c.item = True
                return sorted(peers, key=lambda c: c.start)
        if len(_ENUM_S.findall(best.text)) >= 2:
            return [best]
        # The clause may be split over several chunks (cut at its items): read all its parts.
        same = sorted((c for cs in by_chunk.values() for c in cs if c.chunk.clause_key == best.chunk.clause_key),
                      key=lambda c: c.start)
        items = [c for c in same if LIST_ITEM_RE.match(c.text)]
        if len(items) >= 2:
            for c in items:
                c.item = True
            # The clause's lead-in ("“门前五包”包括以下内容：") says what the items are.
            i = same.index(items[0])
            if i > 0 and same[i - 1].text.rstrip()[-1:] in COLONS:
                return [same[i - 1]] + items
            return items
        return []

    # --- composing ---------------------------------------------------------------------------

    def _trim(self, cand: Candidate, needs: list[Need], list_item: bool, limit: int = 100) -> tuple[int, int, str]:
        """Drop newspaper furniture, and cut a long sentence to the run of clauses that carries the
        question's terms and the kind of answer wanted."""
        text = cand.text
        raw = self.raws[cand.chunk.source]
        c = clean(raw, cand.start, cand.end)
        a0 = 0
        m = LEAD_FURNITURE_RE.match(text)
        if m and m.end() < len(text) - 4:
            a0 = m.end()
        a0 += len(text[a0:]) - len(text[a0:].lstrip(COMMAS + FULL_STOP + " "))
        if list_item:
            # An item is named by its opening clause ("推动办事流程集成").
            cut = re.search(f"[{CLAUSE_END}{FULL_STOP}]", text[a0:])
            if cut and len(text) > 40:
                b = a0 + cut.start()
                s, e = c.raw_span(a0, b)
                return s, e, text[a0:b]
        if len(text) - a0 <= limit:
            s, e = c.raw_span(a0, len(text))
            return s, e, text[a0:]
        terms: dict[str, float] = {}
        for n in needs:
            for t, w in n.terms.items():
                terms[t] = max(terms.get(t, 0.0), w)
        # Terms the citation's title and section already show need not be repeated in the quote.
        for t in self._cover(terms, cand.chunk.context):
            terms[t] *= 0.3
        owns = [(n, n.own) for n in needs]
        bounds = sorted({a0} | {i + 1 for i, ch in enumerate(text) if ch in CLAUSE_END and i >= a0} | {len(text)})
        best = (-1e9, a0, len(text))
        for i in range(len(bounds) - 1):
            for j in range(i + 1, len(bounds)):
                a, b = bounds[i], bounds[j]
                if b - a > limit and j > i + 1:
                    break
                piece = text[a:b]
                w = self._share(terms, self._cover(terms, piece))
                for n, own in owns:
                    if not own or self._cover(own, piece):
                        w += self._window_score(n, piece)
                w -= 0.002 * len(piece)  # on a tie the shorter run wins
                if w > best[0]:
                    best = (w, a, b)
        _, a, b = best
        piece = text[a:b]
        lead = len(piece) - len(piece.lstrip())
        piece = piece.strip().rstrip(CLAUSE_END)
        a += lead
        b = a + len(piece)
        s, e = c.raw_span(a, b)
        return s, e, piece

    def _window_score(self, need: Need, piece: str) -> float:
        """How well a run of clauses answers one part, beyond its words: the wanted kind of answer
        (the number, the date, the body, the enumeration) and the focus, since answers rarely
        repeat the question."""
        score = 0.0
        for kind in ("date", "number", "who", "money", "define"):
            if kind in need.kinds and self._kind_score(Need(need.text, {}, None, frozenset({kind})), piece) > 0:
                score += 0.5
        if "list" in need.kinds:
            score += min(0.5, 0.1 * len(_ENUM_S.findall(piece)))
        flat = normalize(piece)
        if need.category and need.category in flat:
            score += 0.2
        if need.focus and need.focus in flat:
            score += 0.3
        return score

    def _compose(self, question: str, hits: list[Hit], chosen: list[Candidate], needs: list[Need],
                 coverage: float, trim: bool = True) -> Answer:
        citations = []
        pieces: list[str] = []
        items = any(c.item for c in chosen)
        s = self.settings
        budget = s.how_budget_chars if any("how" in n.kinds for n in needs) else s.budget_chars
        per = max(s.min_sentence_chars, budget // max(1, len(chosen)))
        if not trim and len({c.chunk.chunk_id for c in chosen}) == 1:
            # A whole clause is one quotation: one citation from its first sentence to its last.
            first, last = chosen[0], chosen[-1]
            raw = self.raws[first.chunk.source]
            cit = make_citation(first.chunk, raw, first.start, last.end)
            text = "".join(c.text if c.text[-1:] in STOPS + SEMICOLONS[0] else c.text + FULL_STOP for c in chosen)
            return self._finish(question, hits, f"{text}[1]", [cit], coverage)
        for cand in chosen:
            if trim:
                s, e, text = self._trim(cand, needs, list_item=cand.item, limit=per)
            else:
                s, e, text = cand.start, cand.end, cand.text
            if not text:
                continue
            citations.append(make_citation(cand.chunk, self.raws[cand.chunk.source], s, e))
            end = "" if text[-1:] in STOPS + SEMICOLONS[0] + COLONS else (SEMICOLONS[0] if items else FULL_STOP)
            pieces.append(f"{text}{end}[{len(citations)}]")
        return self._finish(question, hits, "".join(pieces), citations, coverage)

    def _finish(self, question: str, hits: list[Hit], text: str, citations: list, coverage: float) -> Answer:
        # NOTE: citations are verified once, for every answerer alike, by QA._final_check.
        return Answer(question, text, citations, hits, refused=False, trace=self._trace(coverage))

    def _refuse(self, question: str, hits: list[Hit], why: Refusal, coverage: float = 0.0, detail: str = "") -> Answer:
        trace = self._trace(coverage, why, detail)
        return Answer(question, prompts.REFUSAL_TEXT, [], hits, refused=True, trace=trace)

    def _trace(self, coverage: float, refusal: Refusal | None = None, detail: str = "") -> Trace:
        return Trace(answerer=self.name, answerer_version=self.version, coverage=round(coverage, 4),
                     refusal=refusal, refusal_detail=detail)
