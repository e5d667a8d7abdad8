"""泉城政策问答: the chat page (Gradio) for citizens, the verification view for staff, and the JSON API,
served together by one process that loads the index once.

    python ui.py [--host 127.0.0.1] [--port 7860]      # or: rag serve

Routes: ``/`` the page; ``POST /api/ask`` {"question", "history": [earlier questions]} -> the batch
format; ``GET /api/health``; Gradio's own API (``/gradio_api/...``, endpoint ``/ask``) for the Gradio
Python client. Every piece of document or user text is HTML-escaped before it is shown.
"""

from __future__ import annotations

import argparse
import html
import logging
import re
import sys
import tempfile
from pathlib import Path

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from rag import prompts
from rag.config import Settings
from rag.errors import RagError
from rag.feedback import VERDICTS
from rag.ingest.clean import clean
from rag.record import answer_record
from rag.service import Service
from rag.text import ITEM_HEAD_RE, head_of
from rag.types import Answer

log = logging.getLogger("rag.ui")

TITLE = "泉城政策问答"
EXAMPLES = [
    "门前五包具体包括哪五项内容？",
    "济政办发〔2021〕19号的第十二条讲了哪些内容？",
    "重点项目的申报名单每年几月前报送？",
    "济南轨道交通6号线哪年通车？",
]
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


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


# --- rendering ---------------------------------------------------------------------------------

def answer_markdown(answer: Answer) -> str:
    """The chat bubble: escaped text, citation markers as superscripts, notices in small print."""
    body = esc(answer.text)
    body = re.sub(r"\[(\d{1,2})\]", r"<sup>[\1]</sup>", body)
    if answer.notices:
        body += "<br><small>" + "<br>".join(esc(n) for n in answer.notices) + "</small>"
    return body


def citation_cards(answer: Answer | None, service: Service) -> str:
    """The citation panel: one card per cited clause (chunk), every quoted span of the answer that
    falls in it highlighted, its header naming the answer's markers [n] it holds."""
    if answer is None:
        return "<div class='cite-empty'>回答的引用将显示在这里。</div>"
    raws = service.index.raws
    parts = []
    if answer.refused:
        parts.append(f"<div class='refusal-banner' id='refusal'><b>{esc(prompts.CANNOT_ANSWER)}</b>"
                     f"：现有文件未涉及这一问题。</div>")
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
    cleaned = clean(raw, chunk.start, chunk.end)
    marks = _merge([(*cleaned.index_span(s, e), [n]) for n, s, e in spans])
    path = " / ".join(esc(s) for s in _card_section(chunk.section, cleaned.text, marks)) or "正文"
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


def _card_section(section: tuple[str, ...], text: str, marks: list) -> tuple[str, ...]:
    """The section path a card shows: when every highlight lies in a list item (（四）…), the items
    highlighted, in place of the item the chunk happens to start with."""
    base = section[:-1] if section and ITEM_HEAD_RE.match(section[-1]) else section
    items = [_item_at(text, a) for a, _, _ in marks]
    if not marks or any(it is None for it in items):
        return base if marks else section
    return (*base, "、".join(dict.fromkeys(items)))


def _item_at(text: str, i: int) -> str | None:
    """The label ("（四）包秩序良好") of the list item whose paragraph, or a later paragraph of which,
    holds cleaned index i; None before the first item."""
    start = text.rfind("\n", 0, i) + 1
    while True:
        end = text.find("\n", start)
        line = text[start:end if end >= 0 else len(text)]
        if ITEM_HEAD_RE.match(line):
            return head_of(line)[:30]
        if start == 0:
            return None
        start = text.rfind("\n", 0, start - 1) + 1


def _source_view(source: str, raw: str, spans: list[tuple[int | None, int, int]], service: Service) -> str:
    """查看原文: the file's text around the spans, each marked; opened, the first mark is scrolled into
    its box (CARD_JS)."""
    first, last = min(s for _, s, _ in spans), max(e for _, _, e in spans)
    ctx = service.source_context(source, first, last)
    body = _highlight(ctx["quote"], first, _merge([(s, e, [n] if n else []) for n, s, e in spans]))
    return (f"<details><summary>查看原文</summary>"
            f"<div class='cite-meta'>位置：{esc(ctx['source'])} 第 {ctx['line']} 行（共 {ctx['total_lines']} 行），"
            f"字符 {ctx['start']}–{ctx['end']}</div>"
            f"<div class='source-text'>{esc(ctx['before'])}{body}{esc(ctx['after'])}</div></details>")


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
        return "<p>尚无检索结果。</p>"
    rows = ["<table class='hits'><tr><th>#</th><th>融合分</th><th>向量名次</th><th>关键词名次</th>"
            "<th>文件 / 条款</th><th>片段</th></tr>"]
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
    return (f"### {TITLE}\n您好！我可以依据济南市政府文件和政策报道回答问题，每句回答都注明出处条款。"
            f"现有 {len(titles)} 份文件，包括 {listing} 等。文件中没有规定的问题，我会如实告诉您。")


# --- what each control does (plain functions over the service; the page only wires them) ----------

def chat_steps(service: Service, question: str | None, chat_value: list, hist: list):
    """One turn of the chat: yields (chat messages, history, final Answer or None) as the answer streams.

    The user's text is escaped and cut for display; the final bubble is ``answer_markdown``. An empty
    question is not added to the conversation's history.
    """
    chat_value = list(chat_value or [])
    shown_q = (question or "")[: service.settings.serve.max_shown_chars]
    chat_value.append({"role": "user", "content": esc(shown_q)})
    chat_value.append({"role": "assistant", "content": ""})
    yield chat_value, hist, None
    answer = None
    shown = ""
    for piece in service.ask_stream(question or "", hist):
        if isinstance(piece, Answer):
            answer = piece
        else:
            shown += piece
            chat_value[-1] = {"role": "assistant", "content": esc(shown)}
            yield chat_value, hist, None
    chat_value[-1] = {"role": "assistant", "content": answer_markdown(answer)}
    if answer.text != prompts.EMPTY_QUESTION:
        hist = list(hist) + [(answer.trace.resolved_question or answer.question, answer)]
    yield chat_value, hist, answer


def feedback_message(service: Service, answer: Answer | None, label: str | None, note: str | None) -> str:
    """Store a staff verdict on the last answer; the message for the page."""
    if answer is None:
        return "请先提问，再对回答给出反馈。"
    if label not in VERDICT_LABELS:
        return "请选择：正确、错误或引用有误。"
    fid = service.feedback.add(answer_record(answer), VERDICT_LABELS[label], note or "", service.settings.fingerprint())
    return f"已记录反馈（编号 {fid}）。"


def export_feedback(service: Service) -> Path:
    """The feedback table as a CSV file (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    path = Path(tempfile.mkdtemp()) / "feedback.csv"
    path.write_text(service.feedback.to_csv(), encoding="utf-8-sig")
    return path


def upload_message(service: Service, files) -> str:
    """Copy uploaded files into the corpus; one message naming what was stored and what was refused."""
    msgs = []
    for f in files or []:
        p = Path(getattr(f, "name", f))
        try:
            msgs.append(f"已上传 {service.add_document(p, p.name)}")
        except RagError as exc:
            msgs.append(str(exc))
    msgs.append("点击“更新索引”后生效。")
    return "；".join(msgs)


def delete_message(service: Service, name: str | None) -> str:
    try:
        service.delete_document(name or "")
    except RagError as exc:
        return str(exc)
    return f"已删除 {name}，点击“更新索引”后生效。"


def reindex_message(report: dict) -> str:
    """What a finished reindex did, in words."""
    return (f"索引已更新：{report['chunks']} 个片段；重新向量化 {len(report['embedded'])} 个文件，"
            f"复用 {len(report['reused'])} 个，移除 {len(report['removed'])} 个；用时 {report['seconds']} 秒。"
            + ("" if not report["skipped"] else " 跳过：" + "；".join(report["skipped"])))


def doc_rows(service: Service) -> list[list]:
    return [[d["file"], d["bytes"], d["chunks"] if d["chunks"] is not None else "-", "是" if d["indexed"] else "否"]
            for d in service.documents()]


def doc_names(service: Service) -> list[str]:
    return [d["file"] for d in service.documents()]


# --- the page ----------------------------------------------------------------------------------

def build_blocks(service: Service) -> gr.Blocks:
    """The page: the citizens' chat tab and the staff tab, each control wired to a function above."""
    with gr.Blocks(title=TITLE) as demo:
        history = gr.State([])  # [(standalone question, Answer)]
        last = gr.State(None)  # the last Answer, for the staff view and feedback
        with gr.Tab("咨询", id="chat"):
            gr.Markdown(welcome(service), elem_id="welcome")
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="对话", height=460, elem_id="chat", sanitize_html=True)
                    with gr.Row():
                        box = gr.Textbox(placeholder="请输入您的问题，例如：门前五包包括哪些内容？", show_label=False,
                                         scale=5, elem_id="question", max_lines=4)
                        send = gr.Button("提问", variant="primary", scale=1, elem_id="send")
                    gr.Examples(EXAMPLES, inputs=box, label="示例问题")
                    clear = gr.Button("新对话", size="sm", elem_id="new-chat")
                with gr.Column(scale=2):
                    gr.Markdown("#### 引用条款")
                    cards = gr.HTML(citation_cards(None, service), elem_id="citations")
        with gr.Tab("工作人员", id="staff"):
            gr.Markdown("#### 检索详情（最近一次回答）")
            hits = gr.HTML(hits_table(None), elem_id="hits")
            gr.Markdown("#### 审核反馈")
            with gr.Row():
                verdict = gr.Radio(list(VERDICT_LABELS), label="这条回答", elem_id="verdict")
                comment = gr.Textbox(label="备注", lines=2, elem_id="comment")
            with gr.Row():
                submit_fb = gr.Button("提交反馈", elem_id="submit-feedback")
                export = gr.Button("导出 CSV", elem_id="export")
            fb_status = gr.Markdown(elem_id="feedback-status")
            csv_file = gr.File(label="反馈记录", visible=False)
            gr.Markdown("#### 文件管理")
            docs = gr.Dataframe(doc_rows(service), headers=["文件", "字节", "片段数", "已索引"], interactive=False,
                                elem_id="documents")
            with gr.Row():
                upload = gr.File(label="上传文件（txt / pdf / docx / html）", file_count="multiple",
                                 file_types=[".txt", ".pdf", ".docx", ".html", ".htm"], elem_id="upload")
                with gr.Column():
                    to_delete = gr.Dropdown(doc_names(service), label="删除文件")
                    delete = gr.Button("删除")
                    reindex = gr.Button("更新索引", variant="primary")
            doc_status = gr.Markdown(elem_id="doc-status")

        def respond(question, chat_value, hist):
            for chat_now, hist_now, answer in chat_steps(service, question, chat_value, hist):
                if answer is None:
                    yield chat_now, hist_now, gr.update(), gr.update(), None, ""
                else:
                    yield chat_now, hist_now, citation_cards(answer, service), hits_table(answer), answer, ""

        outs = [chat, history, cards, hits, last, box]
        box.submit(respond, [box, chat, history], outs, api_visibility="private")
        send.click(respond, [box, chat, history], outs, api_visibility="private")
        clear.click(lambda: ([], [], citation_cards(None, service), hits_table(None), None), None,
                    [chat, history, cards, hits, last], api_visibility="private")
        submit_fb.click(lambda a, label, note: feedback_message(service, a, label, note), [last, verdict, comment],
                        fb_status, api_visibility="private")
        export.click(lambda: gr.update(value=str(export_feedback(service)), visible=True), None, csv_file,
                     api_visibility="private")

        def after_files(msg):
            return msg, doc_rows(service), gr.update(choices=doc_names(service), value=None)

        upload.upload(lambda files: after_files(upload_message(service, files)), upload, [doc_status, docs, to_delete],
                      api_visibility="private")
        delete.click(lambda name: after_files(delete_message(service, name)), to_delete, [doc_status, docs, to_delete],
                     api_visibility="private")

        def do_reindex(progress=gr.Progress()):
            try:
                report = service.reindex(lambda frac, msg: progress(frac, desc=msg))
            except RagError as exc:
                return str(exc), doc_rows(service)
            return reindex_message(report), doc_rows(service)

        reindex.click(do_reindex, None, [doc_status, docs], api_visibility="private", concurrency_limit=1)

        def ask(question: str) -> dict:
            """One question -> the batch format (for the Gradio Python client)."""
            return answer_record(service.ask(question or ""))

        gr.api(ask, api_name="ask")
    return demo


# --- the JSON API and the server ---------------------------------------------------------------

class AskBody(BaseModel):
    question: str = Field(..., description="the question")
    history: list[str] = Field(default_factory=list, description="earlier questions of the conversation")


def build_app(service: Service) -> FastAPI:
    app = FastAPI(title=TITLE)

    @app.get("/api/health")
    def health() -> dict:
        return service.health()

    @app.post("/api/ask")
    def api_ask(body: AskBody):
        limit = service.settings.serve.max_history_turns
        if len(body.history) > limit:
            return JSONResponse({"error": f"对话历史过长（最多 {limit} 轮）"}, status_code=400)
        hist = []
        for q in body.history:
            a = service.ask(q, hist)
            hist.append((a.trace.resolved_question or q, a))
        return answer_record(service.ask(body.question, hist))

    demo = build_blocks(service)
    serve = service.settings.serve
    demo.queue(default_concurrency_limit=serve.concurrency, max_size=serve.queue_size)
    return gr.mount_gradio_app(app, demo, path="", css=CSS, js=CARD_JS, footer_links=[])


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    p = argparse.ArgumentParser(description="泉城政策问答: chat page and JSON API")
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
        print(f"错误 error: {exc}", file=sys.stderr)
        return exc.exit_code
    app = build_app(service)
    print(f"{TITLE}: http://{settings.serve.host}:{settings.serve.port}/", file=sys.stderr)
    uvicorn.run(app, host=settings.serve.host, port=settings.serve.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
