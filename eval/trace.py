"""Which code a question really runs through, from each way of asking (issue 22's census, by running).

    python -m eval.trace                       # this checkout
    PYTHONPATH=DIR python -m eval.trace        # another checkout (git worktree add --detach DIR REV)

``eval.census`` reads source; its import walk reaches nearly every module from any entry point, so it
cannot tell two ways of asking apart. This script asks the same follow-up chain through the four
entry points -- the page's chat handler, ``POST /api/ask``, Gradio's ``/ask`` and the CLI's ``ask`` --
and records, with a profiler hook, every function of ``rag/`` each one calls. It prints per entry:

- the modules entered, in the order first entered;
- the spine: the calls six levels deep from the entry, each (level, function) once, in first-call order;
- the functions run by some entries and not by the others (the code that is not shared);
- whether ``rag.ingest.clean.clean`` ran while answering (provenance is read from the index);
- whether the four gave the same answers.

The index is built in a temporary folder over ``corpus/`` with a character-bigram hashing embedder:
this is plumbing, and makes no claim about answers (it needs no model, and runs on any revision).
The entry points are called in-process: the page's ``respond`` handler (found in the Blocks' event
functions by name), the FastAPI app through ``TestClient``, the Gradio ``/ask`` function, and
``rag.cli.main``.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import inspect
import io
import json
import sys
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace


# The follow-up chain of tests/browser/test_service.py (a list, two of its items, a date).
CHAIN = ["门前五包具体包括哪五项内容？", "那第二项呢？", "那第五项呢？", "这个办法什么时候施行？"]
SPINE_DEPTH = 6


class Recorder:
    """A profiler hook keeping the calls into ``rag/`` (all threads): module order, spine, set."""

    def __init__(self, package: Path):
        self.package = str(package) + "/"
        self.modules: list[str] = []
        self.functions: set[str] = set()
        self.spine: list[str] = []  # each (depth, function) once, in the order first called
        self.seen: set[str] = set()
        self.depth = threading.local()

    def _name(self, code) -> str | None:
        # Functions only (CO_OPTIMIZED): no module or class bodies run at import.
        if not code.co_filename.startswith(self.package) or not code.co_flags & 0x1:
            return None
        mod = "rag." + code.co_filename[len(self.package):-3].replace("/", ".").removesuffix(".__init__")
        return f"{mod}:{getattr(code, 'co_qualname', code.co_name)}"

    def __call__(self, frame, event, arg):
        if event not in ("call", "return"):
            return
        name = self._name(frame.f_code)
        if name is None or "<genexpr>" in name or "<listcomp>" in name or "<lambda>" in name:
            return
        d = getattr(self.depth, "n", 0)
        if event == "return":
            self.depth.n = max(0, d - 1)
            return
        self.depth.n = d + 1
        mod = name.split(":")[0]
        if mod not in self.modules:
            self.modules.append(mod)
        self.functions.add(name)
        if d < SPINE_DEPTH and "  " * d + name not in self.seen:
            self.seen.add("  " * d + name)
            self.spine.append("  " * d + name)

    @contextlib.contextmanager
    def on(self):
        threading.setprofile(self)
        sys.setprofile(self)
        try:
            yield self
        finally:
            sys.setprofile(None)
            threading.setprofile(None)


def _service(tmp: Path, index: Path | None = None, model: bool = False):
    from rag.config import Settings
    from rag.search import embed
    from rag.service import Service

    if not model:  # every entry (the CLI opens a service of its own) embeds with the hashing embedder
        embed.load_embedder = lambda *a, **k: embed.HashingEmbedder()
    import rag

    settings = Settings.make(corpus_dir=Path(rag.__file__).resolve().parents[1] / "corpus", index_dir=index or tmp / "index", data_dir=tmp / "data",
                             feedback_db=tmp / "data" / "fb.sqlite")
    service = Service(settings, embedder=None if model else embed.HashingEmbedder())
    service.ask("预热")  # builds the index and loads it outside the traces
    from rag import api, cli, ui  # noqa: F401  (imported outside the traces)
    return service, settings


def _request():
    return SimpleNamespace(client=SimpleNamespace(host="127.0.0.1"), headers={})


def _event_fn(demo, name: str):
    """The page's event function of that name, and the initial values of its inputs."""
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    for block_fn in fns:
        if getattr(block_fn.fn, "__name__", "") == name:
            return block_fn.fn, [getattr(c, "value", None) for c in block_fn.inputs]
    raise SystemExit(f"no event function named {name!r} in the page")


def page(service, settings):
    from rag import ui

    respond, initial = _event_fn(ui.build_blocks(service), "respond")
    return lambda: via_page(respond, initial[2])  # (question box, chat, the page's state)


def via_page(respond, state) -> list[str]:
    chat, answers = [], []
    for q in CHAIN:
        last = None
        for out in respond(q, chat, state, _request()):
            last = out
        chat, state = last[0], last[1]
        answers.append(chat[-1]["content"])
    return answers


def api(service, settings):
    from fastapi.testclient import TestClient

    from rag.api import create_api

    client = TestClient(create_api(service, "trace"))
    return lambda: via_api(client)


def via_api(client) -> list[str]:
    cid, answers = None, []
    for q in CHAIN:
        body = {"question": q} | ({"conversation_id": cid} if cid else {})
        r = client.post("/api/ask", json=body).json()
        answers.append(r["answer"])
        cid = r.get("conversation_id")
    return answers


def gradio_ask(service, settings):
    from rag import ui

    ask, _ = _event_fn(ui.build_blocks(service), "ask")
    return lambda: via_gradio_ask(ask)


def via_gradio_ask(ask) -> list[str]:
    takes_id = "conversation_id" in inspect.signature(ask).parameters
    cid, answers = None, []
    for q in CHAIN:
        r = ask(q, _request(), **({"conversation_id": cid} if takes_id else {}))
        answers.append(r["answer"])
        cid = r.get("conversation_id")
    return answers


def cli_ask(service, settings):
    """The CLI opens its own service (settings, index, answerer) on each call: that is in its trace."""
    return lambda: via_cli(settings)


def via_cli(settings) -> list[str]:
    from rag import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main(["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir), "ask", "--json", *CHAIN])
    return [json.loads(line)["answer"] for line in out.getvalue().splitlines() if line.startswith("{")]


# Each entry: set up outside the trace (the page, the app), then a callable asking the chain.
ENTRIES = {"page": page, "/api/ask": api, "gradio /ask": gradio_ask, "cli ask": cli_ask}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the traces as JSON here")
    ap.add_argument("--model", action="store_true",
                    help="embed with the configured model instead of the hashing embedder (real answers)")
    ap.add_argument("--index", type=Path, help="an index of corpus/ built by this revision (default: build one)")
    args = ap.parse_args(argv)
    import rag

    package = Path(rag.__file__).resolve().parent
    with tempfile.TemporaryDirectory() as t:
        service, settings = _service(Path(t), args.index, args.model)
        traces, answers = {}, {}
        for entry, setup in ENTRIES.items():
            run, rec = setup(service, settings), Recorder(package)
            with contextlib.redirect_stderr(io.StringIO()), rec.on():
                answers[entry] = run()
            traces[entry] = rec
    print(f"# Trace of {package.parent.name}: the chain {CHAIN} through each way of asking\n")
    for entry, rec in traces.items():
        print(f"## {entry}: {len(rec.modules)} modules, {len(rec.functions)} functions\n")
        print("Modules, in the order first entered: " + ", ".join(rec.modules) + "\n")
        print("Spine (calls " + str(SPINE_DEPTH) + " levels deep):\n```\n" + "\n".join(rec.spine) + "\n```\n")
    print(_table(traces))
    shared = set.intersection(*(r.functions for r in traces.values()))
    print(f"## Not shared\n\nFunctions run by every entry: {len(shared)}.\n")
    for entry, rec in traces.items():
        own = sorted(f for f in rec.functions - shared if not f.startswith(("rag.cli:", "rag.ui:", "rag.api:")))
        shown = ", ".join(own[:12]) + (f", ... ({len(own) - 12} more)" if len(own) > 12 else "")
        print(f"- {entry}: {len(own)} functions outside its own front module that not every entry runs"
              + (": " + shown if own else ""))
    # Provenance kept from the cut: answering reads the stored cleaning and never cleans a text again.
    print("\n`clean()` run while answering: " + ", ".join(
        f"{e} {'yes' if 'rag.ingest.clean:clean' in r.functions else 'no'}" for e, r in traces.items()))
    # The page shows the answer as Markdown with the resolved question under it: it must contain the API's.
    plain = {e: [_core(a) for a in ans] for e, ans in answers.items()}
    ref = plain["/api/ask"]
    same = all(len(v) == len(ref) and all(r in a for r, a in zip(ref, v)) for v in plain.values())
    print(f"\nSame answers on every entry: {'yes' if same else 'no'}")
    for i, q in enumerate(CHAIN):
        print(f"- {q} -> {ref[i][:50] if i < len(ref) else '(none)'}")
        for e, v in plain.items():
            if i < len(v) and ref[i] not in v[i]:
                print(f"  - but {e}: {v[i][:50]}")
    if args.json:
        args.json.write_text(json.dumps({e: {"modules": r.modules, "functions": sorted(r.functions),
                                             "spine": r.spine} for e, r in traces.items()},
                                        ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def _table(traces: dict) -> str:
    """Which entries run each function of the conversation, the service and QA: one way through."""
    rows = sorted({f for r in traces.values() for f in r.functions
                   if f.split(":")[0] in ("rag.conversation", "rag.service", "rag.qa") and "<locals>" not in f})
    head = "| function | " + " | ".join(traces) + " |\n|---|" + "---|" * len(traces)
    body = ["| " + f + " | " + " | ".join("x" if f in r.functions else "" for r in traces.values()) + " |"
            for f in rows]
    return "## Conversation, service and QA functions, by entry\n\n" + "\n".join([head, *body]) + "\n"


def _core(answer: str) -> str:
    """The answer's text without markup, markers or spaces: the page renders Markdown and escapes HTML."""
    import re

    import importlib

    # NOTE: a revision before issue 22 (traced to compare with) kept the marker rule in rag.cite, as
    # a private name; this checkout's is rag.text.MARK_RE.
    mark_re = getattr(importlib.import_module("rag.text"), "MARK_RE", None) or \
        getattr(importlib.import_module("rag.cite"), "_MARK_RE")
    text = re.sub(r"<[^>]+>|[*_`#>\\-]", "", html.unescape(answer))
    return "".join(mark_re.sub("", text).split())


if __name__ == "__main__":
    sys.exit(main())
