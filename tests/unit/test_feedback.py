"""The feedback store: SQLite rows, CSV export, and a store from the first release gaining new columns."""

from __future__ import annotations

import json

import pytest


def test_feedback_export_is_csv_with_every_column(tmp_path):
    import csv
    import io

    from rag.feedback import COLUMNS, FeedbackStore

    store = FeedbackStore(tmp_path / "fb.sqlite", 2000)
    record = {"question": "问，\"引号\"", "answer": "答[1]", "refused": False,
              "citations": [{"source": "a.txt", "start": 1, "end": 3, "quote": "条款"}]}
    record["trace"] = {"answerer": "extractive", "answerer_version": "extractive/1", "settings_hash": "h1",
                       "model_version": "answer-model/1+abc"}
    record["settings_hash"] = "h1"
    store.add(record, "incorrect", "多行\n备注", "fp1")
    with pytest.raises(ValueError):
        store.add(record, "maybe", "", "fp1")
    rows = list(csv.DictReader(io.StringIO(store.to_csv())))
    assert list(rows[0]) == list(COLUMNS) and len(rows) == 1
    assert rows[0]["question"] == "问，\"引号\"" and rows[0]["comment"] == "多行\n备注"
    assert rows[0]["verdict"] == "incorrect" and json.loads(rows[0]["citations"])[0]["quote"] == "条款"
    assert rows[0]["settings_hash"] == "h1" and rows[0]["answerer_version"] == "extractive/1"
    assert rows[0]["model_version"] == "answer-model/1+abc"


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
