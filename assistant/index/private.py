"""Index: one session's own documents, held in memory beside the shared index.

A document uploaded in the UI is answered only in the session that uploaded it: its passages,
their vectors, sentence vectors and token vectors live in a PrivateDocument (never in Chroma,
never on disk), and a ScopedIndex shows the retriever the shared index plus those documents.
The shared index, other sessions, the API and the CLI never see them; an operator who wants a
document for everyone adds it with `asf ingest`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.index.late import LateScorer, TokenStore, TokenVectors
from assistant.index.passage_index import NO_UNITS, Index, Progress
from assistant.ingest.chunking import chunk_document, split_units
from assistant.ingest.loaders import load_document
from assistant.prompts import PRIVATE_TITLE
from assistant.types import Chunk

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

# Source keys of private documents start here; no corpus file is keyed so (corpus keys are
# relative paths of files in the corpus folder).
PRIVATE_PREFIX = "din-uppladdade-fil:"


class Cancelled(Exception):
    """The user cancelled reading a private document."""


class TokenScorer(Protocol):
    """Scores passages by late interaction with a question's token vectors."""

    def scores(self, query: TokenVectors) -> dict[str, float]:
        """Return chunk id -> score."""
        ...


class PassageSource(Protocol):
    """What the retriever reads: the passages, their stored vectors, the guide cards and the
    embedder for questions (the shared Index, or a ScopedIndex over it)."""

    @property
    def revision(self) -> int:
        """Return a number that changes whenever the passages may have changed."""
        ...

    @property
    def embeddings(self) -> Embeddings:
        """Return the embedding model."""
        ...

    def chunks(self) -> list[Chunk]:
        """Return every passage, guide cards apart."""
        ...

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """Return the stored vectors of the given passages."""
        ...

    def unit_vectors(self, chunk_ids: list[str]) -> list[tuple[str, int, list[float]]]:
        """Return (chunk id, sentence position, vector) for the passages' sentences."""
        ...

    def guide_chunks(self) -> list[tuple[Chunk, dict[str, Any]]]:
        """Return the guide cards' passages with their metadata."""
        ...

    def guide_vectors(self) -> list[tuple[str, int, list[float]]]:
        """Return the guide cards' ways of asking as vectors."""
        ...

    def guide_questions(self) -> dict[tuple[str, int], str]:
        """Return the guide cards' ways of asking by (card passage id, position)."""
        ...

    def embed_question(self, question: str, *, with_tokens: bool
                       ) -> tuple[list[float], TokenVectors | None]:
        """Return a question's vector and, when asked, its tokens' vectors."""
        ...

    def late_scorer(self) -> TokenScorer:
        """Return the late-interaction scorer over the passages."""
        ...


@dataclass
class PrivateDocument:
    """A document read for one session: its passages and every vector the retriever needs."""

    name: str
    source: str
    chunks: list[Chunk]
    vectors: dict[str, list[float]]
    units: list[tuple[str, int, list[float]]]
    tokens: dict[str, TokenVectors] = field(default_factory=dict)


def is_private(source: str) -> bool:
    """Return True for the source key of a session's private document."""
    return source.startswith(PRIVATE_PREFIX)


def read_private(index: Index, path: Path, name: str, progress: Progress | None = None
                 ) -> PrivateDocument:
    """Parse and embed a file as a private document, as the index would embed it.

    Raises IngestError (Swedish) for a file that cannot be read. `progress` is called after
    every batch with (done, total); raising Cancelled from it stops the work, and nothing
    of the document is kept anywhere.
    """
    source = f"{PRIVATE_PREFIX}{name}"
    doc = load_document(path, source=source, title=PRIVATE_TITLE.format(name=name))
    settings = index.settings.chunking
    chunks = chunk_document(doc, settings.chunk_size, settings.section_in_text)
    units = [(c, u) for c in chunks if c.kind not in NO_UNITS for u in split_units(c.text)]
    total = len(chunks) + len(units)
    with_tokens = index.has_token_vectors
    embedded = index.embed_passages([c.indexed_text for c in chunks], progress, total=total,
                                    tokens=with_tokens, groups=[source] * len(chunks))
    unit_vectors = index.embed_passages([u.text for _, u in units], progress,
                                        done=len(chunks), total=total,
                                        groups=[source] * len(units))
    vectors = [v for v, _ in embedded] if with_tokens else embedded
    tokens = {c.chunk_id: t for c, (_, t) in zip(chunks, embedded, strict=True)} \
        if with_tokens else {}
    return PrivateDocument(
        name=name, source=source, chunks=chunks,
        vectors={c.chunk_id: v for c, v in zip(chunks, vectors, strict=True)},
        units=[(c.chunk_id, u.position, v) for (c, u), v in zip(units, unit_vectors,
                                                                 strict=True)],
        tokens=tokens)


class _MemoryTokens(TokenStore):
    """Token vectors held in memory (a private document's)."""

    def __init__(self, tokens: dict[str, TokenVectors]):
        super().__init__(Path())
        self._tokens = tokens

    def has(self, chunk_id: str) -> bool:
        """Return True when the chunk's token vectors are held."""
        return chunk_id in self._tokens

    def get(self, chunk_id: str) -> TokenVectors | None:
        """Return a chunk's token vectors, or None."""
        return self._tokens.get(chunk_id)


@dataclass
class _MergedScorer:
    """Late-interaction scores from the shared index's scorer and the private documents'."""

    parts: Sequence[TokenScorer]

    def scores(self, query: TokenVectors) -> dict[str, float]:
        """Return chunk id -> score over every part."""
        out: dict[str, float] = {}
        for part in self.parts:
            out.update(part.scores(query))
        return out


class ScopedIndex:
    """The shared index plus one session's private documents, read-only (a PassageSource).

    Questions are embedded, and guide cards read, through the shared index; the private
    documents add their passages and vectors. Nothing here writes anywhere.
    """

    def __init__(self, shared: Index, documents: Iterable[PrivateDocument]):
        self.shared = shared
        self.documents = list(documents)
        self._chunks = [c for d in self.documents for c in d.chunks]
        self._vectors = {cid: v for d in self.documents for cid, v in d.vectors.items()}
        self._units: dict[str, list[tuple[str, int, list[float]]]] = {}
        for d in self.documents:
            for unit in d.units:
                self._units.setdefault(unit[0], []).append(unit)
        tokens = {cid: t for d in self.documents for cid, t in d.tokens.items()}
        self._late = LateScorer([c.chunk_id for c in self._chunks], _MemoryTokens(tokens))

    @property
    def revision(self) -> int:
        """Return the shared index's revision (the private documents never change)."""
        return self.shared.revision

    @property
    def embeddings(self) -> Embeddings:
        """Return the shared index's embedding model."""
        return self.shared.embeddings

    def chunks(self) -> list[Chunk]:
        """Return the shared passages, then the private ones."""
        return [*self.shared.chunks(), *self._chunks]

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """Return the vectors of the given passages, shared or private."""
        own = {cid: self._vectors[cid] for cid in chunk_ids if cid in self._vectors}
        rest = [cid for cid in chunk_ids if cid not in self._vectors]
        return {**self.shared.chunk_vectors(rest), **own}

    def unit_vectors(self, chunk_ids: list[str]) -> list[tuple[str, int, list[float]]]:
        """Return (chunk id, position, vector) for the sentences of the given passages."""
        own = [u for cid in chunk_ids for u in self._units.get(cid, [])]
        rest = [cid for cid in chunk_ids if cid not in self._vectors]
        return [*self.shared.unit_vectors(rest), *own]

    def guide_chunks(self) -> list[tuple[Chunk, dict[str, Any]]]:
        """Return the shared index's guide cards."""
        return self.shared.guide_chunks()

    def guide_vectors(self) -> list[tuple[str, int, list[float]]]:
        """Return the shared index's guide cards' ways of asking."""
        return self.shared.guide_vectors()

    def guide_questions(self) -> dict[tuple[str, int], str]:
        """Return the shared index's guide cards' ways of asking as text."""
        return self.shared.guide_questions()

    def embed_question(self, question: str, *, with_tokens: bool
                       ) -> tuple[list[float], TokenVectors | None]:
        """Return a question's vector (and tokens') from the shared index's model."""
        return self.shared.embed_question(question, with_tokens=with_tokens)

    def late_scorer(self) -> TokenScorer:
        """Return a scorer over the shared passages and the private ones."""
        return _MergedScorer([self.shared.late_scorer(), self._late])


def cancellable(progress: Progress | None, cancelled: Callable[[], bool]) -> Progress:
    """Return a progress callback that raises Cancelled once `cancelled()` is true."""
    def report(done: int, total: int) -> None:
        if cancelled():
            raise Cancelled
        if progress is not None:
            progress(done, total)
    return report
