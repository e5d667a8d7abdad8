"""Systems under evaluation, all behind one batch interface: build(corpus_dir) then answer(question).

Owns the two baselines (a LangChain-tutorial ``naive`` pipeline and a jieba ``bm25`` over our
chunks) and the stand-in for ``ours``. Every answer is a batch record:
``{"id", "question", "answer", "refused", "citations", "retrieved", "latency_ms"}`` with spans as
character offsets into the raw file text. Does not score anything (see ``eval.metrics``).
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.config import Settings
from rag.errors import RagError
from rag.record import answer_record, batch_record, citation_record, retrieved_record

SYSTEMS = ("ours", "naive", "bm25")
RETRIEVE_K = 10  # the batch format promises at least 10 ranked spans (Recall@10 needs them)


class System(Protocol):
    name: str

    def build(self, corpus_dir: Path) -> float:
        """Index the corpus; returns build seconds."""
        ...

    def answer(self, question: dict) -> dict:
        """One gold/batch question record ({"id", "question", ...}) -> batch output record."""
        ...


def read_raw(corpus_dir: Path) -> dict[str, str]:
    """File name -> text as the product reads it (``rag.ingest.load``: UTF-8/GB18030 text with newlines
    untranslated, a PDF's text layer, a Word file's paragraphs): what every offset points into.
    Unreadable files are left out, as the product leaves them out."""
    from rag.ingest.load import load_corpus

    sources, _ = load_corpus([Path(corpus_dir)], root=Path(corpus_dir))
    return {s.source: s.text for s in sources}


def tokenize(text: str) -> list[str]:
    """jieba search-mode tokens, lower-cased, without whitespace or punctuation-only tokens."""
    import jieba

    toks = []
    for t in jieba.lcut_for_search(text):
        t = t.strip().lower()
        if t and not all(unicodedata.category(ch)[0] in "PSZC" for ch in t):
            toks.append(t)
    return toks


def _record(question: dict, answer: str, citations: list[dict], retrieved: list[dict], t0: float) -> dict:
    """A baseline's answer (baselines never refuse) as the product's batch record."""
    return batch_record(question.get("id"), question["question"], answer, False, citations, retrieved,
                        (time.perf_counter() - t0) * 1000)


class _OurChunks:
    """Our clause-level chunks, the raw texts their offsets point into, and the texts to index."""

    def __init__(self, corpus_dir: Path, settings: Settings):
        from rag.ingest.chunk import chunk_corpus

        chunks, sources, problems = chunk_corpus([Path(corpus_dir)], settings.ingest)
        if not chunks:
            raise RagError(f"No chunks from {corpus_dir}: {[p.message for p in problems]}")
        self.chunks = chunks
        self.raws = {s.source: s.text for s in sources}
        self.index_texts = [f"{c.context}\n{c.text}" for c in chunks]


class Bm25Ranker:
    """jieba tokens + bm25s over a fixed list of texts; built once, scores every text per query."""

    def __init__(self, texts: list[str]):
        import bm25s

        self._bm25 = bm25s.BM25()
        # NOTE: a list of token lists: bm25s builds its own vocabulary, so its (English) tokenizer
        # and stemmer never see the Chinese text.
        self._bm25.index([tokenize(t) or ["<empty>"] for t in texts], show_progress=False)
        self._vocab = set(self._bm25.vocab_dict)
        self.n = len(texts)

    def scores(self, query: str) -> np.ndarray:
        toks = [t for t in tokenize(query) if t in self._vocab]
        if not toks:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(toks), dtype=np.float32)


class DenseRanker:
    """Inner-product search over unit passage vectors, cached on disk by texts + model."""

    def __init__(self, texts: list[str], embedder, cache_dir: Path | None = None):
        import faiss

        self.embedder = embedder
        t0 = time.perf_counter()
        vecs, cached = _cached_passages(texts, embedder, cache_dir)
        # NOTE: build times with a warm cache exclude embedding; the report says which it was.
        self.embed_note = "from cache" if cached else f"computed in {time.perf_counter() - t0:.1f} s"
        self._index = faiss.IndexFlatIP(vecs.shape[1])
        self._index.add(vecs)
        self.n = len(texts)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = self.embedder.embed_queries([query])
        scores, ids = self._index.search(q, min(k, self.n))
        return scores[0], ids[0]


def _cached_passages(texts: list[str], embedder, cache_dir: Path | None) -> tuple[np.ndarray, bool]:
    """Embed passages once per (model, texts); a re-run of the suite loads the .npy instead.
    Returns (vectors, whether they came from the cache)."""
    h = hashlib.sha256(embedder.name.encode())
    for t in texts:
        h.update(b"\x00" + t.encode("utf-8"))
    path = Path(cache_dir) / f"emb-{h.hexdigest()[:20]}.npy" if cache_dir else None
    if path and path.exists():
        vecs = np.load(path)
        if vecs.shape == (len(texts), embedder.dim):
            return vecs.astype(np.float32), True
    vecs = np.ascontiguousarray(embedder.embed_passages(texts), dtype=np.float32)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vecs)
    return vecs, False


class NaiveSystem:
    """What a LangChain tutorial builds: 500-character recursive splits, one dense index, the top
    split as the answer. Never refuses."""

    name = "naive"

    def __init__(self, settings: Settings, embedder, cache_dir: Path | None = None):
        self.settings, self.embedder, self.cache_dir = settings, embedder, cache_dir
        self.stats: dict = {}

    def build(self, corpus_dir: Path) -> float:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        t0 = time.perf_counter()
        self.raws = read_raw(corpus_dir)
        splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50, add_start_index=True)
        self.docs: list[dict] = []
        repairs = unfound = 0
        for source, raw in self.raws.items():
            for d in splitter.create_documents([raw], metadatas=[{"source": source}]):
                text, start = d.page_content, int(d.metadata.get("start_index", -1))
                # NOTE: LangChain finds start_index by searching for the text, which has landed on
                # the wrong occurrence in some versions; check it and take the nearest occurrence.
                if raw[start : start + len(text)] != text:
                    start = _nearest_occurrence(raw, text, start)
                    if start < 0:
                        unfound += 1
                        continue
                    repairs += 1
                self.docs.append({"source": source, "start": start, "end": start + len(text), "text": text})
        self.dense = DenseRanker([d["text"] for d in self.docs], self.embedder, self.cache_dir)
        self.stats = {"chunks": len(self.docs), "start_index_repairs": repairs, "start_index_unfound": unfound,
                      "embeddings": self.dense.embed_note}
        return time.perf_counter() - t0

    def answer(self, question: dict) -> dict:
        t0 = time.perf_counter()
        scores, ids = self.dense.search(question["question"], RETRIEVE_K)
        top = [(self.docs[i], float(s)) for s, i in zip(scores, ids) if i >= 0]
        retrieved = [retrieved_record(d["source"], d["start"], d["end"], s, f"{d['source']}:{d['start']}-{d['end']}")
                     for d, s in top]
        d = top[0][0]
        cit = {"source": d["source"], "start": d["start"], "end": d["end"],
               "quote": self.raws[d["source"]][d["start"] : d["end"]],
               "title": d["source"], "doc_number": None, "section": []}
        return _record(question, d["text"], [cit], retrieved, t0)


def _nearest_occurrence(raw: str, text: str, near: int) -> int:
    best, i = -1, raw.find(text)
    while i >= 0:
        if best < 0 or abs(i - near) < abs(best - near):
            best = i
        i = raw.find(text, i + 1)
    return best


class Bm25System:
    """jieba + BM25 over our clause-level chunks (context + text); the top chunk is the answer."""

    name = "bm25"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.stats: dict = {}

    def build(self, corpus_dir: Path) -> float:
        t0 = time.perf_counter()
        self.data = _OurChunks(corpus_dir, self.settings)
        self.bm25 = Bm25Ranker(self.data.index_texts)
        self.stats = {"chunks": len(self.data.chunks)}
        return time.perf_counter() - t0

    def answer(self, question: dict) -> dict:
        t0 = time.perf_counter()
        scores = self.bm25.scores(question["question"])
        order = np.argsort(-scores, kind="stable")[:RETRIEVE_K]
        chunks = self.data.chunks
        retrieved = [retrieved_record(chunks[i].source, chunks[i].start, chunks[i].end, scores[i], chunks[i].chunk_id)
                     for i in order]
        top = chunks[order[0]]
        cit = citation_record(top, quote=self.data.raws[top.source][top.start : top.end])
        return _record(question, top.text, [cit], retrieved, t0)


class OursSystem:
    """The product: ``rag.search`` (clause chunks, FAISS + jieba BM25, hybrid retrieval) and ``rag.qa``,
    assembled by ``rag.factory`` as `rag ask` and the service assemble it."""

    name = "ours"

    def __init__(self, settings: Settings, embedder, cache_dir: Path | None = None):
        self.settings, self.embedder, self.cache_dir = settings, embedder, cache_dir
        self.stats: dict = {}

    def build(self, corpus_dir: Path) -> float:
        import tempfile

        from rag.factory import open_qa
        from rag.build import build_index

        t0 = time.perf_counter()
        index_dir = Path(self.cache_dir) / "index-ours" if self.cache_dir else Path(tempfile.mkdtemp()) / "index"
        settings = self.settings.replace(corpus_dir=Path(corpus_dir), index_dir=index_dir)
        report = build_index(settings, [Path(corpus_dir)], embedder=self.embedder)
        self.qa = open_qa(settings, self.embedder)
        llm = settings.llm
        self.stats = {"chunks": report.chunks, "embedded_files": len(report.embedded_files),
                      "reused_files": len(report.reused_files), "faiss": report.faiss_type,
                      "vector_store": settings.index.vector_store, "settings_hash": self.qa.settings_hash,
                      "answerer": self.qa.answerer.version + (f" ({llm.model} at {llm.base_url})"
                                                              if settings.answer.answerer == "llm" else "")}
        return time.perf_counter() - t0

    def answer(self, question: dict) -> dict:
        """The product's own pipeline (rag.qa), exactly as `rag ask --json` and the API answer."""
        t0 = time.perf_counter()
        record = answer_record(self.qa.ask(question["question"]), question.get("id"))
        record["question"] = question["question"]
        record["latency_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        return record


def make_system(name: str, settings: Settings, embedder_factory, cache_dir: Path | None = None) -> System:
    """A system by name; ``embedder_factory()`` is only called by systems that embed."""
    if name == "bm25":
        return Bm25System(settings)
    if name == "naive":
        return NaiveSystem(settings, embedder_factory(), cache_dir)
    if name == "ours":
        return OursSystem(settings, embedder_factory(), cache_dir)
    raise RagError(f"Unknown system {name!r}; choose from {', '.join(SYSTEMS)}")


def needs_embedder(names) -> bool:
    return any(n in ("naive", "ours") for n in names)
