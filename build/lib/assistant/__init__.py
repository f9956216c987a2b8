"""ASF-assistenten: answers questions about business between ASF and companies, with citations.

The package runs in stages that import one way (tests/test_architecture.py checks it):

    types, config, text, prompts      the base: shared types, settings, text tools, phrases
    ingest/      files -> documents -> passages (loader table by file type, chunking)
    cases/       case cards and the catalog of named examples
    index/       the Chroma index: generations, embeddings, token vectors
    retrieval/   question -> ranked passages; question analysis, follow-ups, sections
    answering/   passages -> a cited answer (extractive, broad, catalog, LLM)
    pipeline     the Assistant: the one place that wires the stages together
    planner, feedback, server, cli       what users run (ui/ and eval/ sit beside them)

The public names below are imported on first use, so `import assistant.types` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Assistant": "assistant.pipeline",
    "QuestionError": "assistant.pipeline",
    "Settings": "assistant.config",
    "SettingsError": "assistant.config",
    "load_settings": "assistant.config",
    "Answer": "assistant.types",
    "Citation": "assistant.types",
    "Context": "assistant.types",
    "IngestError": "assistant.types",
    "IndexMissingError": "assistant.index.passage_index",
    "IndexModelMismatchError": "assistant.index.passage_index",
    "SourcesFileError": "assistant.index.passage_index",
    "StoreError": "assistant.index.store",
    "ModelMissingError": "assistant.index.embeddings",
}

__all__ = [
    "Answer", "Assistant", "Citation", "Context", "IndexMissingError", "IndexModelMismatchError",
    "IngestError", "ModelMissingError", "QuestionError", "Settings", "SettingsError",
    "SourcesFileError", "StoreError", "__version__", "load_settings",
]

if TYPE_CHECKING:
    from assistant.config import Settings, SettingsError, load_settings
    from assistant.index.embeddings import ModelMissingError
    from assistant.index.passage_index import (
        IndexMissingError,
        IndexModelMismatchError,
        SourcesFileError,
    )
    from assistant.index.store import StoreError
    from assistant.pipeline import Assistant, QuestionError
    from assistant.types import Answer, Citation, Context, IngestError


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
