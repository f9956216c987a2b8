"""Base: types every stage shares, documents, passages, citations and answers.

The leaf of the package: it imports nothing from assistant/, so any stage can use these types
without importing another stage. Documents flow ingest -> cases -> index -> retrieval ->
answering as Block/SourceDocument -> Chunk/Unit -> Passage -> Citation/Context/Answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# How a section path is written in citations ("Utmaningar › Kommunikation").
SECTION_SEPARATOR = " › "


# ---------------------------------------------------------------------- ingest: documents

class IngestError(ValueError):
    """A file cannot be ingested; the message names the file and says what to do."""

    def __init__(self, path: Path | str, message: str):
        self.path = Path(path)
        super().__init__(message.format(name=self.path.name, path=self.path,
                                        suffix=self.path.suffix))


@dataclass(frozen=True)
class Block:
    """One paragraph, list (with its lead-in), quote or footnote of a document."""

    text: str
    section_path: tuple[str, ...]
    page: int | None = None
    kind: str = "paragraph"

    @property
    def section(self) -> str:
        """Return the section path as one readable string."""
        return SECTION_SEPARATOR.join(self.section_path)


@dataclass
class SourceDocument:
    """A parsed file: its key, title, content hash and ordered blocks."""

    source: str
    title: str
    path: Path
    sha256: str
    blocks: list[Block] = field(default_factory=list)


# ---------------------------------------------------------------------- index: passages

@dataclass(frozen=True)
class Chunk:
    """One indexed passage and everything a citation needs to name it."""

    chunk_id: str
    source: str
    title: str
    section_path: tuple[str, ...]
    page: int | None
    text: str                 # the passage as it stands in the source (what we quote)
    indexed_text: str         # what is embedded and matched (may carry the section path)
    kind: str = "text"
    seq: int = 0              # position of the chunk in its document

    @property
    def section(self) -> str:
        """Return the section path as one readable string."""
        return SECTION_SEPARATOR.join(self.section_path)


@dataclass
class Unit:
    """A quotable unit of a passage: a sentence, or one list item."""

    text: str
    position: int
    lead_in: bool = False                 # a sentence ending in ":" that introduces a list
    items: list[str] = field(default_factory=list)
    lead: int | None = None               # a list item's lead-in (its position), if it has one


# ---------------------------------------------------------------------- retrieval

@dataclass
class Passage:
    """A retrieved chunk with its fused score and the signals behind it."""

    chunk: Chunk
    score: float
    rank: int = 0
    direct: float = 0.0             # fused score before neighbours are counted
    dense: float | None = None      # cosine similarity to the question
    lexical: float | None = None    # BM25 score
    late: float | None = None       # late-interaction (token MaxSim) score
    unit_dense: dict[int, float] = field(default_factory=dict)   # sentence position -> cosine


# ---------------------------------------------------------------------- answering

@dataclass
class Citation:
    """A numbered reference from the answer to a passage, with the quoted text."""

    n: int
    chunk_id: str
    source: str
    title: str
    section: str
    page: int | None
    quote: str


@dataclass
class Context:
    """A retrieved passage, as shown beside the answer."""

    rank: int
    chunk_id: str
    source: str
    title: str
    section: str
    page: int | None
    text: str
    score: float


@dataclass
class Answer:
    """The result of one question."""

    question: str
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Context] = field(default_factory=list)
    evidence: float = 0.0
    note: str = ""
    standalone_question: str = ""
    guide: str = ""                  # the id of the guide card the answer leads with
    related: list[str] = field(default_factory=list)   # other cards' titles, as follow-ups

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of `asf ask --json`."""
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [
                {k: v for k, v in asdict(c).items() if k != "title"} for c in self.citations],
            "contexts": [
                {k: v for k, v in asdict(c).items() if k != "title"} for c in self.contexts],
            "related": list(self.related),
        } | ({"note": self.note} if self.note else {}) | (
            {"guide": self.guide} if self.guide else {})
