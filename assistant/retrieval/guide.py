"""Retrieval: match a user's question to the guide cards, question to question.

Each card's ways of asking were embedded at indexing time with the model's query prompt, as a
user's question is. A card scores the mean similarity of its `top` closest ways of asking plus
`point_weight` times the similarity of its closest point (the report sentences it quotes,
whose vectors the index already holds), divided by 1 + point_weight so the score reads as a
cosine. Measured leave-one-out on the cards' own 580 ways of asking (eval/guide_match.py),
the right card came first for 0.357 with the best question alone, 0.450 with the mean of the
best three plus the best point. Ranking (not the threshold) adds agreement with retrieval:
`retrieval_weight` times the mean over a card's points of 1 / (1 + rank) of the passage that
holds the point among the top retrieved passages (0 when it is not among them). Measured on a
quarter of the cards' own questions left out in turn, the right card came first for 0.434
without it and 0.566 / 0.579 with weight 0.2 / 0.3. The asker's role steers close calls: a
card written for the asker's group gains `role_bonus`. A card with a near copy of the question
among its ways of asking (at least `near_copy` similar: a title asked word for word) comes
first whatever the others score. `lexical_weight` times a card's BM25 score for the question's
words over its title and ways of asking (scaled to the best card's) is added to the ranking.
The bonuses steer close calls only: a card they put first comes after the card closest by
similarity alone when that one is `similarity_lead` closer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.cases.guide import card_of_record
from assistant.text import BM25, collapse, tokens
from assistant.types import Chunk

# Retrieval agreement counts a card's points held by this many top passages (as measured).
RETRIEVED_TOP = 6


@dataclass(frozen=True)
class GuideEntry:
    """An indexed guide card: its passage, id, roles and points (quote, section path)."""

    chunk: Chunk
    id: str
    title: str
    roles: tuple[str, ...]
    points: tuple[tuple[str, tuple[str, ...]], ...]
    passages: tuple[str | None, ...] = ()   # the id of the passage holding each point

    @classmethod
    def from_record(cls, chunk: Chunk, meta: dict[str, Any]) -> GuideEntry:
        """Rebuild a card from its indexed passage (quotes) and metadata (sections, roles)."""
        card = card_of_record(chunk, meta, Path(str(meta.get("path", ""))))
        return cls(chunk=chunk, id=card.id, title=card.title, roles=card.roles,
                   points=tuple((p.quote, p.section_path) for p in card.points))


# Added to the score of a card that has a near copy of the question (see GuideIndex.match):
# more than any other score reaches (similarity <= 1, role bonus <= 0.2, agreement <= 2).
NEAR_COPY_LEAD = 10.0


@dataclass(frozen=True)
class GuideMatch:
    """A card and how close its closest way of asking is to the question."""

    entry: GuideEntry
    score: float            # cosine similarity, plus the role bonus when it applies
    similarity: float       # cosine similarity alone

    @property
    def near_copy(self) -> bool:
        """True when the question nearly copies one of the card's ways of asking, or its
        title (`GuideIndex.match` put the card ahead of every card without one)."""
        return self.score >= NEAR_COPY_LEAD


def mix(vector: Sequence[float], other: Sequence[float], weight: float) -> list[float]:
    """Return the unit vector of (1 - weight) * vector + weight * other (both unit length)."""
    mixed = ((1 - weight) * np.asarray(vector, dtype=np.float32)
             + weight * np.asarray(other, dtype=np.float32))
    return (mixed / max(float(np.linalg.norm(mixed)), 1e-12)).astype(float).tolist()


def titled(entry: GuideEntry, question: str) -> bool:
    """Return True when the question is the card's title word for word (case and spacing
    aside): a related question clicked, or the title typed."""
    return bool(question) and collapse(entry.title).lower() == collapse(question).lower()


class GuideIndex:
    """The indexed guide cards and the matrix of their questions' vectors."""

    def __init__(self, entries: list[GuideEntry],
                 vectors: list[tuple[str, int, list[float]]],
                 points: list[tuple[int, np.ndarray]] | None = None,
                 questions: dict[tuple[str, int], str] | None = None):
        self.entries = entries
        # Each card's title and ways of asking as one bag of stemmed words, for BM25.
        words: list[list[str]] = [tokens(e.title) for e in entries]
        number = {e.chunk.chunk_id: i for i, e in enumerate(entries)}
        for (chunk_id, _), text in (questions or {}).items():
            if chunk_id in number:
                words[number[chunk_id]] += tokens(text)
        self.lexical = BM25(words) if entries else None
        # (card number, vector) of the report sentences each card quotes.
        self.point_owner = np.array([i for i, _ in points or []], dtype=np.int64)
        self.point_matrix = (np.array([v for _, v in points or []], dtype=np.float32)
                             if points else np.zeros((0, 0), dtype=np.float32))
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
              role_bonus: float = 0.0, top: int = 1, point_weight: float = 0.0,
              retrieved: Sequence[str] = (), retrieval_weight: float = 0.0,
              near_copy: float = 0.0, question: str = "",
              own_role_bonus: float = 0.0, words: str = "",
              lexical_weight: float = 0.0, similarity_lead: float = 0.0) -> list[GuideMatch]:
        """Return every card, closest first (see the module's docstring for the score).

        own_role_bonus: added to a card written for the asker's role alone (for a question
        read in that role).

        words: the text whose words are matched to the cards' (the question, or the sentence
        it asks in), weighted by lexical_weight.

        similarity_lead: the card closest by similarity alone comes first when it is at least
        this much closer than the card the bonuses put first (0: off).

        near_copy: a card with one way of asking at least this similar to the question comes
        first (0: off); among such cards, the closest way of asking decides.
        question: the question's text; a card whose title it is word for word (case and
        spacing aside: a related question clicked) is a near copy whatever the vectors say.
        The int8 model's vector depends on the batch a text was embedded in, and one title
        asked alone was 0.84 similar to its own stored copy.
        """
        if vector is None or not len(self.owner):
            return []
        query = np.asarray(vector, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        sims = self.matrix @ query
        score = np.zeros(len(self.entries), dtype=np.float32)
        closest = np.full(len(self.entries), -1.0, dtype=np.float32)
        for i in range(len(self.entries)):
            own = np.sort(sims[self.owner == i])[::-1][:top]
            score[i] = float(own.mean()) if len(own) else -1.0
            closest[i] = float(own[0]) if len(own) else -1.0
        if point_weight and len(self.point_owner):
            best = np.zeros(len(self.entries), dtype=np.float32)
            np.maximum.at(best, self.point_owner, self.point_matrix @ query)
            score = ((score + point_weight * best) / (1 + point_weight)).astype(np.float32)
        shared = np.zeros(len(self.entries), dtype=np.float32)
        if lexical_weight and words and self.lexical is not None:
            shared = np.asarray(self.lexical.scores(tokens(words)), dtype=np.float32)
            shared /= max(float(shared.max()), 1e-12)
        rank = {chunk_id: r for r, chunk_id in enumerate(retrieved[:RETRIEVED_TOP])}
        matches = []
        for i, entry in enumerate(self.entries):
            similarity = float(score[i])
            bonus = role_bonus if role and role in entry.roles else 0.0
            bonus += lexical_weight * float(shared[i])
            if own_role_bonus and role and entry.roles == (role,):
                bonus += own_role_bonus
            if retrieval_weight and entry.passages:
                bonus += retrieval_weight * sum(
                    1 / (1 + rank[p]) for p in entry.passages if p in rank) / len(entry.passages)
            if near_copy and (closest[i] >= near_copy or titled(entry, question)):
                # Ahead of every card without a near copy.
                similarity, bonus = float(closest[i]), bonus + NEAR_COPY_LEAD
            matches.append(GuideMatch(entry, similarity + bonus, similarity))
        matches.sort(key=lambda m: (-m.score, m.entry.id))
        if similarity_lead and matches and not matches[0].near_copy:
            nearest = max(matches, key=lambda m: m.similarity)
            if nearest.similarity - matches[0].similarity >= similarity_lead:
                matches.remove(nearest)
                matches.insert(0, nearest)
        return matches
