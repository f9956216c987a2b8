"""Index: passages -> a persistent, generation-safe Chroma index with embeddings and tokens.

Stage 3 of assistant/: imports the base modules, ingest and cases. Every chromadb call is in
store.py; embedding backends are registered by name in embeddings.py.

The names below are imported on first use: the child process that runs the model
(encoder.py) imports only what it needs (the eager imports cost it 0.56 s of its start).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "EMBEDDERS": "assistant.index.embeddings",
    "LazyEmbeddings": "assistant.index.embeddings",
    "ModelMissingError": "assistant.index.embeddings",
    "TokenEmbeddings": "assistant.index.embeddings",
    "make_embeddings": "assistant.index.embeddings",
    "register_embedder": "assistant.index.embeddings",
    "LateScorer": "assistant.index.late",
    "TokenStore": "assistant.index.late",
    "TokenVectors": "assistant.index.late",
    "Index": "assistant.index.passage_index",
    "IndexMissingError": "assistant.index.passage_index",
    "IndexModelMismatchError": "assistant.index.passage_index",
    "Progress": "assistant.index.passage_index",
    "SourcesFileError": "assistant.index.passage_index",
    "SyncReport": "assistant.index.passage_index",
    "IndexCorruptError": "assistant.index.store",
    "IndexReadOnlyError": "assistant.index.store",
    "StoreError": "assistant.index.store",
}

__all__ = [
    "EMBEDDERS", "Index", "IndexCorruptError", "IndexMissingError", "IndexModelMismatchError",
    "IndexReadOnlyError", "LateScorer", "LazyEmbeddings", "ModelMissingError", "Progress",
    "SourcesFileError", "StoreError", "SyncReport", "TokenEmbeddings", "TokenStore",
    "TokenVectors", "make_embeddings", "register_embedder",
]

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'assistant.index' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
