"""Ingest: files -> documents (blocks with section paths) -> passages (chunks).

Stage 1 of assistant/: imports only the base modules (types, config, text, prompts).
"""

from assistant.ingest.chunking import chunk_document, split_units
from assistant.ingest.figures import Figure, check_figure_quotes, figure_document, is_figure_file
from assistant.ingest.loaders import (
    DOCUMENT_LOADERS,
    SUPPORTED_SUFFIXES,
    Loader,
    LoaderTable,
    default_title,
    file_sha256,
    load_document,
)

__all__ = [
    "DOCUMENT_LOADERS", "SUPPORTED_SUFFIXES", "Figure", "Loader", "LoaderTable",
    "check_figure_quotes", "chunk_document", "default_title", "figure_document", "file_sha256",
    "is_figure_file", "load_document", "split_units",
]
