"""Staff feedback on answers, stored in SQLite: the question, the answer, its citations, the verdict,
a comment and the settings fingerprint the answer was produced with. Exported as CSV.

Owns the feedback table only; knows nothing of the UI.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
import time
from pathlib import Path

VERDICTS = {"correct": "正确", "incorrect": "错误", "citation_wrong": "引用有误"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL,
    citations TEXT NOT NULL,      -- JSON list in the batch format
    verdict TEXT NOT NULL CHECK (verdict IN ('correct', 'incorrect', 'citation_wrong')),
    comment TEXT NOT NULL DEFAULT '',
    settings_fingerprint TEXT NOT NULL,
    answerer TEXT NOT NULL
)
"""
COLUMNS = ("id", "created_at", "question", "answer", "refused", "citations", "verdict", "comment",
           "settings_fingerprint", "answerer")


class FeedbackStore:
    """A small SQLite store, safe to share between the page's worker threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, record: dict, verdict: str, comment: str, fingerprint: str, answerer: str) -> int:
        """Store one judgement of an answer record (the batch format). Returns its id."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {sorted(VERDICTS)}")
        row = (time.strftime("%Y-%m-%d %H:%M:%S"), record.get("question") or "", record.get("answer") or "",
               int(bool(record.get("refused"))), json.dumps(record.get("citations") or [], ensure_ascii=False),
               verdict, (comment or "")[:2000], fingerprint, answerer)
        with self._lock, self._connect() as db:
            cur = db.execute(
                "INSERT INTO feedback (created_at, question, answer, refused, citations, verdict, comment, "
                "settings_fingerprint, answerer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            return int(cur.lastrowid)

    def rows(self) -> list[dict]:
        with self._lock, self._connect() as db:
            cur = db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")
            return [dict(zip(COLUMNS, r)) for r in cur.fetchall()]

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS)
        w.writeheader()
        for r in self.rows():
            w.writerow(r)
        return buf.getvalue()
