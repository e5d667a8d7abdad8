"""Milvus backend: the chunks, their dense vectors and their jieba BM25 weights in one collection, hybrid
search inside the engine.

One URI setting chooses the deployment: a file path (``index/milvus.db``) runs embedded Milvus Lite, an
``http://host:19530`` URI talks to a server or cluster (token and database from settings). The sparse
field holds each chunk's BM25 weights as computed by our own tokenizer (``rag.sparse``), so Chinese term
handling is the same as on FAISS; a query's sparse vector has weight 1 on each of its terms, so the
engine's inner product *is* the BM25 score. Fusion is Milvus's RRF ranker; BM25 counting double (the
default ``keyword_weight`` 2) is done by sending the sparse request twice, which under RRF is exactly a
weight of 2. Chunk metadata (source, offsets, title, 文号, section, ...) are fields: results need no side
lookup. So is each chunk's provenance from the cut (its cleaning's offset runs and its sentence-unit
spans, as the FAISS index's chunks.jsonl keeps them), so that a chunk read from Milvus is never cleaned
again at query time; a collection written before it had that field is refused, naming the command
that rewrites it. A second small collection holds the build manifest, checked like the FAISS index's.

Implements ``rag.search.store.VectorStore``. Owns the Milvus collections; never embeds, never builds
the local index.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from ..config import Settings
from ..errors import IndexStateError, RagError
from ..types import Chunk, Scored, SyncReport

log = logging.getLogger(__name__)

FIELDS = ("chunk_id", "doc_id", "source", "start", "end", "text", "section", "title", "doc_number", "issuer",
          "date", "level", "byline", "kind", "provenance")
_MAX_TEXT = 8192  # chunks are capped at 400 characters; context strings are short
_MAX_JSON = 65535  # Milvus's longest VARCHAR; a 400-character chunk's provenance is under 1,000
_MAX_DEPTH = 1000  # results asked of the engine per request


def _lite_path(uri: str) -> bool:
    return not uri.startswith(("http://", "https://", "tcp://", "grpc://"))


class MilvusStore:
    """A chunk collection in Milvus (Lite file or server).

    Args:
        uri: ``index/milvus.db`` (embedded) or ``http://host:19530``.
        collection: collection name; ``<collection>_meta`` holds the manifest.
        token, db_name: server credentials and database (ignored by Milvus Lite).
        timeout: seconds before an unreachable server is reported.
        vocab: the local index's BM25 vocabulary (term -> id): how query tokens become sparse vectors.
    """

    engine = "milvus"

    def __init__(self, uri: str, collection: str, token: str = "", db_name: str = "", timeout: float = 10.0,
                 vocab: dict[str, int] | None = None):
        from pymilvus import MilvusClient

        self.uri = uri
        self.vocab = vocab or {}
        self.collection = collection
        self.meta = f"{collection}_meta"
        kwargs = {"uri": uri, "timeout": timeout}
        if token:
            kwargs["token"] = token
        if db_name and not _lite_path(uri):
            kwargs["db_name"] = db_name
        if _lite_path(uri):
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client = MilvusClient(**kwargs)
        except Exception as exc:  # noqa: BLE001 - pymilvus raises several kinds for "cannot connect"
            raise RagError(f"Milvus at {uri} is unreachable ({type(exc).__name__}: {str(exc)[:200]}); check "
                           "RAG_MILVUS_URI, the token and that the server is running") from exc

    @classmethod
    def from_settings(cls, settings: Settings, vocab: dict[str, int] | None = None) -> "MilvusStore":
        s = settings.index
        return cls(s.vector_store, s.milvus_collection, s.milvus_token, s.milvus_db, s.milvus_timeout, vocab)

    # --- schema --------------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.client.has_collection(self.collection)

    def drop(self) -> None:
        for name in (self.collection, self.meta):
            if self.client.has_collection(name):
                self.client.drop_collection(name)

    def _load(self, name: str) -> None:
        """Collections are released when a process ends; load before reading."""
        state = self.client.get_load_state(name)
        if "Loaded" not in str(state.get("state")):
            self.client.load_collection(name)

    def manifest(self) -> dict | None:
        if not self.client.has_collection(self.meta):
            return None
        self._load(self.meta)
        rows = self.client.get(self.meta, ids=["manifest"], output_fields=["value"])
        return json.loads(rows[0]["value"]) if rows else None

    def check(self, settings: Settings) -> dict:
        """The collection's manifest, if it was built with these settings; else a clear error."""
        m = self.manifest()
        if not self.exists() or m is None:
            raise IndexStateError(f"Milvus collection {self.collection!r} at {self.uri} does not exist; build it "
                                  "with `rag index --backend milvus` (or `rag migrate`)")
        self._refuse_without_provenance()
        self._load(self.collection)
        if m.get("fingerprint") != settings.fingerprint():
            theirs = m.get("settings", {})
            diff = {k: (theirs.get(k), v) for k, v in settings.index_params().items() if theirs.get(k) != v}
            raise IndexStateError(
                f"Milvus collection {self.collection!r} was built with other settings ({diff}); rebuild it with "
                "`rag index --backend milvus --rebuild`")
        return m

    def _refuse_without_provenance(self) -> None:
        fields = {f["name"] for f in self.client.describe_collection(self.collection)["fields"]}
        if "provenance" not in fields:
            raise IndexStateError(
                f"Milvus collection {self.collection!r} at {self.uri} was written before chunks kept their "
                f"provenance in it; rewrite it from the local index with `rag migrate --to {self.uri} --rebuild`")

    # --- writing -------------------------------------------------------------------------------

    def sync(self, index, batch: int = 512) -> SyncReport:
        """Make the collection hold exactly the chunks of a built local index: upsert new and changed
        chunks by chunk_id (vectors read from the index, never re-embedded), delete the rest.

        Sparse weights depend on corpus-wide statistics (idf), so a chunk whose weights moved is
        upserted too; its dense vector is reused.
        """
        t0 = time.perf_counter()
        dim = int(index.vectors.shape[1])
        if self.exists():
            m = self.manifest() or {}
            if m.get("embedder", {}).get("dim") not in (None, dim):
                # NOTE: a rebuild upserts into the collection, whose vector field has a fixed width: it
                # must be dropped and written again, which migrate --rebuild does from the local index.
                raise IndexStateError(f"Milvus collection {self.collection!r} holds {m['embedder']['dim']}-d vectors, "
                                      f"the index {dim}-d; rewrite it from the local index with "
                                      f"`rag migrate --to {self.uri} --rebuild`")
            self._refuse_without_provenance()
        else:
            _create(self.client, self.collection, self.meta, dim)
        self._load(self.collection)
        self.vocab = index.bm25.vocab
        have = _content_hashes(self.client, self.collection)
        rows, report = [], SyncReport(self.engine)
        for i, (c, sparse) in enumerate(zip(index.chunks, index.bm25.doc_vectors())):
            h = _content_hash(c, index.vectors[i], sparse)
            old = have.pop(c.chunk_id, None)
            if old == h:
                report.unchanged += 1
                continue
            if old is None:
                report.inserted += 1
            else:
                report.updated += 1
            rows.append(_row(c, index.vectors[i], sparse, h))
            if len(rows) >= batch:
                self.client.upsert(self.collection, rows)
                rows = []
        if rows:
            self.client.upsert(self.collection, rows)
        if have:
            gone = list(have)
            for k in range(0, len(gone), batch):
                self.client.delete(self.collection, ids=gone[k: k + batch])
            report.deleted = len(gone)
        manifest = dict(index.manifest)
        self.client.upsert(self.meta, [{"key": "manifest", "value": json.dumps(manifest, ensure_ascii=False)[:65000],
                                         "pad": [0.0, 0.0]}])
        self.client.flush(self.collection)
        report.seconds = time.perf_counter() - t0
        return report

    def count(self) -> int:
        res = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def delete_source(self, source: str) -> int:
        """Remove every chunk of one source file from the collection."""
        res = self.client.delete(self.collection, filter=f"source == {json.dumps(source, ensure_ascii=False)}")
        self.client.flush(self.collection)
        return int(res.get("delete_count", 0)) if isinstance(res, dict) else 0

    # --- reading -------------------------------------------------------------------------------

    def _sparse(self, tokens: list[str]) -> dict[int, float]:
        """A query's sparse vector: weight 1 on each known term, so the inner product is BM25."""
        return {self.vocab[t]: 1.0 for t in set(tokens) if t in self.vocab}

    def _search(self, field_name: str, data, depth: int, doc_numbers, rank_key: str) -> list[Scored]:
        res = self.client.search(self.collection, data=[data], anns_field=field_name, limit=min(depth, _MAX_DEPTH),
                                 filter=_doc_filter(doc_numbers), search_params={"metric_type": "IP"},
                                 output_fields=list(FIELDS[1:]))
        return [Scored(_chunk(r["id"], r["entity"]), float(r["distance"]), {"engine": self.engine, rank_key: rank})
                for rank, r in enumerate(res[0], 1)]

    def search_dense(self, query_vec, depth, doc_numbers=None) -> list[Scored]:
        return self._search("dense", np.asarray(query_vec, dtype=np.float32).tolist(), depth, doc_numbers,
                            "dense_rank")

    def search_keyword(self, tokens, depth, doc_numbers=None) -> list[Scored]:
        sparse = self._sparse(tokens)
        return self._search("sparse", sparse, depth, doc_numbers, "bm25_rank") if sparse else []

    def search_hybrid(self, query_vec, tokens, depth, rrf_k, dense_weight, keyword_weight,
                      doc_numbers=None) -> list[Scored]:
        """Dense + BM25 fused by the engine's RRF; integer weights by repeating a request."""
        from pymilvus import AnnSearchRequest, RRFRanker

        depth = min(depth, _MAX_DEPTH)
        sparse_query = self._sparse(tokens)
        expr = _doc_filter(doc_numbers)
        reqs = [AnnSearchRequest(data=[query_vec.astype(np.float32).tolist()], anns_field="dense",
                                 param={"metric_type": "IP"}, limit=depth, expr=expr)] * max(1, round(dense_weight))
        if sparse_query:
            reqs += [AnnSearchRequest(data=[sparse_query], anns_field="sparse", param={"metric_type": "IP"},
                                      limit=depth, expr=expr)] * max(1, round(keyword_weight))
        res = self.client.hybrid_search(self.collection, reqs, RRFRanker(rrf_k), limit=depth,
                                        output_fields=list(FIELDS[1:]))
        return [Scored(_chunk(r.id, r["entity"]), float(r["distance"]), {"engine": self.engine}) for r in res[0]]

    def chunks_where(self, doc_numbers: list[str] | None = None, doc_ids: list[str] | None = None,
                     limit: int = 2000) -> list[Chunk]:
        """Chunks of the named documents (the staff filter, and 文号 lookups)."""
        parts = []
        if doc_numbers:
            parts.append(_doc_filter(doc_numbers))
        if doc_ids:
            parts.append("doc_id in " + json.dumps(list(doc_ids), ensure_ascii=False))
        rows = self.client.query(self.collection, filter=" and ".join(parts) or "", output_fields=list(FIELDS),
                                 limit=limit)
        return sorted((_chunk(r["chunk_id"], r) for r in rows), key=lambda c: (c.source, c.start))


def _create(client, collection: str, meta_name: str, dim: int) -> None:
    """The chunk collection (vectors, BM25 weights, metadata, provenance) and its manifest collection."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
    schema.add_field("source", DataType.VARCHAR, max_length=512)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=_MAX_TEXT)
    schema.add_field("section", DataType.VARCHAR, max_length=2048)  # JSON list
    schema.add_field("title", DataType.VARCHAR, max_length=1024)
    schema.add_field("doc_number", DataType.VARCHAR, max_length=128)
    schema.add_field("issuer", DataType.VARCHAR, max_length=256)
    schema.add_field("date", DataType.VARCHAR, max_length=32)
    schema.add_field("level", DataType.VARCHAR, max_length=64)
    schema.add_field("byline", DataType.VARCHAR, max_length=512)
    schema.add_field("kind", DataType.VARCHAR, max_length=32)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
    schema.add_field("provenance", DataType.VARCHAR, max_length=_MAX_JSON)  # JSON: offset runs, unit spans
    ip = client.prepare_index_params()
    # NOTE: FLAT is exact, as FAISS flat is, so both backends rank alike; a cluster holding millions
    # of chunks would use HNSW here (the same trade-off as rag.search.store.make_dense_index).
    ip.add_index("dense", index_type="FLAT", metric_type="IP")
    ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(collection, schema=schema, index_params=ip)
    meta = client.create_schema(auto_id=False, enable_dynamic_field=False)
    meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    meta.add_field("value", DataType.VARCHAR, max_length=_MAX_JSON)
    meta.add_field("pad", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector field in every collection
    mp = client.prepare_index_params()
    mp.add_index("pad", index_type="FLAT", metric_type="L2")
    if not client.has_collection(meta_name):
        client.create_collection(meta_name, schema=meta, index_params=mp)


def _content_hashes(client, collection: str) -> dict[str, str]:
    """chunk_id -> content hash of every row the collection holds."""
    out: dict[str, str] = {}
    if not client.has_collection(collection):
        return out
    it = client.query_iterator(collection, batch_size=1000, filter="", output_fields=["content_hash"])
    while True:
        page = it.next()
        if not page:
            it.close()
            break
        out.update({r["chunk_id"]: r["content_hash"] for r in page})
    return out


def _doc_filter(doc_numbers: list[str] | None) -> str:
    if not doc_numbers:
        return ""
    return "doc_number in " + json.dumps(list(doc_numbers), ensure_ascii=False)


def _content_hash(c: Chunk, vec: np.ndarray, sparse: dict[int, float]) -> str:
    import hashlib

    h = hashlib.sha256()
    h.update(json.dumps(c.to_dict(provenance=True), ensure_ascii=False, sort_keys=True).encode())
    h.update(np.asarray(vec, dtype=np.float32).tobytes())
    h.update(json.dumps(sorted((k, round(v, 6)) for k, v in sparse.items())).encode())
    return h.hexdigest()[:32]


def _row(c: Chunk, vec: np.ndarray, sparse: dict[int, float], h: str) -> dict:
    return {"chunk_id": c.chunk_id, "dense": np.asarray(vec, dtype=np.float32).tolist(), "sparse": sparse or {0: 0.0},
            "doc_id": c.doc_id, "source": c.source, "start": int(c.start), "end": int(c.end), "text": c.text[:_MAX_TEXT],
            "section": json.dumps(list(c.section), ensure_ascii=False), "title": c.title or "",
            "doc_number": c.doc_number or "", "issuer": c.issuer or "", "date": c.date or "", "level": c.level or "",
            "byline": c.byline or "", "kind": c.kind or "", "content_hash": h,
            "provenance": json.dumps({"offsets": [list(r) for r in c.offsets], "units": [list(u) for u in c.units]})}


def _chunk(chunk_id: str, e: dict) -> Chunk:
    """A row (or a search result's entity) as the chunk it was written from, provenance included."""
    return Chunk.from_dict({**{k: e.get(k) for k in FIELDS[1:]}, "chunk_id": chunk_id,
                            "section": json.loads(e.get("section") or "[]"),
                            "doc_number": e.get("doc_number") or None, "issuer": e.get("issuer") or None,
                            "date": e.get("date") or None, "byline": e.get("byline") or None,
                            **json.loads(e.get("provenance") or "{}")})
