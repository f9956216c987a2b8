"""Retrieval: sections and sentences as units of meaning, for answers from the whole report.

A passage is 1,000 characters; a broad question ("how do we start buying from an ASF?") is
answered by a dozen sentences spread over several sections. This module holds every indexed
sentence with its vector and every section of every document with a vector of its own (the
normalised mean of its passages' vectors, which carry the section path in their text), so a
question can match a topic, not only a passage.

(An extractive summary per section, the sentences closest to the centroid of its sentences,
LexRank-style, was computed here until measured: within the sections a broad answer draws from,
centrality ranked the persona set's gold sentences below chance, AUC 0.456.)

Everything is computed from the vectors the index already stores (one Chroma read per index
version, a few hundred milliseconds for the report), so it works for any document a user adds
and adds nothing to the index build.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from assistant.ingest.chunking import split_units
from assistant.text import collapse, tokens
from assistant.types import Chunk, Unit


@dataclass
class Sentence:
    """One quotable unit of an indexed passage, with the row of its vector."""

    row: int
    chunk: Chunk
    unit: Unit
    section: int                    # index into TopicIndex.sections


@dataclass
class Section:
    """A section (or subsection) of a document: its passages and sentences."""

    source: str
    path: tuple[str, ...]
    chunks: list[Chunk] = field(default_factory=list)
    sentences: list[int] = field(default_factory=list)     # rows, in reading order

    @property
    def heading(self) -> str:
        """Return the section's own heading (the last part of its path)."""
        return self.path[-1] if self.path else ""


class TopicIndex:
    """Every sentence and section of the index, with vectors for scoring by meaning."""

    def __init__(self, chunks: list[Chunk], chunk_vectors: dict[str, list[float]],
                 unit_vectors: list[tuple[str, int, list[float]]]):
        self.chunks = {c.chunk_id: c for c in chunks}
        self.chunk_ids = [c.chunk_id for c in chunks if c.chunk_id in chunk_vectors]
        self.chunk_matrix = _matrix([chunk_vectors[cid] for cid in self.chunk_ids])
        self.chunk_row = {cid: i for i, cid in enumerate(self.chunk_ids)}
        self.sections: list[Section] = []
        self.sentences: list[Sentence] = []
        section_of: dict[tuple[str, tuple[str, ...]], int] = {}
        for chunk in sorted(chunks, key=lambda c: (c.source, c.seq)):
            key = (chunk.source, chunk.section_path)
            if key not in section_of:
                section_of[key] = len(self.sections)
                self.sections.append(Section(chunk.source, chunk.section_path))
            self.sections[section_of[key]].chunks.append(chunk)
        vectors = {(cid, pos): vec for cid, pos, vec in unit_vectors}
        rows: list[list[float]] = []
        for number, section in enumerate(self.sections):
            for chunk in section.chunks:
                for unit in split_units(chunk.text):
                    vec = vectors.get((chunk.chunk_id, unit.position))
                    if vec is None:
                        continue
                    section.sentences.append(len(rows))
                    self.sentences.append(Sentence(len(rows), chunk, unit, number))
                    rows.append(vec)
        self.matrix = _matrix(rows)
        # A section's vector is the mean of its passages' vectors (which carry the section
        # path).
        self.section_matrix = _matrix([
            self._mean([self.chunk_row[c.chunk_id] for c in s.chunks if c.chunk_id in
                        self.chunk_row], self.chunk_matrix) for s in self.sections])

    @cached_property
    def row_of_text(self) -> dict[str, int]:
        """Return each indexed sentence's row by its text (whitespace collapsed; the first row
        when a sentence stands in several places)."""
        rows: dict[str, int] = {}
        for sentence in self.sentences:
            rows.setdefault(collapse(sentence.unit.text), sentence.row)
        return rows

    def closest_sentences(self, texts: Iterable[str], vector: ArrayLike,
                          top: int) -> list[str]:
        """Return at most `top` of the texts that are indexed sentences (compared with
        whitespace collapsed), the most similar to a question vector first (the similarity of
        `sentence_similarity`, for those rows only)."""
        found = [(text, self.row_of_text[text]) for text in dict.fromkeys(texts)
                 if text in self.row_of_text]
        if not found:
            return []
        sims = self.matrix[[row for _, row in found]] @ np.asarray(vector, dtype=np.float32)
        return [found[i][0] for i in np.argsort(-sims, kind="stable")[:top]]

    @staticmethod
    def _mean(rows: list[int], matrix: np.ndarray) -> list[float]:
        if not rows:
            return [0.0] * matrix.shape[1] if matrix.size else []
        centre = matrix[rows].mean(axis=0)
        norm = float(np.linalg.norm(centre)) or 1.0
        return list(centre / norm)

    def __len__(self) -> int:
        return len(self.sentences)

    @cached_property
    def heading_tokens(self) -> list[frozenset[str]]:
        """Return every section's heading words (its whole path), stemmed."""
        return [frozenset(tokens(" ".join(s.path))) for s in self.sections]

    @cached_property
    def sentence_tokens(self) -> list[frozenset[str]]:
        """Return every sentence's stemmed content words (computed once per index version)."""
        return [frozenset(tokens(s.unit.text)) for s in self.sentences]

    @cached_property
    def point_tokens(self) -> list[frozenset[str]]:
        """Return the stemmed content words of what each sentence is quoted with: a list's
        lead-in with its items, an item with its lead-in and the other items (a broad answer
        quotes a list whole), any other sentence alone."""
        by_place = {(s.chunk.chunk_id, s.unit.position): s for s in self.sentences}
        out = []
        for sentence in self.sentences:
            unit = sentence.unit
            lead = (by_place.get((sentence.chunk.chunk_id, unit.lead)) if unit.lead is not None
                    else sentence if unit.lead_in and unit.items else None)
            text = (" ".join([lead.unit.text, *lead.unit.items]) if lead is not None
                    else unit.text)
            out.append(frozenset(tokens(text)))
        return out

    @cached_property
    def previous(self) -> np.ndarray:
        """Return each sentence's preceding sentence in its section (its own row for the
        first)."""
        out = np.arange(len(self.sentences))
        for section in self.sections:
            for before, row in zip(section.sentences, section.sentences[1:], strict=False):
                out[row] = before
        return out

    def sentence_similarity(self, vector: ArrayLike) -> np.ndarray:
        """Return every sentence's cosine similarity to a (normalised) question vector."""
        if not self.sentences:
            return np.zeros(0, dtype=np.float32)
        return self.matrix @ np.asarray(vector, dtype=np.float32)

    def section_similarity(self, vector: ArrayLike) -> np.ndarray:
        """Return every section's cosine similarity to a question vector."""
        if not self.sections or not self.section_matrix.size:
            return np.zeros(len(self.sections), dtype=np.float32)
        return self.section_matrix @ np.asarray(vector, dtype=np.float32)

    def chunk_similarity(self, vector: ArrayLike) -> dict[str, float]:
        """Return every passage's cosine similarity to a question vector."""
        if not self.chunk_ids:
            return {}
        sims = self.chunk_matrix @ np.asarray(vector, dtype=np.float32)
        return dict(zip(self.chunk_ids, map(float, sims), strict=True))

    @cached_property
    def _rows_of_chunk(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for sentence in self.sentences:
            rows.setdefault(sentence.chunk.chunk_id, []).append(sentence.row)
        return rows

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """Return the stored vectors of the given passages (as the index holds them)."""
        return {cid: self.chunk_matrix[self.chunk_row[cid]].tolist() for cid in chunk_ids
                if cid in self.chunk_row}

    def unit_vectors(self, chunk_ids: list[str]) -> list[tuple[str, int, list[float]]]:
        """Return (chunk id, sentence position, vector) for every sentence of the passages."""
        return [(cid, self.sentences[row].unit.position, self.matrix[row].tolist())
                for cid in chunk_ids for row in self._rows_of_chunk.get(cid, [])]

    def pair_similarity(self, a: int, b: int) -> float:
        """Return the cosine similarity of two sentences."""
        return float(self.matrix[a] @ self.matrix[b])


def _matrix(rows: list[list[float]]) -> np.ndarray:
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return np.asarray(rows, dtype=np.float32)
