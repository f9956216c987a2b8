"""Index: passages -> a persistent, generation-safe Chroma index with embeddings and tokens.

Stage 3 of assistant/: imports the base modules, ingest and cases. Every chromadb call is in
store.py; embedding backends are registered by name in embeddings.py.
"""

from assistant.index.embeddings import (
    EMBEDDERS,
    LazyEmbeddings,
    ModelMissingError,
    TokenEmbeddings,
    make_embeddings,
    register_embedder,
)
from assistant.index.late import LateScorer, TokenStore, TokenVectors
from assistant.index.passage_index import (
    Index,
    IndexMissingError,
    IndexModelMismatchError,
    Progress,
    SourcesFileError,
    SyncReport,
)
from assistant.index.store import IndexCorruptError, IndexReadOnlyError, StoreError

__all__ = [
    "EMBEDDERS", "Index", "IndexCorruptError", "IndexMissingError", "IndexModelMismatchError",
    "IndexReadOnlyError", "LateScorer", "LazyEmbeddings", "ModelMissingError", "Progress",
    "SourcesFileError", "StoreError", "SyncReport", "TokenEmbeddings", "TokenStore",
    "TokenVectors", "make_embeddings", "register_embedder",
]
