"""Staff feedback on answers, stored in SQLite: the question, the answer, its citations, the verdict,
a comment, the index fingerprint and the answer-settings hash and answerer version the answer was
produced with (from its trace). Exported as CSV for staff: Chinese column headers, the verdict in
words (正确 / 错误 / 引用有误) with its machine-readable code in the column beside it (结论代码:
correct / incorrect / citation_wrong), 是否拒答 as 是 / 否.

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

from .prompts import FEEDBACK_CSV_HEADERS, NO, VERDICTS, YES

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
    answerer TEXT NOT NULL,
    settings_hash TEXT NOT NULL DEFAULT '',
    answerer_version TEXT NOT NULL DEFAULT '',
    model_version TEXT NOT NULL DEFAULT ''  -- the fitted answer model (rag/answer/model.py)
)
"""
COLUMNS = ("id", "created_at", "question", "answer", "refused", "citations", "verdict", "comment",
           "settings_fingerprint", "answerer", "settings_hash", "answerer_version", "model_version")
# Columns added after the first release: a store created then gets them on open.
_ADDED = {"settings_hash": "TEXT NOT NULL DEFAULT ''", "answerer_version": "TEXT NOT NULL DEFAULT ''",
          "model_version": "TEXT NOT NULL DEFAULT ''"}


CSV_FIELDS = ("id", "created_at", "question", "answer", "refused", "citations", "verdict", "verdict_code",
              "comment", "settings_fingerprint", "answerer", "settings_hash", "answerer_version", "model_version")


class FeedbackStore:
    """A small SQLite store, safe to share between the page's worker threads."""

    def __init__(self, path: Path, comment_chars: int):
        self.path = Path(path)
        self.comment_chars = comment_chars
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(_SCHEMA)
            have = {r[1] for r in db.execute("PRAGMA table_info(feedback)")}
            for name, decl in _ADDED.items():
                if name not in have:
                    db.execute(f"ALTER TABLE feedback ADD COLUMN {name} {decl}")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, record: dict, verdict: str, comment: str, fingerprint: str) -> int:
        """Store one judgement of an answer record (the batch format, with its trace). Returns its id.

        Args:
            record: ``rag.record.answer_record`` of the judged answer.
            verdict: a key of ``VERDICTS``.
            comment: the reviewer's note (cut at ``comment_chars``).
            fingerprint: the index fingerprint the answer was produced over.
        """
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {sorted(VERDICTS)}")
        trace = record.get("trace") or {}
        row = (time.strftime("%Y-%m-%d %H:%M:%S"), record.get("question") or "", record.get("answer") or "",
               int(bool(record.get("refused"))), json.dumps(record.get("citations") or [], ensure_ascii=False),
               verdict, (comment or "")[: self.comment_chars], fingerprint, trace.get("answerer") or "",
               record.get("settings_hash") or trace.get("settings_hash") or "", trace.get("answerer_version") or "",
               trace.get("model_version") or "")
        with self._lock, self._connect() as db:
            cur = db.execute(f"INSERT INTO feedback ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * len(row))})",
                             row)
            return int(cur.lastrowid)

    def rows(self) -> list[dict]:
        with self._lock, self._connect() as db:
            cur = db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")
            return [dict(zip(COLUMNS, r)) for r in cur.fetchall()]

    def to_csv(self) -> str:
        """Every row, oldest first, under the Chinese headers of ``prompts.FEEDBACK_CSV_HEADERS`` (in
        ``CSV_FIELDS`` order)."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow([FEEDBACK_CSV_HEADERS[f] for f in CSV_FIELDS])
        for r in self.rows():
            r = dict(r, verdict=VERDICTS.get(r["verdict"], r["verdict"]), verdict_code=r["verdict"],
                     refused=YES if r["refused"] else NO)
            w.writerow([r[f] for f in CSV_FIELDS])
        return buf.getvalue()
