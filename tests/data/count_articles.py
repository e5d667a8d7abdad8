#!/usr/bin/env python3
"""Deliberately simple structure counts for the Markdown sources in collection/md/.

The counts are the reference numbers stored in ../collection.jsonl.  They are
computed line by line from the ORIGINAL Markdown text (LawRefBook text with the
``<!-- INFO END -->`` line removed):

* a line is first stripped of leading whitespace (incl. U+3000) and of leading
  Markdown ``#`` heading markers;
* ``articles``  = lines that then START with ``第[一二三四五六七八九十百零〇两\\d]+条``
* ``chapters``  = lines that start with ``第…章``
* ``sections``  = lines that start with ``第…节``
* ``bian``      = lines that start with ``第…编``
* ``first_article`` / ``last_article`` = the ``第X条`` label of the first / last
  counted article line (``None`` when there is none).

No attempt is made to be clever: a cross-reference that happens to start a line
("第十二条规定的……") would be counted, an article written "第一百二十八 条"
(space before 条) would not, and a table of contents that repeats the chapter
headings is counted twice.  Such cases are listed in the ``notes`` field of the
manifest and in README.md.

Usage:
    python tests/data/count_articles.py                 # all collection/md/*.md, JSON lines
    python tests/data/count_articles.py FILE.md [...]   # selected files
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

NUM = r"[一二三四五六七八九十百零〇两\d]+"
ARTICLE_RE = re.compile(rf"^第{NUM}条")
CHAPTER_RE = re.compile(rf"^第{NUM}章")
SECTION_RE = re.compile(rf"^第{NUM}节")
BIAN_RE = re.compile(rf"^第{NUM}编")

HERE = Path(__file__).resolve().parent
MD_DIR = HERE / "collection" / "md"


def normalise_line(line: str) -> str:
    """Strip leading whitespace and leading Markdown '#' markers."""
    s = line.lstrip()
    s = s.lstrip("#")
    return s.lstrip()


def count_text(text: str) -> dict:
    articles = chapters = sections = bian = 0
    first = last = None
    for raw in text.splitlines():
        s = normalise_line(raw)
        m = ARTICLE_RE.match(s)
        if m:
            articles += 1
            if first is None:
                first = m.group(0)
            last = m.group(0)
        if CHAPTER_RE.match(s):
            chapters += 1
        if SECTION_RE.match(s):
            sections += 1
        if BIAN_RE.match(s):
            bian += 1
    return {
        "articles": articles,
        "chapters": chapters,
        "sections": sections,
        "bian": bian,
        "first_article": first,
        "last_article": last,
    }


def count_file(path: Path) -> dict:
    return count_text(Path(path).read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] if argv else sorted(MD_DIR.glob("*.md"))
    for f in files:
        row = {"file": f.name, **count_file(f)}
        print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
