"""The page's pieces as plain functions (no browser, no model): rendering is escaped, cards quote the
cited span, each control's function says what happened. A stub service stands in (plumbing only)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

ui = pytest.importorskip("rag.ui")

from rag import prompts  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.conversation import ConversationStore  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.types import Answer, Chunk, Citation, Hit, Refusal, Trace  # noqa: E402

RAW = "第一条 本办法适用于本市。\n第二条 道路停车首小时收费2元，由市城管局负责。\n"
CHUNK = Chunk("n/00:14-40", "n/00", "n.txt", 14, len(RAW) - 1, RAW[14:-1], ("第二条",), "示范办法", "济政发〔2030〕1号")


class StubDocs:
    """The corpus folder (``Service.docs``): records what was added and deleted."""

    def __init__(self):
        self.added, self.deleted = [], []

    def safe_name(self, name):
        return name

    def exists(self, name):
        return name == "n.txt"

    def add(self, path, name, who="", replace=False):
        if name.endswith(".exe"):
            raise RagError(f"未上传 {name}：不支持的文件类型")
        self.added.append((name, who, replace))
        return name

    def delete(self, name, who=""):
        if not name:
            raise RagError("没有这个文件：")
        self.deleted.append((name, who))


class StubService:
    def __init__(self, tmp_path):
        self.settings = Settings.make(corpus_dir=tmp_path, feedback_db=tmp_path / "fb.sqlite")
        self.index = SimpleNamespace(raws={"n.txt": RAW})
        self.docs = StubDocs()
        self.rows = []
        self.feedback = SimpleNamespace(add=lambda *a: self.rows.append(a) or len(self.rows))
        self.conversations = ConversationStore(self.settings)

    def chunk(self, chunk_id):
        return CHUNK if chunk_id == CHUNK.chunk_id else None

    def source_context(self, source, start, end):
        return {"source": source, "start": start, "end": end, "line": 2, "total_lines": 3, "before": RAW[:start],
                "quote": RAW[start:end], "after": RAW[end:]}

    def ask_stream(self, question, hist):
        a = answer(question)
        yield a.text[:4]
        yield a

    def converse_stream(self, question, cid=None, history=None):
        yield from self.conversations.turn(self.ask_stream, question, cid, history)

    def documents(self):
        return [{"file": "n.txt", "bytes": len(RAW), "chunks": 2, "indexed": True}]


def answer(question="停车多少钱？") -> Answer:
    start = RAW.index("道路停车")
    end = RAW.index("2元") + 2
    cit = Citation("n.txt", start, end, RAW[start:end], CHUNK.chunk_id, CHUNK.title, CHUNK.doc_number, CHUNK.section)
    return Answer(question, "道路停车首小时收费2元。[1]", [cit], [Hit(CHUNK, 1.0, 1, {"dense_rank": 1})], refused=False,
                  notices=["按上下文理解为：<b>x</b>"], trace=Trace(resolved_question=question))


@pytest.fixture()
def service(tmp_path):
    return StubService(tmp_path)


def test_answer_markdown_escapes_and_marks_citations():
    a = answer()
    a.text = "<script>alert(1)</script>甲[1]"
    html = ui.answer_markdown(a)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<sup>[1]</sup>" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html  # notices are shown, escaped


def test_citation_card_highlights_exactly_the_quote(service):
    html = ui.citation_cards(answer(), service)
    assert "<mark data-cite='1'>道路停车首小时收费2元</mark><sup class='cite-n'>[1]</sup>" in html and "第二条" in html and "济政发〔2030〕1号" in html
    assert "查看原文" in html


ITEMS_RAW = "第七条 示范五包包括以下内容:\n（四）包秩序良好。有序停放车辆。\n（五）包绿化美观。保护花草树木。\n"
ITEMS = Chunk("n/00:0-50", "n/00", "n.txt", ITEMS_RAW.index("（四）"), len(ITEMS_RAW) - 1, "", ("第七条", "（四）包秩序良好"),
              "示范办法")


def items_answer(*quotes: str) -> Answer:
    cits = [Citation("n.txt", ITEMS_RAW.index(q), ITEMS_RAW.index(q) + len(q), q, ITEMS.chunk_id, ITEMS.title, None,
                     ITEMS.section) for q in quotes]
    text = "".join(f"{q}；[{i}]" for i, q in enumerate(quotes, 1))
    return Answer("五包？", text, cits, [Hit(ITEMS, 1.0, 1)], refused=False)


def test_citations_of_one_clause_share_one_card_with_every_quote_marked(service):
    service.index.raws = {"n.txt": ITEMS_RAW}
    html = ui.citation_cards(items_answer("（四）包秩序良好", "（五）包绿化美观"), service)
    assert html.count("class='cite-card'") == 1
    assert "<span class='cite-nums'>[1][2]</span>" in html
    clause = html.split("<div class='clause'>")[1].split("</div>")[0]
    assert "<mark data-cite='1'>（四）包秩序良好</mark><sup class='cite-n'>[1]</sup>" in clause
    assert "<mark data-cite='2'>（五）包绿化美观</mark><sup class='cite-n'>[2]</sup>" in clause
    source = html.split("<div class='source-text' tabindex='0' role='region' aria-label='原文'>")[1].split("</div>")[0]
    assert source.count("<mark") == 2
    assert "第七条 / （四）包秩序良好、（五）包绿化美观</span>" in html


def test_card_label_names_the_item_highlighted_not_the_one_the_chunk_starts_with(service):
    service.index.raws = {"n.txt": ITEMS_RAW}
    html = ui.citation_cards(items_answer("保护花草树木"), service)
    assert "<span class='cite-section'>第七条 / （五）包绿化美观</span>" in html


def test_refusal_card_shows_the_related_passages(service):
    a = Answer("地铁呢", prompts.REFUSAL_TEXT, [], [Hit(CHUNK, 0.5, 1)], refused=True)
    html = ui.citation_cards(a, service)
    assert prompts.RELATED_NOT_ANSWERING in html and "id='refusal'" in html
    clause = html.split("<div class='clause'>")[1].split("</div>")[0]
    assert "<mark>" not in clause  # nothing is quoted as an answer; the passage is shown whole
    assert "现有文件未涉及这一问题" in html


def test_an_item_the_list_lacks_is_said_as_such_not_as_documents_silent(service):
    text = prompts.ITEM_NOT_IN_LIST.format(n=5, k=6)
    a = Answer("那第六项呢？", text, [], [Hit(CHUNK, 0.5, 1)], refused=True, trace=Trace(refusal=Refusal.NO_SUCH_ITEM))
    html = ui.citation_cards(a, service)
    assert ui.esc(text) in html and "现有文件未涉及这一问题" not in html


def test_hits_table_names_each_passage():
    html = ui.hits_table(answer())
    assert "《示范办法》 济政发〔2030〕1号 第二条" in html and "<td>1</td>" in html


def test_chat_steps_stream_then_finish_and_keep_the_conversation_in_the_service(service):
    steps = list(ui.chat_steps(service, "<i>停车</i>多少钱？", [], None))
    chat, cid, final = steps[-1]
    assert final is not None and all(s[2] is None for s in steps[:-1])
    assert chat[0]["content"] == "&lt;i&gt;停车&lt;/i&gt;多少钱？" and "<sup>[1]</sup>" in chat[1]["content"]
    # The page holds the id; the turn is the service's, as for /api/ask.
    assert service.conversations.turns(cid) == [("<i>停车</i>多少钱？", final)]
    *_, (chat2, cid2, final2) = ui.chat_steps(service, "那呢？", chat, cid)
    assert cid2 == cid and len(service.conversations.turns(cid)) == 2 and len(chat2) == 4


def test_feedback_message(service):
    assert ui.feedback_message(service, None, "正确", "") == "请先提问，再对回答给出反馈。"
    assert ui.feedback_message(service, answer(), "也许", "") == "请选择：正确、错误或引用有误。"
    assert ui.feedback_message(service, answer(), "引用有误", "核对") == "已记录反馈（编号 1）。"
    record, verdict, note, fingerprint = service.rows[0]
    assert verdict == "citation_wrong" and note == "核对" and fingerprint == service.settings.fingerprint()
    assert record["trace"]["resolved_question"] == "停车多少钱？"


def test_upload_delete_and_reindex_messages(service, tmp_path):
    msg, waiting = ui.upload_message(service, [str(tmp_path / "a.txt"), str(tmp_path / "b.exe")], who="张三")
    assert msg == "已上传 a.txt，点击“更新索引”后生效；未上传 b.exe：不支持的文件类型。" and waiting == []
    assert service.docs.added == [("a.txt", "张三", False)]
    # Only refusals: nothing says the upload takes effect.
    msg, _ = ui.upload_message(service, [str(tmp_path / "b.exe")])
    assert msg == "未上传 b.exe：不支持的文件类型。"
    assert ui.upload_message(service, []) == ("没有收到文件。", [])
    # A same-name upload is held back until confirmed, then replaces.
    msg, waiting = ui.upload_message(service, [str(tmp_path / "n.txt")])
    assert "已有同名文件 n.txt" in msg and waiting == [str(tmp_path / "n.txt")] and len(service.docs.added) == 1
    msg, waiting = ui.upload_message(service, waiting, who="张三", replace=True)
    assert msg.startswith("已上传 n.txt") and service.docs.added[-1] == ("n.txt", "张三", True)
    assert ui.delete_message(service, "n.txt", "张三") == "已将 n.txt 移入回收站（可在下方恢复），点击“更新索引”后生效。"
    assert ui.delete_message(service, None).startswith("没有这个文件")
    report = {"chunks": 3, "embedded": ["a.txt"], "reused": [], "removed": ["b.txt"], "skipped": [], "seconds": 1.5}
    assert ui.reindex_message(report) == "索引已更新：3 个片段；重新向量化 1 个文件，复用 0 个，移除 1 个；用时 1.5 秒。"
    assert ui.doc_rows(service) == [["n.txt", len(RAW), 2, "是"]]


def test_a_refused_upload_is_explained_in_chinese_and_not_stored(tmp_path):
    """The real upload path (rag.documents, what Service.docs is): the loader's English
    detail stays in the log; the page gets Chinese."""
    from rag.documents import DocumentStore
    from rag.staff import AuditLog

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    settings = Settings.make(corpus_dir=corpus, data_dir=tmp_path / "data")
    store = DocumentStore(settings, AuditLog(tmp_path / "data" / "audit.jsonl"))
    cases = {"空白.txt": b"  \n", "乱码.txt": b"\x00\x01\x02binary", "坏的.pdf": b"%PDF-1.4 not really",
             "坏的.docx": b"PK not a zip", "程序.exe": b"MZ"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(RagError) as exc:
            store.add(tmp_path / name, name)
        msg = str(exc.value)
        # Chinese reason; no English sentence of the loader (two English words in a row).
        assert msg.startswith(f"未上传 {name}：") and not re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", msg), msg
    assert list(corpus.iterdir()) == []
    (tmp_path / "好的.txt").write_text("第一条 示范停车规定。\n", encoding="utf-8")
    assert store.add(tmp_path / "好的.txt", "好的.txt") == "好的.txt" and (corpus / "好的.txt").exists()


def test_reindex_progress_messages_are_chinese(tmp_path):
    """The stage names the staff page shows under 更新索引 (build_index's progress) are Chinese."""
    from tests.conftest import FakeEmbedder
    from rag.build import build_index

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "示范.txt").write_text("第一条 示范停车泊位每季度检查一次。\n", encoding="utf-8")
    settings = Settings.make(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    said = []
    build_index(settings, embedder=FakeEmbedder(), progress=lambda frac, msg: said.append((frac, msg)))
    assert [m for _, m in said] == ["切分文件 1/1：示范.txt", "处理文件 1/1：示范.txt", "示范.txt：片段 1/1",
                                    "建立关键词索引", "写入索引", "同步向量库", "完成"]
    assert [f for f, _ in said] == sorted(f for f, _ in said) and said[-1][0] == 1.0
    (tmp_path / "corpus" / "示范.txt").unlink()
    with pytest.raises(RagError, match="没有可读取的文件"):
        build_index(settings, embedder=FakeEmbedder())


def test_the_locale_script_puts_every_status_gradio_shows_in_english_into_chinese():
    """Gradio's status texts its zh-CN locale lacks (the queue position among them) are rewritten by
    the page's locale script; its rules are read here as the browser reads them (JS regexes that are
    valid Python regexes too)."""
    rules = re.findall(r'\[/(\^.*?)/, "([^"]*)"\]', ui.LOCALE_SCRIPT.split("var LABELS")[0])
    assert len(rules) >= 8

    def shown(text):
        for pattern, repl in rules:
            if re.search(pattern, text):
                return re.sub(pattern, repl.replace("$", "\\"), text)
        return text

    for english in ("In queue: 1 of 1", "In queue: 3 of 12", "processing | 0.5/2.8s", "queue: 1/2 | 0.4s", "2.8s",
                    "0.5/2.8s", "Loading..."):
        assert re.search(r"[\u4e00-\u9fff]", shown(english)), english
    assert shown("In queue: 3 of 12") == "排队中：第 3 位，共 12 位"
