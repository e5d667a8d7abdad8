#!/usr/bin/env python3
"""Regenerate the derived formats (.txt/.docx/.pdf/.html) of the test collection.

Reads the Markdown sources in ``collection/md/`` and writes
``collection/{txt,docx,pdf,html}/``.  The output is deterministic for a given
python-docx / reportlab version (PDF creation dates and document IDs are
fixed, docx core-property timestamps are fixed).

    pip install python-docx reportlab          # from PyPI
    python tests/data/make_formats.py          # regenerate everything
    python tests/data/make_formats.py --check  # regenerate, then re-open every
                                               # output (python-docx / pypdf) and
                                               # print a short verification report

What each derived file is for is listed in ``DERIVED`` below and in README.md.
The page furniture of the PDF and HTML files (running header, page numbers,
navigation, footer with 版权所有 / ICP备案 / 联系电话, scripts) is synthetic;
every number in it is a zero placeholder.  The body text is the Markdown
source text.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import html
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLLECTION = HERE / "collection"
MD_DIR = COLLECTION / "md"

NUM = r"[一二三四五六七八九十百零〇两\d]+"
ARTICLE_LABEL_RE = re.compile(rf"^(第{NUM}条)[ \u3000]*")

# --------------------------------------------------------------------------
# What to produce.  ``file`` is relative to collection/, ``src`` is a file in
# collection/md/.  build_manifest.py imports this list.
# --------------------------------------------------------------------------
DERIVED: list[dict] = [
    # ---- plain text ------------------------------------------------------
    {"file": "txt/reg_real_estate_registration.txt", "src": "reg_real_estate_registration.md",
     "format": "txt", "encoding": "utf-8", "newline": "\n", "strip_markdown": True},
    {"file": "txt/law_national_anthem.txt", "src": "law_national_anthem.md",
     "format": "txt", "encoding": "utf-8", "newline": "\n", "strip_markdown": False},
    {"file": "txt/zj_river_chief_system.gb18030.txt", "src": "zj_river_chief_system.md",
     "format": "txt", "encoding": "gb18030", "newline": "\r\n", "strip_markdown": True},
    # ---- Word ------------------------------------------------------------
    {"file": "docx/reg_real_estate_registration.docx", "src": "reg_real_estate_registration.md",
     "format": "docx", "autonumber": False},
    {"file": "docx/rule_mss_reporting_rewards.autonum.docx", "src": "rule_mss_reporting_rewards.md",
     "format": "docx", "autonumber": True},
    {"file": "docx/law_maritime_procedure.docx", "src": "law_maritime_procedure.md",
     "format": "docx", "autonumber": False},
    {"file": "docx/law_criminal_procedure.docx", "src": "law_criminal_procedure.md",
     "format": "docx", "autonumber": False},
    # ---- PDF -------------------------------------------------------------
    {"file": "pdf/reg_real_estate_registration.pdf", "src": "reg_real_estate_registration.md",
     "format": "pdf", "footer": "dash"},            # "- 3 -"
    {"file": "pdf/law_maritime_procedure.pdf", "src": "law_maritime_procedure.md",
     "format": "pdf", "footer": "page_of_total"},   # "第 3 页 共 9 页"
    {"file": "pdf/spc_online_mediation_rules.pdf", "src": "spc_online_mediation_rules.md",
     "format": "pdf", "footer": "dash"},
    # ---- HTML ------------------------------------------------------------
    {"file": "html/sd_dezhou_braised_chicken.html", "src": "sd_dezhou_braised_chicken.md",
     "format": "html", "site": "德州市人大常委会", "icp": "鲁ICP备00000000号-1",
     "ga": "鲁公网安备 00000000000000号", "phone": "0534-0000000",
     "section": "地方性法规", "heading_tags": True},
    {"file": "html/zj_ningbo_honorary_citizens.html", "src": "zj_ningbo_honorary_citizens.md",
     "format": "html", "site": "宁波人大", "icp": "浙ICP备00000000号",
     "ga": "浙公网安备 00000000000000号", "phone": "0574-00000000",
     "section": "法规库", "heading_tags": False},
]

FIXED_DATE = _dt.datetime(2024, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def read_md(name: str) -> str:
    return (MD_DIR / name).read_text(encoding="utf-8")


def md_lines(text: str) -> list[tuple[int, str]]:
    """(heading level or 0, text) for every non-blank line.  Lines are kept
    verbatim except that the Markdown '#' marker (and the space after it) is
    removed from heading lines."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = re.match(r"^(#{1,6})[ \t]+(.*)$", line)
        if m:
            out.append((len(m.group(1)), m.group(2).rstrip()))
        else:
            out.append((0, line))
    return out


def title_of(text: str) -> str:
    for level, s in md_lines(text):
        if level == 1:
            return s
    raise ValueError("no '# title' line")


def strip_markdown(text: str) -> str:
    """Remove heading markers only; everything else (blank lines, U+3000,
    trailing spaces) stays as it is."""
    return "\n".join(re.sub(r"^#{1,6}[ \t]+", "", ln) for ln in text.split("\n"))


# --------------------------------------------------------------------------
# TXT
# --------------------------------------------------------------------------
def make_txt(spec: dict, out: Path) -> None:
    text = read_md(spec["src"])
    if spec.get("strip_markdown"):
        text = strip_markdown(text)
    if not text.endswith("\n"):
        text += "\n"
    text = text.replace("\n", spec.get("newline", "\n"))
    out.write_bytes(text.encode(spec["encoding"]))


# --------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------
def _add_article_numbering(document) -> int:
    """Add a numbering definition 'chineseCounting' / '第%1条' to
    numbering.xml and return its numId."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls, qn

    numbering = document.part.numbering_part.element
    abstract_ids = [int(a.get(qn("w:abstractNumId"))) for a in numbering.findall(qn("w:abstractNum"))]
    num_ids = [int(n.get(qn("w:numId"))) for n in numbering.findall(qn("w:num"))]
    abstract_id = max(abstract_ids, default=-1) + 1
    num_id = max(num_ids, default=0) + 1
    abstract = parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">'
        '<w:nsid w:val="5A0C7E11"/>'
        '<w:multiLevelType w:val="singleLevel"/>'
        '<w:tmpl w:val="0409001F"/>'
        '<w:lvl w:ilvl="0">'
        '<w:start w:val="1"/>'
        '<w:numFmt w:val="chineseCounting"/>'
        '<w:suff w:val="space"/>'
        '<w:lvlText w:val="第%1条"/>'
        '<w:lvlJc w:val="left"/>'
        '<w:pPr><w:ind w:left="0" w:firstLine="0"/></w:pPr>'
        '<w:rPr><w:rFonts w:hint="eastAsia"/><w:b/></w:rPr>'
        '</w:lvl>'
        '</w:abstractNum>'
    )
    num = parse_xml(
        f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/></w:num>'
    )
    # schema order: all abstractNum elements before the num elements
    first_num = numbering.find(qn("w:num"))
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    numbering.append(num)
    return num_id


def _set_num_pr(paragraph, num_id: int) -> None:
    """<w:numPr><w:ilvl w:val="0"/><w:numId w:val="num_id"/></w:numPr>, inserted
    at its schema position inside <w:pPr>."""
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = 0
    num_pr.get_or_add_numId().val = num_id


def _normalise_zip(path: Path) -> None:
    """python-docx stamps zip members with the current time; rewrite them with
    a fixed timestamp so that regenerated .docx files are byte-identical."""
    import zipfile

    with zipfile.ZipFile(path) as zin:
        members = [(i, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for info, data in members:
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zout.writestr(zi, data)


def make_docx(spec: dict, out: Path) -> None:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    text = read_md(spec["src"])
    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name = "宋体"
    normal.font.size = Pt(12)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")

    num_id = _add_article_numbering(document) if spec.get("autonumber") else None
    n_numbered = 0
    for level, s in md_lines(text):
        if level:
            p = document.add_paragraph(s, style=f"Heading {min(level, 9)}")
            if level == 1:
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            continue
        m = ARTICLE_LABEL_RE.match(s)
        if num_id is not None and m:
            p = document.add_paragraph(s[m.end():])
            _set_num_pr(p, num_id)
            n_numbered += 1
        else:
            document.add_paragraph(s)

    props = document.core_properties
    props.title = title_of(text)
    props.author = "tests/data/make_formats.py"
    props.comments = f"Derived from collection/md/{spec['src']} (LawRefBook/Laws)"
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    props.last_modified_by = "make_formats.py"
    props.revision = 1
    document.save(str(out))
    _normalise_zip(out)
    if num_id is not None:
        spec["_numbered_paragraphs"] = n_numbered


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------
FONT = "STSong-Light"


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def make_pdf(spec: dict, out: Path) -> None:
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas as _canvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
    from reportlab import rl_config

    _register_font()
    rl_config.invariant = 1  # fixed creation date / document id -> reproducible bytes

    text = read_md(spec["src"])
    title = title_of(text)
    footer_style = spec["footer"]
    page_w, page_h = A4

    class FurnitureCanvas(_canvas.Canvas):
        """Draws the running header and the page-number footer once the total
        number of pages is known."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved_states = []

        def showPage(self):
            self._saved_states.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved_states)
            for state in self._saved_states:
                self.__dict__.update(state)
                self._furniture(total)
                super().showPage()
            super().save()

        def _furniture(self, total: int) -> None:
            n = self._pageNumber
            self.saveState()
            self.setFont(FONT, 9)
            self.drawCentredString(page_w / 2, page_h - 15 * mm, title)
            self.setLineWidth(0.5)
            self.line(25 * mm, page_h - 17 * mm, page_w - 25 * mm, page_h - 17 * mm)
            self.setFont(FONT, 10)
            if footer_style == "dash":
                label = f"- {n} -"
            else:
                label = f"第 {n} 页 共 {total} 页"
            self.drawCentredString(page_w / 2, 12 * mm, label)
            self.restoreState()

    base = dict(fontName=FONT, wordWrap="CJK")
    styles = {
        0: ParagraphStyle("body", fontSize=12, leading=20, **base),
        1: ParagraphStyle("h1", fontSize=18, leading=28, alignment=TA_CENTER, spaceAfter=8, **base),
        2: ParagraphStyle("h2", fontSize=14, leading=24, alignment=TA_CENTER, spaceBefore=6, spaceAfter=4, **base),
        3: ParagraphStyle("h3", fontSize=13, leading=22, alignment=TA_CENTER, spaceBefore=4, spaceAfter=2, **base),
        4: ParagraphStyle("h4", fontSize=12, leading=20, alignment=TA_CENTER, **base),
    }
    story = []
    for level, s in md_lines(text):
        style = styles.get(level, styles[4])
        story.append(Paragraph(html.escape(s, quote=False), style))
        if level == 1:
            story.append(Spacer(1, 4 * mm))

    doc = SimpleDocTemplate(
        str(out), pagesize=A4,
        leftMargin=25 * mm, rightMargin=25 * mm, topMargin=25 * mm, bottomMargin=22 * mm,
        title=title, author="tests/data/make_formats.py",
        subject=f"Derived from collection/md/{spec['src']} (LawRefBook/Laws)",
        creator="reportlab (tests/data/make_formats.py)",
    )
    doc.build(story, canvasmaker=FurnitureCanvas)


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------
HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1">
<!-- Synthetic government-site page generated by tests/data/make_formats.py.
     Body text: collection/md/{src} (LawRefBook/Laws).  Site name, numbers,
     ICP/备案 and phone numbers are placeholders (all zeros). -->
<meta name="SiteName" content="{site}">
<meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{date}">
<title>{title}_{section}_{site}</title>
<link rel="stylesheet" href="/static/css/common.css">
<style>
body{{margin:0;font-family:"Microsoft YaHei",SimSun,sans-serif;background:#f4f4f4}}
.top-bar,.site-header,.main-nav,.breadcrumb,.main,.site-footer{{width:1200px;margin:0 auto}}
.main-nav ul{{list-style:none;margin:0;padding:0;background:#b40000}}
.main-nav li{{display:inline-block;padding:10px 18px}} .main-nav a{{color:#fff;text-decoration:none}}
.article{{background:#fff;padding:30px 60px}} .content p{{text-indent:2em;line-height:2}}
.site-footer{{color:#666;font-size:13px;text-align:center;padding:20px 0;border-top:3px solid #b40000}}
</style>
<script type="text/javascript">
  var _hmt = _hmt || [];
  (function () {{ /* page-view statistics placeholder */ var s = document.createElement("script"); s.async = true; s.src = "/static/js/stat.js?id=0000000000"; document.getElementsByTagName("head")[0].appendChild(s); }})();
</script>
</head>
<body>
<div class="top-bar">
  <span>今天是 <span id="today"></span></span>
  <a href="#" onclick="return false;">无障碍浏览</a> | <a href="#" onclick="return false;">长者模式</a> | <a href="/m/">手机版</a>
</div>
<header class="site-header">
  <div class="logo"><a href="/"><img src="/static/img/logo.png" alt="{site}"></a><span class="site-name">{site}</span></div>
  <form class="search" action="/search" method="get"><input type="text" name="q" placeholder="请输入关键词"><button type="submit">搜索</button></form>
</header>
<nav class="main-nav">
  <ul>
    <li><a href="/">首页</a></li>
    <li><a href="/rdgk/">人大概况</a></li>
    <li><a href="/xwzx/">新闻中心</a></li>
    <li><a href="/lfgz/">立法工作</a></li>
    <li><a href="/jdgz/">监督工作</a></li>
    <li><a href="/dbgz/">代表工作</a></li>
    <li><a href="/fgk/">{section}</a></li>
    <li><a href="/hdjl/">互动交流</a></li>
  </ul>
</nav>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/fgk/">{section}</a> &gt; <span>正文</span></div>
<div class="main">
  <aside class="sidebar">
    <h3>栏目导航</h3>
    <ul><li><a href="/fgk/dfxfg/">地方性法规</a></li><li><a href="/fgk/jd/">决议决定</a></li><li><a href="/fgk/lfgh/">立法规划计划</a></li><li><a href="/fgk/cazj/">法规草案征求意见</a></li></ul>
  </aside>
  <div class="article">
    <h1 class="article-title">{title}</h1>
    <div class="article-meta">成文日期：{date}　　来源：{issuer}　　浏览次数：<span id="hits">--</span>　　【字号：<a href="javascript:setZoom(18)">大</a> <a href="javascript:setZoom(16)">中</a> <a href="javascript:setZoom(14)">小</a>】</div>
    <div class="content" id="zoom">
{body}
    </div>
    <div class="article-tools"><a href="javascript:window.print()">【打印本页】</a> <a href="javascript:window.close()">【关闭窗口】</a></div>
    <div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
  </div>
</div>
<footer class="site-footer">
  <p><a href="/about/">关于我们</a> | <a href="/map/">网站地图</a> | <a href="/contact/">联系我们</a></p>
  <p>{site} 版权所有　主办：{site}办公室　未经授权，禁止复制或建立镜像</p>
  <p>ICP备案号：<a href="https://beian.miit.gov.cn/">{icp}</a>　{ga}　网站标识码：0000000000</p>
  <p>联系电话：{phone}　地址：（示例地址）　邮编：000000</p>
</footer>
<script type="text/javascript">
  function setZoom(size) {{ document.getElementById("zoom").style.fontSize = size + "px"; }}
  (function () {{
    var d = new Date();
    document.getElementById("today").textContent = d.getFullYear() + "年" + (d.getMonth() + 1) + "月" + d.getDate() + "日";
    document.getElementById("hits").textContent = "0";
  }})();
</script>
</body>
</html>
"""


def make_html(spec: dict, out: Path, meta: dict | None = None) -> None:
    text = read_md(spec["src"])
    title = title_of(text)
    meta = meta or {}
    body = []
    for level, s in md_lines(text):
        if level == 1:
            continue  # the title is the page's <h1>
        e = html.escape(s, quote=False)
        if level:
            if spec.get("heading_tags"):
                tag = f"h{min(level, 6)}"
                body.append(f'      <{tag} style="text-align:center">{e}</{tag}>')
            else:
                body.append(f'      <p style="text-align:center"><strong>{e}</strong></p>')
        else:
            body.append(f"      <p>{e}</p>")
    page = HTML_TEMPLATE.format(
        src=spec["src"], site=spec["site"], title=html.escape(title), section=spec["section"],
        date=meta.get("date") or "", issuer=meta.get("issuer") or spec["site"],
        body="\n".join(body), icp=spec["icp"], ga=spec["ga"], phone=spec["phone"],
    )
    out.write_text(page, encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------
def _metadata(src: str) -> dict:
    """Issuer and date of a source as recorded in the manifest (used only for
    the 'meta' line of the HTML pages)."""
    sys.path.insert(0, str(HERE))
    from build_manifest import source_entry  # type: ignore

    return source_entry(src)


def generate() -> None:
    for spec in DERIVED:
        out = COLLECTION / spec["file"]
        out.parent.mkdir(parents=True, exist_ok=True)
        fmt = spec["format"]
        if fmt == "txt":
            make_txt(spec, out)
        elif fmt == "docx":
            make_docx(spec, out)
        elif fmt == "pdf":
            make_pdf(spec, out)
        elif fmt == "html":
            make_html(spec, out, _metadata(spec["src"]))
        else:
            raise ValueError(fmt)
        print(f"wrote {out.relative_to(HERE)}")


def check() -> int:
    """Re-open every generated file and print what a reader sees."""
    import docx
    from pypdf import PdfReader

    problems = 0
    for spec in DERIVED:
        path = COLLECTION / spec["file"]
        fmt = spec["format"]
        src_text = read_md(spec["src"])
        labels = [m.group(1) for _, s in md_lines(src_text) if (m := ARTICLE_LABEL_RE.match(s))]
        if fmt == "txt":
            t = path.read_bytes().decode(spec["encoding"])
            ok = all(lbl in t for lbl in labels)
            print(f"{spec['file']}: {len(t)} chars decoded as {spec['encoding']}, article labels present: {ok}")
        elif fmt == "docx":
            d = docx.Document(str(path))
            heads = [p.style.name for p in d.paragraphs if p.style.name.startswith("Heading")]
            numbered = [p for p in d.paragraphs if p._p.pPr is not None and p._p.pPr.numPr is not None]
            numbering_xml = d.part.numbering_part.element.xml
            auto = "chineseCounting" in numbering_xml and "第%1条" in numbering_xml
            text = "\n".join(p.text for p in d.paragraphs)
            visible = sum(1 for lbl in labels if re.search(rf"(^|\n){lbl}", text))
            print(f"{spec['file']}: {len(d.paragraphs)} paragraphs, headings={len(heads)} "
                  f"({sorted(set(heads))}), numPr paragraphs={len(numbered)}, "
                  f"chineseCounting/第%1条 definition={auto}, article labels in text={visible}/{len(labels)}")
            if spec.get("autonumber") and (len(numbered) != len(labels) or visible != 0 or not auto):
                problems += 1
        elif fmt == "pdf":
            r = PdfReader(str(path))
            pages = [p.extract_text() or "" for p in r.pages]
            title = title_of(src_text)
            hdr = sum(1 for p in pages if title in p)
            if spec["footer"] == "dash":
                ftr = sum(1 for i, p in enumerate(pages, 1) if f"- {i} -" in p)
            else:
                ftr = sum(1 for i, p in enumerate(pages, 1) if f"第 {i} 页 共 {len(pages)} 页" in p)
            joined = "".join(pages).replace("\n", "")
            found = sum(1 for lbl in labels if lbl in joined)
            print(f"{spec['file']}: {len(pages)} pages, title header on {hdr} pages, "
                  f"footer on {ftr} pages, article labels extracted {found}/{len(labels)}")
            if hdr != len(pages) or ftr != len(pages):
                problems += 1
        elif fmt == "html":
            t = path.read_text(encoding="utf-8")
            need = ["<nav", "breadcrumb", "<header", 'class="content"', "<footer", "版权所有", "ICP备案", "联系电话", "<script"]
            missing = [n for n in need if n not in t]
            print(f"{spec['file']}: {t.count('<p')} <p>-tags, missing furniture: {missing or 'none'}")
            problems += bool(missing)
    return problems


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="verify the generated files after writing them")
    args = ap.parse_args(argv)
    generate()
    if args.check:
        return 1 if check() else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
