#!/usr/bin/env python3
"""Validate every questions_*.jsonl in this folder (standard library only).

Checks, for every line of every file:
  * valid JSON object with exactly the fields, in this order:
    id, question, answer, key_facts, evidence, type, answerable
  * ids unique across all files
  * type is one of the allowed types; answerable is a boolean
  * answerable lines: 1-3 key facts, >=1 evidence item; every key fact occurs
    verbatim inside one of the line's evidence quotes
  * evidence items are {"file": "md/<name>.md", "quote": "..."}; the file exists
    under ../collection/; the quote is 10-150 characters, has no line break and
    is a verbatim substring of the file read with
    open(path, encoding="utf-8", newline="")
  * unanswerable lines: answerable false, type "unanswerable",
    answer exactly "文件中没有相关规定", key_facts [], evidence []
Warnings (do not fail): a key fact missing from the reference answer.
Prints counts per type and per file; exits 1 on any error.
"""
import glob
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.normpath(os.path.join(HERE, "..", "collection"))
FIELDS = ["id", "question", "answer", "key_facts", "evidence", "type", "answerable"]
TYPES = {"fact", "number_date", "procedure", "responsibility", "list",
         "clause_lookup", "colloquial", "multi_hop", "unanswerable"}
UNANSWERABLE_ANSWER = "文件中没有相关规定"
FILE_RE = re.compile(r"^md/[^/\\]+\.md$")

_texts = {}


def doc_text(rel):
    if rel not in _texts:
        path = os.path.join(COLLECTION, rel)
        if not os.path.isfile(path):
            _texts[rel] = None
        else:
            with open(path, encoding="utf-8", newline="") as f:
                _texts[rel] = f.read()
    return _texts[rel]


def check_line(obj, where, errors, warnings):
    def err(msg):
        errors.append("%s: %s" % (where, msg))

    if not isinstance(obj, dict):
        err("not a JSON object")
        return
    if list(obj.keys()) != FIELDS:
        err("fields/order %r != %r" % (list(obj.keys()), FIELDS))
        return
    for k in ("id", "question", "answer"):
        if not isinstance(obj[k], str) or not obj[k].strip():
            err("%s must be a non-empty string" % k)
    if obj["type"] not in TYPES:
        err("bad type %r" % (obj["type"],))
    if not isinstance(obj["answerable"], bool):
        err("answerable must be true/false")
    kf, ev = obj["key_facts"], obj["evidence"]
    if not isinstance(kf, list) or not all(isinstance(x, str) and x for x in kf):
        err("key_facts must be a list of non-empty strings")
        kf = []
    if not isinstance(ev, list):
        err("evidence must be a list")
        ev = []

    if obj["answerable"] is False or obj["type"] == "unanswerable":
        if obj["answerable"] is not False:
            err("type unanswerable but answerable is not false")
        if obj["type"] != "unanswerable":
            err("answerable false but type is %r" % (obj["type"],))
        if obj["answer"] != UNANSWERABLE_ANSWER:
            err("unanswerable answer must be exactly %r" % UNANSWERABLE_ANSWER)
        if kf:
            err("unanswerable key_facts must be []")
        if ev:
            err("unanswerable evidence must be []")
        return

    if not 1 <= len(kf) <= 3:
        err("answerable line needs 1-3 key_facts (has %d)" % len(kf))
    if not ev:
        err("answerable line needs evidence")
    quotes = []
    for i, item in enumerate(ev):
        w = "evidence[%d]" % i
        if not isinstance(item, dict) or list(item.keys()) != ["file", "quote"]:
            err("%s must be {\"file\": ..., \"quote\": ...}" % w)
            continue
        rel, quote = item["file"], item["quote"]
        if not isinstance(rel, str) or not FILE_RE.match(rel):
            err("%s bad file %r" % (w, rel))
            continue
        if not isinstance(quote, str):
            err("%s quote not a string" % w)
            continue
        if "\n" in quote or "\r" in quote:
            err("%s quote contains a line break" % w)
        if not 10 <= len(quote) <= 150:
            err("%s quote length %d not in 10-150" % (w, len(quote)))
        text = doc_text(rel)
        if text is None:
            err("%s file not found: %s" % (w, rel))
            continue
        if quote not in text:
            err("%s quote not verbatim in %s: %r" % (w, rel, quote))
        quotes.append(quote)
    for fact in kf:
        if not any(fact in q for q in quotes):
            err("key fact %r not inside any evidence quote" % fact)
        if fact not in obj["answer"]:
            warnings.append("%s: key fact %r not in answer" % (where, fact))


def main():
    files = sorted(glob.glob(os.path.join(HERE, "questions_*.jsonl")))
    if not files:
        print("no questions_*.jsonl files found in %s" % HERE)
        return 1
    errors, warnings = [], []
    seen_ids = {}
    type_counts, file_counts = Counter(), Counter()
    per_qfile = Counter()
    answerable_counts = Counter()
    for qpath in files:
        qname = os.path.basename(qpath)
        with open(qpath, encoding="utf-8", newline="") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for n, line in enumerate(lines, 1):
            where = "%s:%d" % (qname, n)
            line = line.rstrip("\r")
            if not line.strip():
                errors.append("%s: empty line" % where)
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                errors.append("%s: invalid JSON (%s)" % (where, e))
                continue
            if isinstance(obj, dict) and isinstance(obj.get("id"), str):
                if obj["id"] in seen_ids:
                    errors.append("%s: duplicate id %s (first in %s)"
                                  % (where, obj["id"], seen_ids[obj["id"]]))
                else:
                    seen_ids[obj["id"]] = where
                where = "%s (%s)" % (where, obj["id"])
            n_err = len(errors)
            check_line(obj, where, errors, warnings)
            if len(errors) == n_err and isinstance(obj, dict):
                per_qfile[qname] += 1
                type_counts[(qname, obj["type"])] += 1
                answerable_counts[(qname, obj["answerable"])] += 1
                docs = {e["file"] for e in obj["evidence"]}
                for d in docs:
                    file_counts[(qname, d)] += 1

    for qpath in files:
        qname = os.path.basename(qpath)
        print("== %s: %d valid lines (answerable %d, unanswerable %d)"
              % (qname, per_qfile[qname], answerable_counts[(qname, True)],
                 answerable_counts[(qname, False)]))
        print("  per type:")
        for t in sorted(TYPES):
            c = type_counts[(qname, t)]
            if c:
                print("    %-15s %4d" % (t, c))
        print("  per evidence file (answerable lines citing it):")
        for (qn, d), c in sorted(file_counts.items()):
            if qn == qname:
                print("    %-55s %4d" % (d, c))
    for w in warnings:
        print("WARNING " + w)
    for e in errors:
        print("ERROR " + e)
    print("%d error(s), %d warning(s)" % (len(errors), len(warnings)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
