"""The one home of the text rules every stage shares: numerals, 文号, punctuation classes, list-item and
heading patterns, newspaper datelines, invisible characters, normalisation and sentence splitting.

Pure functions and constants; imports nothing of the project. Every other module takes its patterns
from here (``scripts/census.py`` and ``tests/unit/test_architecture.py`` check that none is defined
twice). Patterns are built from a few atoms so that a variant reads as "the atom, plus ...".
"""

from __future__ import annotations

import re
import unicodedata

# --- numerals ------------------------------------------------------------------------------------

CN_SMALL = "一二三四五六七八九十"  # one to ten: item numbers （一）…（十）
CN_NUMERALS = CN_SMALL + "百零〇两"  # what 第X条 / 第X章 numbers are written with
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_DIGIT_CHARS = "零" + CN_SMALL[:9]  # 零一二…九, index = value
NUM = rf"[{CN_NUMERALS}\d]+"  # a number in either script: 十二, 12
CN_NUM = rf"[{CN_NUMERALS}]+"  # a number in Chinese numerals only


def cn_to_int(s: str) -> int | None:
    """Chinese or Arabic numeral to int: 十三 -> 13, 二十二 -> 22, 一百零五 -> 105."""
    if s.isdigit():
        return int(s)
    total, cur = 0, 0
    for ch in s:
        if ch in CN_DIGITS:
            cur = CN_DIGITS[ch]
        elif ch == "十":
            total += (cur or 1) * 10
            cur = 0
        elif ch == "百":
            total += (cur or 1) * 100
            cur = 0
        else:
            return None
    return total + cur


def int_to_cn(n: int) -> str:
    """13 -> 十三 (1..999), the form used in 第X条 headings."""
    digits = _DIGIT_CHARS
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    rest = n % 100
    tail = "" if rest == 0 else ("零" + int_to_cn(rest) if rest < 10 else int_to_cn(rest) if rest >= 20 else "一" + int_to_cn(rest))
    return digits[n // 100] + "百" + tail


# --- 文号 and dates ----------------------------------------------------------------------------------

# 文号: 济政发〔2021〕13号, 济政字 [2021] 65 号, 济政办字〔2021〕40号.
DOCNUM_RE = re.compile(
    r"([\u4e00-\u9fff]{1,8}?[发字函])\s*[〔\[［【(（]\s*(\d{4})\s*[〕\]］】)）]\s*(\d{1,4})\s*号"
)
# What a question typing a 文号 looks like, even a partial one ("〔2021〕", "2021年13号").
DOCNUM_REF = r"〔\d{4}〕|\[\d{4}\]|\d{4}\s*年?\s*\d+\s*号"
DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


def normalize_doc_number(s: str) -> str | None:
    """济政字 [2021] 65 号 -> 济政字〔2021〕65号; None when s holds no 文号."""
    m = DOCNUM_RE.search(s)
    return f"{m.group(1)}〔{m.group(2)}〕{int(m.group(3))}号" if m else None


def iso_date(s: str) -> str | None:
    m = DATE_RE.search(s)
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}" if m else None


# --- punctuation ---------------------------------------------------------------------------------

FULL_STOP = "。"
STOPS = FULL_STOP + "！？"  # sentence-final marks
STOPS_ASCII = "!?"
COMMAS = "，,"
ENUM_COMMA = "、"
SEMICOLONS = "；;"
COLONS = "：:"
# A line ending in one of these is not a line the PDF wrapped mid-sentence.
TERMINAL = STOPS + STOPS_ASCII + SEMICOLONS + COLONS + "…"
CLOSERS = "”’」』)）】〕》\"'"
# Any punctuation of running text: a line without it is a title, a table row, a signature.
SENTENCE_PUNCT = COMMAS + ENUM_COMMA + STOPS + STOPS_ASCII + SEMICOLONS + COLONS
# A headline may hold 、 but no other sentence punctuation.
HEADLINE_PUNCT = SENTENCE_PUNCT.replace(ENUM_COMMA, "")
# Where a sentence ends, for citations (a paragraph break ends one too).
SENTENCE_END = STOPS + STOPS_ASCII + "\n"
# Where an over-long piece may be cut when no sentence end is near.
SOFT_BREAKS = COMMAS + ENUM_COMMA
# Clause boundaries inside a sentence.
CLAUSE_END = COMMAS + SEMICOLONS + COLONS
# Separators between the parts of a question that asks several things.
QUESTION_BREAKS = "？?！!" + SEMICOLONS
_HEAD_SPLIT_RE = re.compile(f"[{FULL_STOP}{COLONS}{SEMICOLONS}]")
_LEAD_SPLIT_RE = re.compile(f"[{FULL_STOP}{SEMICOLONS}]")


def head_of(text: str) -> str:
    """The heading part of a line: up to its first full stop, colon or semicolon."""
    return _HEAD_SPLIT_RE.split(text, maxsplit=1)[0]


def lead_sentence(text: str) -> str:
    """The first sentence of a paragraph (up to its first full stop or semicolon)."""
    return _LEAD_SPLIT_RE.split(text, maxsplit=1)[0]


# --- list items and headings ---------------------------------------------------------------------

PAREN_CN = rf"[（(]{CN_NUM}[）)]"  # （一）
PAREN_ARABIC = r"[（(]\d{1,2}[）)]"  # （1）
ARABIC_ITEM = r"\d{1,2}[.．、](?!\d)"  # 1.  1、
ARABIC_DOT = r"\d{1,2}[.．](?!\d)"  # 1.  (not 1、)
CN_ITEM = rf"{CN_NUM}、"  # 一、
HEADING = rf"第{NUM}[编章节条]"  # 第三章, 第十二条
ARTICLE = rf"第{NUM}条"

# What begins a new paragraph in extracted text: a heading, a list number, a dash, an attachment,
# a bullet, a Markdown heading mark.
STRUCT_RE = re.compile(
    rf"^(?:{HEADING}|{CN_ITEM}|{PAREN_CN}|\d+[.．、](?!\d)|[（(]\d+[）)]|——|附件|◆|□|#)"
)
HEADING_RE = re.compile(HEADING)
ARTICLE_RE = re.compile(rf"^{ARTICLE}")
# Levels of the section tree: (level, kind, regex capturing the number).
MARKERS = [
    (0.7, "part", re.compile(rf"^第({NUM})编")),  # 编 of a code (民法典): chapters restart inside each
    (1, "chapter", re.compile(rf"^第({NUM})章")),
    (2, "section", re.compile(rf"^第({NUM})节")),
    (3, "article", re.compile(rf"^第({NUM})条(?![件款])")),
    (4, "item", re.compile(rf"^({CN_NUM})、")),
    (5, "item", re.compile(rf"^[（(]({CN_NUM})[）)]")),
    (6, "item", re.compile(r"^(\d{1,2})[.．、](?!\d)")),
    (7, "item", re.compile(r"^[（(](\d{1,2})[）)]")),
]
# A heading run onto the previous line by two-column extraction ("……考核。 第十四条 ……").
MIDLINE_HEAD_RE = re.compile(rf"(?<=[{FULL_STOP}{SEMICOLONS}])([ \t\u3000]+)(?={ARTICLE}|{PAREN_CN})")
# The start of a list item inside a clause: （一） （1） 1.  (a part of a long 条 cut at it is labelled).
ITEM_HEAD_RE = re.compile(rf"^(?:{PAREN_CN}|{PAREN_ARABIC}|{ARABIC_DOT})")
# A line that is one item of a list, as answers and follow-ups count them: also 1、, ——, 一是.
LIST_ITEM_RE = re.compile(rf"^(?:{PAREN_CN}|{ARABIC_ITEM}|{PAREN_ARABIC}|——|[{CN_SMALL}]是)")
# The number a quoted item opens with: "（二）…", "2.…", "二是…".
ITEM_ORDINAL_RE = re.compile(rf"\s*[（(]?\s*([{CN_SMALL}\d]+)\s*[）)．.、是]")
# Where an item of a list begins inside a cleaned text: at its start, after a line break, or after a
# full stop, semicolon or colon ("…以下工作：一是…；二是…"), perhaps behind a Markdown bullet ("- （二）").
# Groups: the marker, and its numeral by kind.
_ITEM_AT_RE = re.compile(
    rf"(?:^|(?<=[\n{FULL_STOP}{SEMICOLONS}{COLONS}]))[ \t\u3000]*(?:[-*•][ \t]+)?"
    rf"(?P<mark>[（(](?P<pc>{CN_NUM})[）)]|[（(](?P<pa>\d{{1,2}})[）)]|(?P<a>\d{{1,2}})[.．、](?!\d)|(?P<s>[{CN_SMALL}])是|——)",
    re.M,
)


def list_items(text: str) -> list[tuple[int, int, int]]:
    """The items of the first list in a cleaned text, as (ordinal, start, end) offsets into it.

    A list is a run of markers of one kind numbered 1, 2, 3, ... (（一）（二）, （1）, 1. 1、, 一是 二是;
    "——" items are numbered by position); markers of other kinds inside an item (its sub-items) stay
    part of it. An item ends where the next one begins; the last at the end of the text.
    """
    marks = []
    for m in _ITEM_AT_RE.finditer(text):
        kind = next((k for k in ("pc", "pa", "a", "s") if m.group(k)), "dash")
        marks.append((kind, cn_to_int(m.group(kind)) if kind != "dash" else None, m.start("mark")))
    first = next((i for i, (k, n, _) in enumerate(marks) if n == 1 or k == "dash"), None)
    if first is None:
        return []
    kind = marks[first][0]
    run, last_end = [marks[first]], len(text)
    for k, n, at in marks[first + 1:]:
        if k != kind:
            continue
        if kind == "dash" or n == len(run) + 1:
            run.append((k, n, at))
        elif n == 1:
            last_end = at  # a second list begins
            break
    ends = [at for _, _, at in run[1:]] + [last_end]
    return [(n or i + 1, at, end) for i, ((_, n, at), end) in enumerate(zip(run, ends))]


# An article a user names: 第十二条, 第 12 条.
ARTICLE_REF_RE = re.compile(rf"第\s*({NUM})\s*条")
# "第二项", "第三个方面": an ordinal pointing at an item of a list.
ORDINAL_REF_RE = re.compile(rf"第\s*([{CN_SMALL}\d]+)\s*(?:项|个|点|类|条措施|方面)")
# A line wholly in brackets: a note under a title ("（2019年12月3日…通过）").
PARENTHESISED_RE = re.compile(r"^[（(].*[）)]$")
TRAILING_NOTE_RE = re.compile(r"[（(][^）)]*[）)]$")  # "…条例（2019年修订）"
# Numbers that place a text in its document rather than state a quantity: 第十七条, 第二款, （三）,
# （2）, a leading "1." or "一、", "一是", and the year and serial of a 文号. An answer's numbers are
# looked for with these blanked out.
STRUCTURAL_NUMBER_RE = re.compile(
    rf"第\s*{NUM}\s*[编章节条款项目]|{PAREN_CN}|{PAREN_ARABIC}|^\s*(?:{ARABIC_ITEM}|{CN_ITEM}|[{CN_SMALL}]是)|"
    rf"〔\d{{4}}〕\s*\d+\s*号|\[\d{{4}}\]\s*\d+\s*号"
)
# A leading numeral ("三项", "2个"): a count, not a content word.
LEADING_NUMERAL_RE = re.compile(rf"^[{CN_SMALL}两\d]")

# --- citation markers ------------------------------------------------------------------------------

# Our own citation marker, [n] (n: one or two digits; the group is the number): what the answerers
# write, cite.py maps, the page renders and the metrics strip.
MARK = r"\[(\d{1,2})\]"
MARK_RE = re.compile(MARK)
# A run of text up to and including one or more adjacent markers ("…施行[1][2]").
MARKED_SEGMENT_RE = re.compile(r"([^\[\]]*?)((?:\[\d{1,2}\])+)")
# A marker as a language model writes it: full-width or 【】 brackets and spaces allowed ("［1］",
# "【 2 】"). Only for reading model output; what we show is rewritten to MARK.
_LOOSE_OPEN, _LOOSE_CLOSE = "\\[［【", "\\]］】"
LOOSE_MARK = rf"[{_LOOSE_OPEN}]\s*(\d{{1,2}})\s*[{_LOOSE_CLOSE}]"
LOOSE_MARK_RE = re.compile(LOOSE_MARK)
# A sentence of model output with the loose markers that end it (and the punctuation after them).
LOOSE_MARKED_SENTENCE_RE = re.compile(
    rf"[^。！？!?\n{_LOOSE_OPEN}]+(?:(?:\s*[{_LOOSE_OPEN}]\s*\d{{1,2}}\s*[{_LOOSE_CLOSE}])+[，,；;。！？!?]?|[。！？!?]|$)")

# --- quoted terms --------------------------------------------------------------------------------

OPEN_QUOTES = "“\"「"
CLOSE_QUOTES = "”\"」"
# A quoted term in a document ("门前五包"): word characters only, 2-10 of them. NOTE: strict on purpose:
# what it finds becomes a jieba user-dictionary word, so a quoted sentence or clause must not match.
QUOTED_TERM_RE = re.compile(rf"[{OPEN_QUOTES}]([\u4e00-\u9fffA-Za-z0-9·]{{2,10}})[{CLOSE_QUOTES}]")
# A quoted phrase in a question: anything up to the closing quote, 2-12 characters. NOTE: loose on
# purpose: a citizen quoting a name ("一窗受理、一次办好") is matched against sentences, not added to a
# dictionary.
QUOTED_PHRASE_RE = re.compile(rf"[{OPEN_QUOTES}]([^{CLOSE_QUOTES}]{{2,12}})[{CLOSE_QUOTES}]")
# "（以下简称市城管局）": the short name a document gives itself for a body or a term.
ABBREVIATION_RE = re.compile(rf"以下简称[{OPEN_QUOTES}]?([\u4e00-\u9fffA-Za-z0-9]{{2,10}})")

# --- measure words and function words ------------------------------------------------------------

# Measure words (量词) a question picks things out with: 哪个部门, 哪几条, 哪家, 多少所. Each list below
# is used as a character class (order does not matter). The variants differ as they were first written
# in rag/answer/; merging them would change how questions are read, so each stays a named addition.
MEASURE_WORDS = "个项类条种家位所座批"
# After an interrogative that governs a noun ("多少家企业", "几名", "几户", "几次"): people and times too.
GOVERNING_MEASURES = MEASURE_WORDS + "名户次"
# Where the focus of a question is read from the words after its interrogative: 人 as well ("多少人").
FOCUS_MEASURES = GOVERNING_MEASURES + "人"
# A count inside a question ("哪五项", "几天", "几年", "几处", "几点"): not evidence.
COUNT_MEASURES = MEASURE_WORDS + "名次天年处点"
# What may follow a number in an answer (entities.py): measure words and units of time, length, area.
QUANTITY_UNITS = "个项名条次天日月年家人所处类度档倍成批户米公里平方米亩辆台件套间张份场届期级岁周小时分钟"
# Quantities a question and an answer must agree on ("6号线", "60周岁", "3批"): a number and its unit.
QUANTITY_UNIT_ALTERNATIVES = "号线|岁|周岁|号楼|公里|米|批|届|项|条|名|户|个|次|万|亿|%"

# Function words: grammar, not content. The core is shared by keyword search and question reading.
FUNCTION_WORDS = frozenset(
    "的 了 是 吗 呢 吧 啊 呀 么 什么 哪 哪些 哪个 哪几 几 怎么 怎样 如何 多少 把 被 就 都 也 还 要 会 能 "
    "可以 有 我 我们 你 你们 这 那 这个 那个 上 下 里 请问 一下 是否 是不是".split()
)
# Dropped from keyword (BM25) tokens as well: prepositions, conjunctions, pronouns, 一个.
SEARCH_STOPWORDS = FUNCTION_WORDS | frozenset("在 和 与 及 或 等 为 对 没有 他 她 它 中 一个".split())
# Words that ask rather than say what is asked about (never evidence terms of a question): the core,
# and the interrogatives, politeness and verbs of asking a citizen's question is wrapped in.
QUESTION_WORDS = FUNCTION_WORDS | frozenset(
    "多少钱 几个 哪家 哪位 哪里 哪儿 哪天 哪年 什么样 什么时候 何时 多久 多长 多大 多高 多宽 多远 怎么办 能不能 "
    "可不可以 有没有 有没 谁 一共 分别 具体 主要 规定 要求 问 需要 得 到 给 又 咱 咱们 想 想问 知道 说 讲 现在 "
    "目前 一般 个 啥 咋 嘛 时候 告诉 请 麻烦 打听 问问 咨询".split()
)

# --- newspapers ----------------------------------------------------------------------------------

BYLINE_RE = re.compile(r"^□(?!责任编辑)")  # □记者 王健 报道
DATELINE_RE = re.compile(r"^本报[\u4e00-\u9fff\d]{0,10}讯")  # 本报济南4月2日讯
# A web news page's byline: "发布时间：2025-03-28 信息来源：区卫生健康局" (time and source on the page head).
WEB_BYLINE_RE = re.compile(r"(?:发布|发表)(?:时间|日期)\s*[:：].{0,60}?(?:信息)?来源\s*[:：]")
# Newspaper furniture at the start of a lead sentence: "权威发布 □记者李振报道 本报济南4月2日讯 记者从…获悉,".
LEAD_FURNITURE_RE = re.compile(
    r"^(?:[^。，,]{0,12}?□\s*记者[\u4e00-\u9fff、\s]{2,16}?报道\s*)?(?:本报[^，,。]{0,12}?讯\s*)"
    r"(?:\d{1,2}月\d{1,2}日[，,]?)?(?:记者[^，,。]{0,40}?获悉[，,。]?)?|^□\s*记者[\u4e00-\u9fff、\s]{2,16}?报道\s*")

# --- characters ----------------------------------------------------------------------------------

_CJK_RANGES = (
    (0x2000, 0x206F),  # general punctuation: “” — …
    (0x3000, 0x303F),  # CJK symbols and punctuation: 、。〔〕
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xFF00, 0xFFEF),  # full-width forms: （），：
)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone UTF-16 surrogates: not text; a JSON string can carry them ("\ud800"), UTF-8 cannot.
SURROGATE_RE = re.compile("[\ud800-\udfff]")
# Characters that take no space on the page (zero-width space and joiners, BOM, word joiner): web and
# Word copies carry them inside words and on otherwise empty lines.
INVISIBLE = "\u200b\u200c\u200d\ufeff\u2060"
_SPACE_OR_INVISIBLE_RE = re.compile(f"[\\s{INVISIBLE}]+")
# A run of whitespace alone (invisible characters not included). NOTE: drop_spaces, not squeeze, is what
# the fitted answer features and the corpus-term harvest were built with; kept apart so nothing moves.
SPACE_RE = re.compile(r"\s+")
# Removed from a question before anything else reads it, so "门\u200b前" is "门前".
INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")


def is_cjk(ch: str) -> bool:
    """A Chinese character, CJK punctuation or a full-width form."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def squeeze(s: str) -> str:
    """Remove all whitespace and invisible characters (to compare lines regardless of extraction spacing)."""
    return _SPACE_OR_INVISIBLE_RE.sub("", s)


def drop_spaces(s: str) -> str:
    """Remove whitespace only; invisible characters stay (``squeeze`` removes both)."""
    return SPACE_RE.sub("", s)


def normalize(text: str) -> str:
    """NFKC and lower case: how keywords are compared."""
    return unicodedata.normalize("NFKC", text).lower()


# --- sentences -----------------------------------------------------------------------------------

def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of a cleaned text, outer whitespace excluded; a sentence ends
    at 。！？!? (kept) or a line break (dropped)."""
    out = []
    a = 0
    for i, ch in enumerate(text):
        if ch in SENTENCE_END or i == len(text) - 1:
            b = i + 1 if ch != "\n" else i
            piece = text[a:b]
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece) - len(piece.rstrip())
            if b - trail > a + lead:
                out.append((a + lead, b - trail))
            a = i + 1
    return out


# Where a quote may begin or end inside an answerable unit: a sentence end or a semicolon (which ends
# a clause of a provision and an item of an inline list), besides line breaks and item starts.
QUOTE_END = STOPS + STOPS_ASCII + SEMICOLONS


def whole_sentences(text: str) -> list[tuple[int, int]]:
    """[start, end) of the whole sentences of a cleaned text, outer whitespace excluded: the pieces an
    answer may quote and a trim may drop. A sentence ends at 。！？!?；; (kept, with a closing quote or
    bracket after it), at a line break (dropped), or where a list item begins ("…如下：（一）…"); it
    is never cut at a comma."""
    cuts = {0, len(text)}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in QUOTE_END:
            j = i + 1
            while j < len(text) and text[j] in CLOSERS:
                j += 1
            cuts.add(j)
            i = j
            continue
        if ch == "\n":
            cuts.add(i)
        i += 1
    cuts |= {m.start("mark") for m in _ITEM_AT_RE.finditer(text)}
    out = []
    bounds = sorted(cuts)
    for a, b in zip(bounds, bounds[1:]):
        piece = text[a:b]
        lead, trail = len(piece) - len(piece.lstrip()), len(piece) - len(piece.rstrip())
        if b - trail > a + lead:
            out.append((a + lead, b - trail))
    return out


# A heading's label: 第X条 (章, 节), 一、, （一）, （1）, 1.
HEAD_LABEL_RE = re.compile(rf"^\s*(?:{HEADING}|{CN_ITEM}|{PAREN_CN}|{PAREN_ARABIC}|{ARABIC_ITEM})\s*")
HEAD_TITLE_CHARS = 20  # a heading's title is at most this long


def is_heading(sentence: str) -> bool:
    """A sentence that only names what follows: a label (第X条, 一、, （一）) with a short title and no
    clause of a body ("第三条 工作原则", "（一）推动办事流程集成。"), or a short line without sentence
    punctuation (a title). An item that ends in ；, or has a comma, is a whole item, not a heading."""
    s = squeeze(sentence)
    m = HEAD_LABEL_RE.match(s)
    title = s[m.end():] if m else s
    if title.endswith(FULL_STOP) and m:
        title = title[:-1]
    return len(title) <= HEAD_TITLE_CHARS and not any(ch in SENTENCE_PUNCT for ch in title)


_CASE_END_RE = re.compile(rf"的[{SEMICOLONS}{STOPS}]?$")


def names_a_case(item: str) -> bool:
    """An item that only names a case ("（十）驾驶摩托车，不戴安全头盔的。"): what holds for it is said
    by the list's lead-in ("…一次记1分："), not by the item."""
    return bool(_CASE_END_RE.search(item.strip()))


def question_tail(text: str, max_chars: int) -> str:
    """The end of a long question, at most max_chars characters, cut at a sentence start where one
    fits: a citizen's long message tells its story first and asks last. Text within the limit comes
    back whole."""
    if len(text) <= max_chars:
        return text
    for a, _ in sentence_bounds(text):
        if len(text) - a <= max_chars:
            return text[a:].strip()
    return text[-max_chars:]
