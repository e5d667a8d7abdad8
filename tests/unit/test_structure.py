"""Structure read from the grammar of Chinese official texts, on small texts written for the tests:
regulations in Markdown and plain text, Word files with automatic numbering, PDFs with running heads
and page numbers, government web pages. No model, no index."""

from __future__ import annotations

import logging

import pytest

from rag.ingest.chunk import chunk_source
from rag.ingest.load import read_source, strip_page_furniture
from rag.ingest.structure import doc_kind, parse
from rag.types import SourceText

REG_MD = (
    "# 某市示范条例\n\n"
    "（2020年3月27日某市第十五届人民代表大会常务委员会第五次会议通过）\n\n"
    "## 第一章 总 则\n\n"
    "第一条 为了规范示范管理，制定本条例。\n\n"
    "第二条本条例适用于本市行政区域内的示范活动。\n\n"
    "\u200b\n\n"
    "## 第二章   管理\n\n"
    "### 第一节 一般规定\n\n"
    "第三条 示范单位应当依照本条例第十二条的规定备案。\n"
    "第十二条规定的情形，不适用本条。\n\n"
    "第五条 示范活动分为以下两类：\n（一）常规示范；\n（二）专项示范。\n\n"
    "第六条 本条例自2020年5月1日起施行。"
)


def src(text: str, name: str = "reg.md") -> SourceText:
    return SourceText(name, text, "utf-8", "0")


def articles(chunks) -> list[str]:
    out = []
    for c in chunks:
        label = next((s for s in c.section if s.startswith("第") and s.endswith("条")), None)
        if label and label not in out:
            out.append(label)
    return out


def test_a_markdown_regulation_is_one_document_with_its_chapters_sections_and_articles(caplog):
    with caplog.at_level(logging.INFO, logger="rag.ingest.structure"):
        docs = parse(src(REG_MD))
    assert len(docs) == 1  # a chapter heading never starts a document
    doc = docs[0].doc
    assert doc.kind == "regulation" and doc.title == "某市示范条例"
    assert doc.date == "2020-03-27" and "通过" in doc.header
    chunks = chunk_source(src(REG_MD))
    assert articles(chunks) == ["第一条", "第二条", "第三条", "第五条", "第六条"]
    by = {c.section[-1]: c for c in chunks}
    assert by["第一条"].section == ("第一章 总则", "第一条")  # the space inside 总 则 is extraction noise
    assert by["第三条"].section == ("第二章 管理", "第一节 一般规定", "第三条")
    # A cross-reference at a line start stays inside its article; the gap 三 -> 五 keeps both, logged.
    assert "第十二条规定的情形" in by["第三条"].text
    assert any("第三条" in r.message and "第五条" in r.message for r in caplog.records)
    assert "（二）专项示范" in by["第五条"].text
    assert all(c.kind == "regulation" and c.level == "article" for c in chunks)
    assert not any("通过" in c.text and "第" not in c.text[:2] for c in chunks)  # the header is no chunk
    assert all("\u200b" not in c.text for c in chunks)


def test_the_same_regulation_without_markdown_gives_the_same_articles():
    plain = REG_MD.replace("## ", "").replace("### ", "").replace("# ", "")
    assert articles(chunk_source(src(plain, "reg.txt"))) == articles(chunk_source(src(REG_MD)))


@pytest.mark.parametrize("title, kind", [
    ("某市示范条例", "regulation"), ("某市示范管理办法（2019年修订）", "regulation"), ("中华人民共和国示范法", "regulation"),
    ("关于做好示范工作的通知", "notice"), ("关于加强示范管理的意见", "notice"), ("某市示范建设三年行动方案", "plan"),
    ("某市“十四五”示范规划", "plan"), ("第十三批示范人才名单", "list"), ("示范工作取得新进展", "other"),
])
def test_kind_from_the_title(title, kind):
    assert doc_kind(title) == kind


def test_prose_without_structure_is_chunked_by_paragraphs_under_the_cap():
    prose = "\n\n".join(f"第{i}段说明示范工作的情况，" + "内容" * 150 + "。" for i in range(1, 4))
    chunks = chunk_source(src("示范工作情况说明\n\n" + prose, "prose.txt"))
    assert len(chunks) >= 3 and all(len(c.text) <= 400 for c in chunks)


def test_pdf_running_heads_and_page_numbers_are_dropped_once_per_page():
    pages = [
        "某市示范条例\n- 1 -\n某市示范条例\n第一条 为了规范示范管理，制定本\n条例。",
        "某市示范条例\n- 2 -\n第二条 本条例适用于本市。\n第 2 页 共 3 页",
        "某市示范条例\n- 3 -\n第三条 本条例自公布之日起施行。\n第 3 页 共 3 页",
    ]
    text = "\n".join(strip_page_furniture(pages))
    assert text.count("某市示范条例") == 1 and "- 2 -" not in text and "页" not in text
    assert "制定本\n条例" in text  # body lines are left for the cleaner to rejoin


def test_a_pdf_with_a_header_on_every_page(tmp_path):
    pytest.importorskip("reportlab")
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "reg.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    body = ["某市示范条例", "第一条 为了规范示范管理，制定本条例。", "第二条 本条例适用于本市行政区域。",
            "第三条 示范单位应当备案。", "第四条 本条例自2020年5月1日起施行。"]
    for page, lines in enumerate([body[:3], body[3:]], 1):
        c.setFont("STSong-Light", 10)
        c.drawString(250, 800, "某市示范条例")
        c.drawString(280, 40, f"第 {page} 页 共 2 页")
        c.setFont("STSong-Light", 12)
        for i, line in enumerate(lines):
            c.drawString(72, 740 - 24 * i, line)
        c.showPage()
    c.save()
    chunks = chunk_source(read_source(path))
    assert articles(chunks) == ["第一条", "第二条", "第三条", "第四条"]
    assert all("页" not in ch.text and "某市示范条例" not in ch.text for ch in chunks)


def _numbered_docx(path):
    docx = pytest.importorskip("docx")
    from docx.oxml import parse_xml

    d = docx.Document()
    d.add_heading("某市示范办法", level=1)
    d.add_heading("第一章 总则", level=2)
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    numbering = d.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {w} w:abstractNumId="90"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="chineseCounting"/><w:lvlText w:val="第%1条"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {w} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    for text in ("为了规范示范管理，制定本办法。", "本办法适用于本市。", "本办法自2020年5月1日起施行。"):
        p = d.add_paragraph(text)
        p._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {w}><w:ilvl w:val="0"/><w:numId w:val="90"/></w:numPr>'))
    d.save(path)


def test_a_word_auto_numbered_article_still_starts_an_article(tmp_path):
    path = tmp_path / "numbered.docx"
    _numbered_docx(path)
    text = read_source(path).text
    assert "第一条 为了规范示范管理" in text and "第三条 本办法自2020年5月1日起施行" in text
    chunks = chunk_source(read_source(path))
    assert articles(chunks) == ["第一条", "第二条", "第三条"]
    assert chunks[0].title == "某市示范办法" and chunks[0].section == ("第一章 总则", "第一条")


def test_a_government_web_page_keeps_the_article_body_only(tmp_path):
    page = (
        "<html><head><title>某市示范条例_某市人民政府</title><script>var x = '第九条 假的';</script></head><body>"
        "<div class='top-nav'><a>首页</a><a>政务公开</a></div><nav><a>第八条 菜单</a></nav>"
        "<div class='breadcrumb'>当前位置：首页 &gt; 政策文件</div>"
        "<div class='article-content'><h1>某市示范条例</h1>"
        "<p>第一条 为了规范示范管理，制定本条例。</p><p>第二条 本条例适用于本市。</p>"
        "<p>第三条 本条例自公布之日起施行。</p></div>"
        "<div id='footer'>版权所有：某市人民政府 ICP备案号 联系电话：12345</div></body></html>"
    )
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    text = read_source(path).text
    assert "版权所有" not in text and "首页" not in text and "菜单" not in text and "假的" not in text
    assert articles(chunk_source(read_source(path))) == ["第一条", "第二条", "第三条"]


def test_parts_of_a_code_hold_chapters_that_restart_their_numbers():
    code = ("某示范法典\n第一编 总则\n第一章 基本规定\n第一条 为了示范，制定本法。\n第二条 本法适用于示范。\n"
            "第二编 物权\n第一章 通则\n第三条 物权受法律保护。\n第二章 所有权\n第四条 所有权人依法享有权利。\n")
    by = {c.section[-1]: c.section for c in chunk_source(src(code, "code.txt"))}
    assert by["第一条"] == ("第一编 总则", "第一章 基本规定", "第一条")
    assert by["第三条"] == ("第二编 物权", "第一章 通则", "第三条")
    assert by["第四条"] == ("第二编 物权", "第二章 所有权", "第四条")


def test_a_notice_issuing_a_plan_is_a_plan_and_its_two_line_signature_closes_the_cover():
    notice = ("某市人民政府关于印发某市示范建设行动方案的通知\n某政发〔2030〕5号\n各区县人民政府：\n"
              "现将《某市示范建设行动方案》印发给你们，请认真贯彻执行。\n某市人民政府\n2030年3月2日\n（此件公开发布）\n"
              "某市示范建设行动方案\n（2030-2032年）\n一、总体要求\n到2032年，示范单位达到100家。\n"
              "二、重点任务\n（一）完善示范制度。建立示范评估机制。\n（二）加强示范管理。每年开展一次检查。\n")
    docs = parse(src(notice, "n.txt"))
    assert len(docs) == 1 and docs[0].doc.kind == "plan" and docs[0].doc.date == "2030-03-02"
    chunks = chunk_source(src(notice, "n.txt"))
    body = [c for c in chunks if c.title != docs[0].doc.title]
    assert body and all(c.title == "某市示范建设行动方案（2030-2032年）" and c.kind == "plan" for c in body)
    assert not any(c.text.strip() in ("某市人民政府", "2030年3月2日", "（此件公开发布）") for c in chunks)
    assert [c.section[0] for c in body if c.section][:1] == ["一、总体要求"]
    starts = sorted((c.start, c.end) for c in chunks)
    assert all(a[1] <= b[0] for a, b in zip(starts, starts[1:]))  # no chunk overlaps another


@pytest.mark.parametrize("title, kind", [
    ("国务院关于印发计量发展规划（2013-2020年）的通知", "plan"), ("某市人民政府关于印发某市示范管理办法的通知", "regulation"),
    ("关于公布第三批示范单位名单的通知", "list"), ("关于做好示范工作的通知", "notice"),
])
def test_a_notice_is_of_the_kind_of_the_text_it_issues(title, kind):
    assert doc_kind(title) == kind


def test_a_web_news_page_is_news_by_its_time_and_source_line():
    page = ("某区扎实推进示范服务\n发布时间：2030-03-28 16:55 信息来源：区示范局\n"
            "2030年3月27日，某区示范局召开推进会，部署全年示范服务工作。\n会议要求各单位按期完成任务。\n")
    assert parse(src(page, "news.md"))[0].doc.kind == "news"
    assert parse(src(page.replace("发布时间：2030-03-28 16:55 信息来源：区示范局\n", ""), "x.md"))[0].doc.kind == "other"
