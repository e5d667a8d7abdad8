"""A citation's label names the clause part its quote lies in (issue 20, point 9): the API's record of
a quote from item (五) of a chunk that starts at item (四) says (五), as the page's card does."""

from __future__ import annotations

from rag.cite import make_citation, quoted_section
from rag.ingest.clean import clean
from rag.record import citation_record
from rag.types import Chunk

RAW = "第七条 示范五包包括以下内容：\n（四）包秩序良好。有序停放车辆。\n（五）包绿化美观。保护花草树木。\n"
START = RAW.index("（四）")
CHUNK = Chunk(f"n/00:{START}-{len(RAW) - 1}", "n/00", "n.txt", START, len(RAW) - 1, clean(RAW, START, len(RAW) - 1).text,
              ("第七条", "（四）包秩序良好"), "示范办法", "济政发〔2030〕1号")


def cite(quote: str):
    s = RAW.index(quote)
    return make_citation(CHUNK, RAW, s, s + len(quote))


def test_the_record_of_a_quote_from_a_later_item_names_that_item():
    rec = citation_record(cite("保护花草树木"))
    assert rec["section"] == ["第七条", "（五）包绿化美观"]
    assert rec["quote"] == "保护花草树木" and RAW[rec["start"]:rec["end"]] == "保护花草树木"


def test_the_record_of_a_quote_from_the_first_item_keeps_it():
    assert citation_record(cite("有序停放车辆"))["section"] == ["第七条", "（四）包秩序良好"]


def test_a_quote_before_any_item_is_labelled_with_the_article_alone():
    raw = "第七条 示范五包包括以下内容：\n（一）包卫生整洁。\n"
    chunk = Chunk("n/00:0-24", "n/00", "n.txt", 0, len(raw) - 1, clean(raw, 0, len(raw) - 1).text, ("第七条",), "示范办法")
    c = make_citation(chunk, raw, 0, raw.index("：") + 1)
    assert c.section == ("第七条",)


def test_quoted_section_joins_several_items_in_order_once_each():
    text = CHUNK.text
    starts = [text.index("保护"), text.index("有序"), text.index("（五）")]
    assert quoted_section(CHUNK.section, text, starts) == ("第七条", "（五）包绿化美观、（四）包秩序良好")
    assert quoted_section(CHUNK.section, text, []) == CHUNK.section
