"""Reading a question: its parts, and for each part the asked slot, focus, subject and evidence terms.

A ``QuestionFrame`` is all the answerer knows of the question: selection, refusal and composition
read it and never the raw string again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ..config import AnswerSettings
from ..text import (ARTICLE, CN_SMALL, COUNT_MEASURES, DOCNUM_REF, DOCNUM_RE, FOCUS_MEASURES, GOVERNING_MEASURES,
                    MEASURE_WORDS, QUESTION_BREAKS, SEARCH_STOPWORDS, normalize)
from . import entities
from .slots import Cues, Slot, load_cues

_PART_RE = re.compile(f"[{QUESTION_BREAKS}]")
# "A和B分别/各…": one question about two things, read as two parts that share the rest.
_PAIR_RE = re.compile(r"(?:和|与|以及|及|、)([\u4e00-\u9fff]{1,12}?)(?:分别|各自|各)")
# "…？另外/此外/还有…": a further question joined by a connective.
_CONNECTIVE_RE = re.compile(r"[，,。]\s*(?:另外|此外|还有|以及|同时)[，,]?")
# Parts of speech that end the noun phrase before 和 in "A和B各…" (reading backwards from 和).
_PHRASE_STOP_POS = set("pcudryewx")
_REFERENCE_RE = re.compile(f"{ARTICLE}|{DOCNUM_REF}")
_MARKUP_RE = re.compile(r"<[^>]{0,200}>")
# Parts of speech that carry no evidence: adverbs, prepositions, conjunctions, particles, pronouns,
# interjections, modal particles, locatives, measure words.
_FUNCTION_POS = set("dpcuryefq")
# The noun an interrogative governs ("什么制度", "哪几条断层", "多少家企业") names the answer's type.
_GOVERNED_RE = re.compile(rf"(?:哪些|哪几|哪[{MEASURE_WORDS}]|什么|何种|多少|几)[{GOVERNING_MEASURES}]?([\u4e00-\u9fff]{{2,8}})")
_INTERROGATIVE_RE = re.compile(r"多少|几|哪|什么|何|如何|怎|是否|是不是|能不能|有没有|谁|吗|呢|啥|咋")
# A count inside the question ("哪五项", "几个", "多少家"): not evidence.
_COUNT_RE = re.compile(rf"(?:哪|多少|几)[{CN_SMALL}两几]?[{COUNT_MEASURES}]?")


@dataclass(frozen=True)
class Part:
    """One thing a question asks."""

    text: str
    slot: Slot  # the primary slot
    slots: frozenset[Slot]  # every slot the part's cues name
    focus: str | None  # the word the interrogative governs, or the last noun before it
    subject: tuple[str, ...]  # the part's heaviest content terms other than the focus
    terms: dict[str, float]  # evidence terms with weights (focus boosted, first part's terms inherited)
    own: dict[str, float]  # the part's own terms, before boost or inheritance
    category: str | None = None  # the noun a list question counts ("哪几条断层" -> 断层)
    numbers: tuple[str, ...] = ()  # numbers the part itself states (not an answer to "how many")
    query: str = ""  # what retrieval searches for this part: its text, with the topic it leaves out
    topic: tuple[str, ...] = ()  # the part's heaviest content nouns other than the focus

    @property
    def mass(self) -> float:
        return sum(self.terms.values()) or 1.0

    @property
    def given(self) -> tuple[str, ...]:
        """What the part itself states: its numbers and its text. An entity the question names
        ("经营者违反…的，由谁处罚") is not the answer to it."""
        return self.numbers + (normalize(self.text),)

    @property
    def entity_slots(self) -> frozenset[Slot]:
        """Asked slots whose answer is a recognisable entity (an amount, a date, a body...)."""
        return self.slots & entities.ENTITY_SLOTS


@dataclass(frozen=True)
class QuestionFrame:
    question: str
    parts: tuple[Part, ...]
    terms: dict[str, float]  # the whole question's evidence terms
    reference: bool  # names a 第X条 or a 文号
    years: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    quantities: tuple[str, ...] = ()
    unknown_share: float = 0.0  # share of term weight on words the corpus never uses
    cues_version: str = ""
    notes: dict = field(default_factory=dict)

    @property
    def slot(self) -> Slot:
        return self.parts[0].slot

    def part_frame(self, i: int) -> "QuestionFrame":
        """The frame of part i alone: what the answerer reads when each part is answered on its own."""
        p = self.parts[i]
        return QuestionFrame(p.query or p.text, (p,), dict(p.terms), self.reference, self.years, self.places,
                             self.quantities, self.unknown_share, self.cues_version, dict(self.notes))


class QuestionReader:
    """Reads questions with the index's tokenizer and term statistics.

    Args:
        tokenizer: the index's tokenizer (same term handling as BM25).
        idf: term -> idf from the index; a term the corpus never uses weighs as a rare one.
        cues: the slot cue words (default: the packaged ``cues.json``).
        settings: the answer group, whose term weights (``focus_boost``...) the reader applies.
    """

    def __init__(self, tokenizer, idf: dict[str, float], cues: Cues | None = None,
                 settings: AnswerSettings | None = None):
        self.tokenizer = tokenizer
        self.idf = idf
        self.max_idf = max(idf.values()) if idf else 1.0
        self.cues = cues or load_cues()
        self.settings = settings or AnswerSettings()

    def read(self, question: str) -> QuestionFrame:
        text = _MARKUP_RE.sub(" ", question)  # markup is not a question
        split = self.split(text)
        read = [self._part(p) for p, _ in split]
        first = read[0]
        out = [replace(first, query=first.text)]
        for p, (_, whole) in zip(read[1:], split[1:]):
            # "…由哪个部门负责？" is about the subject named in the first part (and is searched with
            # the first part's topic nouns it leaves out).
            terms = dict(p.terms)
            for t, w in first.terms.items():
                terms.setdefault(t, self.settings.inherited_term_share * w)
            missing = "" if whole else "".join(t for t in first.topic if t not in p.text)
            out.append(replace(p, subject=p.subject or first.subject, terms=terms, query=missing + p.text))
        terms = self.terms(text)
        unknown = sum(w for t, w in terms.items() if not self.known(t))
        return QuestionFrame(
            question, tuple(out), terms, bool(_REFERENCE_RE.search(normalize(text))),
            frozenset(entities.years(text)), frozenset(entities.places(text)), tuple(entities.quantities(text)),
            unknown / (sum(terms.values()) or 1.0), self.cues.version)

    def split(self, text: str) -> list[tuple[str, bool]]:
        """The asked parts of a question, in order, each with whether it is whole (names its own
        subject): its questions (？！；), a further question joined by 另外/此外/还有, and "A和B分别/各…"
        as one whole part for A and one for B."""
        pieces = [p.strip() for p in _PART_RE.split(text) if len(p.strip()) >= 4] or [text.strip()]
        out: list[tuple[str, bool]] = []
        for piece in pieces:
            for chunk in self._split_connective(piece):
                pair = self._split_pair(chunk)
                out += [(p, len(pair) > 1) for p in pair]
        return out

    def _split_connective(self, text: str) -> list[str]:
        bits = [b.strip() for b in _CONNECTIVE_RE.split(text)]
        if len(bits) < 2 or any(len(b) < 4 or not _INTERROGATIVE_RE.search(b) for b in bits):
            return [text]
        return bits

    def _split_pair(self, text: str) -> list[str]:
        m = _PAIR_RE.search(text)
        if not m or not _INTERROGATIVE_RE.search(text[m.end():]):
            return [text]
        other = m.group(1)
        # The first thing named: the noun phrase just before 和, of about as many words as the second.
        words: list[str] = []
        for pair in reversed(self.tokenizer.tagger().lcut(text[: m.start()])):
            w = pair.word
            if not re.fullmatch(r"[\u4e00-\u9fff]+", w) or pair.flag[:1] in _PHRASE_STOP_POS:
                break
            if words and len("".join(words)) >= len(other) + 4:
                break
            words.insert(0, w)
        if not words:
            return [text]
        first = "".join(words)
        # "城镇和农村居民补助标准": what the second names beyond the first's length is their shared head
        # noun, unless both already end alike ("首小时和之后每小时").
        shared = other[len(first):] if len(other) > len(first) and first[-1] != other[-1] else ""
        head, rest = text[: m.start() - len(first)], text[m.end():]
        return [head + first + shared + rest, head + other + rest]

    def _part(self, text: str) -> Part:
        found = self.cues.slots_of(normalize(text))
        if Slot.CLAUSE in found and not _REFERENCE_RE.search(normalize(text)):
            # "规定了什么" without a 第X条 or 文号 asks for content, not for a clause by number.
            found = self.cues.slots_of(normalize(text), skip=frozenset({Slot.CLAUSE}))
        slot = found[0] if found else Slot.FACT
        own = self.terms(text)
        terms = dict(own)
        focus = self.focus(text)
        if focus in terms:
            terms[focus] *= self.settings.focus_boost
        subject = tuple(t for t, _ in sorted(own.items(), key=lambda kv: -kv[1]) if t != focus)[:2]
        nouns = {p.word for p in self.tokenizer.tagger().lcut(normalize(text))
                 if (p.flag[:1] == "n" or p.flag in ("vn", "eng")) and len(p.word) >= 2}
        topic = tuple(t for t, _ in sorted(own.items(), key=lambda kv: -kv[1]) if t != focus and t in nouns)[:2]
        category = None
        m = _GOVERNED_RE.search(normalize(text))
        if m:
            words = [w for w in self.tokenizer.words(m.group(1)) if len(w) >= 2 and w not in self.cues.question_words]
            category = words[0] if words else None
        numbers = tuple(re.findall(r"\d+(?:\.\d+)?", normalize(text)))
        return Part(text, slot, frozenset(found), focus, subject, terms, own, category, numbers, topic=topic)

    # --- terms ---------------------------------------------------------------------------------

    def known(self, term: str) -> bool:
        return term in self.idf or any(p in self.idf for p in self.pieces(term))

    def pieces(self, term: str) -> list[str]:
        return [p for p in self.tokenizer.sub_words(term) if len(p) >= 2 and p != term]

    def weight(self, term: str) -> float:
        if term in self.idf:
            return self.idf[term]
        pieces = [p for p in self.pieces(term) if p in self.idf]
        # A word the corpus never uses: as rare as its rarest known piece, else the rarest of all.
        return max((self.idf[p] for p in pieces), default=self.max_idf)

    def terms(self, text: str) -> dict[str, float]:
        """Evidence terms (jieba with parts of speech, 文号 whole) with their weights.

        Function words and question words are not evidence. A word the corpus never uses weighs like
        a rare term when it is a noun (票价: the question asks about something the documents may not
        name), and little otherwise (colloquial verbs the documents phrase differently).
        """
        s = self.settings
        out: dict[str, float] = {}
        for n in self.tokenizer.doc_numbers(text):
            out[n] = self.max_idf * s.doc_number_weight
        body = normalize(_COUNT_RE.sub(" ", DOCNUM_RE.sub(" ", _MARKUP_RE.sub(" ", text))))
        qwords = self.cues.question_words
        for pair in self.tokenizer.tagger().lcut(body):
            t, flag = pair.word.strip(), pair.flag
            if not t or t in qwords or t in SEARCH_STOPWORDS or not re.search(r"[\w\u4e00-\u9fff]", t):
                continue
            if flag[:1] in _FUNCTION_POS or (t.isdigit() and len(t) == 1):
                continue
            if len(t) == 1:
                if flag[:1] in "vn":  # a one-character verb or noun (挂, 罚) is weak evidence
                    out[t] = s.one_char_share * self.weight(t)
                continue
            if self.known(t):
                out[t] = self.weight(t)
            else:
                out[t] = (self.max_idf * s.unknown_noun_weight if flag[:1] == "n" or flag in ("vn", "eng", "m")
                          else s.unknown_word_weight)
        return out

    def focus(self, text: str) -> str | None:
        """What the question asks about: the noun an interrogative governs ("用什么制度" -> 制度),
        else the last noun before the interrogative ("门票多少钱" -> 门票)."""
        text = DOCNUM_RE.sub(lambda d: " " * len(d.group(0)), text)  # a 文号 is a reference, not a noun
        m = _INTERROGATIVE_RE.search(text)
        if not m:
            return None
        qwords = self.cues.question_words
        after = re.match(rf"(?:谁是|(?:多少|几|什么|哪些|哪个)[{FOCUS_MEASURES}]?)([\u4e00-\u9fff]{{2,6}})", text[m.start():])
        if after:
            for p in self.tokenizer.tagger().lcut(normalize(after.group(1))):
                if (p.flag[:1] == "n" or p.flag == "vn") and len(p.word) >= 2 and p.word not in qwords:
                    return p.word
                break
        nouns = [p.word for p in self.tokenizer.tagger().lcut(normalize(text[: m.start()]))
                 if (p.flag[:1] == "n" or p.flag in ("vn", "eng")) and len(p.word) >= 2 and p.word not in qwords]
        return nouns[-1] if nouns else None
