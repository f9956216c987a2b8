"""Ingest: the loader table, which reader turns a file into a SourceDocument, by file type.

Like paper-qa's readers or haystack's FileTypeRouter, a file's suffix picks its loader. This
stage knows documents (.txt, .md, .pdf); the cases stage extends the table with its YAML cards
(`assistant.cases.CORPUS_LOADERS`), so ingest never imports a later stage.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from assistant.ingest.readers import read_markdown_blocks, read_pdf_blocks, read_text_blocks
from assistant.prompts import ERR_EMPTY_FILE, ERR_NOT_FOUND, ERR_UNSUPPORTED_TYPE
from assistant.types import Block, IngestError, SourceDocument

# path, source key (None: the file name), title (None: from the file name) -> the document
Loader = Callable[[Path, str | None, str | None], SourceDocument]
# path, title -> the document's blocks
BlockReader = Callable[[Path, str], list[Block]]

# Documentation files that live beside the corpus but are not part of it, and the corpus's
# names for the lexicon (names.yaml, read by assistant/lexicon).
SKIPPED_NAMES = frozenset({"readme.md", "template.md", "license", "license.md", "notice.md",
                           "names.yaml"})


def file_sha256(path: Path) -> str:
    """Return the sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def size_over(path: Path, limit_mb: int) -> float | None:
    """Return a file's size in MB when it is over `limit_mb` (ASF_MAX_UPLOAD_MB), else None
    (also when it cannot be read: loading it then says why)."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return size / 1024 / 1024 if size > limit_mb * 1024 * 1024 else None


def default_title(path: Path) -> str:
    """Return a readable title from a file name ("asf_rapport-2019.pdf" -> "Asf rapport 2019")."""
    name = re.sub(r"[_\-]+", " ", path.stem).strip()
    return name[:1].upper() + name[1:] if name else path.name


def blocks_loader(reader: BlockReader) -> Loader:
    """Make a loader from a block reader: checks for an empty file, hashes it, names it."""

    def load(path: Path, source: str | None = None, title: str | None = None) -> SourceDocument:
        if path.stat().st_size == 0:
            raise IngestError(path, ERR_EMPTY_FILE)
        sha = file_sha256(path)
        title = title or default_title(path)
        blocks = [b for b in reader(path, title) if b.text.strip()]
        if not blocks:
            raise IngestError(path, ERR_EMPTY_FILE)
        return SourceDocument(source=source or path.name, title=title, path=path, sha256=sha,
                              blocks=blocks)

    return load


class LoaderTable:
    """File suffix -> loader; `load` reads a file or raises IngestError naming it."""

    def __init__(self, loaders: Mapping[str, Loader]):
        self._loaders = {suffix.lower(): loader for suffix, loader in loaders.items()}

    @property
    def suffixes(self) -> tuple[str, ...]:
        """Return the file types this table reads, in registration order."""
        return tuple(self._loaders)

    def extended(self, loaders: Mapping[str, Loader]) -> LoaderTable:
        """Return a new table with more loaders (a later stage's file types)."""
        return LoaderTable({**self._loaders, **loaders})

    def load(self, path: Path, source: str | None = None,
             title: str | None = None) -> SourceDocument:
        """Read one file into a SourceDocument, or raise IngestError naming the file."""
        path = Path(path)
        if not path.exists() or not path.is_file():
            raise IngestError(path, ERR_NOT_FOUND)
        loader = self._loaders.get(path.suffix.lower())
        if loader is None:
            raise IngestError(path, ERR_UNSUPPORTED_TYPE)
        return loader(path, source, title)

    def reads(self, path: Path) -> bool:
        """Return True for a file this table indexes (its type, and not documentation)."""
        return (path.is_file() and path.suffix.lower() in self._loaders
                and path.name.lower() not in SKIPPED_NAMES and not path.name.startswith("."))


DOCUMENT_LOADERS = LoaderTable({
    ".txt": blocks_loader(read_text_blocks),
    ".md": blocks_loader(read_markdown_blocks),
    ".pdf": blocks_loader(read_pdf_blocks),
})
# The document types a user can upload (the UI's file picker).
SUPPORTED_SUFFIXES = DOCUMENT_LOADERS.suffixes


def load_document(path: Path, source: str | None = None,
                  title: str | None = None) -> SourceDocument:
    """Read one document (.txt, .md, .pdf), or raise IngestError naming the file."""
    return DOCUMENT_LOADERS.load(path, source, title)
