"""Command line: argparse subcommands over the public API. RagError -> one clear message + exit code."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path

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


def cmd_chunks(args: argparse.Namespace, settings: Settings) -> int:
    from .chunk import chunk_corpus

    paths = args.paths or [settings.corpus_dir]
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise RagError(f"no such file or folder: {', '.join(missing)}")
    chunks, sources, problems = chunk_corpus(paths, settings)
    for p in problems:
        print(f"跳过 skipped: {p.message}", file=sys.stderr)
    if not args.stats:
        out = sys.stdout
        for c in chunks:
            out.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        return 0 if sources else 2
    per_file = Counter(c.source for c in chunks)
    per_doc: dict[str, dict] = {}
    for c in chunks:
        d = per_doc.setdefault(c.doc_id, {"title": c.title if not c.section else c.title, "doc_number": c.doc_number, "chunks": 0})
        d["chunks"] += 1
    per_level = Counter(c.level for c in chunks)
    stats = {
        "files": len(sources),
        "skipped": [p.message for p in problems],
        "documents": len(per_doc),
        "chunks": len(chunks),
        "per_file": dict(per_file),
        "per_level": dict(per_level),
        "chunk_chars": _percentiles([len(c.text) for c in chunks]),
        "cap": settings.chunk_max_chars,
        "per_document": per_doc,
    }
    print(json.dumps(stats, ensure_ascii=False, indent=2))
    return 0 if sources else 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="泉城政策问答 — cited answers over Jinan policy documents")
    p.add_argument("--corpus", type=Path, help="corpus folder (default: corpus/)")
    p.add_argument("--index", type=Path, help="index folder (default: index/)")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("chunks", help="print the chunks as JSON Lines")
    c.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the corpus)")
    c.add_argument("--stats", action="store_true", help="print counts per file, document and level, and sizes")
    c.set_defaults(func=cmd_chunks)
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
        print(f"错误 error: {exc}", file=sys.stderr)
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
