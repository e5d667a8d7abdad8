"""rag.ingest.load on real files written under tmp_path from the real corpus."""

from __future__ import annotations

import hashlib
import random
import re
import shutil
from pathlib import Path

import pytest

from rag.errors import LoadError
from rag.ingest.load import SUPPORTED, iter_source_paths, load_corpus, read_source

REPO = Path(__file__).resolve().parents[2]
CORPUS_FILE = REPO / "corpus" / "002_1ade5e92c4242b0a.txt"
with open(CORPUS_FILE, encoding="utf-8", newline="") as _f:
    CORPUS = _f.read()
LINES = [line for line in CORPUS.split("\n") if line.strip()]


def _line(prefix: str) -> str:
    return next(line for line in LINES if line.startswith(prefix))


# 第七条 of the 门前五包 measures: from its heading up to 第八条.
_start = CORPUS.index('第七条 "门前五包"包括')
ARTICLE_7 = CORPUS[_start : CORPUS.index("第八条", _start)].rstrip()
ARTICLE_1 = _line("第一条 为进一步提升城市品质")
ARTICLE_4 = _line("第四条 市城管部门负责指导")
ARTICLE_22 = _line("第二十二条 本办法自")
# "第二十二条 本办法自 2021 年 10 月 9 日起施行"
ARTICLE_22_HEAD = ARTICLE_22[: ARTICLE_22.index("施行") + 2]
DOC_NUMBER = _line("济政发〔2021〕13号")


def _nows(s: str) -> str:
    return re.sub(r"\s+", "", s)


# --- file writers: each returns the path it wrote --------------------------------------------


def write_gb18030(d: Path) -> Path:
    p = d / "article7_gb.txt"
    p.write_bytes(ARTICLE_7.encode("gb18030"))
    return p


def write_bom(d: Path) -> Path:
    p = d / "article1_bom.md"
    p.write_bytes(b"\xef\xbb\xbf" + ARTICLE_1.encode("utf-8"))
    return p


CRLF_TEXT = f"{ARTICLE_1}\r\n\r\n{ARTICLE_4}\r\n"


def write_crlf(d: Path) -> Path:
    p = d / "crlf.txt"
    p.write_bytes(CRLF_TEXT.encode("utf-8"))
    return p


def write_pdf(d: Path, name: str = "article22.pdf", lines: tuple[str, ...] = (ARTICLE_22_HEAD, DOC_NUMBER)) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    p = d / name
    c = canvas.Canvas(str(p))
    c.setFont("STSong-Light", 12)
    for i, line in enumerate(lines):
        c.drawString(72, 750 - 20 * i, line)
    c.showPage()
    c.save()
    return p


def write_docx(d: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph(ARTICLE_1)
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("责任主体", "区县政府"), ("指导部门", "市城管部门")]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.add_paragraph(ARTICLE_4)
    p = d / "articles.docx"
    document.save(str(p))
    return p


HTML = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>门前五包责任制管理办法</title>
<style>p {{ color: red; }}</style>
<script>alert(1)</script></head>
<body>
<h1>济南市临街单位"门前五包"责任制管理办法</h1>
<p>{ARTICLE_1}</p>
<div>{ARTICLE_4}</div>
<p>正文中的 &lt;script&gt; 标签 &amp; 符号</p>
<table><tr><td>责任主体</td><td>区县政府</td></tr><tr><td>指导部门</td><td>市城管部门</td></tr></table>
<script type="text/javascript">document.write("secret");</script>
</body></html>
"""


def write_html(d: Path) -> Path:
    p = d / "page.html"
    p.write_bytes(HTML.encode("utf-8"))
    return p


def write_bad(d: Path) -> dict[str, Path]:
    """Every kind of bad file, by the word its error message must contain."""
    rnd = random.Random(20211005).randbytes(4096)
    files = {
        "empty.txt": b"",
        "blank.md": b"  \r\n\t\n   \n",
        # Few control bytes in all, so only the NULs give it away.
        "image.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"IDATx" * 400,
        "random.txt": rnd,
        "random_nonul.txt": rnd.replace(b"\x00", b""),
        "corrupt.pdf": b"%PDF-1.7\n" + rnd,
    }
    out = {}
    for name, data in files.items():
        (d / name).write_bytes(data)
        out[name] = d / name
    out["blank.pdf"] = write_pdf(d, "blank.pdf", lines=())
    return out


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, data",
    [("empty.txt", b""), ("blank.md", b" \r\n\t\n  \xe3\x80\x80\n"), ("bom_only.txt", b"\xef\xbb\xbf")],
)
def test_empty_and_whitespace_files_refused(tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(LoadError, match=r"empty") as info:
        read_source(tmp_path / name)
    assert name in str(info.value)


@pytest.mark.parametrize("name", ["image.txt", "random.txt", "random_nonul.txt"])
def test_binary_files_refused(tmp_path: Path, name: str) -> None:
    path = write_bad(tmp_path)[name]
    with pytest.raises(LoadError, match=r"binary") as info:
        read_source(path)
    assert str(info.value).startswith(f"{name}:")


def test_undecodable_text_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café résumé à la carte\n".encode("latin-1"))
    with pytest.raises(LoadError, match=r"latin1\.txt: cannot decode .*UTF-8"):
        read_source(path)


def test_gb18030_decoded_exactly(tmp_path: Path) -> None:
    path = write_gb18030(tmp_path)
    assert ARTICLE_7.startswith("第七条") and "(五)包绿化美观" in ARTICLE_7
    st = read_source(path)
    assert st.text == ARTICLE_7
    assert st.encoding == "gb18030"
    assert st.source == "article7_gb.txt"
    assert st.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_utf8_bom(tmp_path: Path) -> None:
    st = read_source(write_bom(tmp_path))
    assert st.text == ARTICLE_1
    assert st.encoding == "utf-8-sig"


def test_crlf_preserved(tmp_path: Path) -> None:
    st = read_source(write_crlf(tmp_path))
    assert st.text == CRLF_TEXT
    assert st.text.count("\r\n") == 3 and st.text.count("\n") == 3
    assert st.encoding == "utf-8"


def test_pdf_text_layer_extracted(tmp_path: Path) -> None:
    st = read_source(write_pdf(tmp_path))
    assert st.encoding == "pdf"
    text = _nows(st.text)
    assert "第二十二条本办法自2021年10月9日起施行" in text
    assert "济政发〔2021〕13号" in text


def test_corrupt_and_textless_pdf_refused(tmp_path: Path) -> None:
    bad = write_bad(tmp_path)
    with pytest.raises(LoadError, match=r"^corrupt\.pdf: cannot read the PDF") as info:
        read_source(bad["corrupt.pdf"])
    assert info.value.__cause__ is not None
    with pytest.raises(LoadError, match=r"^blank\.pdf: .*no text layer.*OCR"):
        read_source(bad["blank.pdf"])


def test_docx_paragraphs_and_table(tmp_path: Path) -> None:
    st = read_source(write_docx(tmp_path))
    assert st.encoding == "docx"
    lines = st.text.split("\n")
    assert ARTICLE_1 in lines and ARTICLE_4 in lines
    assert "责任主体 区县政府" in lines and "指导部门 市城管部门" in lines
    # Body order: paragraph, table, paragraph.
    assert st.text.index(ARTICLE_1) < st.text.index("责任主体") < st.text.index(ARTICLE_4)


def test_corrupt_docx_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(LoadError, match=r"^broken\.docx: cannot read the DOCX"):
        read_source(path)


def test_html_visible_text(tmp_path: Path) -> None:
    st = read_source(write_html(tmp_path))
    assert st.encoding == "html"
    assert "alert" not in st.text and "secret" not in st.text and "color" not in st.text
    lines = st.text.split("\n")
    assert lines[0] == "门前五包责任制管理办法"  # <title>
    assert ARTICLE_1 in lines and ARTICLE_4 in lines
    assert "正文中的 <script> 标签 & 符号" in lines
    assert "责任主体 区县政府" in lines and "指导部门 市城管部门" in lines
    assert "\n\n\n" not in st.text


def test_html_meta_charset(tmp_path: Path) -> None:
    traditional = "濟南市臨街單位「門前五包」責任制管理辦法"
    path = tmp_path / "big5.htm"
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=big5"></head>'
        f"<body><p>{traditional}</p></body></html>"
    )
    path.write_bytes(html.encode("big5"))
    assert read_source(path).text == traditional
    # A GB2312 label on a page with a GB18030-only character still decodes.
    path = tmp_path / "gbk.htm"
    html = f'<meta charset="gb2312"><p>{ARTICLE_4}€</p>'
    path.write_bytes(html.encode("gb18030"))
    assert read_source(path).text == ARTICLE_4 + "€"


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "scan.doc"
    path.write_bytes(b"whatever")
    with pytest.raises(LoadError, match=r"^scan\.doc: unsupported file type \.doc") as info:
        read_source(path)
    assert all(ext in str(info.value) for ext in SUPPORTED)


def test_load_corpus_reports_bad_and_keeps_good(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    shutil.copyfile(CORPUS_FILE, root / "sub" / CORPUS_FILE.name)
    writers = (write_gb18030, write_bom, write_crlf, write_pdf, write_docx, write_html)
    good = {write(root).name for write in writers}
    bad = write_bad(root)
    (root / ".hidden.txt").write_bytes(b"\x00")  # hidden: skipped, not reported
    (root / "notes.xyz").write_bytes(b"\x00")  # unsupported inside a directory: skipped
    extra = tmp_path / "outside.doc"  # unsupported and named explicitly: reported
    extra.write_bytes(b"x")

    sources, problems = load_corpus([root, extra], root=root)

    by_name = {s.source: s for s in sources}
    assert set(by_name) == good | {f"sub/{CORPUS_FILE.name}"}
    assert by_name[f"sub/{CORPUS_FILE.name}"].text == CORPUS
    assert by_name[f"sub/{CORPUS_FILE.name}"].encoding == "utf-8"
    assert sorted(p.source for p in problems) == sorted([*bad, "outside.doc"])
    for problem in problems:
        assert problem.message.startswith(f"{problem.source}:")
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and r.name == "rag.ingest.load"]
    assert len(warnings) == len(problems)


def test_iter_source_paths_sorted_and_filtered(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ["b/2.txt", "a.md", "b/1.pdf", ".git/x.txt", "~$lock.docx", "c.png"]:
        (tmp_path / name).write_bytes(b"x")
    got = [p.relative_to(tmp_path).as_posix() for p in iter_source_paths([tmp_path, tmp_path / "c.png"])]
    assert got == ["a.md", "b/1.pdf", "b/2.txt", "c.png"]
