"""The service's edge on the web, as ASGI middleware: who the client is, which routes a visitor may
reach, the headers every response carries, and Chinese error bodies on routes that are not ours.

    Edge        outermost: the client's address and scheme (X-Forwarded-For / -Proto believed only
                from ``serve.trusted_proxies``, and dropped otherwise), and the security headers
                (CSP with frame-ancestors 'self', X-Frame-Options, nosniff, Referrer-Policy).
    GradioGate  the page's routes: an allowlist of Gradio's routes a visitor needs for the chat;
                its file and upload routes for logged-in staff only; anything else a Chinese 404 /
                405; Gradio's own error bodies (English ``{"detail": ...}``) rewritten to
                ``{"error", "code"}``. Successful responses and event streams pass untouched.

Works on the ASGI scope and messages only; the staff check comes from ``rag.api``. Knows Gradio's
route names, nothing of its internals.
"""

from __future__ import annotations

import ipaddress
import json
import re

from . import prompts

# Gradio's page runs inline scripts and styles, evaluates the page's js= functions (new Function),
# and talks to its own origin (fetch, SSE); nothing is loaded from elsewhere.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' data: blob:; "
       "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
SECURITY_HEADERS = [(b"x-frame-options", b"SAMEORIGIN"), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin")]
_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port", b"forwarded",
              b"x-real-ip")

STATUS_TEXT = prompts.STATUS_TEXT


def parse_networks(spec: str) -> list:
    """"127.0.0.1, 10.0.0.0/8" -> networks; empty -> []."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in (spec or "").split(",") if part.strip()]


def _trusted(host: str | None, networks: list) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return any(address in net for net in networks)


def forwarded_scope(scope: dict, networks: list) -> dict:
    """The scope with the client and scheme a trusted proxy reports; from anyone else the forwarding
    headers are removed, so nothing further in (Gradio included) can believe them."""
    peer = (scope.get("client") or (None, 0))[0]
    if not _trusted(peer, networks):
        if any(k.lower() in _FORWARDED for k, _ in scope.get("headers", [])):
            scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() not in _FORWARDED])
        return scope
    headers = {}
    for k, v in scope.get("headers", []):
        headers.setdefault(k.lower(), []).append(v.decode("latin-1"))
    changes: dict = {}
    hops = [h.strip() for v in headers.get(b"x-forwarded-for", []) for h in v.split(",") if h.strip()]
    # The nearest hop not one of our proxies is the client (addresses further left can be forged).
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            changes["client"] = (hop, 0)
            break
    else:
        if hops:
            changes["client"] = (hops[0], 0)
    proto = [p.strip().lower() for v in headers.get(b"x-forwarded-proto", []) for p in v.split(",")]
    if proto and proto[-1] in ("http", "https"):
        secure = proto[-1] == "https"
        changes["scheme"] = ("wss" if secure else "ws") if scope["type"] == "websocket" else proto[-1]
    return dict(scope, **changes)


def json_error(status: int, message: str, code: str, headers: list | None = None) -> tuple[dict, dict]:
    body = json.dumps({"error": message, "code": code}, ensure_ascii=False).encode("utf-8")
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         *(headers or [])]}
    return start, {"type": "http.response.body", "body": body}


async def send_error(send, status: int, message: str, code: str, headers: list | None = None,
                     head: bool = False) -> None:
    start, body = json_error(status, message, code, headers)
    await send(start)
    await send(dict(body, body=b"") if head else body)


async def drain(scope, receive, cap: int) -> None:
    """Read and drop a refused request's body (up to cap bytes) before answering, so a client that
    sends its body regardless (no ``Expect: 100-continue``) reads the answer instead of a reset
    connection. With 100-continue nothing is read: the server then tells the client not to send."""
    headers = dict((k.lower(), v) for k, v in scope.get("headers", []))
    if headers.get(b"expect", b"").lower() == b"100-continue":
        return
    seen = 0
    while seen <= cap:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body"):
            return


REFUSED_BODY_CAP = 1024 * 1024  # what is read of a refused visitor's body; beyond it the connection closes


class Edge:
    """Outermost middleware: the real client (trusted proxies only) and the security headers."""

    def __init__(self, app, trusted_proxies: str = ""):
        self.app = app
        self.networks = parse_networks(trusted_proxies)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        scope = forwarded_scope(scope, self.networks)
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        csp = CSP.encode()

        async def with_headers(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in [(b"content-security-policy", csp), *SECURITY_HEADERS] if k not in have]
                message = dict(message, headers=list(message.get("headers", [])) + extra)
            await send(message)

        await self.app(scope, receive, with_headers)


# --- Gradio's routes ---------------------------------------------------------------------------

_GET = ("GET", "HEAD")
# What the chat page and the Gradio Python client (endpoint /ask) need, and nothing else.
PUBLIC_ROUTES = [
    (_GET, r"/|/config/?|/theme\.css|/robots\.txt|/favicon\.ico|/manifest\.json|/pwa_icon(/\d+)?"
           r"|/(assets|static|svelte)/.+"),
    (_GET, r"/gradio_api/(info/?|heartbeat/[^/]+|queue/data|queue/status|startup-events|app_id/?|theme\.css"
           r"|call(/v2)?/ask/[^/]+)"),
    (("POST",), r"/gradio_api/(queue/join|cancel|reset/?|call(/v2)?/ask/?|run/ask/?)"),
]
# Files Gradio keeps (uploads, the feedback CSV) and the upload route: staff only.
STAFF_ROUTES = [
    (_GET, r"/gradio_api/(file=.+|file/.+|upload_progress)"),
    (("POST",), r"/gradio_api/upload"),
]


def _compile(routes):
    return [(set(methods), re.compile(f"(?:{pattern})")) for methods, pattern in routes]


class GradioGate:
    """The allowlist in front of the mounted Gradio app. Paths under /api/ are the JSON API's own
    (their errors are already Chinese) and pass. ``is_staff(scope) -> bool | float``: True for a
    logged-in staff member, False for a visitor, seconds to wait when the login is throttled."""

    def __init__(self, app, is_staff):
        self.app = app
        self.is_staff = is_staff
        self.public = _compile(PUBLIC_ROUTES)
        self.staff = _compile(STAFF_ROUTES)

    @staticmethod
    def _match(routes, method, path):
        """'ok' when a route allows method on path, the allowed methods when only the method is wrong."""
        allowed: set[str] = set()
        for methods, pattern in routes:
            if pattern.fullmatch(path):
                if method in methods:
                    return "ok"
                allowed |= methods
        return allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        head = method == "HEAD"
        if path.startswith("/api/"):
            return await self.app(scope, receive, send)
        public = self._match(self.public, method, path)
        if public != "ok":
            staff_only = self._match(self.staff, method, path)
            if staff_only == "ok":
                verdict = await self.is_staff(scope)
                if verdict is not True:
                    await drain(scope, receive, REFUSED_BODY_CAP)
                    if verdict:
                        seconds = max(1, int(verdict + 0.999))
                        return await send_error(send, 429, prompts.LOGIN_THROTTLED.format(seconds=seconds),
                                                "login_throttled", [(b"retry-after", str(seconds).encode())], head)
                    return await send_error(send, 401, prompts.STAFF_LOGIN_REQUIRED, "login_required", head=head)
            else:
                allowed = public | staff_only
                await drain(scope, receive, REFUSED_BODY_CAP)
                if allowed:
                    return await send_error(send, 405, STATUS_TEXT[405], "http_405",
                                            [(b"allow", ", ".join(sorted(allowed)).encode())], head)
                return await send_error(send, 404, STATUS_TEXT[404], "http_404", head=head)
        await self.app(scope, receive, _chinese_errors(send, head))


def _ours(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and set(data) == {"error", "code"}


def _chinese_errors(send, head: bool):
    """A send that replaces an error response's body (status >= 400, anything but an event stream)
    with ``{"error", "code"}`` in Chinese, unless it is one already (the upload guard's); everything
    else goes out as it comes."""
    state: dict = {"start": None, "body": []}

    async def wrapped(message):
        if message["type"] == "http.response.start":
            status = message["status"]
            ctype = dict((k.lower(), v) for k, v in message.get("headers", [])).get(b"content-type", b"")
            if status >= 400 and not ctype.startswith(b"text/event-stream"):
                state["start"] = message
                return
            return await send(message)
        if message["type"] == "http.response.body" and state["start"] is not None:
            state["body"].append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(state["body"])
            if _ours(body):
                await send(state["start"])
                return await send({"type": "http.response.body", "body": body})
            status = state["start"]["status"]
            keep = [(k, v) for k, v in state["start"].get("headers", [])
                    if k.lower() in (b"retry-after", b"allow", b"www-authenticate")]
            return await send_error(send, status, STATUS_TEXT.get(status, prompts.REQUEST_FAILED), f"http_{status}", keep, head)
        await send(message)

    return wrapped
