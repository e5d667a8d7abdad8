"""The JSON API's plumbing (issue 14) over a tiny corpus with the fake embedder (no model, no claim
about answers): staff routes need credentials, documents go to the trash and come back, errors are
Chinese JSON, bad text is a 400, the rate limit a 429, conversations carry an id."""

from __future__ import annotations

import time

import pytest

from conftest import api_client, basic_auth, fake_service

DOC = ("示范停车管理办法\n第一条 为了规范停车管理，制定本办法。\n第二条 道路停车首小时收费2元，"
       "由市城管局负责。\n第三条 本办法自2030年1月1日起施行。\n")
OTHER = ("示范绿化管理办法\n第一条 为了保护城市绿地，制定本办法。\n第二条 临街绿地由所在街道办事处养护。\n"
         "第三条 本办法自2031年5月1日起施行。\n")
AUTH = basic_auth("张三", "correct horse")


@pytest.fixture()
def client(tmp_path):
    service = fake_service(tmp_path, {"a.txt": DOC}, rate_limit_per_minute=600, rate_limit_burst=50,
                           login_max_failures=100)
    with api_client(service) as c:
        yield c


def add_staff(client):
    client.service.staff.add("张三", "correct horse")


STAFF_ROUTES = [("get", "/api/documents"), ("post", "/api/documents"), ("delete", "/api/documents/a.txt"),
                ("get", "/api/trash"), ("post", "/api/trash/a.txt/restore"), ("post", "/api/reindex"),
                ("get", "/api/reindex"), ("get", "/api/feedback.csv"), ("get", "/api/audit")]


def test_staff_routes_are_off_without_accounts_and_need_credentials_with_them(client):
    for method, path in STAFF_ROUTES:
        r = getattr(client, method)(path)
        assert r.status_code == 403 and "rag staff add" in r.json()["error"], path
    add_staff(client)
    bad = basic_auth("张三", "guess")
    for method, path in STAFF_ROUTES:
        for headers in ({}, bad):
            r = getattr(client, method)(path, headers=headers)
            assert r.status_code == 401 and r.json()["code"] == "login_required", path
            assert r.headers["www-authenticate"].startswith("Basic")
    assert (client.service.settings.corpus_dir / "a.txt").exists()  # nothing was deleted on the way


def test_staff_flow_over_the_api(client):
    add_staff(client)
    docs = client.get("/api/documents", headers=AUTH).json()["documents"]
    assert [d["file"] for d in docs] == ["a.txt"] and docs[0]["indexed"]
    new = DOC.replace("2030", "2031").encode()
    r = client.post("/api/documents", headers=AUTH, files={"file": ("b.txt", OTHER.encode(), "text/plain")})
    assert r.status_code == 200 and r.json()["stored"] == "b.txt"
    r = client.post("/api/documents", headers=AUTH, files={"file": ("a.txt", new, "text/plain")})
    assert r.status_code == 409 and r.json()["code"] == "exists" and "同名" in r.json()["error"]
    r = client.post("/api/documents", headers=AUTH, files={"file": ("a.txt", new, "text/plain")},
                    data={"replace": "true"})
    assert r.status_code == 200
    r = client.delete("/api/documents/b.txt", headers=AUTH)
    assert r.status_code == 200 and r.json()["trashed"]["file"] == "b.txt"
    assert client.delete("/api/documents/b.txt", headers=AUTH).status_code == 404
    trash = client.get("/api/trash", headers=AUTH).json()["trash"]
    assert sorted(e["file"] for e in trash) == ["a.txt", "b.txt"]
    assert client.post("/api/trash/b.txt/restore", headers=AUTH).status_code == 200
    r = client.post("/api/reindex", headers=AUTH)
    assert r.status_code == 202
    for _ in range(200):
        st = client.get("/api/reindex", headers=AUTH).json()
        if not st["running"]:
            break
        time.sleep(0.05)
    assert st["message"] == "完成" and st["progress"] == 1.0 and st["error"] == ""
    assert {d["file"]: d["indexed"] for d in client.get("/api/documents", headers=AUTH).json()["documents"]} == {
        "a.txt": True, "b.txt": True}
    actions = [(r["who"], r["action"], r["file"]) for r in client.get("/api/audit", headers=AUTH).json()["audit"]]
    assert actions == [("张三", "upload", "b.txt"), ("张三", "replace", "a.txt"), ("张三", "upload", "a.txt"),
                       ("张三", "delete", "b.txt"), ("张三", "restore", "b.txt"), ("张三", "reindex", "")]
    csv = client.get("/api/feedback.csv", headers=AUTH)
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())


def test_login_sets_an_http_only_cookie_that_opens_the_staff_routes(client):
    add_staff(client)
    assert client.post("/api/login", json={"name": "张三", "password": "nope"}).status_code == 401
    r = client.post("/api/login", json={"name": "张三", "password": "correct horse"})
    assert r.status_code == 200 and "httponly" in r.headers["set-cookie"].lower()
    assert client.get("/api/documents").status_code == 200  # the cookie jar carries the session
    client.post("/api/logout")
    assert client.get("/api/documents").status_code == 401


def test_uploads_over_the_size_limit_are_refused_before_reading(client, tmp_path):
    add_staff(client)
    client.service.settings = client.service.settings.replace(max_upload_mb=0.01)
    client.service.docs.settings = client.service.settings
    big = ("第一条 " + "很长。" * 5000).encode()
    r = client.post("/api/documents", headers=AUTH, files={"file": ("big.txt", big, "text/plain")})
    assert r.status_code == 413 and "文件过大" in r.json()["error"]
    assert not (client.service.settings.corpus_dir / "big.txt").exists()


def test_bad_input_gets_a_chinese_400_and_errors_are_chinese_json(client):
    r = client.post("/api/ask", content='{"question": "\\ud800门前"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_text" and "无效字符" in r.json()["error"]
    r = client.post("/api/ask", content=b"\xff\xfe not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    r = client.post("/api/ask", json={"history": []})
    assert r.status_code == 400 and r.json()["error"] == "缺少字段：question"
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "没有这个地址"
    r = client.put("/api/ask", json={"question": "x"})
    assert r.status_code == 405 and "不支持" in r.json()["error"]


def test_invisible_characters_do_not_change_the_question(client):
    plain = client.post("/api/ask", json={"question": "道路停车收费多少？"}).json()
    hidden = client.post("/api/ask", json={"question": "道\u200b路\u200c停\u200d车\ufeff收\u2060费多少？"}).json()
    assert hidden["question"] == plain["question"] == "道路停车收费多少？"
    assert hidden["answer"] == plain["answer"]


def test_conversation_ids_carry_follow_ups_without_answering_again(client, monkeypatch):
    first = client.post("/api/ask", json={"question": "道路停车收费多少？"}).json()
    cid = first["conversation_id"]
    assert cid
    asked = []
    real = client.service.qa.ask_stream
    monkeypatch.setattr(client.service.qa, "ask_stream", lambda q, h=None: asked.append((q, len(h or []))) or real(q, h))
    second = client.post("/api/ask", json={"question": "这个办法什么时候施行？", "conversation_id": cid}).json()
    assert second["conversation_id"] == cid
    assert asked == [("这个办法什么时候施行？", 1)]  # one answer: the stored turn is not answered again
    assert client.service.conversations.turns(cid)[-1][1].question == "这个办法什么时候施行？"
    # An unknown (expired) id starts a new conversation and says so.
    third = client.post("/api/ask", json={"question": "道路停车收费多少？", "conversation_id": "gone"}).json()
    assert third["conversation_id"] not in ("gone", cid) and "已过期" in " ".join(third["notices"])


def test_too_many_questions_from_one_client_get_a_429(client):
    client.app.state.limiter.rate, client.app.state.limiter.burst = 1 / 60, 2
    codes = [client.post("/api/ask", json={"question": "道路停车收费多少？"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = client.post("/api/ask", json={"question": "道路停车收费多少？"})
    assert r.json()["error"] == "提问过于频繁，请稍后再试。" and int(r.headers["retry-after"]) >= 1
