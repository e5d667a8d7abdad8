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
With no staff account at all the staff routes answer 403 and say how to create one. Failed logins, by
Basic or by the form, are counted per account and per client (``LoginThrottle``): past
``serve.login_max_failures`` a minute both answer 429 with Retry-After, and each failure is audited.
An upload is refused before its body is read unless it comes from staff and within the size limit
(``UploadGuard``). Every error body is ``{"error": <Chinese message>, "code": <machine code>}``, an
unknown /api/ path's and a wrong method's too. The API schema (/api/openapi.json) exists only
with ``serve.api_docs``, for staff. Knows nothing of Gradio (``ui.py`` mounts it).
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
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import prompts
from .errors import RagError, UploadRefused
from .record import answer_record
from .text import SURROGATE_RE
from .web import REFUSED_BODY_CAP, STATUS_TEXT, Edge, drain, send_error

if TYPE_CHECKING:
    from .service import Service

COOKIE = "qc_staff"
UPLOAD_FRAMING = 16 * 1024  # a multipart body's own bytes beyond its files
STAFF_DRAIN_FACTOR = 16  # a staff upload refused as too large is read and dropped up to 16x the limit


def error(status: int, message: str, code: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "code": code}, status_code=status, headers=headers)


class StaffRequired(Exception):
    def __init__(self, status: int, message: str, code: str, headers: dict | None = None):
        self.status, self.message, self.code, self.headers = status, message, code, headers


class LoginThrottled(Exception):
    """Too many failed logins for this account or from this client: wait this many seconds."""

    def __init__(self, wait: float):
        self.wait = wait
        self.seconds = max(1, math.ceil(wait))
        super().__init__(prompts.LOGIN_THROTTLED.format(seconds=self.seconds))


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


def client_key(request) -> str:
    """The client's address: the TCP peer, or what a trusted proxy forwarded (``web.Edge`` decides)."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def check_login(service: Service, name: str, password: str, client: str, via: str) -> bool:
    """One login attempt (Basic or the form) through the throttle: raises LoginThrottled while the
    account or the client is refused (the password is then not checked at all); a failure is counted
    for both and written to the audit log."""
    keys = ("account:" + (name or ""), "client:" + client)
    wait = service.logins.wait(*keys)
    if wait:
        raise LoginThrottled(wait)
    if service.staff.verify(name, password):
        return True
    service.logins.failed(*keys)
    service.audit.write((name or "")[:64], "login_failed", client=client, via=via)
    return False


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


def staff_name(service: Service, headers, client: str = "unknown") -> str | None:
    """The logged-in staff member of a request (session cookie or Basic credentials), else None.
    Raises LoginThrottled for Basic credentials while their account or client is refused."""
    name = service.sessions.user(session_token(headers))
    if name and name in service.staff.names():
        return name
    auth = headers.get("authorization") if headers is not None else None
    if auth and auth.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if check_login(service, user, password, client, "basic"):
            return user
    return None


def require_staff(service: Service, request: Request) -> str:
    if not service.staff:
        raise StaffRequired(403, prompts.NO_STAFF_ACCOUNT, "no_staff_account")
    try:
        name = staff_name(service, request.headers, client_key(request))
    except LoginThrottled as exc:
        raise StaffRequired(429, str(exc), "login_throttled", {"Retry-After": str(exc.seconds)}) from None
    if name is None:
        raise StaffRequired(401, prompts.STAFF_LOGIN_REQUIRED, "login_required")
    return name


class UploadGuard:
    """ASGI middleware for the upload routes (POST to one of ``paths``): decided on the headers alone,
    before the app reads the body: staff only (as ``require_staff``), and a Content-Length over the
    size limit is a 413; a body without one, or longer than it said, is cut off at the limit (413).
    A refused body is read only to be dropped (``web.drain``), so the client gets the answer."""

    def __init__(self, app, service: Service, paths: tuple[str, ...]):
        self.app, self.service, self.paths = app, service, paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        request = Request(scope)
        try:
            await run_in_threadpool(require_staff, self.service, request)
        except StaffRequired as exc:
            headers = [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
            if exc.status == 401:
                headers.append((b"www-authenticate", b'Basic realm="staff", charset="UTF-8"'))
            await drain(scope, receive, REFUSED_BODY_CAP)
            return await send_error(send, exc.status, exc.message, exc.code, headers)
        limit = int(self.service.settings.serve.max_upload_mb * 1024 * 1024) + UPLOAD_FRAMING
        size = Headers(scope=scope).get("content-length", "")
        if size.isdigit() and int(size) > limit:
            # Decided on the header; a staff member's body is only read and dropped (never stored),
            # up to STAFF_DRAIN_FACTOR times the limit, so their client reads the answer.
            await drain(scope, receive, STAFF_DRAIN_FACTOR * limit)
            return await self._too_large(send, int(size))
        seen, cut, started, ended = 0, False, False, False

        async def limited():
            nonlocal seen, cut, ended
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            ended = message["type"] != "http.request" or not message.get("more_body")
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    cut = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message):
            nonlocal started
            if cut and not started:
                return  # the app's answer to a body cut short; ours follows
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not cut:
                raise
        if cut and not started:
            if not ended:
                await drain(scope, receive, STAFF_DRAIN_FACTOR * limit)
            await self._too_large(send, seen)

    async def _too_large(self, send, size: int):
        try:
            self.service.docs.check_upload_size(size - UPLOAD_FRAMING)
            message = STATUS_TEXT[413]
        except UploadRefused as exc:
            message = str(exc)
        await send_error(send, 413, message, "too_large")


def create_api(service: Service, title: str) -> FastAPI:
    """The API app: error bodies in Chinese, the public routes, the staff's, and last the catch-all
    for unknown /api/ paths (it must come after every other route)."""
    # No public docs: FastAPI's /docs and /openapi.json list every staff route (serve.api_docs below).
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    # One limit for every way of asking (the page and Gradio's /ask share it): the service's.
    app.state.limiter = service.limiter
    app.add_middleware(UploadGuard, service=service, paths=("/api/documents",))
    app.add_middleware(Edge, trusted_proxies=service.settings.serve.trusted_proxies)
    _error_handlers(app)

    def staff(request: Request) -> str:
        """The dependency of every staff route: resolved before the body is read or validated."""
        return require_staff(service, request)

    _public_routes(app, service)
    _session_routes(app, service)
    _document_routes(app, service, staff)
    _staff_routes(app, service, staff)
    _unknown_route(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    """Every error as ``{"error": <Chinese message>, "code": <machine code>}``."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        if any("invalid text" in str(e.get("msg", "")) for e in exc.errors()):
            return error(400, prompts.INVALID_TEXT, "invalid_text")
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error(400, prompts.NOT_JSON, "invalid_json")
        missing = [str(e["loc"][-1]) for e in exc.errors() if e.get("type") == "missing"]
        if missing:
            return error(400, prompts.MISSING_FIELDS.format(fields="、".join(missing)), "missing_field")
        return error(400, prompts.BAD_REQUEST, "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return error(exc.status_code, STATUS_TEXT.get(exc.status_code, prompts.REQUEST_FAILED),
                     f"http_{exc.status_code}")

    @app.exception_handler(StaffRequired)
    async def _staff(request: Request, exc: StaffRequired):
        headers = dict(exc.headers or {})
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="staff", charset="UTF-8"'
        return error(exc.status, exc.message, exc.code, headers or None)

    @app.exception_handler(UploadRefused)
    async def _refused(request: Request, exc: UploadRefused):
        return error(exc.status, str(exc), exc.code)

    @app.exception_handler(RagError)
    async def _rag(request: Request, exc: RagError):
        return error(400, str(exc), "refused")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        return error(500, STATUS_TEXT[500], "internal_error")


def _public_routes(app: FastAPI, service: Service) -> None:
    """/api/health and /api/ask, for everyone (questions under the service's rate limit)."""
    serve = service.settings.serve

    @app.get("/api/health")
    def health() -> dict:
        return service.health()

    @app.post("/api/ask")
    def api_ask(body: AskBody, request: Request):
        wait = service.limiter.allow(client_key(request))
        if wait:
            return error(429, prompts.RATE_LIMITED, "rate_limited", {"Retry-After": str(math.ceil(wait))})
        if len(body.history) > serve.max_history_turns:
            return error(400, prompts.HISTORY_TOO_LONG.format(n=serve.max_history_turns), "history_too_long")
        cid, answer = service.converse(body.question, body.conversation_id, body.history)
        return {**answer_record(answer), "conversation_id": cid}


def _session_routes(app: FastAPI, service: Service) -> None:
    """The staff's login session: /api/login sets the cookie, /api/logout ends it, /api/me names it."""

    @app.post("/api/login")
    def login(body: LoginBody, request: Request):
        if not service.staff:
            raise StaffRequired(403, prompts.NO_STAFF_ACCOUNT, "no_staff_account")
        try:
            ok = check_login(service, body.name, body.password, client_key(request), "form")
        except LoginThrottled as exc:
            return error(429, str(exc), "login_throttled", {"Retry-After": str(exc.seconds)})
        if not ok:
            return error(401, prompts.BAD_CREDENTIALS, "bad_credentials")
        token = service.sessions.create(body.name)
        resp = JSONResponse({"name": body.name})
        # Secure whenever the request came over https (directly, or as a trusted proxy says).
        resp.set_cookie(COOKIE, token, max_age=int(service.settings.serve.staff_session_s), httponly=True,
                        samesite="strict", path="/", secure=request.url.scheme == "https")
        return resp

    @app.post("/api/logout")
    def logout(request: Request):
        service.sessions.end(session_token(request.headers))
        resp = JSONResponse({"ok": True})
        resp.delete_cookie(COOKIE, path="/", secure=request.url.scheme == "https", httponly=True, samesite="strict")
        return resp

    @app.get("/api/me")
    def me(request: Request):
        try:
            name = staff_name(service, request.headers, client_key(request))
        except LoginThrottled:
            name = None
        return {"name": name, "staff_enabled": bool(service.staff)}


def _store_upload(service: Service, request: Request, file: UploadFile, who: str, replace: bool) -> str:
    """An uploaded file copied into the corpus (through a temporary folder), its size checked before
    and while it is read; the name it was stored under."""
    service.docs.check_name(file.filename)  # before anything is written under that name
    size = request.headers.get("content-length")
    if size and size.isdigit():
        service.docs.check_upload_size(int(size) - 1024)  # the form's own bytes aside
    folder = Path(tempfile.mkdtemp(prefix="upload-"))
    try:
        tmp = folder / service.docs.safe_name(file.filename or "upload.txt")
        limit = service.settings.serve.max_upload_mb * 1024 * 1024
        with open(tmp, "wb") as out:
            copied = 0
            while block := file.file.read(1 << 20):
                copied += len(block)
                if copied > limit:
                    service.docs.check_upload_size(copied)
                out.write(block)
        return service.docs.add(tmp, file.filename, who=who, replace=replace)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _document_routes(app: FastAPI, service: Service, staff) -> None:
    """The corpus and its trash, for staff (``staff`` is the login dependency)."""

    @app.get("/api/documents")
    def list_documents(who: str = Depends(staff)):
        return {"documents": service.documents()}

    @app.post("/api/documents")
    def upload_document(request: Request, who: str = Depends(staff), file: UploadFile = File(...),
                        replace: bool = Form(False)):
        name = _store_upload(service, request, file, who, replace)
        return {"stored": name, "message": prompts.UPLOADED_API.format(name=name)}

    @app.delete("/api/documents/{name}")
    def delete_document(name: str, who: str = Depends(staff)):
        service.docs.check_name(name)
        entry = service.docs.delete(name, who=who)
        return {"trashed": entry, "message": prompts.TRASHED_API.format(name=name)}

    @app.get("/api/trash")
    def list_trash(who: str = Depends(staff)):
        return {"trash": service.docs.trash()}

    @app.post("/api/trash/{name}/restore")
    def restore(name: str, stamp: str | None = None, who: str = Depends(staff)):
        service.docs.check_name(name)
        entry = service.docs.restore(name, stamp, who=who)
        return {"restored": entry, "message": prompts.RESTORED_API.format(name=name)}


def _staff_routes(app: FastAPI, service: Service, staff) -> None:
    """Reindexing, the feedback table, the audit log and (with ``serve.api_docs``) the schema, for staff."""

    @app.post("/api/reindex", status_code=202)
    def reindex(who: str = Depends(staff)):
        service.reindexer.start(who)
        return {"started": True, "status": service.reindexer.view()}

    @app.get("/api/reindex")
    def reindex_status(who: str = Depends(staff)):
        return service.reindexer.view()

    @app.get("/api/feedback.csv")
    def feedback_csv(who: str = Depends(staff)):
        return Response(("\ufeff" + service.feedback.to_csv()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="feedback.csv"'})

    @app.get("/api/audit")
    def audit(who: str = Depends(staff)):
        return {"audit": service.audit.rows()}

    if service.settings.serve.api_docs:
        # The schema only: FastAPI's Swagger page loads its scripts from a CDN, and nothing the service
        # shows may need a network beyond this machine. Staff open the JSON in a local tool.
        @app.get("/api/openapi.json", include_in_schema=False)
        def openapi_json(who: str = Depends(staff)):
            return app.openapi()


def _unknown_route(app: FastAPI) -> None:
    """Last: an unknown /api/ path is a Chinese 404, a known one with another method a 405 (the page's
    catch-all mount would otherwise take both)."""

    @app.api_route("/api/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                   include_in_schema=False)
    def unknown(request: Request):
        path = request.url.path
        allowed = sorted({m for r in app.routes if isinstance(r, APIRoute) and r.path != "/api/{rest:path}"
                          and r.path_regex.match(path) for m in r.methods})
        if allowed:
            return error(405, STATUS_TEXT[405], "http_405", {"Allow": ", ".join(allowed)})
        return error(404, STATUS_TEXT[404], "http_404")
