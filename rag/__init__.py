"""泉城政策问答: retrieval-augmented answers over Chinese government documents, cited to the clause.

Public API only; nothing heavy is imported here so that ``rag --help`` and the chunker start instantly.
"""

__version__ = "0.1.0"

from .config import Settings
from .errors import IndexStateError, LoadError, RagError
from .types import Answer, Chunk, Citation, Document, Hit, SourceText

__all__ = [
    "Answer", "Chunk", "Citation", "Document", "Hit", "IndexStateError", "LoadError", "RagError",
    "Settings", "SourceText",
]
