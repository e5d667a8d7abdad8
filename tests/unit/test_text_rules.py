"""Text rules, cleaning and structure on small hand-made texts (no corpus, no model)."""

from __future__ import annotations

import pytest

from rag.ingest.clean import clean
from rag.ingest.structure import parse
from rag.text import cn_to_int, int_to_cn, is_cjk, list_items, normalize_doc_number
from rag.types import SourceText



def test_clean_joins_broken_lines_and_keeps_latin_spaces_with_offsets():
    raw = "第十七条 区县政府对临街单位落实\n\n\"门前五包\"情况, 到 2025 年 GDP 达到 Qwen 2 水平。\n济南市人民政府公报\n第十八条 对一年内"
    c = clean(raw)
    assert c.text == '第十七条 区县政府对临街单位落实"门前五包"情况,到2025年GDP达到Qwen 2水平。\n第十八条 对一年内'
    assert len(c.offsets) == len(c.text)
    for ch, off in zip(c.text, c.offsets):
        if ch != "\n":
            assert raw[off] == ch
    a = c.text.find("情况")
    s, e = c.raw_span(a, a + 2)
    assert raw[s:e] == "情况"


def test_midline_article_is_split_and_cross_references_are_not_headings():
    raw = (
        "第一条 总则内容。 第二条 依照本办法\n第十二条规定的情形处理,不再赘述。\n"
        "第三条 其他事项。\n（一）甲项;\n（二）乙项。\n"
    )
    src = SourceText("t.txt", raw, "utf-8", "0")
    root = parse(src)[0].root
    arts = [n.label for n in root.children]
    assert arts == ["第一条", "第二条", "第三条"]
    assert [n.label for n in root.children[2].children] == ["（一）甲项", "（二）乙项"]


@pytest.mark.parametrize(
    "text, expected",
    [("济政字 [2021] 65 号", "济政字〔2021〕65号"), ("(济政办字〔2018〕65号)", "济政办字〔2018〕65号"), ("无文号", None)],
)
def test_doc_number_normalisation(text, expected):
    assert normalize_doc_number(text) == expected


def test_numerals():
    assert [cn_to_int(x) for x in ("十三", "二十二", "一百零五", "7")] == [13, 22, 105, 7]
    assert [int_to_cn(n) for n in (1, 10, 13, 22, 34)] == ["一", "十", "十三", "二十二", "三十四"]
    assert is_cjk("条") and not is_cjk("a")


def items(text: str) -> list[tuple[int, str]]:
    return [(n, text[a:b]) for n, a, b in list_items(text)]


@pytest.mark.parametrize("text, expected", [
    # One item a line, sub-items of another kind inside an item stay in it.
    ("第九条 包括以下内容:\n（一）甲项。说明。\n（二）乙项:1.子一;2.子二。\n（三）丙项。",
     [(1, "（一）甲项。说明。\n"), (2, "（二）乙项:1.子一;2.子二。\n"), (3, "（三）丙项。")]),
    # Inline 一是 二是 after a colon and semicolons; 一是 inside a word is no item.
    ("主要做好以下工作：一是加强宣传；二是推进落实；三是统一是非标准。",
     [(1, "一是加强宣传；"), (2, "二是推进落实；"), (3, "三是统一是非标准。")]),
    # Arabic items behind Markdown bullets; a second list ends the first.
    ("办理材料:\n- 1.申请表\n- 2.身份证\n另需:\n1.照片", [(1, "1.申请表\n- "), (2, "2.身份证\n另需:\n")]),
    # No list.
    ("第十条 本办法自发布之日起施行。", []),
])
def test_list_items_are_found_by_their_own_ordinals(text, expected):
    assert items(text) == expected


def test_units_inside_a_chunk_take_their_text_and_offsets_from_the_chunks_cleaning():
    """A break after a short line ("免费创") is joined in the chunk (the line before it holds a full
    stop) but not when the unit is cleaned on its own: indices into the unit's text must map through
    the chunk's cleaning, or every quote cut after the break starts one character early."""
    from rag.cite import span_cleaning
    from rag.ingest.units import chunk_units
    from rag.types import Chunk

    raw = "我市面向来济青年推出一系列暖心举措。免费创\n\n业工位、培训补贴全链条扶持；公交三年免费，租房补贴等政策相继推出。\n"
    chunk = Chunk("t:0-60", "t", "t.txt", 0, len(raw) - 1, clean(raw, 0, len(raw) - 1).text, (), "")
    s, e, text = chunk_units(raw, chunk)[1]
    assert text == "免费创业工位、培训补贴全链条扶持；公交三年免费，租房补贴等政策相继推出。"
    assert clean(raw, s, e).text != text  # the part cleaned again differs: the cause of the old off-by-one
    c = span_cleaning(raw, chunk, s, e)
    assert c.text == text
    a = text.index("租房")
    qs, qe = c.raw_span(a, len(text) - 1)
    assert raw[qs:qe] == "租房补贴等政策相继推出"


def test_question_tail_keeps_a_long_messages_closing_sentences():
    from rag.text import question_tail

    story = "我在街上开了一家小超市，门口人流量很大。最近街道来宣传管理规定，我不太清楚。"
    assert question_tail(story + "请问门前五包包括哪些内容？", 20) == "请问门前五包包括哪些内容？"
    assert question_tail("门前五包包括哪些内容？", 20) == "门前五包包括哪些内容？"  # short: whole
    assert question_tail("甲" * 30, 10) == "甲" * 10  # one long sentence: its end
