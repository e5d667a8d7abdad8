"""The running service behind the chat page and the JSON API: one loaded index and model, answering
serialised, document management, and reindexing that swaps in the new index only when it is ready.

Owns the live `QA` and the feedback store; knows nothing of Gradio or HTTP.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from . import prompts
from .config import Settings
from .conversation import ConversationStore, RateLimiter
from .documents import DocumentStore
from .errors import RagError, UploadRefused
from .factory import open_qa
from .feedback import FeedbackStore
from .qa import QA
from .staff import AuditLog, LoginThrottle, Sessions, StaffStore
from .types import Answer

log = logging.getLogger(__name__)


class Service:
    """Loads the index once (building it first if there is none) and answers from it.

    Args:
        settings: paths and every knob.
        embedder: an already loaded embedder (tests share one), else the one settings name.
    """

    def __init__(self, settings: Settings, embedder=None):
        from .search.embed import load_embedder
        from .build import ensure_index

        self.settings = settings
        self.embedder = embedder or load_embedder(settings.index.embedder, settings.index.embed_batch_size)
        ensure_index(settings, self.embedder, announce=lambda: log.warning(
            "no index in %s: building it from %s", settings.index_dir, settings.corpus_dir))
        self.qa = self._open()
        self.feedback = FeedbackStore(settings.serve.feedback_db, settings.serve.feedback_comment_chars)
        data = Path(settings.serve.data_dir)
        self.staff = StaffStore(data / "staff.json")
        self.sessions = Sessions(settings.serve.staff_session_s)
        self.logins = LoginThrottle(settings.serve.login_max_failures, settings.serve.login_window_s)
        self.audit = AuditLog(data / "audit.jsonl")
        # The corpus folder and its trash (add, delete, restore, name and size checks): callers use it
        # directly, as the CLI does without a loaded index.
        self.docs = DocumentStore(settings, self.audit)
        self.reindexer = Reindexer(settings, self.embedder, self.audit, self._swap)
        self.conversations = ConversationStore(settings)
        # Questions per client, for every way of asking over the web (the API, the page, Gradio's /ask).
        self.limiter = RateLimiter(settings.serve.rate_limit_per_minute, settings.serve.rate_limit_burst)
        self.started_at = time.time()
        self.answered = 0  # questions answered since start (health; shows nothing is answered twice)
        self._count_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(settings.serve.answer_workers or os.cpu_count() or 1)

    def _open(self) -> QA:
        return open_qa(self.settings, self.embedder)

    def _swap(self) -> dict:
        """Load the index just built and answer from it (the reindexer calls this); its manifest."""
        self.qa = self._open()  # the swap: one reference assignment, no answer waits for it
        return self.index.manifest

    # --- answering ---------------------------------------------------------------------------

    def ask(self, question: str, history: list | None = None) -> Answer:
        # NOTE: no lock around answering, only as many answers at once as there are cores: the loaded
        # index is read-only, the embedder serialises its own calls (the C/torch model releases the
        # GIL meanwhile, so another answer's Python runs), and a reindex swaps self.qa in one
        # assignment, so each question runs whole on the QA it started with.
        self._count()
        with self._slots:
            return self.qa.ask(question, history)

    def ask_stream(self, question: str, history: list | None = None) -> Iterator[str | Answer]:
        self._count()
        with self._slots:
            yield from self.qa.ask_stream(question, history)

    def _count(self) -> None:
        with self._count_lock:
            self.answered += 1

    def converse_stream(self, question: str, conversation_id: str | None = None,
                        history: list[str] | None = None) -> Iterator[str | tuple[str, Answer]]:
        """One turn of a stored conversation (``ConversationStore.turn``): text pieces, then
        (conversation id, Answer)."""
        yield from self.conversations.turn(self.ask_stream, question, conversation_id, history)

    def converse(self, question: str, conversation_id: str | None = None,
                 history: list[str] | None = None) -> tuple[str, Answer]:
        """One turn of a stored conversation: (conversation id, Answer)."""
        for piece in self.converse_stream(question, conversation_id, history):
            last = piece
        return last

    # --- what the page shows -----------------------------------------------------------------

    @property
    def index(self):
        return self.qa.retriever.index

    def chunk(self, chunk_id: str):
        """A chunk of the live index by id (the map is rebuilt when a new index is swapped in)."""
        if getattr(self, "_chunk_index", None) is not self.index:
            self._chunks_by_id = {c.chunk_id: c for c in self.index.chunks}
            self._chunk_index = self.index
        return self._chunks_by_id.get(chunk_id)

    def document_titles(self) -> list[tuple[str, str | None]]:
        """(title, 文号) of every indexed document, in corpus order."""
        seen: dict[str, tuple[str, str | None]] = {}
        for c in self.index.chunks:
            if c.doc_id not in seen and c.title:
                seen[c.doc_id] = (c.title, c.doc_number)
        return list(seen.values())

    def source_context(self, source: str, start: int, end: int) -> dict:
        """The text around a cited span, for 查看原文: before / quote / after, and where it is."""
        margin = self.settings.serve.source_margin_chars
        raw = self.index.raws.get(source)
        if raw is None or not (0 <= start < end <= len(raw)):
            raise RagError(prompts.SOURCE_NOT_FOUND.format(source=source, start=start, end=end))
        a = raw.rfind("\n", 0, max(0, start - margin)) + 1
        b = raw.find("\n", min(len(raw), end + margin))
        b = len(raw) if b < 0 else b
        return {"source": source, "start": start, "end": end, "line": raw.count("\n", 0, start) + 1,
                "total_lines": raw.count("\n") + 1, "length": len(raw), "before": raw[a:start],
                "quote": raw[start:end], "after": raw[end:b]}

    def health(self) -> dict:
        m = self.index.manifest
        return {"status": "ok", "chunks": len(self.index.chunks), "files": len(m.get("files", {})),
                "documents": len(self.document_titles()), "embedder": m["embedder"]["name"],
                "fingerprint": m.get("fingerprint") or self.settings.fingerprint(),
                "settings_hash": self.qa.settings_hash, "answerer": self.qa.answerer.version,
                "reindexing": self.reindexer.status["running"], "uptime_s": round(time.time() - self.started_at, 1),
                "answered": self.answered}

    # --- documents ---------------------------------------------------------------------------

    def documents(self) -> list[dict]:
        """The corpus files with what the live index holds of each."""
        files = self.index.manifest.get("files", {})
        out = []
        for d in self.docs.files():
            info = files.get(d["file"], {})
            out.append({**d, "chunks": info.get("chunks"), "indexed": d["file"] in files,
                        "sha256": info.get("sha256")})
        return out


class Reindexer:
    """Incremental rebuilds of the index, one at a time: questions keep being answered from the old
    index until the new one is built and loaded (``swap``), then the next question uses the new one.
    ``status`` is the progress the page, the API and health show.

    Args:
        settings: paths and every knob.
        embedder: the service's loaded embedder.
        audit: the audit log (a row for each reindex, and for each failed one).
        swap: loads the new index and makes it the live one; returns its manifest.
    """

    def __init__(self, settings: Settings, embedder, audit: AuditLog, swap: Callable[[], dict]):
        self.settings, self.embedder, self.audit, self._swap = settings, embedder, audit, swap
        self._lock = threading.Lock()
        self.status = {"running": False, "progress": 1.0, "message": "", "finished_at": None, "error": ""}

    def run(self, progress: Callable[[float, str], None] | None = None, who: str = "") -> dict:
        """Rebuild and swap in, in the caller's thread (the page's 更新索引); what it did."""
        from .build import build_index

        if not self._lock.acquire(blocking=False):
            raise UploadRefused(prompts.REINDEX_BUSY, status=409, code="busy")
        try:
            self.status.update(running=True, progress=0.0, message=prompts.REINDEX_STARTED, error="", started_by=who)

            def say(frac: float, msg: str) -> None:
                self.status.update(progress=frac, message=msg)
                if progress:
                    progress(frac, msg)

            try:
                report = build_index(self.settings, embedder=self.embedder, progress=say)
                manifest = self._swap()
            except Exception as exc:
                self.status.update(message=prompts.REINDEX_FAILED, error=str(exc), finished_at=time.time())
                self.audit.write(who, "reindex_failed", error=str(exc))
                raise
            self.status.update(progress=1.0, message=prompts.STAGE_DONE, finished_at=time.time())
            out = {"chunks": report.chunks, "embedded": report.embedded_files, "reused": report.reused_files,
                   "removed": report.removed_files, "skipped": report.skipped, "seconds": round(report.seconds, 1),
                   "dropped": report.dropped}
            self.audit.write(who, "reindex", embedded=report.embedded_files, removed=report.removed_files,
                             dropped=report.dropped,
                             sha256={f: v["sha256"] for f, v in manifest.get("files", {}).items()
                                     if f in report.embedded_files})
            self.status["report"] = out
            return out
        finally:
            self.status["running"] = False
            self._lock.release()

    def view(self) -> dict:
        """The progress for the API: running, fraction, stage, error, the last report."""
        st = dict(self.status)
        st["progress"] = round(float(st.get("progress") or 0), 3)
        return st

    def start(self, who: str = "") -> None:
        """Reindex in a background thread (the API's POST /api/reindex); progress in ``status``."""
        if self._lock.locked():
            raise UploadRefused(prompts.REINDEX_BUSY, status=409, code="busy")

        def run() -> None:
            try:
                self.run(who=who)
            except Exception:  # recorded in status and the audit log
                log.exception("reindex failed")

        threading.Thread(target=run, name="reindex", daemon=True).start()
        # The thread marks itself running at once; wait for that so a status read right after sees it.
        deadline = time.time() + 2
        while not self.status["running"] and time.time() < deadline and not self._lock.locked():
            time.sleep(0.01)
