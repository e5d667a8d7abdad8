"""Staff accounts, sessions, the audit log, the document trash and the per-client limit (issue 14):
files and clocks only, no model."""

from __future__ import annotations

import json

import pytest

from rag.api import session_token, staff_name
from rag.conversation import RateLimiter
from rag.config import Settings
from rag.documents import DocumentStore
from rag.errors import RagError, UploadRefused
from rag.files import file_sha256
from rag.staff import AuditLog, LoginThrottle, Sessions, StaffStore

TEXT = "示范管理办法\n第一条 为了规范管理，制定本办法。\n第二条 本办法自2030年1月1日起施行。\n"


def test_accounts_store_a_salted_hash_and_check_passwords(tmp_path):
    store = StaffStore(tmp_path / "staff.json")
    assert not store and store.names() == []
    store.add("张三", "correct horse")
    store.add("li.si", "another pass")
    raw = (tmp_path / "staff.json").read_text(encoding="utf-8")
    assert "correct horse" not in raw and json.loads(raw)["format"] == "staff/1"
    entries = json.loads(raw)["accounts"]
    assert entries["张三"]["salt"] != entries["li.si"]["salt"] and entries["张三"]["scheme"] == "scrypt"
    assert store.verify("张三", "correct horse")
    assert not store.verify("张三", "correct horsE") and not store.verify("王五", "correct horse")
    assert store.names() == ["li.si", "张三"]
    store.remove("li.si")
    assert store.names() == ["张三"] and not store.verify("li.si", "another pass")
    with pytest.raises(RagError, match="没有这个工作人员账号"):
        store.remove("li.si")
    with pytest.raises(RagError, match="密码至少"):
        store.add("王五", "short")
    with pytest.raises(RagError, match="账号名"):
        store.add("a b/c", "long enough pass")


def test_a_broken_accounts_file_is_named(tmp_path):
    (tmp_path / "staff.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RagError, match="工作人员账号文件损坏"):
        StaffStore(tmp_path / "staff.json").names()


def test_sessions_expire_and_end():
    now = [0.0]
    s = Sessions(ttl_s=60, clock=lambda: now[0])
    t = s.create("张三")
    assert s.user(t) == "张三" and s.user("forged") is None and s.user(None) is None
    now[0] = 59
    assert s.user(t) == "张三"
    now[0] = 61
    assert s.user(t) is None
    t2 = s.create("张三")
    s.end_user("张三")
    assert s.user(t2) is None


def test_staff_name_from_cookie_or_basic_credentials(tmp_path):
    import base64

    from types import SimpleNamespace

    service = SimpleNamespace(staff=StaffStore(tmp_path / "staff.json"), sessions=Sessions(60),
                              logins=LoginThrottle(5, 60), audit=AuditLog(tmp_path / "audit.jsonl"))
    service.staff.add("张三", "correct horse")
    token = service.sessions.create("张三")
    assert session_token({"cookie": f"other=1; qc_staff={token}"}) == token
    assert staff_name(service, {"cookie": f"qc_staff={token}"}) == "张三"
    basic = base64.b64encode("张三:correct horse".encode()).decode()
    assert staff_name(service, {"authorization": f"Basic {basic}"}) == "张三"
    wrong = base64.b64encode("张三:guess".encode()).decode()
    assert staff_name(service, {"authorization": f"Basic {wrong}"}) is None
    assert staff_name(service, {"authorization": "Basic !!!"}) is None
    assert staff_name(service, {}) is None
    # A removed account's session no longer counts.
    service.staff.remove("张三")
    assert staff_name(service, {"cookie": f"qc_staff={token}"}) is None


@pytest.fixture()
def docs(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(TEXT, encoding="utf-8")
    settings = Settings.make(corpus_dir=corpus, data_dir=tmp_path / "data", max_upload_mb=0.001,
                             max_document_chars=200)
    return DocumentStore(settings, AuditLog(tmp_path / "data" / "audit.jsonl")), tmp_path


def test_delete_goes_to_the_trash_and_restore_brings_it_back(docs):
    store, tmp = docs
    digest = file_sha256(tmp / "corpus" / "a.txt")
    entry = store.delete("a.txt", who="张三")
    assert not (tmp / "corpus" / "a.txt").exists() and entry["sha256"] == digest
    assert [e["file"] for e in store.trash()] == ["a.txt"]
    with pytest.raises(UploadRefused, match="没有这个文件"):
        store.delete("a.txt")
    with pytest.raises(UploadRefused, match="文件名无效"):  # a path is no file name (issue 20)
        store.delete("../data/audit.jsonl")
    store.restore("a.txt", who="张三")
    assert (tmp / "corpus" / "a.txt").read_text(encoding="utf-8") == TEXT and store.trash() == []
    with pytest.raises(UploadRefused, match="回收站里没有这个文件"):
        store.restore("a.txt")
    rows = store.audit.rows()
    assert [(r["who"], r["action"], r["file"]) for r in rows] == [("张三", "delete", "a.txt"), ("张三", "restore", "a.txt")]
    assert all(r["sha256"] == digest and r["time"] for r in rows)


def test_same_name_upload_asks_first_and_keeps_the_old_version(docs):
    store, tmp = docs
    new = tmp / "a.txt"
    new.write_text(TEXT.replace("2030", "2031"), encoding="utf-8")
    with pytest.raises(UploadRefused, match="已有同名文件") as exc:
        store.add(new, "a.txt", who="张三")
    assert exc.value.status == 409 and "2030" in (tmp / "corpus" / "a.txt").read_text(encoding="utf-8")
    store.add(new, "a.txt", who="张三", replace=True)
    assert "2031" in (tmp / "corpus" / "a.txt").read_text(encoding="utf-8")
    (old,) = store.trash()
    assert "2030" in (tmp / "data" / "trash" / old["stamp"] / "a.txt").read_text(encoding="utf-8")
    assert [r["action"] for r in store.audit.rows()] == ["replace", "upload"]
    # Restoring the old version puts the current one in the trash in its place: nothing is lost.
    store.restore("a.txt")
    assert "2030" in (tmp / "corpus" / "a.txt").read_text(encoding="utf-8")
    assert "2031" in (tmp / "data" / "trash" / store.trash()[0]["stamp"] / "a.txt").read_text(encoding="utf-8")


def test_uploads_over_the_limits_are_refused_up_front(docs):
    store, tmp = docs
    big = tmp / "big.txt"
    big.write_text("第一条 " + "很长的正文。" * 400, encoding="utf-8")
    with pytest.raises(UploadRefused, match="文件过大") as exc:
        store.add(big, "big.txt")
    assert exc.value.status == 413 and not (tmp / "corpus" / "big.txt").exists()
    long = tmp / "long.txt"
    long.write_text("第一条 " + "长" * 300, encoding="utf-8")  # 910 bytes: under the size limit, over the text one
    with pytest.raises(UploadRefused, match="文件正文过长"):
        store.add(long, "long.txt")
    bad = tmp / "x.exe"
    bad.write_text("x", encoding="utf-8")
    with pytest.raises(UploadRefused, match="不支持的文件类型"):
        store.add(bad, "x.exe")
    empty = tmp / "e.txt"
    empty.write_text("   ", encoding="utf-8")
    with pytest.raises(UploadRefused, match="未上传 e.txt：文件为空"):
        store.add(empty, "e.txt")
    assert sorted(p.name for p in (tmp / "corpus").iterdir()) == ["a.txt"]


def test_rate_limiter_allows_a_burst_then_asks_to_wait():
    now = [0.0]
    limit = RateLimiter(per_minute=60, burst=3, clock=lambda: now[0])
    assert [limit.allow("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.allow("a") == pytest.approx(1.0)
    assert limit.allow("b") == 0.0  # per client
    now[0] = 1.0
    assert limit.allow("a") == 0.0
    assert RateLimiter(per_minute=0, burst=1).allow("a") == 0.0  # 0: off
