"""The feedback store: SQLite rows, CSV export, and a store from the first release gaining new columns."""

from __future__ import annotations

import json

import pytest


def test_feedback_export_is_csv_in_chinese_with_every_column(tmp_path):
    import csv
    import io

    from rag.feedback import COLUMNS, CSV_FIELDS, FeedbackStore
    from rag.prompts import FEEDBACK_CSV_HEADERS as CSV_HEADERS

    store = FeedbackStore(tmp_path / "fb.sqlite", 2000)
    record = {"question": "问，\"引号\"", "answer": "答[1]", "refused": False,
              "citations": [{"source": "a.txt", "start": 1, "end": 3, "quote": "条款"}]}
    record["trace"] = {"answerer": "extractive", "answerer_version": "extractive/1", "settings_hash": "h1",
                       "model_version": "answer-model/1+abc"}
    record["settings_hash"] = "h1"
    store.add(record, "incorrect", "多行\n备注", "fp1")
    store.add(dict(record, refused=True), "citation_wrong", "", "fp1")
    with pytest.raises(ValueError):
        store.add(record, "maybe", "", "fp1")
    text = store.to_csv()
    header = text.splitlines()[0].split(",")
    # Every header is Chinese, and every stored column is exported (the verdict twice: words and code).
    assert header == [CSV_HEADERS[f] for f in CSV_FIELDS] and set(COLUMNS) <= set(CSV_FIELDS)
    assert header[:7] == ["编号", "时间", "问题", "回答", "是否拒答", "引用（JSON）", "审核结论"]
    assert all(not any("a" <= ch.lower() <= "z" for ch in h) for h in header if h != "引用（JSON）")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    assert rows[0]["问题"] == "问，\"引号\"" and rows[0]["备注"] == "多行\n备注"
    assert (rows[0]["审核结论"], rows[0]["结论代码"], rows[0]["是否拒答"]) == ("错误", "incorrect", "否")
    assert (rows[1]["审核结论"], rows[1]["结论代码"], rows[1]["是否拒答"]) == ("引用有误", "citation_wrong", "是")
    assert json.loads(rows[0]["引用（JSON）"])[0]["quote"] == "条款"
    assert rows[0]["回答设置哈希"] == "h1" and rows[0]["回答器版本"] == "extractive/1"
    assert rows[0]["回答模型版本"] == "answer-model/1+abc" and rows[0]["索引指纹"] == "fp1"


def test_feedback_store_of_the_first_release_gains_the_new_columns(tmp_path):
    import sqlite3

    from rag.feedback import COLUMNS, FeedbackStore

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, question TEXT "
               "NOT NULL, answer TEXT NOT NULL, refused INTEGER NOT NULL, citations TEXT NOT NULL, verdict TEXT NOT "
               "NULL, comment TEXT NOT NULL DEFAULT '', settings_fingerprint TEXT NOT NULL, answerer TEXT NOT NULL)")
    db.execute("INSERT INTO feedback (created_at, question, answer, refused, citations, verdict, settings_fingerprint,"
               " answerer) VALUES ('t', 'q', 'a', 0, '[]', 'correct', 'fp', 'extractive')")
    db.commit()
    db.close()
    store = FeedbackStore(path, 2000)
    store.add({"question": "q2", "answer": "a2", "trace": {"answerer_version": "extractive/1"}}, "correct", "", "fp")
    rows = store.rows()
    assert [r["question"] for r in rows] == ["q", "q2"] and set(rows[0]) == set(COLUMNS)
    assert rows[1]["answerer_version"] == "extractive/1" and rows[0]["settings_hash"] == ""
