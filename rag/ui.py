"""泉城政策问答: the chat page (Gradio) for citizens, the verification view for staff, and the JSON API,
served together by one process that loads the index once.

    rag serve [--host 127.0.0.1] [--port 7860]      # or, from a checkout: python ui.py

Routes: ``/`` the page (tab 咨询 public, tab 工作人员 behind the staff login); the JSON API of
``rag.api`` (``POST /api/ask`` with ``conversation_id``, the staff's documents routes, ``GET /api/health``);
Gradio's own API (``/gradio_api/...``, endpoint ``/ask``) for the Gradio Python client. Every piece of
document or user text is HTML-escaped before it is shown.
"""

from __future__ import annotations

import argparse
import html
import inspect
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from . import prompts
from .api import LoginThrottled, UploadGuard, client_key, create_api, staff_name
from .cite import quoted_section
from .config import Settings
from .documents import DocumentStore
from .errors import RagError, UploadRefused
from .feedback import VERDICTS
from .ingest.units import recorded
from .record import answer_record
from .service import Service
from .text import MARK_RE
from .types import Answer, Refusal
from .web import Edge, GradioGate

log = logging.getLogger("rag.ui")

TITLE = prompts.APP_TITLE
EXAMPLES = list(prompts.EXAMPLE_QUESTIONS)
VERDICT_LABELS = {label: key for key, label in VERDICTS.items()}

CSS = """
.cite-card { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 12px; margin: 8px 0; background: #fff; }
.cite-card .cite-head { font-weight: 600; }
.cite-card .cite-meta { color: #57606a; font-size: 0.9em; margin: 2px 0 6px; }
.cite-card .clause { line-height: 1.7; }
.cite-card mark { background: #fff3b0; padding: 0 1px; }
.cite-card .cite-n { color: #57606a; font-size: 0.75em; margin-left: 1px; }
.cite-card .cite-nums { color: #0969da; }
.cite-card details { margin-top: 6px; }
.cite-card .source-text { white-space: pre-wrap; background: #f6f8fa; padding: 8px; border-radius: 6px;
                          max-height: 320px; overflow-y: auto; font-size: 0.92em; }
.refusal-banner { border-left: 4px solid #cf222e; padding: 8px 12px; background: #fff5f5; margin-bottom: 8px; }
.related-title { color: #57606a; font-weight: 600; margin-top: 6px; }
table.hits { border-collapse: collapse; width: 100%; font-size: 0.9em; }
table.hits td, table.hits th { border: 1px solid #d0d7de; padding: 4px 6px; vertical-align: top; }
"""

# --- page-level layout, fonts and language (kept apart from the card CSS above) --------------------
# Chinese fonts first (Gradio's theme font has no CJK glyphs), then the theme's own fallbacks.
# The chat tab reads top to bottom: chat, question box, citation cards (beside the chat on a wide
# screen, below it on a phone), then examples and 新对话. On a phone the welcome is cut to its first
# sentence and the chat box to a part of the screen, so the question box stays on the first screen.
PAGE_CSS = """
:root, .gradio-container {
  --font: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "Noto Sans SC",
          "Source Sans Pro", ui-sans-serif, system-ui, sans-serif !important;
}
body, .gradio-container { font-family: var(--font); }
/* WCAG AA contrast (4.5:1) over the default theme's orange (#f97316 is 2.8:1 under white text):
   primary buttons and the selected tab in a darker orange; in the light theme, placeholders and
   subdued text (#bbbbc2, 1.9:1) in a darker grey. */
:root, .gradio-container {
  --button-primary-background-fill: #c2410c; --button-primary-background-fill-hover: #9a3412;
  --button-primary-text-color: #ffffff; --button-primary-text-color-hover: #ffffff;
  --button-primary-border-color: #c2410c; --button-primary-border-color-hover: #9a3412;
}
.gradio-container:not(.dark, .dark *) { --input-placeholder-color: #57606a; --body-text-color-subdued: #57606a; }
.gradio-container:not(.dark, .dark *) button[role="tab"][aria-selected="true"] { color: #c2410c; }
#page-title h1 { font-size: 1.4em; margin: 0; }
.section-title h2 { font-size: 1.05em; margin: 8px 0 4px; }
#chat { height: min(460px, 62vh) !important; }
#chat-extras { margin-top: 4px; }
#chat-extras #new-chat { align-self: flex-start; max-width: 12em; }
@media (max-width: 640px) {
  .gradio-container { padding-left: 6px !important; padding-right: 6px !important; }
  #welcome .welcome-more { display: none; }
  #page-title h1 { font-size: 1.15em; }
  #welcome p { margin: 0; font-size: 0.92em; }
  #chat { height: 48vh !important; min-height: 240px; }
}
"""

# Gradio picks its own widgets' language (upload box, status, errors) from navigator.language, read
# once when the app boots. The page is Chinese whatever the browser's language: this script, placed
# first in the page's <head> by ``ChinesePage``, reports zh-CN before Gradio's code runs. It also
# puts into Chinese the few status words Gradio prints without translation (outside the chat,
# citations and tables, which hold documents' and users' text, save Gradio's status line over them:
# "processing | 0.5/2.8s" over the documents table during a reindex), and the English aria-labels
# Gradio's templates hard-code ("More tabs", "chatbot conversation", a message's "bot's message: ..."),
# which screen readers would read out.
LOCALE_SCRIPT = r"""<script>(function () {
  var LOCALE = "zh-CN";
  try {
    Object.defineProperty(Navigator.prototype, "language", {get: function () { return LOCALE; }, configurable: true});
    Object.defineProperty(Navigator.prototype, "languages", {get: function () { return [LOCALE, "zh"]; },
                                                             configurable: true});
  } catch (e) {}
  document.documentElement.lang = LOCALE;
  var RULES = [[/^processing \|/, "处理中 |"], [/^queue: (\d+)\/(\d*) \|/, "排队 $1/$2 |"],
               [/^from cache$/, "来自缓存"], [/^Loading\.\.\.$/, "加载中…"], [/^Error$/, "错误"],
               [/^Warning$/, "警告"], [/^Info$/, "提示"], [/^Success$/, "成功"],
               [/^(\d+(?:\.\d+)?)s$/, "$1 秒"], [/^(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)s$/, "$1/$2 秒"],
               // Gradio's zh-CN locale has no queue_position: its English fallback while a task waits.
               [/^In queue: (\d+) of (\d+)$/, "排队中：第 $1 位，共 $2 位"]];
  var LABELS = [[/^More tabs$/, "更多标签页"], [/^chatbot conversation$/, "对话记录"],
                [/^Copy conversation$/, "复制对话"], [/^Copy message$/, "复制消息"], [/^Copy$/, "复制"],
                [/^Copied( message)?$/, "已复制"], [/^Clear$/, "清除"], [/^Scroll down$/, "滚动到底部"],
                [/^user's message: /, "用户消息："], [/^bot's message: /, "回答："], [/^Like$/, "有用"],
                [/^Dislike$/, "没用"], [/^Retry$/, "重试"], [/^Undo$/, "撤销"], [/^Edit$/, "编辑"],
                [/^Share$/, "分享"], [/^Fullscreen$/, "全屏"], [/^Exit fullscreen mode$/, "退出全屏"],
                [/^Table actions$/, "表格操作"], [/^Copy table data$/, "复制表格数据"], [/^Dataframe$/, "表格"],
                [/^Open cell menu$/, "单元格菜单"], [/^Sort (ascending|descending)$/, "排序"],
                [/^File upload$/, "上传文件"],
                // The upload box's visible text (将文件拖放到此处 - 或 - 点击上传, already Chinese) names it.
                [/^Click to upload or drop files$/, null]];
  var SKIP = "#chat, #citations, #hits, #documents, textarea";
  var STATUS = "[data-testid='status-tracker']";
  function fix(node) {
    var t = node.nodeValue, s = t && t.trim(), p = node.parentElement;
    if (!s || s.length > 40 || (p && p.closest(SKIP) && !p.closest(STATUS))) return;
    for (var i = 0; i < RULES.length; i++) {
      if (RULES[i][0].test(s)) { node.nodeValue = t.replace(s, s.replace(RULES[i][0], RULES[i][1])); return; }
    }
  }
  function fixAttr(el, name) {
    var v = el.getAttribute(name);
    if (!v) return;
    for (var i = 0; i < LABELS.length; i++) {
      if (!LABELS[i][0].test(v)) continue;
      if (LABELS[i][1] === null) el.removeAttribute(name);
      else el.setAttribute(name, v.replace(LABELS[i][0], LABELS[i][1]));
      return;
    }
  }
  function fixLabel(el) { fixAttr(el, "aria-label"); fixAttr(el, "title"); }
  function walk(root) {
    if (root.nodeType === 3) return fix(root);
    if (root.nodeType !== 1) return;
    var w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (w.nextNode()) fix(w.currentNode);
    fixLabel(root);
    root.querySelectorAll("[aria-label], [title]").forEach(fixLabel);
  }
  new MutationObserver(function (ms) {
    ms.forEach(function (m) {
      if (m.type === "characterData") fix(m.target);
      else if (m.type === "attributes") fixAttr(m.target, m.attributeName);
      else m.addedNodes.forEach(walk);
    });
  }).observe(document.documentElement, {subtree: true, childList: true, characterData: true,
                                        attributes: true, attributeFilter: ["aria-label", "title"]});
})();</script>"""


class ChinesePage:
    """ASGI middleware: puts ``LOCALE_SCRIPT`` first in the <head> of the page (GET /), before Gradio's
    own scripts. Gradio offers no setting for its widgets' language, and its ``head`` option is
    inserted only after the app has chosen it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or scope["path"] not in ("/", ""):
            return await self.app(scope, receive, send)
        # Uncompressed, so the HTML can be edited (it is a few kB).
        scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"])
        start, body = None, []

        async def capture(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                return await send(message)
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            data = b"".join(body)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                data = data.replace(b"<head>", b"<head>" + LOCALE_SCRIPT.encode(), 1)
            await send(dict(start, headers=headers + [(b"content-length", str(len(data)).encode())]))
            await send({"type": "http.response.body", "body": data if scope["method"] == "GET" else b""})

        await self.app(scope, receive, capture)


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


# --- rendering ---------------------------------------------------------------------------------

def answer_markdown(answer: Answer) -> str:
    """The chat bubble: escaped text, citation markers as superscripts, notices in small print."""
    body = esc(answer.text)
    body = MARK_RE.sub(r"<sup>[\1]</sup>", body)
    if answer.notices:
        body += "<br><small>" + "<br>".join(esc(n) for n in answer.notices) + "</small>"
    return body


def citation_cards(answer: Answer | None, service: Service) -> str:
    """The citation panel: one card per cited clause (chunk), every quoted span of the answer that
    falls in it highlighted, its header naming the answer's markers [n] it holds."""
    if answer is None:
        return prompts.CITATIONS_EMPTY
    raws = service.index.raws
    parts = []
    if answer.refused:
        if answer.trace.refusal in (Refusal.NO_SUCH_ITEM, Refusal.EMPTY_QUESTION):
            # Not "the documents do not say": the reply itself says what is wrong with the question.
            parts.append(f"<div class='refusal-banner' id='refusal'>{esc(answer.text)}</div>")
        else:
            parts.append(f"<div class='refusal-banner' id='refusal'><b>{esc(prompts.CANNOT_ANSWER)}</b>"
                         f"{prompts.REFUSAL_BANNER_TAIL}</div>")
        if answer.hits:
            parts.append(f"<div class='related-title'>{esc(prompts.RELATED_NOT_ANSWERING)}</div>")
            for h in answer.hits[: service.settings.answer.related_shown]:
                parts.append(_card(h.chunk, raws[h.chunk.source], [], service))
        return "".join(parts)
    groups: dict[str, tuple] = {}  # chunk_id -> (chunk, [(n, start, end)]), in the order first cited
    for i, cit in enumerate(answer.citations, 1):
        c = service.chunk(cit.chunk_id) or next((h.chunk for h in answer.hits if h.chunk.chunk_id == cit.chunk_id), None)
        if c is None:
            continue
        groups.setdefault(c.chunk_id, (c, []))[1].append((i, max(c.start, cit.start), min(c.end, cit.end)))
    for c, spans in groups.values():
        parts.append(_card(c, raws[c.source], [sp for sp in spans if sp[2] > sp[1]], service))
    return "".join(parts)


def _card(chunk, raw: str, spans: list[tuple[int, int, int]], service: Service) -> str:
    """One clause as a card. spans: (marker number, raw start, raw end) of the quotes inside it, in
    answer order; none for a related passage of a refusal (shown whole, nothing highlighted)."""
    title = f"《{esc(chunk.title)}》" if chunk.title else esc(chunk.source)
    meta = " · ".join(esc(x) for x in (chunk.doc_number, chunk.issuer, chunk.date) if x)
    cleaned = recorded(raw, chunk)
    marks = _merge([(*cleaned.index_span(s, e), [n]) for n, s, e in spans])
    path = " / ".join(esc(s) for s in quoted_section(chunk.section, cleaned.text, [a for a, _, _ in marks])) or prompts.MAIN_TEXT
    nums = "".join(f"[{n}]" for n, _, _ in spans)
    head = f"<span class='cite-nums'>{nums}</span> " if nums else ""
    card = (f"<div class='cite-card' data-chunk='{esc(chunk.chunk_id)}' data-cites='{' '.join(str(n) for n, _, _ in spans)}'>"
            f"<div class='cite-head'>{head}{title}</div>"
            f"<div class='cite-meta'>{meta}{' · ' if meta else ''}<span class='cite-section'>{path}</span></div>"
            f"<div class='clause'>{_highlight(cleaned.text, 0, marks)}</div>")
    # A related passage is marked whole in the file (where it is), with no marker number.
    return card + _source_view(chunk.source, raw, spans or [(None, chunk.start, chunk.end)], service) + "</div>"


def _merge(marks: list[tuple[int, int, list[int]]]) -> list[tuple[int, int, list[int]]]:
    """Highlight ranges sorted, overlapping ones joined (their marker numbers together)."""
    out: list[tuple[int, int, list[int]]] = []
    for a, b, ns in sorted((m for m in marks if m[1] > m[0]), key=lambda m: m[:2]):
        if out and a <= out[-1][1]:
            pa, pb, pns = out[-1]
            out[-1] = (pa, max(pb, b), pns + [n for n in ns if n not in pns])
        else:
            out.append((a, b, list(ns)))
    return out


def _highlight(text: str, base: int, marks: list[tuple[int, int, list[int]]]) -> str:
    """text (which starts at index base of the marks' coordinates) escaped, each mark a <mark>
    followed by the answer's markers it carries."""
    out, pos = [], 0
    for a, b, ns in marks:
        a, b = max(a - base, pos), min(b - base, len(text))
        if b <= a:
            continue
        nums = "".join(f"[{n}]" for n in ns)
        out.append(f"{esc(text[pos:a])}<mark data-cite='{' '.join(map(str, ns))}'>{esc(text[a:b])}</mark>"
                   + (f"<sup class='cite-n'>{nums}</sup>" if ns else ""))
        pos = b
    return "".join(out) + esc(text[pos:])


def _source_view(source: str, raw: str, spans: list[tuple[int | None, int, int]], service: Service) -> str:
    """查看原文: the file's text around the spans, each marked; opened, the first mark is scrolled into
    its box (CARD_JS)."""
    first, last = min(s for _, s, _ in spans), max(e for _, _, e in spans)
    ctx = service.source_context(source, first, last)
    body = _highlight(ctx["quote"], first, _merge([(s, e, [n] if n else []) for n, s, e in spans]))
    place = prompts.SOURCE_VIEW_PLACE.format(source=esc(ctx["source"]), line=ctx["line"], total_lines=ctx["total_lines"])
    return (f"<details><summary>{prompts.SOURCE_VIEW_SUMMARY}</summary>"
            f"<div class='cite-meta'>{place}"
            f"{prompts.SOURCE_VIEW_CHARS.format(start=ctx['start'], end=ctx['end'])}</div>"
            # Focusable, so its scrolling is reachable from the keyboard (axe: scrollable-region-focusable).
            f"<div class='source-text' tabindex='0' role='region' aria-label='{prompts.SOURCE_TEXT_LABEL}'>"
            f"{esc(ctx['before'])}{body}{esc(ctx['after'])}</div></details>")


# 查看原文 opens its box at the top; the highlight may sit below the box's visible part. When a card's
# <details> opens, scroll its source box so the first <mark> is in view (toggle does not bubble:
# listened for in the capture phase, so cards rendered later are covered too).
CARD_JS = """
() => {
  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.open || !details.closest(".cite-card")) return;
    const box = details.querySelector(".source-text");
    const mark = box && box.querySelector("mark");
    if (!mark) return;
    const offset = mark.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    box.scrollTop = Math.max(0, offset - box.clientHeight / 4);
  }, true);
}
"""


def hits_table(answer: Answer | None) -> str:
    if answer is None or not answer.hits:
        return prompts.HITS_EMPTY
    rows = [prompts.HITS_TABLE_HEAD]
    for h in answer.hits:
        c = h.chunk
        rows.append(f"<tr><td>{h.rank}</td><td>{h.score:.4f}</td><td>{esc(str(h.scores.get('dense_rank') or '-'))}</td>"
                    f"<td>{esc(str(h.scores.get('bm25_rank') or '-'))}</td><td>{esc(c.where)}</td>"
                    f"<td>{esc(c.text[:80])}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def welcome(service: Service) -> str:
    titles = service.document_titles()
    # Policy documents (with a 文号) first, then news reports.
    named = [t for t, n in titles if n][:6] + [t for t, n in titles if not n][:2]
    listing = "、".join(f"《{esc(t)}》" for t in named)
    # The list of documents is hidden on a phone (PAGE_CSS), so the question box stays on the first screen.
    return prompts.WELCOME.format(title=TITLE, n=len(titles), listing=listing)


# --- what each control does (plain functions over the service; the page only wires them) ----------

def chat_steps(service: Service, question: str | None, chat_value: list, cid: str | None):
    """One turn of the chat: yields (chat messages, conversation id, final Answer or None) as the
    answer streams. The page keeps only the conversation's id; its turns, their bounds and follow-up
    resolution are the service's (``ConversationStore.turn``), as for ``/api/ask``. The user's text is
    escaped and cut for display; the final bubble is ``answer_markdown``."""
    chat_value = list(chat_value or [])
    shown_q = (question or "")[: service.settings.serve.max_shown_chars]
    chat_value.append({"role": "user", "content": esc(shown_q)})
    chat_value.append({"role": "assistant", "content": ""})
    yield chat_value, cid, None
    shown = ""
    for piece in service.converse_stream(question or "", cid):
        if isinstance(piece, tuple):
            cid, answer = piece
        else:
            shown += piece
            chat_value[-1] = {"role": "assistant", "content": esc(shown)}
            yield chat_value, cid, None
    chat_value[-1] = {"role": "assistant", "content": answer_markdown(answer)}
    yield chat_value, cid, answer


def feedback_message(service: Service, answer: Answer | None, label: str | None, note: str | None) -> str:
    """Store a staff verdict on the last answer; the message for the page."""
    if answer is None:
        return prompts.FEEDBACK_NO_ANSWER
    if label not in VERDICT_LABELS:
        return prompts.FEEDBACK_NO_VERDICT
    fid = service.feedback.add(answer_record(answer), VERDICT_LABELS[label], note or "", service.settings.fingerprint())
    return prompts.FEEDBACK_SAVED.format(id=fid)


def export_feedback(service: Service) -> Path:
    """The feedback table as a CSV file (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    path = Path(tempfile.mkdtemp()) / "feedback.csv"
    path.write_text(service.feedback.to_csv(), encoding="utf-8-sig")
    return path


def upload_message(service: Service, files, who: str = "", replace: bool = False) -> tuple[str, list]:
    """Copy uploaded files into the corpus. Returns one message naming what was stored and what was
    refused, and the files held back because a file of that name exists or a corpus file has the same
    content (they wait for 确认替换)."""
    msgs, stored, waiting = [], [], []
    for f in files or []:
        p = Path(getattr(f, "name", f))
        try:
            DocumentStore.check_name(p.name)
        except RagError as exc:
            msgs.append(str(exc))
            continue
        name = service.docs.safe_name(p.name)
        if not replace and service.docs.exists(name):
            waiting.append(str(p))
            msgs.append(prompts.UPLOAD_EXISTS.format(name=name))
            continue
        try:
            stored.append(service.docs.add(p, p.name, who=who, replace=replace))
        except RagError as exc:
            if isinstance(exc, UploadRefused) and exc.code == "duplicate":
                waiting.append(str(p))
            msgs.append(str(exc))
    if stored:
        msgs.insert(0, prompts.UPLOADED_PAGE.format(names="、".join(stored)))
    if not msgs:
        return prompts.NO_FILE_RECEIVED, waiting
    return "；".join(msgs) + "。", waiting


def delete_message(service: Service, name: str | None, who: str = "") -> str:
    try:
        service.docs.delete(name or "", who=who)
    except RagError as exc:
        return str(exc)
    return prompts.TRASHED_PAGE.format(name=name)


def restore_message(service: Service, choice: str | None, who: str = "") -> str:
    """choice: a value of ``trash_choices``."""
    if not choice:
        return prompts.RESTORE_CHOOSE_FIRST
    stamp, _, name = choice.partition("/")
    try:
        service.docs.restore(name, stamp, who=who)
    except RagError as exc:
        return str(exc)
    return prompts.RESTORED_PAGE.format(name=name)


def trash_choices(service: Service) -> list[tuple[str, str]]:
    return [(prompts.TRASH_ENTRY.format(file=e["file"], deleted_at=e["deleted_at"]), f"{e['stamp']}/{e['file']}")
            for e in service.docs.trash()]


def reindex_message(report: dict) -> str:
    """What a finished reindex did, in words."""
    dropped = report.get("dropped") or {}
    return (prompts.REINDEX_DONE.format(chunks=report["chunks"], embedded=len(report["embedded"]),
                                        reused=len(report["reused"]), removed=len(report["removed"]),
                                        seconds=report["seconds"])
            + ("" if not dropped else prompts.REINDEX_DROPPED
               + "；".join(prompts.REINDEX_DROPPED_FILE.format(file=f, n=sum(by.values()), sources="、".join(by))
                          for f, by in dropped.items()) + "。")
            + ("" if not report["skipped"] else prompts.REINDEX_SKIPPED + "；".join(report["skipped"])))


def doc_rows(service: Service) -> list[list]:
    return [[d["file"], d["bytes"], d["chunks"] if d["chunks"] is not None else "-", prompts.YES if d["indexed"] else prompts.NO]
            for d in service.documents()]


def doc_names(service: Service) -> list[str]:
    return [d["file"] for d in service.documents()]


# --- the page ----------------------------------------------------------------------------------

# The login posts to /api/login from the page itself, so the session cookie is HttpOnly; the Python
# handlers then read it from each request.
LOGIN_JS = """
async (name, password) => {
  const failed = %s;
  const r = await fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                       credentials: 'same-origin', body: JSON.stringify({name, password})});
  let body = {};
  try { body = await r.json(); } catch (e) {}
  return [r.ok ? '' : (body.error || failed), ''];
}
""" % json.dumps(prompts.LOGIN_FAILED)
LOGOUT_JS = "async () => { await fetch('/api/logout', {method: 'POST', credentials: 'same-origin'}); return []; }"


def who_is(service: Service, request: gr.Request | None) -> str | None:
    """The staff member logged in on the page's session cookie, else None (also while throttled)."""
    if request is None:
        return None
    try:
        return staff_name(service, getattr(request, "headers", None), client_key(request))
    except LoginThrottled:
        return None


PRIVATE = {"api_visibility": "private"}  # the page's own events: not in Gradio's API


def staff_tab(service: Service, demo: gr.Blocks, last: gr.State):
    """The 工作人员 tab: a login form, and behind it the retrieval details, feedback and documents.
    Every handler checks the login itself (a hidden control can still be called). Returns the
    retrieval-details component, which the chat updates."""
    c = _staff_layout()
    _wire_login(service, demo, c)
    _wire_feedback(service, c, last)
    _wire_uploads(service, c)
    _wire_corpus(service, c)
    return c.hits


def _staff_layout() -> SimpleNamespace:
    """The staff tab's components, laid out (the login form and the hidden staff area), by name."""
    c = SimpleNamespace()
    c.note = gr.Markdown(elem_id="staff-note")
    with gr.Column(visible=False, elem_id="login-box") as c.login_box:
        c.login_name = gr.Textbox(label=prompts.LOGIN_NAME, elem_id="login-name", max_lines=1)
        c.login_pw = gr.Textbox(label=prompts.LOGIN_PASSWORD, type="password", elem_id="login-password", max_lines=1)
        c.login_btn = gr.Button(prompts.LOGIN_BUTTON, variant="primary", elem_id="login")
        c.login_msg = gr.Markdown(elem_id="login-status")
    with gr.Column(visible=False, elem_id="staff-area") as c.area:
        c.logout_btn = gr.Button(prompts.LOGOUT_BUTTON, size="sm", elem_id="logout")
        gr.Markdown(prompts.HITS_HEADING, elem_classes="section-title")
        c.hits = gr.HTML(hits_table(None), elem_id="hits")
        gr.Markdown(prompts.FEEDBACK_HEADING, elem_classes="section-title")
        with gr.Row():
            c.verdict = gr.Radio(list(VERDICT_LABELS), label=prompts.VERDICT_LABEL, elem_id="verdict")
            c.comment = gr.Textbox(label=prompts.COMMENT_LABEL, lines=2, elem_id="comment")
        with gr.Row():
            c.submit_fb = gr.Button(prompts.SUBMIT_FEEDBACK, elem_id="submit-feedback")
            c.export = gr.Button(prompts.EXPORT_CSV, elem_id="export")
        c.fb_status = gr.Markdown(elem_id="feedback-status")
        c.csv_file = gr.File(label=prompts.FEEDBACK_FILE_LABEL, visible=False)
        gr.Markdown(prompts.DOCUMENTS_HEADING, elem_classes="section-title")
        c.docs = gr.Dataframe(headers=list(prompts.DOCUMENT_COLUMNS), interactive=False, elem_id="documents",
                              label=prompts.DOCUMENT_LIST_LABEL, show_label=False)
        c.upload = gr.File(label=prompts.UPLOAD_LABEL, file_count="multiple",
                           file_types=[".txt", ".pdf", ".docx", ".html", ".htm"], elem_id="upload")
        c.pending = gr.State([])  # uploads waiting for 确认替换
        with gr.Row(visible=False, elem_id="replace-confirm") as c.replace_row:
            c.replace_yes = gr.Button(prompts.CONFIRM_REPLACE, variant="stop", elem_id="replace-yes")
            c.replace_no = gr.Button(prompts.CANCEL, elem_id="replace-no")
        with gr.Row():
            c.to_delete = gr.Dropdown([], value=None, label=prompts.DELETE_CHOICE_LABEL, elem_id="delete-choice")
            c.delete = gr.Button(prompts.DELETE_BUTTON, elem_id="delete")
        with gr.Row(visible=False, elem_id="delete-confirm") as c.confirm_row:
            c.confirm_text = gr.Markdown()
            c.delete_yes = gr.Button(prompts.CONFIRM_DELETE, variant="stop", elem_id="delete-yes")
            c.delete_no = gr.Button(prompts.CANCEL, elem_id="delete-no")
        with gr.Row():
            c.trash = gr.Dropdown([], value=None, label=prompts.TRASH_LABEL, elem_id="trash-choice")
            c.restore = gr.Button(prompts.RESTORE_BUTTON, elem_id="restore")
        c.reindex = gr.Button(prompts.REINDEX_BUTTON, variant="primary", elem_id="reindex")
        c.doc_status = gr.Markdown(elem_id="doc-status")
    c.files_out = [c.docs, c.to_delete, c.trash]
    return c


def _files_view(service: Service) -> tuple:
    """The documents table, the delete choices and the trash choices, fresh."""
    return (doc_rows(service), gr.update(choices=doc_names(service), value=None),
            gr.update(choices=trash_choices(service), value=None))


def _files_view_empty() -> tuple:
    """The same three, empty (no one is logged in)."""
    return [], gr.update(choices=[], value=None), gr.update(choices=[], value=None)


def _wire_login(service: Service, demo: gr.Blocks, c: SimpleNamespace) -> None:
    """What the tab shows for this visitor (off / login form / the staff area), on load, after a login
    and after a logout."""

    def view(request: gr.Request):
        if not service.staff:
            return (prompts.NO_STAFF_ACCOUNT, gr.update(visible=False), gr.update(visible=False), *_files_view_empty())
        who = who_is(service, request)
        if who is None:
            return (prompts.STAFF_PLEASE_LOGIN, gr.update(visible=True), gr.update(visible=False), *_files_view_empty())
        return (prompts.STAFF_LOGGED_IN.format(who=esc(who)), gr.update(visible=False), gr.update(visible=True),
                *_files_view(service))

    view_out = [c.note, c.login_box, c.area, *c.files_out]
    demo.load(view, None, view_out, **PRIVATE)
    # The button, or Enter in either field (a form's usual way).
    for trigger in (c.login_btn.click, c.login_name.submit, c.login_pw.submit):
        trigger(None, [c.login_name, c.login_pw], [c.login_msg, c.login_pw], js=LOGIN_JS).then(
            view, None, view_out, **PRIVATE)
    c.logout_btn.click(None, None, None, js=LOGOUT_JS).then(view, None, view_out, **PRIVATE)


def _guarded(service: Service, fn):
    """fn(who, *inputs) -> outputs, run only for a logged-in staff member (else fn(..., denied=True)).

    Gradio injects gr.Request (and gr.Progress) by the handler's signature, so the wrapper shows
    fn's parameters without ``who``/``denied``, and a ``request`` last."""
    params = [p for name, p in inspect.signature(fn).parameters.items() if name not in ("who", "denied")]
    request_param = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                      annotation=gr.Request)

    def run(*args):
        *inputs, request = args
        who = who_is(service, request) if isinstance(request, gr.Request) else None
        if who is None:
            return fn(None, *inputs, denied=True)
        return fn(who, *inputs)

    run.__signature__ = inspect.Signature(params + [request_param])
    # Gradio reads the type hints, not only the signature, to find where gr.Request goes.
    run.__annotations__ = {p.name: p.annotation for p in params if p.annotation is not inspect.Parameter.empty}
    run.__annotations__["request"] = gr.Request
    return run


def _wire_feedback(service: Service, c: SimpleNamespace, last: gr.State) -> None:
    """提交反馈 on the last answer, and 导出 of the feedback table."""

    def do_feedback(who, a, label, note_text, denied=False):
        return prompts.STAFF_LOGIN_REQUIRED if denied else feedback_message(service, a, label, note_text)

    def do_export(who, denied=False):
        return gr.update(visible=False) if denied else gr.update(value=str(export_feedback(service)), visible=True)

    c.submit_fb.click(_guarded(service, do_feedback), [last, c.verdict, c.comment], c.fb_status, **PRIVATE)
    c.export.click(_guarded(service, do_export), None, c.csv_file, **PRIVATE)


def _wire_uploads(service: Service, c: SimpleNamespace) -> None:
    """Uploads, and 确认替换 / 取消 for those held back (a same-name or same-content file)."""

    def do_upload(who, files, denied=False):
        if denied:
            return prompts.STAFF_LOGIN_REQUIRED, [], gr.update(visible=False), *_files_view_empty()
        msg, waiting = upload_message(service, files, who)
        return msg, waiting, gr.update(visible=bool(waiting)), *_files_view(service)

    def do_replace(who, waiting, denied=False):
        if denied:
            return prompts.STAFF_LOGIN_REQUIRED, [], gr.update(visible=False), *_files_view_empty()
        msg, _ = upload_message(service, waiting, who, replace=True)
        return msg, [], gr.update(visible=False), *_files_view(service)

    outputs = [c.doc_status, c.pending, c.replace_row, *c.files_out]
    c.upload.upload(_guarded(service, do_upload), c.upload, outputs, **PRIVATE)
    c.replace_yes.click(_guarded(service, do_replace), c.pending, outputs, **PRIVATE)
    c.replace_no.click(lambda: (prompts.REPLACE_CANCELLED, [], gr.update(visible=False)), None,
                       [c.doc_status, c.pending, c.replace_row], **PRIVATE)


def _wire_corpus(service: Service, c: SimpleNamespace) -> None:
    """删除 (asked, then confirmed), 恢复 from the trash, and 更新索引."""

    def ask_delete(who, name, denied=False):
        if denied:
            return prompts.STAFF_LOGIN_REQUIRED, gr.update(visible=False), ""
        if not name:
            return prompts.DELETE_CHOOSE_FIRST, gr.update(visible=False), ""
        return "", gr.update(visible=True), prompts.DELETE_CONFIRM_QUESTION.format(name=esc(name))

    def do_delete(who, name, denied=False):
        if denied:
            return prompts.STAFF_LOGIN_REQUIRED, gr.update(visible=False), *_files_view_empty()
        return delete_message(service, name, who), gr.update(visible=False), *_files_view(service)

    def do_restore(who, choice, denied=False):
        if denied:
            return prompts.STAFF_LOGIN_REQUIRED, *_files_view_empty()
        return restore_message(service, choice, who), *_files_view(service)

    def do_reindex(who, progress=gr.Progress(), denied=False):
        if denied:
            return prompts.STAFF_LOGIN_REQUIRED, []
        try:
            report = service.reindexer.run(lambda frac, msg: progress(frac, desc=msg), who=who)
        except RagError as exc:
            return str(exc), doc_rows(service)
        return reindex_message(report), doc_rows(service)

    c.delete.click(_guarded(service, ask_delete), c.to_delete, [c.doc_status, c.confirm_row, c.confirm_text], **PRIVATE)
    c.delete_yes.click(_guarded(service, do_delete), c.to_delete, [c.doc_status, c.confirm_row, *c.files_out],
                       **PRIVATE)
    c.delete_no.click(lambda: (prompts.DELETE_CANCELLED, gr.update(visible=False)), None,
                      [c.doc_status, c.confirm_row], **PRIVATE)
    c.restore.click(_guarded(service, do_restore), c.trash, [c.doc_status, *c.files_out], **PRIVATE)
    c.reindex.click(_guarded(service, do_reindex), None, [c.doc_status, c.docs], concurrency_limit=1, **PRIVATE)


def build_blocks(service: Service) -> gr.Blocks:
    """The page: the citizens' chat tab and the staff tab, each control wired to a function above.
    Questions are limited per client by the service's limiter, shared with the API."""
    # Gradio's temporary files (staff uploads, the feedback CSV) are deleted an hour after they were made.
    with gr.Blocks(title=TITLE, delete_cache=(3600, 3600)) as demo:
        history = gr.State(None)  # the conversation's id (its turns are the service's)
        last = gr.State(None)  # the last Answer, for the staff view and feedback
        # The page's one h1, above both tabs (the staff tab is a page of its own to a screen reader).
        gr.Markdown(f"# {TITLE}", elem_id="page-title")
        with gr.Tab(prompts.CHAT_TAB, id="chat"):
            c = _chat_layout(service)
        with gr.Tab(prompts.STAFF_TAB, id="staff"):
            c.hits = staff_tab(service, demo, last)
        c.history, c.last = history, last
        _wire_chat(service, c)
        gr.api(_gradio_ask(service), api_name="ask")
    return demo


def _chat_layout(service: Service) -> SimpleNamespace:
    """The chat tab's components, laid out, by name."""
    c = SimpleNamespace()
    gr.Markdown(welcome(service), elem_id="welcome")
    # Reading order: chat and question box, then the citation cards (beside them on a wide
    # screen; the row wraps on a phone, putting them right below), then examples and 新对话.
    with gr.Row(elem_id="chat-row"):
        with gr.Column(scale=3, min_width=340, elem_id="chat-column"):
            # No share button (it has no accessible name, and nothing to share to).
            c.chat = gr.Chatbot(label=prompts.CHAT_LABEL, height=460, elem_id="chat", sanitize_html=True,
                                buttons=["copy", "copy_all"])
            with gr.Row(elem_id="ask-row"):
                # The label is hidden on screen but names the box for screen readers.
                c.box = gr.Textbox(label=prompts.QUESTION_LABEL, show_label=False,
                                   placeholder=prompts.QUESTION_PLACEHOLDER,
                                   scale=5, min_width=160, elem_id="question", max_lines=4)
                c.send = gr.Button(prompts.ASK_BUTTON, variant="primary", scale=1, min_width=64, elem_id="send")
        with gr.Column(scale=2, min_width=340, elem_id="cards-column"):
            gr.Markdown(prompts.CITATIONS_HEADING, elem_classes="section-title")
            c.cards = gr.HTML(citation_cards(None, service), elem_id="citations")
    with gr.Column(elem_id="chat-extras"):
        gr.Examples(EXAMPLES, inputs=c.box, label=prompts.EXAMPLES_LABEL)
        c.clear = gr.Button(prompts.NEW_CHAT, size="sm", elem_id="new-chat")
    return c


def _wire_chat(service: Service, c: SimpleNamespace) -> None:
    """提问 (Enter or the button) streams the answer into the chat, the cards and the staff's hits;
    新对话 clears them."""
    limiter = service.limiter

    def respond(question, chat_value, hist, request: gr.Request):
        if limiter.allow(client_key(request)):
            chat_now = list(chat_value or []) + [{"role": "assistant", "content": esc(prompts.RATE_LIMITED)}]
            yield chat_now, hist, gr.update(), gr.update(), gr.update(), gr.update()
            return
        for chat_now, hist_now, answer in chat_steps(service, question, chat_value, hist):
            if answer is None:
                yield chat_now, hist_now, gr.update(), gr.update(), None, ""
            else:
                yield chat_now, hist_now, citation_cards(answer, service), hits_table(answer), answer, ""

    outs = [c.chat, c.history, c.cards, c.hits, c.last, c.box]
    c.box.submit(respond, [c.box, c.chat, c.history], outs, **PRIVATE)
    c.send.click(respond, [c.box, c.chat, c.history], outs, **PRIVATE)
    c.clear.click(lambda: ([], None, citation_cards(None, service), hits_table(None), None), None,
                  [c.chat, c.history, c.cards, c.hits, c.last], **PRIVATE)


def _gradio_ask(service: Service):
    """Gradio's own ``/ask`` endpoint (its API lists it by this function's name and docstring)."""
    limiter = service.limiter

    def ask(question: str, request: gr.Request, conversation_id: str | None = None) -> dict:
        """One question -> the batch format and its conversation id (for the Gradio Python client;
        a follow-up sends the id back), under the same rate limit as the page and the API."""
        if limiter.allow(client_key(request)):
            return {"error": prompts.RATE_LIMITED, "code": "rate_limited"}
        cid, answer = service.converse(question or "", conversation_id)
        return {**answer_record(answer), "conversation_id": cid}

    return ask


# --- the server ------------------------------------------------------------------------------

def gradio_temp_dir(service: Service) -> Path:
    """Gradio's own files (staff uploads on their way in, the feedback CSV on its way out): under the
    data folder, emptied at each start; Gradio reads the folder from GRADIO_TEMP_DIR."""
    folder = Path(service.settings.serve.data_dir).resolve() / "gradio-tmp"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def build_app(service: Service):
    """The JSON API (rag.api) with the page mounted at /, behind the Gradio route gate (rag.web):
    visitors reach the chat's routes only; Gradio's upload and file routes are for staff."""
    gradio_temp_dir(service)
    app = create_api(service, TITLE)
    demo = build_blocks(service)
    serve = service.settings.serve
    demo.queue(default_concurrency_limit=serve.concurrency, max_size=serve.queue_size)
    app.add_middleware(ChinesePage)
    app.add_middleware(UploadGuard, service=service, paths=("/gradio_api/upload",))

    async def is_staff(scope) -> bool | float:
        try:
            request = Request(scope)
            return await run_in_threadpool(staff_name, service, request.headers, client_key(request)) is not None
        except LoginThrottled as exc:
            return exc.wait

    app.add_middleware(GradioGate, is_staff=is_staff)
    app.user_middleware.sort(key=lambda m: m.cls is not Edge)  # the edge stays outermost
    return gr.mount_gradio_app(app, demo, path="", css=CSS + PAGE_CSS, js=CARD_JS, footer_links=[],
                               max_file_size=int(serve.max_upload_mb * 1024 * 1024))


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    p = argparse.ArgumentParser(description=f"{TITLE}: chat page and JSON API")
    p.add_argument("--host", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--corpus", type=Path)
    p.add_argument("--index", type=Path)
    p.add_argument("--llm", action="store_true", help="answer with the LLM endpoint in settings")
    args = p.parse_args(argv)
    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, host=args.host, port=args.port,
                                 answerer="llm" if args.llm else None)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        service = Service(settings)
    except RagError as exc:
        print(prompts.CLI_ERROR.format(error=exc), file=sys.stderr)
        return exc.exit_code
    app = build_app(service)
    print(f"{TITLE}: http://{settings.serve.host}:{settings.serve.port}/", file=sys.stderr)
    # proxy_headers off: uvicorn would believe X-Forwarded-For from any loopback peer; rag.web.Edge
    # believes it only from serve.trusted_proxies.
    uvicorn.run(app, host=settings.serve.host, port=settings.serve.port, log_level="warning", proxy_headers=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
