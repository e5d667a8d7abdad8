"""Issue 20, safe to put on a city's website: the whole app (JSON API + the Gradio page, rag.ui.build_app)
over a tiny corpus with the fake embedder (no model). One test per problem found:
(1) Gradio's upload and file routes open to anyone; (2) passwords can be guessed; (3) 500s on file
names; (4) English and default errors, public API docs; (6) no security headers, a forged
X-Forwarded-For believed, no Secure cookie behind https, the index's path in /api/health."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import FakeEmbedder, basic_auth
from rag import prompts
from rag.config import FLAT, Settings
from rag.service import Service

DOC = "示范停车管理办法\n第一条 为了规范停车管理，制定本办法。\n第二条 道路停车首小时收费2元，由市城管局负责。\n"
# Another document (an upload of DOC itself is refused as a copy of a.txt).
OTHER = "示范养犬管理办法\n第一条 为了规范养犬行为，制定本办法。\n第二条 养犬人应当为犬只办理登记，由市公安局负责。\n"
STAFF = ("张三", "correct horse")
AUTH = basic_auth(*STAFF)
WRONG = basic_auth(STAFF[0], "guess")
PROXY = ("127.0.0.1", 40000)  # the trusted reverse proxy of these tests
VISITOR = ("203.0.113.7", 40001)  # a client straight on the internet


def make_settings(**values) -> Settings:
    """Settings.make, leaving out names unknown to this code: so this file runs on the code before
    issue 20 too, and fails there test by test (the README's before/after table)."""
    return Settings.make(**{k: v for k, v in values.items() if k in FLAT or k in ("corpus_dir", "index_dir")})


def fresh_throttle(service, clock=None):
    """Each test starts with no failed logins."""
    if hasattr(service, "logins"):
        from rag.staff import LoginThrottle

        service.logins = LoginThrottle(5, 60, **({"clock": clock} if clock else {}))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from rag import ui

    root = tmp_path_factory.mktemp("security")
    (root / "corpus").mkdir()
    (root / "corpus" / "a.txt").write_text(DOC, encoding="utf-8")
    stale = root / "data" / "gradio-tmp" / "old" / "left-over.txt"  # from an earlier run
    stale.parent.mkdir(parents=True)
    stale.write_text("x")
    settings = make_settings(corpus_dir=root / "corpus", index_dir=root / "index", data_dir=root / "data",
                             feedback_db=root / "data" / "fb.sqlite", trusted_proxies="127.0.0.1",
                             rate_limit_per_minute=600, rate_limit_burst=100)
    service = Service(settings, embedder=FakeEmbedder())
    service.staff.add(*STAFF)
    app = ui.build_app(service)
    return {"app": app, "service": service, "root": root, "stale": stale}


def client(site, peer=VISITOR) -> TestClient:
    fresh_throttle(site["service"])
    return TestClient(site["app"], client=peer, raise_server_exceptions=False)


def chinese_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:200])
    body = r.json()
    assert set(body) == {"error", "code"}, body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]), body
    if code:
        assert body["code"] == code, body
    return body


# --- (1) Gradio's upload and file routes --------------------------------------------------------

def test_1_gradio_upload_and_file_routes_are_for_staff_only_and_size_limited(site):
    with client(site) as c:
        r = c.post("/gradio_api/upload", files={"files": ("x.txt", b"hello", "text/plain")})
        chinese_error(r, 401, "login_required")
        temp = Path(site["service"].settings.serve.data_dir).resolve() / "gradio-tmp"
        assert not site["stale"].exists() and temp.is_dir()  # emptied at start
        assert not any(p.is_file() for p in temp.rglob("*"))  # nothing stored for a visitor
        chinese_error(c.get("/gradio_api/file=" + str(site["root"] / "corpus" / "a.txt")), 401)
        chinese_error(c.get("/gradio_api/file=/etc/passwd"), 401)
        # Staff (Basic here; the page sends its session cookie) upload into our own temp folder.
        r = c.post("/gradio_api/upload", headers=AUTH, files={"files": ("x.txt", b"hello", "text/plain")})
        assert r.status_code == 200
        stored = Path(r.json()[0])
        assert stored.read_bytes() == b"hello" and stored.resolve().is_relative_to(temp)
        assert c.get("/gradio_api/file=" + str(stored)).status_code == 401
        assert c.get("/gradio_api/file=" + str(stored), headers=AUTH).content == b"hello"
        # Over the limit: refused on Content-Length, and cut off while streaming without one.
        limit = int(site["service"].settings.serve.max_upload_mb * 1024 * 1024)
        big = b"x" * (limit + 100 * 1024)
        r = c.post("/gradio_api/upload", headers=AUTH, files={"files": ("big.txt", big, "text/plain")})
        assert "文件过大" in chinese_error(r, 413, "too_large")["error"]

        def chunks():
            yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
            for _ in range(limit // (1 << 20) + 2):
                yield b"x" * (1 << 20)
            yield b"\r\n--b--\r\n"

        for path in ("/gradio_api/upload", "/api/documents"):
            r = c.post(path, headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b"}, content=chunks())
            chinese_error(r, 413, "too_large")
        assert not any(p.name == "big.txt" and p.stat().st_size > 0 for p in temp.rglob("*"))
        # Our own upload route also refuses a visitor before reading: a 401, nothing stored.
        r = c.post("/api/documents", files={"file": ("b.txt", DOC.encode(), "text/plain")})
        chinese_error(r, 401, "login_required")
        assert not (site["root"] / "corpus" / "b.txt").exists()


# --- (2) password guessing ----------------------------------------------------------------------

def test_2_basic_and_the_login_form_share_one_throttle_per_account_and_client(site):
    service = site["service"]
    audited = len(service.audit.rows())
    with client(site) as c:
        codes = [c.get("/api/documents", headers=WRONG).status_code for _ in range(5)]
        assert codes == [401] * 5
        r = c.get("/api/documents", headers=WRONG)
        body = chinese_error(r, 429, "login_throttled")
        assert body["error"] == prompts.LOGIN_THROTTLED.format(seconds=r.headers["retry-after"])
        assert "登录" in body["error"] and 1 <= int(r.headers["retry-after"]) <= 60
        # The form is throttled too, and the right password does not get through (nothing confirms a guess).
        r = c.post("/api/login", json={"name": STAFF[0], "password": STAFF[1]})
        chinese_error(r, 429, "login_throttled")
        assert int(r.headers["retry-after"]) >= 1
        assert c.get("/api/documents", headers=AUTH).status_code == 429
    # Per account: from another client the same account is refused; another account is not.
    with TestClient(site["app"], client=("198.51.100.9", 1)) as other:
        assert other.get("/api/documents", headers=AUTH).status_code == 429
        assert other.post("/api/login", json={"name": "李四", "password": "whatever-1"}).status_code == 401
    rows = service.audit.rows()[audited:]
    assert [(r["who"], r["action"], r["via"]) for r in rows] == [(STAFF[0], "login_failed", "basic")] * 5 + [
        ("李四", "login_failed", "form")]
    assert rows[0]["client"] == VISITOR[0] and rows[-1]["client"] == "198.51.100.9"
    # Per client: five failures on different names from one client stop that client.
    with client(site) as c:
        for i in range(5):
            assert c.post("/api/login", json={"name": f"user{i}", "password": "nope-nope"}).status_code == 401
        chinese_error(c.post("/api/login", json={"name": "user9", "password": "nope-nope"}), 429)
    # A clock past the window lets the account in again.
    now = [0.0]
    fresh_throttle(service, clock=lambda: now[0])
    with TestClient(site["app"], client=VISITOR) as c:
        for _ in range(5):
            c.get("/api/documents", headers=WRONG)
        assert c.get("/api/documents", headers=AUTH).status_code == 429
        now[0] = 61.0
        assert c.get("/api/documents", headers=AUTH).status_code == 200


def test_2_login_limits_are_settings(monkeypatch):
    monkeypatch.setenv("RAG_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("RAG_LOGIN_WINDOW_S", "120")
    serve = Settings.from_env().serve
    assert (serve.login_max_failures, serve.login_window_s) == (3, 120.0)
    assert Settings().serve.login_max_failures == 5


# --- (3) file names ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["文" * 300 + ".txt", "a" * 256 + ".txt", "x\x00.txt", "..", "a\\b.txt"])
def test_3_bad_file_names_are_a_chinese_400_not_a_500(site, name):
    with client(site) as c:
        # Written by hand: an HTTP library would escape the NUL in a file name before sending it.
        body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + name.encode() + b'"\r\n'
                b"Content-Type: text/plain\r\n\r\n" + DOC.encode() + b"\r\n--b--\r\n")
        r = c.post("/api/documents", content=body, headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b"})
        assert "文件名无效" in chinese_error(r, 400, "bad_name")["error"]
        quoted = urllib.parse.quote(name, safe="")
        for method, path in (("delete", f"/api/documents/{quoted}"), ("post", f"/api/trash/{quoted}/restore")):
            if name == "..":
                continue  # a client normalises /.. away before it is sent
            r = getattr(c, method)(path, headers=AUTH)
            chinese_error(r, 400, "bad_name")
    assert sorted(p.name for p in (site["root"] / "corpus").iterdir()) == ["a.txt"]


def test_3_a_255_byte_name_is_fine(site):
    name = "文" * 83 + "ab.txt"  # 249 + 6 = 255 bytes
    assert len(name.encode()) == 255
    with client(site) as c:
        r = c.post("/api/documents", headers=AUTH, files={"file": (name, OTHER.encode(), "text/plain")})
        assert r.status_code == 200 and r.json()["stored"] == name
        assert c.delete("/api/documents/" + name, headers=AUTH).status_code == 200


# --- (4) errors and docs -------------------------------------------------------------------------

def test_4_every_error_is_chinese_json_and_the_docs_are_closed(site):
    with client(site) as c:
        for path in ("/nothing", "/api/nothing", "/docs", "/openapi.json", "/redoc", "/gradio_api/openapi.json",
                     "/monitoring", "/gradio_api/proxy=https://example.com/", "/gradio_api/nothing"):
            chinese_error(c.get(path), 404, "http_404")
        r = c.put("/api/ask", json={"question": "x"})
        chinese_error(r, 405, "http_405")
        assert r.headers["allow"] == "POST"
        chinese_error(c.delete("/api/health"), 405)
        chinese_error(c.post("/"), 405)
        for body in (b"{not json", b'{"data": []}'):  # Gradio's own 400 / 422, in English before
            r = c.post("/gradio_api/queue/join", content=body, headers={"Content-Type": "application/json"})
            assert r.status_code in (400, 422) and chinese_error(r, r.status_code)
        # The page and what it needs still work.
        assert c.get("/").status_code == 200 and "<html" in c.get("/").text.lower()
        assert c.get("/config").json()["api_prefix"] == "/gradio_api"
        assert "/ask" in c.get("/gradio_api/info").json()["named_endpoints"]


def test_4_api_docs_only_with_the_setting_and_then_for_staff(tmp_path):
    from rag.api import create_api

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text(DOC, encoding="utf-8")
    settings = make_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index",
                             data_dir=tmp_path / "data", feedback_db=tmp_path / "data" / "fb.sqlite", api_docs=True)
    service = Service(settings, embedder=FakeEmbedder())
    service.staff.add(*STAFF)
    with TestClient(create_api(service, "t")) as c:
        chinese_error(c.get("/api/docs"), 404)  # no Swagger page: it would load scripts from a CDN
        chinese_error(c.get("/api/openapi.json"), 401, "login_required")
        assert "/api/documents" in c.get("/api/openapi.json", headers=AUTH).json()["paths"]
        chinese_error(c.get("/api/docs", headers=AUTH), 404)
        chinese_error(c.get("/docs"), 404)
    service.settings = settings.replace(api_docs=False)
    with TestClient(create_api(service, "t")) as c:
        chinese_error(c.get("/api/docs", headers=AUTH), 404)
        chinese_error(c.get("/api/openapi.json", headers=AUTH), 404)


# --- (6) headers, proxies, health ----------------------------------------------------------------

def test_6_security_headers_on_the_page_and_the_api(site):
    with client(site) as c:
        for path in ("/", "/api/health", "/nothing", "/config"):
            h = c.get(path).headers
            assert "frame-ancestors 'self'" in h["content-security-policy"], path
            assert h["x-frame-options"] == "SAMEORIGIN" and h["x-content-type-options"] == "nosniff", path
            assert h["referrer-policy"], path


def test_6_forwarded_headers_are_believed_only_from_a_trusted_proxy(site):
    service = site["service"]
    # A visitor's forged X-Forwarded-For is ignored: the limit counts the visitor, whatever it claims.
    limiter = site["app"].state.limiter
    limiter.rate, limiter.burst, limiter._buckets = 1 / 60, 2, {}
    try:
        with client(site, VISITOR) as c:
            codes = [c.post("/api/ask", json={"question": "收费多少？"},
                            headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(3)]
            assert codes == [200, 200, 429]
        # From the trusted proxy, each forwarded client has its own bucket.
        limiter._buckets = {}
        with client(site, PROXY) as c:
            codes = [c.post("/api/ask", json={"question": "收费多少？"},
                            headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)]
            assert codes == [200, 200, 200]
    finally:
        limiter.rate, limiter.burst, limiter._buckets = 600 / 60, 100, {}
    # Failed logins are audited under the forwarded address only when the proxy is trusted.
    with client(site, VISITOR) as c:
        c.post("/api/login", json={"name": STAFF[0], "password": "nope-nope"}, headers={"X-Forwarded-For": "1.2.3.4"})
    with client(site, PROXY) as c:
        c.post("/api/login", json={"name": STAFF[0], "password": "nope-nope"}, headers={"X-Forwarded-For": "1.2.3.4"})
    assert [r["client"] for r in service.audit.rows()[-2:]] == [VISITOR[0], "1.2.3.4"]


def test_6_the_session_cookie_is_secure_behind_https(site):
    with client(site, PROXY) as c:
        r = c.post("/api/login", json={"name": STAFF[0], "password": STAFF[1]}, headers={"X-Forwarded-Proto": "https"})
        assert r.status_code == 200 and "secure" in r.headers["set-cookie"].lower()
        r = c.post("/api/login", json={"name": STAFF[0], "password": STAFF[1]})
        assert r.status_code == 200 and "secure" not in r.headers["set-cookie"].lower()
    with client(site, VISITOR) as c:  # an untrusted peer cannot claim https either
        r = c.post("/api/login", json={"name": STAFF[0], "password": STAFF[1]}, headers={"X-Forwarded-Proto": "https"})
        assert r.status_code == 200 and "secure" not in r.headers["set-cookie"].lower()


def test_6_health_shows_visitors_no_paths(site):
    with client(site) as c:
        h = c.get("/api/health").json()
    assert h["status"] == "ok" and "index" not in h
    text = json.dumps(h, ensure_ascii=False)
    assert str(site["root"]) not in text and "/tmp" not in text


def test_6_rag_serve_runs_uvicorn_without_its_proxy_headers(site, monkeypatch):
    import uvicorn

    from rag import ui

    seen = {}
    monkeypatch.setattr(ui, "Service", lambda settings: site["service"])
    monkeypatch.setattr(ui, "build_app", lambda service: site["app"])
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    assert ui.main(["--port", "0"]) == 0
    assert seen.get("proxy_headers") is False
