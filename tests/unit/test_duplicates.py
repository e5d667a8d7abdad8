"""A copy of a document under another name (issue 20, point 5): an upload that repeats a corpus file is
refused naming it, or replaces it when asked; an index build keeps one card of each clause, however
the copy got into the corpus, and gives a file its chunks back once the file it repeated is gone.
Fake embedder and tiny corpora: plumbing, no claim about answers."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from conftest import FakeEmbedder, api_client, basic_auth, fake_service
from rag import ui
from rag.build import build_index
from rag.config import Settings
from rag.search.index import load_index

CLAUSES = [
    "第一条 为了规范本市临街商铺外摆经营活动，维护市容秩序，制定本办法。",
    "第二条 本办法适用于本市城市道路两侧临街商铺在门前区域从事的外摆经营活动。",
    "第三条 市城市管理局负责外摆经营活动的统筹指导，各区城市管理部门负责具体实施。",
    "第四条 外摆经营应当在划定的区域和时段内进行，不得占用盲道、消防通道和公交站台。",
    "第五条 经营者应当保持外摆区域整洁，每日收摊后及时清理地面垃圾和油污。",
    "第六条 外摆区域的桌椅、遮阳伞等设施应当统一样式，摆放整齐，不得遮挡交通标志。",
    "第七条 违反本办法规定的，由区城市管理部门责令改正；拒不改正的，依法予以处理。",
    "第八条 本办法自2031年3月1日起施行，有效期至2036年2月28日。",
]
DOC = "示范外摆经营管理办法\n济城管发〔2031〕2号\n" + "\n".join(CLAUSES) + "\n"
# One clause of eight reworded: most clauses verbatim, so still a copy.
NEAR = DOC.replace("每日收摊后及时清理地面垃圾和油污", "每日收摊后立即清扫地面并清除油污")
OTHER = ("示范社区菜市场管理办法\n济商发〔2031〕5号\n第一条 为了方便居民生活，规范社区菜市场管理，制定本办法。\n"
         "第二条 菜市场开办者应当建立进货查验制度，公示摊位价格。\n"
         "第三条 本办法自2031年3月1日起施行，有效期至2036年2月28日。\n")  # its last clause is worded like DOC's
AUTH = basic_auth("张三", "correct horse")


@pytest.fixture()
def client(tmp_path):
    service = fake_service(tmp_path, {"外摆办法.txt": DOC})
    service.staff.add("张三", "correct horse")
    with api_client(service) as c:
        yield c


def upload(client, name: str, text: str, replace: bool = False):
    return client.post("/api/documents", headers=AUTH, files={"file": (name, text.encode("utf-8"), "text/plain")},
                       data={"replace": "true"} if replace else None)


def test_an_upload_repeating_a_corpus_file_is_refused_naming_it_or_replaces_it(client):
    corpus = client.service.settings.corpus_dir
    r = upload(client, "外摆办法（副本）.txt", DOC)
    assert r.status_code == 409 and r.json()["code"] == "duplicate", r.json()
    assert "外摆办法.txt" in r.json()["error"] and "相同" in r.json()["error"]
    # The same text with other line breaks and spacing is the same cleaned text.
    r = upload(client, "外摆办法-排版.txt", DOC.replace("\n第", "\n\n  第").replace("，", "， "))
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    r = upload(client, "外摆办法修改稿.txt", NEAR)
    body = r.json()
    assert r.status_code == 409 and body["code"] == "duplicate" and "外摆办法.txt" in body["error"]
    assert "基本相同" in body["error"] and "%" in body["error"]
    assert sorted(p.name for p in corpus.iterdir()) == ["外摆办法.txt"]
    r = upload(client, "菜市场办法.txt", OTHER)
    assert r.status_code == 200 and r.json()["stored"] == "菜市场办法.txt"
    # Asked to replace: the file it repeats goes to the trash, audited, and the upload is stored.
    r = upload(client, "外摆办法修改稿.txt", NEAR, replace=True)
    assert r.status_code == 200 and r.json()["stored"] == "外摆办法修改稿.txt"
    assert sorted(p.name for p in corpus.iterdir()) == ["外摆办法修改稿.txt", "菜市场办法.txt"]
    trash = client.get("/api/trash", headers=AUTH).json()["trash"]
    assert [e["file"] for e in trash] == ["外摆办法.txt"]
    rows = client.get("/api/audit", headers=AUTH).json()["audit"]
    replaced = [r for r in rows if r["action"] == "replace"]
    assert len(replaced) == 1 and replaced[0]["file"] == "外摆办法.txt"
    assert replaced[0]["replaced_by"] == "外摆办法修改稿.txt" and replaced[0]["trash"] == trash[0]["stamp"]


def test_the_page_holds_a_copy_back_until_replace_is_confirmed(client, tmp_path):
    copy = tmp_path / "外摆办法副本.txt"
    copy.write_text(DOC, encoding="utf-8")
    msg, waiting = ui.upload_message(client.service, [str(copy)], who="张三")
    assert "内容与已有文件 外摆办法.txt 相同" in msg and "确认替换后" in msg and waiting == [str(copy)]
    msg, waiting = ui.upload_message(client.service, waiting, who="张三", replace=True)
    assert msg.startswith("已上传 外摆办法副本.txt") and waiting == []
    assert sorted(p.name for p in client.service.settings.corpus_dir.iterdir()) == ["外摆办法副本.txt"]


def test_the_duplicate_share_is_a_setting(client):
    docs = client.service.docs
    docs.settings = docs.settings.replace(duplicate_share=0.95)  # one clause of eight changed: 0.88
    assert upload(client, "外摆办法修改稿.txt", NEAR).status_code == 200
    docs.settings = docs.settings.replace(duplicate_share=0)
    assert upload(client, "外摆办法副本.txt", DOC).status_code == 200


# --- the index: one card per clause, however the copy came --------------------------------------------

def build(tmp_path, files: dict[str, str], embedder=None, index="index"):
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for p in corpus.iterdir():
        if p.name not in files:
            p.unlink()
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings.make(corpus_dir=corpus, index_dir=tmp_path / index)
    report = build_index(settings, embedder=embedder or FakeEmbedder())
    return report, load_index(settings)


def test_a_copy_put_into_the_corpus_by_hand_adds_no_card(tmp_path):
    copy = "外摆办法（副本）.txt"
    report, ix = build(tmp_path, {"外摆办法.txt": DOC, copy: DOC, "菜市场办法.txt": OTHER})
    texts = Counter(c.text for c in ix.chunks)
    assert [t for t, n in texts.items() if n > 1] == []
    n = sum(c.source == "外摆办法.txt" for c in ix.chunks)
    assert n >= len(CLAUSES) and not any(c.source == copy for c in ix.chunks)
    # What was dropped, and for which file, is in the report and the manifest.
    assert report.dropped == {copy: {"外摆办法.txt": n}}
    files = ix.manifest["files"]
    assert files[copy]["dropped"] == n and files[copy]["same_as"] == {"外摆办法.txt": n}
    assert files[copy]["chunks"] == 0 and files["外摆办法.txt"]["dropped"] == 0
    assert ix.manifest["counts"]["dropped"] == n
    msg = ui.reindex_message({"chunks": report.chunks, "embedded": report.embedded_files, "reused": [], "removed": [],
                              "skipped": [], "seconds": 1.0, "dropped": report.dropped})
    assert msg.endswith(f"与先收录的文件重复、未再收录的片段：{copy} {n} 个（同 外摆办法.txt）。")
    # A clause worded alike in two different documents is two cards: each names its own document.
    closing = [c for c in ix.chunks if "2031年3月1日起施行" in c.text]
    assert sorted(c.source for c in closing) == ["外摆办法.txt", "菜市场办法.txt"]
    # The original leaves: the copy gets every chunk back with the next (incremental) build.
    report, ix = build(tmp_path, {copy: DOC, "菜市场办法.txt": OTHER})
    assert copy in report.embedded_files and report.dropped == {} and report.embedded_chunks == n
    assert sum(c.source == copy for c in ix.chunks) == n and ix.manifest["counts"]["dropped"] == 0


def same_index(a, b) -> None:
    assert [c.to_dict() for c in a.chunks] == [c.to_dict() for c in b.chunks]
    assert np.allclose(a.vectors, b.vectors) and a.unit_spans == b.unit_spans
    assert np.allclose(a.unit_vectors, b.unit_vectors)


def test_a_near_copy_keeps_its_changed_clause_and_gets_the_rest_back_when_the_original_goes(tmp_path):
    copy, emb = "b_外摆办法修改稿.txt", FakeEmbedder()
    corpus = {"a_外摆办法.txt": DOC, copy: NEAR, "菜市场办法.txt": OTHER}
    report, first = build(tmp_path, corpus, emb)
    kept = [c.text for c in first.chunks if c.source == copy]
    assert kept == [next(c for c in NEAR.splitlines() if c.startswith("第五条"))]
    assert report.dropped == {copy: {"a_外摆办法.txt": sum(c.source == "a_外摆办法.txt" for c in first.chunks) - 1}}
    # Without the original, the next incremental build embeds only what the copy lacked and equals a
    # full build of that corpus.
    report, ix = build(tmp_path, {copy: NEAR, "菜市场办法.txt": OTHER}, emb)
    assert copy in report.embedded_files and report.removed_files == ["a_外摆办法.txt"] and report.dropped == {}
    assert report.embedded_chunks == sum(c.source == copy for c in ix.chunks) - 1
    _, full = build(tmp_path, {copy: NEAR, "菜市场办法.txt": OTHER}, index="full")
    same_index(ix, full)
    # The original back: the index is again the first one, the copy's chunks taken from the last build.
    report, ix = build(tmp_path, corpus, emb)
    assert "a_外摆办法.txt" in report.embedded_files and copy in report.reused_files and set(report.dropped) == {copy}
    same_index(ix, first)
    # An unchanged corpus reuses everything, and what was dropped stays dropped.
    report, again = build(tmp_path, corpus, emb)
    assert report.embedded_files == [] and report.embedded_chunks == 0 and set(report.dropped) == {copy}
    same_index(again, first)
    manifest = json.loads((again.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"][copy]["dropped"] == report.dropped[copy]["a_外摆办法.txt"]
