"""The JSON API over a running `Service` (FastAPI): questions for everyone, documents for staff.

    POST   /api/ask                     {"question", "conversation_id"?, "history"?} -> the batch format
                                        + "conversation_id"
    GET    /api/health
    POST   /api/login  {"name","password"} -> session cookie for the page; POST /api/logout
    GET    /api/documents               staff: the corpus files
    POST   /api/documents               staff: multipart "file" (+ "replace=true" to replace a same-name file)
    DELETE /api/documents/{name}        staff: to the trash
    GET    /api/trash                   staff: deleted / replaced files
    POST   /api/trash/{name}/restore    staff: back into the corpus (newest version, or ?stamp=)
    POST   /api/reindex, GET /api/reindex   staff: start a reindex in the background / its progress
    GET    /api/feedback.csv, /api/audit    staff: the feedback table, the audit log

Staff requests carry HTTP Basic credentials or the session cookie the login set; without either: 401.
With no staff account at all the staff routes answer 403 and say how to create one. Every error body is
``{"error": <Chinese message>, "code": <machine code>}``. Knows nothing of Gradio (``ui.py`` mounts it).
"""

from __future__ import annotations

import base64
import binascii
import math
import shutil
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import prompts
from .errors import RagError, UploadRefused
from .record import answer_record
from .text import SURROGATE_RE

if TYPE_CHECKING:
    from .service import Service

COOKIE = "qc_staff"
_STATUS_TEXT = {400: "请求内容无法解析：须为 UTF-8 编码的 JSON。", 401: "需要工作人员登录", 403: "没有权限", 404: "没有这个地址",
                405: "不支持这种请求方式", 409: "操作冲突", 413: "内容过大", 415: "不支持的类型",
                422: "请求内容无法处理", 429: "请求过于频繁，请稍后再试", 500: "服务器内部错误，请稍后再试"}


def error(status: int, message: str, code: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "code": code}, status_code=status, headers=headers)


class StaffRequired(Exception):
    def __init__(self, status: int, message: str, code: str):
        self.status, self.message, self.code = status, message, code


class AskBody(BaseModel):
    question: str = Field(..., description="the question")
    conversation_id: str | None = Field(None, description="from an earlier answer: this is a follow-up")
    history: list[str] = Field(default_factory=list, description="earlier questions (older clients); "
                               "used to resolve follow-ups, never answered again")

    @field_validator("question", "history")
    @classmethod
    def _valid_text(cls, v):
        for s in [v] if isinstance(v, str) else v:
            if SURROGATE_RE.search(s):
                raise ValueError("invalid text")
        return v


class LoginBody(BaseModel):
    name: str
    password: str


class RateLimiter:
    """Token bucket per client: ``per_minute`` questions a minute on average, ``burst`` at once.
    Idle clients are forgotten, so memory stays bounded."""

    def __init__(self, per_minute: int, burst: int, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0 when the request may go, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if len(self._buckets) > 10 * 1024:
                full = self.burst / self.rate
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)
            return 0.0


def client_key(request) -> str:
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def session_token(headers) -> str | None:
    raw = headers.get("cookie") if headers is not None else None
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001 - a malformed cookie header is no login
        return None
    return jar[COOKIE].value if COOKIE in jar else None


def staff_name(service: Service, headers) -> str | None:
    """The logged-in staff member of a request (session cookie or Basic credentials), else None."""
    name = service.sessions.user(session_token(headers))
    if name and name in service.staff.names():
        return name
    auth = headers.get("authorization") if headers is not None else None
    if auth and auth.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if service.staff.verify(user, password):
            return user
    return None


def require_staff(service: Service, request: Request) -> str:
    if not service.staff:
        raise StaffRequired(403, prompts.NO_STAFF_ACCOUNT, "no_staff_account")
    name = staff_name(service, request.headers)
    if name is None:
        raise StaffRequired(401, prompts.STAFF_LOGIN_REQUIRED, "login_required")
    return name


def create_api(service: Service, title: str) -> FastAPI:
    app = FastAPI(title=title)
    serve = service.settings.serve
    limiter = RateLimiter(serve.rate_limit_per_minute, serve.rate_limit_burst)
    app.state.limiter = limiter

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        if any("invalid text" in str(e.get("msg", "")) for e in exc.errors()):
            return error(400, prompts.INVALID_TEXT, "invalid_text")
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error(400, "请求不是有效的 JSON。", "invalid_json")
        missing = [str(e["loc"][-1]) for e in exc.errors() if e.get("type") == "missing"]
        if missing:
            return error(400, f"缺少字段：{'、'.join(missing)}", "missing_field")
        return error(400, "请求格式有误：请按接口说明提交。", "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return error(exc.status_code, _STATUS_TEXT.get(exc.status_code, "请求失败"), f"http_{exc.status_code}")

    @app.exception_handler(StaffRequired)
    async def _staff(request: Request, exc: StaffRequired):
        headers = {"WWW-Authenticate": 'Basic realm="staff", charset="UTF-8"'} if exc.status == 401 else None
        return error(exc.status, exc.message, exc.code, headers)

    @app.exception_handler(UploadRefused)
    async def _refused(request: Request, exc: UploadRefused):
        return error(exc.status, str(exc), exc.code)

    @app.exception_handler(RagError)
    async def _rag(request: Request, exc: RagError):
        return error(400, str(exc), "refused")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        return error(500, _STATUS_TEXT[500], "internal_error")

    def staff(request: Request) -> str:
        """The dependency of every staff route: resolved before the body is read or validated."""
        return require_staff(service, request)

    @app.get("/api/health")
    def health() -> dict:
        return service.health()

    @app.post("/api/ask")
    def api_ask(body: AskBody, request: Request):
        wait = limiter.allow(client_key(request))
        if wait:
            return error(429, prompts.RATE_LIMITED, "rate_limited", {"Retry-After": str(math.ceil(wait))})
        if len(body.history) > serve.max_history_turns:
            return error(400, f"对话历史过长（最多 {serve.max_history_turns} 轮）", "history_too_long")
        cid, answer = service.converse(body.question, body.conversation_id, body.history)
        return {**answer_record(answer), "conversation_id": cid}

    # --- staff ---------------------------------------------------------------------------------

    @app.post("/api/login")
    def login(body: LoginBody, request: Request):
        if not service.staff:
            raise StaffRequired(403, prompts.NO_STAFF_ACCOUNT, "no_staff_account")
        if limiter.allow("login:" + client_key(request)):
            return error(429, prompts.RATE_LIMITED, "rate_limited")
        if not service.staff.verify(body.name, body.password):
            return error(401, "账号或密码不正确", "bad_credentials")
        token = service.sessions.create(body.name)
        resp = JSONResponse({"name": body.name})
        resp.set_cookie(COOKIE, token, max_age=int(serve.staff_session_s), httponly=True, samesite="strict", path="/")
        return resp

    @app.post("/api/logout")
    def logout(request: Request):
        service.sessions.end(session_token(request.headers))
        resp = JSONResponse({"ok": True})
        resp.delete_cookie(COOKIE, path="/")
        return resp

    @app.get("/api/me")
    def me(request: Request):
        return {"name": staff_name(service, request.headers), "staff_enabled": bool(service.staff)}

    @app.get("/api/documents")
    def list_documents(who: str = Depends(staff)):
        return {"documents": service.documents()}

    @app.post("/api/documents")
    def upload_document(request: Request, who: str = Depends(staff), file: UploadFile = File(...),
                        replace: bool = Form(False)):
        size = request.headers.get("content-length")
        if size and size.isdigit():
            service.check_upload_size(int(size) - 1024)  # the form's own bytes aside
        folder = Path(tempfile.mkdtemp(prefix="upload-"))
        try:
            tmp = folder / service.safe_name(file.filename or "upload.txt")
            limit = serve.max_upload_mb * 1024 * 1024
            with open(tmp, "wb") as out:
                copied = 0
                while block := file.file.read(1 << 20):
                    copied += len(block)
                    if copied > limit:
                        service.check_upload_size(copied)
                    out.write(block)
            name = service.add_document(tmp, file.filename, who=who, replace=replace)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return {"stored": name, "message": f"已上传 {name}，更新索引后生效。"}

    @app.delete("/api/documents/{name}")
    def delete_document(name: str, who: str = Depends(staff)):
        entry = service.delete_document(name, who=who)
        return {"trashed": entry, "message": f"已将 {name} 移入回收站，更新索引后生效。"}

    @app.get("/api/trash")
    def list_trash(who: str = Depends(staff)):
        return {"trash": service.trash()}

    @app.post("/api/trash/{name}/restore")
    def restore(name: str, stamp: str | None = None, who: str = Depends(staff)):
        entry = service.restore_document(name, stamp, who=who)
        return {"restored": entry, "message": f"已恢复 {name}，更新索引后生效。"}

    @app.post("/api/reindex", status_code=202)
    def reindex(who: str = Depends(staff)):
        service.start_reindex(who)
        return {"started": True, "status": service.reindex_status_view()}

    @app.get("/api/reindex")
    def reindex_status(who: str = Depends(staff)):
        return service.reindex_status_view()

    @app.get("/api/feedback.csv")
    def feedback_csv(who: str = Depends(staff)):
        return Response(("\ufeff" + service.feedback.to_csv()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="feedback.csv"'})

    @app.get("/api/audit")
    def audit(who: str = Depends(staff)):
        return {"audit": service.audit.rows()}

    return app
