"""泉城政策问答: retrieval-augmented answers over Chinese government documents, cited to the clause.

Public API only; nothing heavy is imported here so that ``rag --help`` and the chunker start instantly.
"""

from .config import Settings
from .errors import IndexStateError, LoadError, RagError
from .types import Answer, Chunk, Citation, Document, Hit, SourceText
from .version import __version__

__all__ = [
    "Answer", "Chunk", "Citation", "Document", "Hit", "IndexStateError", "LoadError", "RagError",
    "Settings", "SourceText", "build_index",
]


def __getattr__(name: str):
    # NOTE: build_index is imported on first use, so that importing rag stays light (no numpy, faiss, jieba).
    if name == "build_index":
        from .build import build_index

        return build_index
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
