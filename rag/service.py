"""The running service behind the chat page and the JSON API: one loaded index and model, answering
serialised, document management, and reindexing that swaps in the new index only when it is ready.

Owns the live `QA` and the feedback store; knows nothing of Gradio or HTTP.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .config import Settings
from .errors import LoadError, RagError
from .factory import open_qa
from .feedback import FeedbackStore
from .qa import QA
from .types import Answer

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".txt", ".pdf", ".docx", ".html", ".htm")
_SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


class Service:
    """Loads the index once (building it first if there is none) and answers from it.

    Args:
        settings: paths and every knob.
        embedder: an already loaded embedder (tests share one), else the one settings name.
    """

    def __init__(self, settings: Settings, embedder=None):
        from .search.embed import load_embedder
        from .search.index import ensure_index

        self.settings = settings
        self.embedder = embedder or load_embedder(settings.index.embedder, settings.index.embed_batch_size)
        ensure_index(settings, self.embedder, announce=lambda: log.warning(
            "no index in %s: building it from %s", settings.index_dir, settings.corpus_dir))
        self.qa = self._open()
        self._answer_lock = threading.Lock()
        self._reindex_lock = threading.Lock()
        self.reindex_status = {"running": False, "progress": 1.0, "message": "", "finished_at": None}
        self.feedback = FeedbackStore(settings.serve.feedback_db, settings.serve.feedback_comment_chars)
        self.started_at = time.time()

    def _open(self) -> QA:
        return open_qa(self.settings, self.embedder)

    # --- answering ---------------------------------------------------------------------------

    def ask(self, question: str, history: list | None = None) -> Answer:
        # NOTE: one answer at a time: the embedder and jieba are not safe to share between threads,
        # and one extractive answer takes ~30 ms, so a queue is cheaper than copies of the model.
        with self._answer_lock:
            return self.qa.ask(question, history)

    def ask_stream(self, question: str, history: list | None = None) -> Iterator[str | Answer]:
        with self._answer_lock:
            yield from self.qa.ask_stream(question, history)

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
            raise RagError(f"未找到原文：{source} {start}-{end}")
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
                "index": str(self.index.directory),
                "reindexing": self.reindex_status["running"], "uptime_s": round(time.time() - self.started_at, 1)}

    # --- documents ---------------------------------------------------------------------------

    def documents(self) -> list[dict]:
        files = self.index.manifest.get("files", {})
        corpus = Path(self.settings.corpus_dir)
        out = []
        for p in sorted(corpus.iterdir()) if corpus.exists() else []:
            if p.is_file() and not p.name.startswith("."):
                info = files.get(p.name, {})
                out.append({"file": p.name, "bytes": p.stat().st_size, "chunks": info.get("chunks"),
                            "indexed": p.name in files})
        return out

    def add_document(self, path: Path, name: str | None = None) -> str:
        """Copy an uploaded file into the corpus if it can be read. Returns the stored name."""
        from .ingest.load import read_source

        name = _SAFE_NAME.sub("_", Path(name or path.name).name).strip("._") or "upload.txt"
        if not name.lower().endswith(ALLOWED_SUFFIXES):
            raise RagError(f"未上传 {name}：不支持的文件类型（支持 txt、pdf、docx、html）")
        try:
            src = read_source(Path(path))
        except LoadError as exc:  # the English detail goes to the log, the page gets the Chinese
            log.info("upload %s refused: %s", name, exc)
            raise RagError(f"未上传 {name}：{exc.zh}") from exc
        if not src.text.strip():
            raise RagError(f"未上传 {name}：文件为空")
        dest = Path(self.settings.corpus_dir) / name
        tmp = dest.with_name(f".{name}.part")
        shutil.copyfile(path, tmp)
        tmp.replace(dest)
        return name

    def delete_document(self, name: str) -> None:
        corpus = Path(self.settings.corpus_dir).resolve()
        target = (corpus / Path(name).name).resolve()
        if target.parent != corpus or not target.is_file():
            raise RagError(f"没有这个文件：{name}")
        target.unlink()

    def reindex(self, progress: Callable[[float, str], None] | None = None) -> dict:
        """Incremental rebuild; the page keeps answering from the old index until the new one loads."""
        from .search.index import build_index

        if not self._reindex_lock.acquire(blocking=False):
            raise RagError("索引正在更新，请稍候")
        try:
            self.reindex_status.update(running=True, progress=0.0, message="开始更新索引")

            def say(frac: float, msg: str) -> None:
                self.reindex_status.update(progress=frac, message=msg)
                if progress:
                    progress(frac, msg)

            report = build_index(self.settings, embedder=self.embedder, progress=say)
            fresh = self._open()
            with self._answer_lock:
                self.qa = fresh  # the swap: answers before it used the old index, after it the new
            self.reindex_status.update(progress=1.0, message="完成", finished_at=time.time())
            return {"chunks": report.chunks, "embedded": report.embedded_files, "reused": report.reused_files,
                    "removed": report.removed_files, "skipped": report.skipped, "seconds": round(report.seconds, 1)}
        finally:
            self.reindex_status["running"] = False
            self._reindex_lock.release()

