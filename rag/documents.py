"""The corpus folder as staff manage it: uploads within the limits, a trash instead of deletion,
restore, and an audit row for each of them. Works on files only (no index, no model), so the CLI
(`rag documents restore NAME`) and the running service share it.

A deleted or replaced file moves to ``<data_dir>/trash/<stamp>/<name>``; restoring puts the newest
version (or the one of a given stamp) back, and whatever then holds that name goes to the trash.

An upload that repeats a corpus file under another name (the same cleaned text, or most of its
clauses verbatim: ``serve.duplicate_share``) is refused naming that file, or replaces it when asked.
The comparison reads, cleans and chunks the corpus files (no model), remembered per file sha256.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import prompts
from .config import IngestSettings, Settings
from .errors import LoadError, UploadRefused
from .files import file_sha256
from .staff import AuditLog
from .text import SURROGATE_RE, squeeze
from .types import SourceText

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".txt", ".pdf", ".docx", ".html", ".htm")
MAX_NAME_BYTES = 255  # what Linux file systems allow in one name
_SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


@dataclass(frozen=True)
class Content:
    """What two files are compared by: the digest of the whole cleaned text (whitespace removed) and
    the cleaned text of each chunk (whitespace removed), in file order."""

    digest: str
    clauses: tuple[str, ...]


def content_of(src: SourceText, ingest: IngestSettings | None = None) -> Content:
    """A read file's cleaned text digest and clause texts (``clean`` and ``chunk_source``; no model)."""
    from .ingest.chunk import chunk_source
    from .ingest.clean import clean_text

    digest = hashlib.sha256(squeeze(clean_text(src.text)).encode("utf-8")).hexdigest()
    return Content(digest, tuple(t for t in (squeeze(c.text) for c in chunk_source(src, ingest)) if t))


def shared_share(new: Content, old: Content) -> float:
    """The share of new's clause text, by characters, that occurs verbatim among old's clauses
    (1.0 when the cleaned texts are the same)."""
    if new.digest == old.digest:
        return 1.0
    total = sum(map(len, new.clauses))
    if not total:
        return 0.0
    have = set(old.clauses)
    return sum(len(t) for t in new.clauses if t in have) / total


class DocumentStore:
    """Args: settings (corpus_dir, serve.data_dir and the upload limits); audit: where rows go."""

    def __init__(self, settings: Settings, audit: AuditLog):
        self.settings = settings
        self.corpus = Path(settings.corpus_dir)
        self.trash_dir = Path(settings.serve.data_dir) / "trash"
        self.audit = audit
        self._lock = threading.Lock()
        self._contents: dict[str, Content] = {}  # file sha256 -> its Content

    def files(self) -> list[dict]:
        return [{"file": p.name, "bytes": p.stat().st_size}
                for p in (sorted(self.corpus.iterdir()) if self.corpus.exists() else [])
                if p.is_file() and not p.name.startswith(".")]

    @staticmethod
    def check_name(name: str | None) -> str:
        """The one check of a file name from outside (an upload, a delete, a restore), made before
        anything is read or touched: at most MAX_NAME_BYTES of UTF-8, no NUL or other control
        character, no path separator, not empty, "." or "..". Returns the name; raises
        UploadRefused (400, a Chinese message) otherwise."""
        reason = None
        if not name or name in (".", ".."):
            reason = "empty"
        elif any(c in name for c in "/\\"):
            reason = "separator"
        elif any(ord(c) < 32 or ord(c) == 127 for c in name) or SURROGATE_RE.search(name):
            reason = "control"
        elif len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            reason = "too_long"
        if reason:
            raise UploadRefused(prompts.BAD_FILE_NAME.format(reason=prompts.BAD_FILE_NAME_REASONS[reason]),
                                status=400, code="bad_name")
        return name

    @staticmethod
    def safe_name(name: str) -> str:
        """The name an upload is stored under (path parts and odd characters removed)."""
        return _SAFE_NAME.sub("_", Path(name or "").name).strip("._") or "upload.txt"

    def exists(self, name: str) -> bool:
        return (self.corpus / self.safe_name(name)).is_file()

    def check_upload_size(self, size: int) -> None:
        """Refuse an upload over the size limit before it is read."""
        limit = self.settings.serve.max_upload_mb
        if size > limit * 1024 * 1024:
            raise UploadRefused(prompts.FILE_TOO_LARGE.format(mb=size / 1024 / 1024, limit_mb=limit),
                                status=413, code="too_large")

    def duplicates(self, src: SourceText, skip: str = "") -> list[tuple[str, float, bool]]:
        """Corpus files (other than ``skip``) that a read file repeats: (name, its share of clause text
        found verbatim there (``shared_share``), whether the cleaned texts are the same), for shares at
        ``serve.duplicate_share`` or above, highest first."""
        from .ingest.load import iter_source_paths, read_source

        threshold = self.settings.serve.duplicate_share
        if threshold <= 0 or not self.corpus.is_dir():
            return []
        new = content_of(src, self.settings.ingest)
        found, live = [], set()
        for p in iter_source_paths([self.corpus]):
            rel = p.relative_to(self.corpus).as_posix()
            if rel == skip or not p.is_file():
                continue
            digest = file_sha256(p)
            live.add(digest)
            if digest not in self._contents:
                try:
                    self._contents[digest] = content_of(read_source(p, self.corpus), self.settings.ingest)
                except LoadError:  # an unreadable corpus file is the index build's to report
                    continue
            old = self._contents[digest]
            share = shared_share(new, old)
            if share >= threshold:
                found.append((rel, share, new.digest == old.digest))
        for digest in set(self._contents) - live:  # forget files no longer in the corpus
            self._contents.pop(digest, None)
        return sorted(found, key=lambda x: -x[1])

    def add(self, path: Path, name: str | None = None, who: str = "", replace: bool = False) -> str:
        """Copy an uploaded file into the corpus if it can be read and is within the limits. A file of
        the same name, or a corpus file whose content it repeats (``duplicates``), is replaced only with
        ``replace``, and goes to the trash. Returns the stored name; raises UploadRefused (a Chinese
        message) otherwise."""
        from .ingest.load import read_source

        path = Path(path)
        name = self.safe_name(self.check_name(name or path.name))
        if not name.lower().endswith(ALLOWED_SUFFIXES):
            raise UploadRefused(prompts.UNSUPPORTED_FILE_TYPE.format(name=name), status=415,
                                code="unsupported_type")
        self.check_upload_size(path.stat().st_size)
        try:
            src = read_source(path)
        except LoadError as exc:  # the English detail goes to the log, the page gets the Chinese
            log.info("upload %s refused: %s", name, exc)
            raise UploadRefused(prompts.NOT_UPLOADED.format(name=name, reason=exc.zh), status=422,
                                code="unreadable") from exc
        limit = self.settings.serve.max_document_chars
        if len(src.text) > limit:
            raise UploadRefused(prompts.TEXT_TOO_LONG.format(name=name, wan=len(src.text) / 10000,
                                                             limit_wan=limit / 10000), status=413, code="too_long")
        dest = self.corpus / name
        if dest.exists() and not replace:
            raise _same_name(name)
        dups = self.duplicates(src, skip=name)
        if dups and not replace:
            olds = "、".join(f for f, _, _ in dups)
            same = prompts.SAME_CONTENT if dups[0][2] else prompts.NEARLY_SAME_CONTENT.format(share=dups[0][1])
            raise UploadRefused(prompts.DUPLICATE_UPLOAD.format(name=name, olds=olds, same=same), status=409,
                                code="duplicate")
        with self._lock:
            if dest.exists():
                if not replace:  # another upload took the name meanwhile
                    raise _same_name(name)
                old = self._to_trash(dest)
                self.audit.write(who, "replace", name, old["sha256"], trash=old["stamp"])
            for f, share, _ in dups:
                if (self.corpus / f).is_file():
                    old = self._to_trash(self.corpus / f)
                    self.audit.write(who, "replace", f, old["sha256"], trash=old["stamp"], replaced_by=name,
                                     duplicate_share=round(share, 3))
            self.corpus.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".upload-{time.time_ns()}.part")  # short: name may be 255 bytes
            shutil.copyfile(path, tmp)
            tmp.replace(dest)
        self.audit.write(who, "upload", name, file_sha256(dest), bytes=dest.stat().st_size)
        return name

    def delete(self, name: str, who: str = "") -> dict:
        """Move a corpus file to the trash. Returns the trash entry."""
        self.check_name(name)
        corpus = self.corpus.resolve()
        target = (corpus / Path(name or "").name).resolve()
        if not name or target.parent != corpus or not target.is_file():
            raise UploadRefused(prompts.NO_SUCH_FILE.format(name=name), status=404, code="not_found")
        with self._lock:
            entry = self._to_trash(target)
        self.audit.write(who, "delete", entry["file"], entry["sha256"], trash=entry["stamp"])
        return entry

    def _to_trash(self, path: Path) -> dict:
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{time.time_ns() % 1_000_000:06d}"
        folder = self.trash_dir / stamp
        folder.mkdir(parents=True, exist_ok=True)
        digest = file_sha256(path)
        shutil.move(str(path), folder / path.name)
        return {"file": path.name, "stamp": stamp, "sha256": digest, "bytes": (folder / path.name).stat().st_size}

    def trash(self) -> list[dict]:
        """Deleted and replaced files, newest first."""
        out = []
        for folder in sorted(self.trash_dir.iterdir(), reverse=True) if self.trash_dir.exists() else []:
            for f in sorted(folder.iterdir()) if folder.is_dir() else []:
                out.append({"file": f.name, "stamp": folder.name, "bytes": f.stat().st_size,
                            "deleted_at": _stamp_time(folder.name)})
        return out

    def restore(self, name: str, stamp: str | None = None, who: str = "") -> dict:
        """Bring a file back from the trash (its newest version, or the one moved there at ``stamp``)."""
        self.check_name(name)
        entries = [e for e in self.trash() if e["file"] == Path(name or "").name and stamp in (None, e["stamp"])]
        if not entries:
            raise UploadRefused(prompts.NOT_IN_TRASH.format(name=name), status=404, code="not_in_trash")
        entry = entries[0]
        src = self.trash_dir / entry["stamp"] / entry["file"]
        dest = self.corpus / entry["file"]
        with self._lock:
            if dest.exists():
                old = self._to_trash(dest)
                self.audit.write(who, "replace", entry["file"], old["sha256"], trash=old["stamp"])
            shutil.move(str(src), dest)
            try:
                src.parent.rmdir()
            except OSError:
                pass
        self.audit.write(who, "restore", entry["file"], file_sha256(dest), trash=entry["stamp"])
        return entry


def _same_name(name: str) -> UploadRefused:
    return UploadRefused(prompts.FILE_EXISTS.format(name=name), status=409, code="exists")


def _stamp_time(stamp: str) -> str:
    """'20261201T163000-123456' -> '2026-12-01 16:30:00'."""
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.strptime(stamp[:15], "%Y%m%dT%H%M%S"))
    except ValueError:
        return stamp
