"""Retrieval: match a user's question to the guide cards, question to question.

Each card's ways of asking were embedded at indexing time with the model's query prompt, as a
user's question is; a card scores the best similarity of any of them to the question. The
asker's role breaks near-ties: a card written for the asker's group gains `role_bonus`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.cases.guide import card_of_record
from assistant.types import Chunk


@dataclass(frozen=True)
class GuideEntry:
    """An indexed guide card: its passage, id, roles and points (quote, section path)."""

    chunk: Chunk
    id: str
    title: str
    roles: tuple[str, ...]
    points: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def from_record(cls, chunk: Chunk, meta: dict[str, Any]) -> GuideEntry:
        """Rebuild a card from its indexed passage (quotes) and metadata (sections, roles)."""
        card = card_of_record(chunk, meta, Path(str(meta.get("path", ""))))
        return cls(chunk=chunk, id=card.id, title=card.title, roles=card.roles,
                   points=tuple((p.quote, p.section_path) for p in card.points))


@dataclass(frozen=True)
class GuideMatch:
    """A card and how close its closest way of asking is to the question."""

    entry: GuideEntry
    score: float            # cosine similarity, plus the role bonus when it applies
    similarity: float       # cosine similarity alone


class GuideIndex:
    """The indexed guide cards and the matrix of their questions' vectors."""

    def __init__(self, entries: list[GuideEntry],
                 vectors: list[tuple[str, int, list[float]]]):
        self.entries = entries
        by_id = {e.chunk.chunk_id: i for i, e in enumerate(entries)}
        rows = [(by_id[cid], v) for cid, _, v in vectors if cid in by_id]
        self.owner = np.array([r for r, _ in rows], dtype=np.int64)
        matrix = np.array([v for _, v in rows], dtype=np.float32)
        if rows:
            matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        self.matrix = matrix

    def __len__(self) -> int:
        return len(self.entries)

    def by_id(self, card_id: str) -> GuideEntry | None:
        """Return the card with this id, if indexed."""
        return next((e for e in self.entries if e.id == card_id), None)

    def match(self, vector: list[float] | None, role: str | None = None,
              role_bonus: float = 0.0) -> list[GuideMatch]:
        """Return every card, closest first (its best question's similarity to `vector`)."""
        if vector is None or not len(self.owner):
            return []
        query = np.asarray(vector, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        sims = self.matrix @ query
        best = np.full(len(self.entries), -1.0, dtype=np.float32)
        np.maximum.at(best, self.owner, sims)
        matches = []
        for i, entry in enumerate(self.entries):
            similarity = float(best[i])
            bonus = role_bonus if role and role in entry.roles else 0.0
            matches.append(GuideMatch(entry, similarity + bonus, similarity))
        matches.sort(key=lambda m: (-m.score, m.entry.id))
        return matches
