"""Command line: argparse subcommands over the public API. RagError -> one clear message + exit code."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

from . import prompts
from .config import Settings
from .errors import RagError


def _percentiles(values: list[int], ps=(10, 50, 90, 99)) -> dict[str, int]:
    if not values:
        return {}
    s = sorted(values)
    out = {f"p{p}": s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] for p in ps}
    out["max"] = s[-1]
    out["min"] = s[0]
    return out


def document_stats(sources, chunks) -> dict[str, dict]:
    """Per document: kind, title, 文号, how many 章/节/条 its chunks are labelled with, how many chunks
    have no 条 (unstructured pieces), and how many distinct 第X条 numbers open one of its lines."""
    from .ingest.clean import split_lines
    from .ingest.structure import article_starts, parse
    from .text import MARKERS

    chapter, section, article = (rx for _, kind, rx in MARKERS if kind in ("chapter", "section", "article"))
    by_doc: dict[str, list] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    out: dict[str, dict] = {}
    for src in sources:
        for pd in parse(src):
            cs = by_doc.get(pd.doc.doc_id, [])
            if not cs:
                continue
            labels = {x for c in cs for x in c.section}
            lines = [ln for ln in split_lines(src.text, pd.doc.start, pd.doc.end) if ln.start not in pd.dups]
            out[pd.doc.doc_id] = {
                "kind": pd.doc.kind, "title": pd.doc.title, "doc_number": pd.doc.doc_number, "chunks": len(cs),
                "chapters": sum(1 for x in labels if chapter.match(x)),
                "sections": sum(1 for x in labels if section.match(x)),
                "articles": sum(1 for x in labels if article.fullmatch(x)),
                "unstructured": sum(1 for c in cs if not any(article.fullmatch(x) for x in c.section)),
                "article_line_starts": len(set(article_starts(src.text, lines))),
            }
    return out


def cmd_chunks(args: argparse.Namespace, settings: Settings) -> int:
    from .ingest.chunk import chunk_corpus

    paths = args.paths or [settings.corpus_dir]
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise RagError(f"no such file or folder: {', '.join(missing)}")
    chunks, sources, problems = chunk_corpus(paths, settings.ingest)
    for p in problems:
        print(prompts.CLI_SKIPPED.format(message=p.message), file=sys.stderr)
    if not args.stats:
        out = sys.stdout
        for c in chunks:
            out.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        return 0 if sources else 2
    per_file = Counter(c.source for c in chunks)
    per_doc = document_stats(sources, chunks)
    for doc_id, d in per_doc.items():
        if d["article_line_starts"] and d["articles"] < d["article_line_starts"]:
            print(prompts.CLI_ARTICLES_WARNING.format(doc_id=doc_id, title=d["title"], starts=d["article_line_starts"],
                                                      articles=d["articles"]), file=sys.stderr)
    per_level = Counter(c.level for c in chunks)
    stats = {
        "files": len(sources),
        "skipped": [p.message for p in problems],
        "documents": len(per_doc),
        "chunks": len(chunks),
        "per_file": dict(per_file),
        "per_level": dict(per_level),
        "chunk_chars": _percentiles([len(c.text) for c in chunks]),
        "cap": settings.ingest.chunk_max_chars,
        "per_document": per_doc,
    }
    print(json.dumps(stats, ensure_ascii=False, indent=2))
    return 0 if sources else 2


def _milvus_settings(settings: Settings, uri: str | None) -> Settings:
    from .search.store import is_milvus

    store = settings.index.vector_store
    uri = uri or (store if is_milvus(store) else str(Path(settings.index_dir) / "milvus.db"))
    return settings.replace(vector_store=uri)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from .build import build_index

    if args.backend == "milvus":
        settings = _milvus_settings(settings, args.milvus_uri)

    def progress(frac: float, msg: str) -> None:
        if not args.quiet:
            print(f"\r[{frac:4.0%}] {msg[:60]:<60}", end="", file=sys.stderr, flush=True)

    report = build_index(settings, args.paths or None, full=args.rebuild, progress=progress)
    if not args.quiet:
        print(file=sys.stderr)
    for msg in report.skipped:
        print(prompts.CLI_SKIPPED.format(message=msg), file=sys.stderr)
    print(json.dumps({
        "index": str(report.directory), "chunks": report.chunks, "faiss": report.faiss_type,
        "embedded_files": report.embedded_files, "reused_files": report.reused_files,
        "removed_files": report.removed_files, "embedded_chunks": report.embedded_chunks, "embedded_units": report.embedded_units,
        "dropped_repeats": report.dropped,
        "seconds": round(report.seconds, 2),
        "store": {"uri": settings.index.vector_store, **vars(report.store)},
    }, ensure_ascii=False, indent=2))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Copy the built FAISS index into Milvus: vectors, BM25 weights and metadata, no re-embedding."""
    from .search.index import load_index
    from .search.milvus import MilvusStore

    settings = _milvus_settings(settings, args.to)
    index = load_index(settings)
    store = MilvusStore.from_settings(settings, vocab=index.bm25.vocab)
    if args.rebuild:
        store.drop()
    report = store.sync(index)
    print(json.dumps({"from": str(index.directory), "to": settings.index.vector_store,
                      "collection": settings.index.milvus_collection,
                      "chunks": store.count(), **vars(report)}, ensure_ascii=False, indent=2))
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .factory import open_retriever

    retriever = open_retriever(settings)
    hits = retriever.search(args.query, args.k, doc_numbers=args.doc or None)
    if args.json:
        for h in hits:
            print(json.dumps({"rank": h.rank, "score": round(h.score, 5), **h.chunk.to_dict(),
                              "scores": h.scores}, ensure_ascii=False))
        return 0
    for h in hits:
        c = h.chunk
        ranks = f"dense#{h.scores.get('dense_rank') or '-'} bm25#{h.scores.get('bm25_rank') or '-'}"
        print(f"{h.rank:>2}. {h.score:.4f} [{ranks}] {c.where}")
        print(f"    {c.source}:{c.start}-{c.end}  {c.text[:90].replace(chr(10), ' ')}")
    return 0


def ensure_index(settings: Settings) -> None:
    """Build index/ from the corpus when there is none yet (the first run of `rag ask`)."""
    from .build import ensure_index as build_if_missing

    report = build_if_missing(settings, announce=lambda: print(
        prompts.CLI_FIRST_RUN.format(corpus=settings.corpus_dir), file=sys.stderr))
    for msg in report.skipped if report else []:
        print(prompts.CLI_SKIPPED.format(message=msg), file=sys.stderr)


def render_answer(answer, related: int) -> str:
    """An answer as plain text: the answer, its numbered citations, or the nearest passages."""
    lines = [answer.text]
    for note in answer.notices:
        lines.append(f"（{note}）")
    if answer.citations:
        lines.append("")
        lines.append(prompts.CITATIONS_PREFIX)
        for i, c in enumerate(answer.citations, 1):
            quote = " ".join(c.quote.split())
            lines.append(f"[{i}] {c.where}  ({c.source}:{c.start}-{c.end})")
            lines.append(f"    “{quote}”")
    elif answer.hits and answer.refused:
        lines.append("")
        lines.append(f"{prompts.RELATED_NOT_ANSWERING}：")
        for h in answer.hits[:related]:
            lines.append(f"- {h.chunk.where}：{h.chunk.text[:80]}")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .conversation import ConversationStore
    from .factory import open_qa
    from .record import answer_record

    if args.llm:
        settings = settings.replace(answerer="llm")
    ensure_index(settings)
    qa = open_qa(settings)
    # The questions are one conversation, taken turn by turn as the page and the API take theirs.
    conversations = ConversationStore(settings)
    cid = None
    for i, question in enumerate(args.questions):
        for piece in conversations.turn(qa.ask_stream, question, cid):
            turn = piece
        cid, answer = turn
        if args.json:
            print(json.dumps(answer_record(answer, i + 1), ensure_ascii=False))
        else:
            if len(args.questions) > 1:
                print(prompts.CLI_QUESTION.format(question=question))
            print(render_answer(answer, settings.answer.related_shown))
            if i < len(args.questions) - 1:
                print()
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from . import ui
    except ImportError as exc:
        raise RagError(f"The chat page (rag.ui) could not be imported ({exc}); reinstall the package") from exc
    argv = ["--host", args.host or settings.serve.host, "--port", str(args.port or settings.serve.port),
            "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    return ui.main(argv + (["--llm"] if args.llm else []))


def _import_eval():
    """The evaluation suite: ``rag.eval`` when installed (the repo's eval/ folder installs under that
    name), else ``eval`` from a checkout's root (run from there without installing)."""
    import importlib

    errors = []
    for pkg in ("rag.eval", "eval"):
        try:
            return importlib.import_module(f"{pkg}.run"), importlib.import_module(f"{pkg}.systems")
        except ImportError as exc:
            # NOTE: only a missing suite falls through to the next name; anything else (a dependency
            # the suite imports is missing) is the real error, whichever copy raised it.
            if getattr(exc, "name", None) not in (pkg, f"{pkg}.run", f"{pkg}.systems"):
                raise RagError(f"The evaluation suite could not be imported ({exc})") from exc
            errors.append(str(exc))
    raise RagError(
        f"The evaluation suite could not be imported ({'; '.join(errors)}); reinstall the package "
        "(`pip install .`) or run from the repository root"
    )


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    run, _ = _import_eval()
    systems = tuple(s.strip() for s in args.systems.split(",") if s.strip())
    run.run_eval(args.questions, systems=systems, out_dir=args.out, corpus_dir=settings.corpus_dir,
                 settings=settings)
    print(f"reports in {args.out}/ (report.md, report.json, metrics.png, latency.png, <system>.jsonl)",
          file=sys.stderr)
    return 0


def cmd_batch(args: argparse.Namespace, settings: Settings) -> int:
    run, systems = _import_eval()
    questions = run.read_questions(args.questions)
    embedder = []

    def embedder_factory():
        from .search.embed import load_embedder

        embedder.append(load_embedder(settings.index.embedder, settings.index.embed_batch_size))
        return embedder[-1]

    system = systems.make_system(args.system, settings, embedder_factory, args.cache)
    system.build(settings.corpus_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for q in questions:
            f.write(json.dumps(system.answer(q), ensure_ascii=False) + "\n")
    print(f"{len(questions)} answers from {args.system} in {args.out}", file=sys.stderr)
    return 0


def _read_password(prompt: str) -> str:
    """A password from the terminal (asked twice, not echoed) or the first line of stdin."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass(prompts.CLI_PASSWORD_AGAIN) != first:
            raise RagError(prompts.CLI_PASSWORDS_DIFFER)
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_staff(args: argparse.Namespace, settings: Settings) -> int:
    from .staff import StaffStore

    store = StaffStore(Path(settings.serve.data_dir) / "staff.json")
    if args.action == "list":
        for name in store.names():
            print(name)
        return 0
    if not args.name:
        raise RagError(prompts.CLI_NEEDS_ACCOUNT.format(action=args.action))
    if args.action == "add":
        store.add(args.name, _read_password(prompts.CLI_PASSWORD.format(name=args.name)))
        print(prompts.CLI_ACCOUNT_SAVED.format(name=args.name, path=store.path), file=sys.stderr)
    else:
        store.remove(args.name)
        print(prompts.CLI_ACCOUNT_REMOVED.format(name=args.name), file=sys.stderr)
    return 0


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    from .documents import DocumentStore
    from .staff import AuditLog

    audit = AuditLog(Path(settings.serve.data_dir) / "audit.jsonl")
    docs = DocumentStore(settings, audit)
    who = f"cli:{os.environ.get('USER') or 'operator'}"
    if args.action == "list":
        for d in docs.files():
            print(f"{d['file']}\t{d['bytes']}")
    elif args.action == "trash":
        for e in docs.trash():
            print(f"{e['file']}\t{e['deleted_at']}\t{e['stamp']}\t{e['bytes']}")
    elif args.action == "restore":
        if not args.name:
            raise RagError(prompts.CLI_NEEDS_FILE.format(action="restore"))
        e = docs.restore(args.name, args.stamp, who=who)
        print(prompts.CLI_RESTORED.format(file=e["file"], deleted_at=e["deleted_at"]), file=sys.stderr)
    else:
        if not args.name:
            raise RagError(prompts.CLI_NEEDS_FILE.format(action="delete"))
        e = docs.delete(args.name, who=who)
        print(prompts.CLI_TRASHED.format(file=e["file"], stamp=e["stamp"]), file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag",
                                description=f"{prompts.APP_TITLE} — cited answers over Jinan policy documents")
    p.add_argument("--corpus", type=Path, help="corpus folder (default: corpus/)")
    p.add_argument("--index", type=Path, help="index folder (default: index/)")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("chunks", help="print the chunks as JSON Lines")
    c.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the corpus)")
    c.add_argument("--stats", action="store_true", help="print counts per file, document and level, and sizes")
    c.set_defaults(func=cmd_chunks)
    i = sub.add_parser("index", help="build or update index/ from the corpus (only changed files are re-embedded)")
    i.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the corpus)")
    i.add_argument("--rebuild", action="store_true", help="re-embed everything")
    i.add_argument("--quiet", action="store_true", help="no progress line")
    i.add_argument("--backend", choices=["faiss", "milvus"], default="faiss",
                   help="also build/update the Milvus collection (default URI index/milvus.db, or RAG_VECTOR_STORE)")
    i.add_argument("--milvus-uri", help="index/milvus.db (embedded Milvus Lite) or http://host:19530")
    i.set_defaults(func=cmd_index)
    mg = sub.add_parser("migrate", help="copy the built FAISS index into Milvus without re-embedding")
    mg.add_argument("--to", help="Milvus URI (default: RAG_VECTOR_STORE, else index/milvus.db)")
    mg.add_argument("--rebuild", action="store_true", help="drop the collection first")
    mg.set_defaults(func=cmd_migrate)
    s_ = sub.add_parser("search", help="print ranked passages for a question")
    s_.add_argument("query")
    s_.add_argument("-k", type=int, default=10)
    s_.add_argument("--json", action="store_true", help="one JSON object per hit")
    s_.add_argument("--doc", action="append", metavar=prompts.CLI_DOC_NUMBER,
                    help="only this document (repeatable), e.g. 济政发〔2021〕13号")
    s_.set_defaults(func=cmd_search)
    a = sub.add_parser("ask", help="answer questions with cited clauses (several = one conversation)")
    a.add_argument("questions", nargs="+", help="a question; further ones are follow-ups in the same conversation")
    a.add_argument("--json", action="store_true", help="print the batch format, one JSON object per answer")
    a.add_argument("--llm", action="store_true", help="answer with the LLM endpoint in settings (RAG_LLM_*)")
    a.set_defaults(func=cmd_ask)
    v = sub.add_parser("serve", help="open the chat page and JSON API (builds the index first if there is none)")
    v.add_argument("--host", help="bind address (default 127.0.0.1)")
    v.add_argument("--port", type=int, help="port (default 7860)")
    v.add_argument("--llm", action="store_true", help="answer with the LLM endpoint in settings (RAG_LLM_*)")
    v.set_defaults(func=cmd_serve)
    e = sub.add_parser("eval", help="run the evaluation suite: every system side by side, reports in --out")
    e.add_argument("--questions", type=Path, required=True, help="gold questions, JSON Lines")
    e.add_argument("--systems", default="ours,naive,bm25", help="comma-separated: ours,naive,bm25")
    e.add_argument("--out", type=Path, default=Path("eval/out"), help="report folder (default: eval/out)")
    e.set_defaults(func=cmd_eval)
    b = sub.add_parser("batch", help="answer a JSON Lines file of questions, one JSON answer per line")
    b.add_argument("--questions", type=Path, required=True, help="JSON Lines with id and question")
    b.add_argument("--out", type=Path, required=True, help="output JSON Lines")
    b.add_argument("--system", default="ours", choices=["ours", "naive", "bm25"])
    b.add_argument("--cache", type=Path, default=Path("eval/out/cache"), help="embedding cache folder")
    b.set_defaults(func=cmd_batch)
    st = sub.add_parser("staff", help="staff accounts for the 工作人员 tab and the documents API")
    st.add_argument("action", choices=["add", "remove", "list"])
    st.add_argument("name", nargs="?", help="account name (add: the password is read from a prompt or stdin)")
    st.set_defaults(func=cmd_staff)
    d = sub.add_parser("documents", help="corpus files and the trash: list, trash, delete NAME, restore NAME")
    d.add_argument("action", choices=["list", "trash", "delete", "restore"])
    d.add_argument("name", nargs="?")
    d.add_argument("--stamp", help="restore: the version moved to the trash at this stamp (see `rag documents trash`)")
    d.set_defaults(func=cmd_documents)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    # The CLI reports skipped files itself; keep library warnings from printing them twice.
    lib_log = logging.getLogger("rag")
    old_level = lib_log.level
    lib_log.setLevel(logging.ERROR)
    try:
        return args.func(args, settings)
    except RagError as exc:
        print(prompts.CLI_ERROR.format(error=exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `rag chunks | head`
        sys.stderr.close()
        return 0
    finally:
        lib_log.setLevel(old_level)


if __name__ == "__main__":
    sys.exit(main())
