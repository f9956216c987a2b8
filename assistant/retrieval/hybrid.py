"""Retrieval: question -> ranked passages; BM25 (Snowball stems) and dense search, fused.

The pipeline is an LCEL graph: both retrievers run as a RunnableParallel (the dense branch also
returns the question's token vectors) and a RunnableLambda adds late-interaction scores (see
late.py), fuses the three, searches once more with pseudo-relevance feedback, and ranks the
passages with the help of their same-section neighbours.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel, RunnablePassthrough

from assistant.cases.guide import locate
from assistant.config import RetrievalSettings
from assistant.index.late import TokenVectors
from assistant.index.private import PassageSource
from assistant.retrieval.guide import GuideEntry, GuideIndex
from assistant.retrieval.question import subjects
from assistant.retrieval.topics import TopicIndex
from assistant.text import BM25, collapse, is_english, split_sentences, tokens
from assistant.types import Chunk, Passage

# Passages per Chroma read when the topic index is built.
TOPIC_BATCH = 400


@dataclass
class Retrieval:
    """What one search found: the ranked passages, every fused candidate and the question's
    vector (so later stages can score sections and sentences without embedding it again)."""

    passages: list[Passage]
    candidates: list[Passage] = field(default_factory=list)   # all fused, best first
    vector: list[float] | None = None


@dataclass
class DenseHits:
    """Dense search results and the question vector they were found with."""

    hits: list[tuple[Chunk, float, dict[int, float]]]
    vector: list[float]
    tokens: TokenVectors | None = None     # the question's token vectors, for late interaction


class HybridRetriever:
    """Find passages for a question with BM25, dense search, or both fused."""

    def __init__(self, index: PassageSource, settings: RetrievalSettings):
        self.index = index
        self.settings = settings
        self._bm25: BM25 | None = None
        self._chunks: list[Chunk] = []
        self._by_id: dict[str, Chunk] = {}
        self._by_position: dict[tuple[str, int], Chunk] = {}
        self._lock = threading.Lock()
        self._topics: TopicIndex | None = None
        self._guide: GuideIndex | None = None
        self._subjects: frozenset[str] | None = None
        self._revision: int | None = None    # the index revision the maps were built from

    def refresh(self) -> None:
        """Rebuild the in-memory BM25 index from the current chunks."""
        with self._lock:
            chunks = list(self.index.chunks())
            self._revision = self.index.revision
            self._by_id = {c.chunk_id: c for c in chunks}
            self._by_position = {(c.source, c.seq): c for c in chunks}
            self._bm25 = BM25([tokens(c.indexed_text) for c in chunks])
            self._chunks = chunks
            self._topics = None
            self._guide = None
            self._subjects = None

    def topics(self) -> TopicIndex:
        """Return the sections and sentences of the index (built on first use per version)."""
        self.bm25  # noqa: B018 - make sure the chunks are current
        with self._lock:
            if self._topics is None:
                ids = [c.chunk_id for c in self._chunks]
                # In batches: one Chroma query per few hundred passages keeps each query's
                # id list (SQLite parameters) small for a large corpus.
                chunk_vectors: dict[str, list[float]] = {}
                unit_vectors: list[tuple[str, int, list[float]]] = []
                for start in range(0, len(ids), TOPIC_BATCH):
                    batch = ids[start:start + TOPIC_BATCH]
                    chunk_vectors.update(self.index.chunk_vectors(batch))
                    unit_vectors += self.index.unit_vectors(batch)
                self._topics = TopicIndex(self._chunks, chunk_vectors, unit_vectors)
            return self._topics

    def subjects(self) -> frozenset[str]:
        """Return the subject families (taxes, laws, countries …) the indexed passages name
        (built on first use per version)."""
        self.bm25  # noqa: B018 - make sure the chunks are current
        with self._lock:
            if self._subjects is None:
                self._subjects = frozenset(family for c in self._chunks
                                           for family, _ in subjects(c.indexed_text))
            return self._subjects

    def guide(self) -> GuideIndex:
        """Return the indexed guide cards with their questions' vectors (per index version)."""
        topics = self.topics()       # the points' sentence vectors; takes the lock itself
        with self._lock:
            if self._guide is None:
                chunks = list(topics.chunks.values())
                entries = [replace(entry, passages=tuple(
                    getattr(locate(q, section, chunks), "chunk_id", None)
                    for q, section in entry.points))
                    for entry in (GuideEntry.from_record(c, m)
                                  for c, m in self.index.guide_chunks())]
                self._guide = GuideIndex(entries, self.index.guide_vectors(),
                                         point_vectors(topics, entries),
                                         self.index.guide_questions())
            return self._guide

    @property
    def bm25(self) -> BM25:
        """Return the BM25 index (built on first use, rebuilt after the index changes)."""
        if self._bm25 is None or self._revision != self.index.revision:
            self.refresh()
        assert self._bm25 is not None
        return self._bm25

    def neighbour(self, chunk: Chunk, step: int) -> Chunk | None:
        """Return the chunk `step` places after (negative: before) `chunk` in its section."""
        self.bm25  # noqa: B018 - make sure the maps are current
        near = self._by_position.get((chunk.source, chunk.seq + step))
        return near if near is not None and near.section_path == chunk.section_path else None

    def chunk(self, chunk_id: str) -> Chunk | None:
        """Return an indexed chunk by id."""
        self.bm25  # noqa: B018 - make sure the id map is current
        return self._by_id.get(chunk_id)

    # ------------------------------------------------------------------ retrievers
    def lexical_search(self, question: str) -> list[tuple[Chunk, float]]:
        """Return the best BM25 candidates."""
        bm25 = self.bm25
        scores = bm25.scores(tokens(question))
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        return [(self._chunks[i], scores[i]) for i in order[: self.settings.candidates]
                if scores[i] > 0]

    def dense_search(self, question: str) -> DenseHits:
        """Return the nearest chunks by embedding, with cosine similarity.

        With a token-capable model the same forward pass gives the question's token vectors.
        """
        vector, tokens = self.index.embed_question(question,
                                                   with_tokens=bool(self.settings.late_weight))
        hits = self.dense_by_vector(vector)
        hits.tokens = tokens
        return hits

    def late_search(self, tokens: TokenVectors | None) -> list[tuple[Chunk, float]]:
        """Return the best chunks by late interaction (token MaxSim), best first."""
        if tokens is None:
            return []
        self.bm25  # noqa: B018 - make sure the id map is current
        scores = self.index.late_scorer().scores(tokens)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])[: self.settings.candidates]
        return [(self._by_id[cid], value) for cid, value in ranked if cid in self._by_id]

    def dense_by_vector(self, vector: list[float]) -> DenseHits:
        """Return the nearest chunks to a vector.

        Sentences are embedded too: a chunk scores the better of its own similarity and its
        best sentence's, and the sentence similarities travel along for answer selection.

        The search is exact, over the vectors the topic index holds, not Chroma's HNSW:
        Chroma rebuilds the graph of a collection under 1,000 records at every start, with
        randomness (chroma-core/chroma#2675), and the same question got other neighbours in
        3-5 of 214 eval questions from one run to the next. For a corpus of some thousand
        sentences the exact product takes about a millisecond.
        """
        topics = self.topics()
        k = min(self.settings.candidates, max(1, len(self._chunks)))
        best = dict(sorted(topics.chunk_similarity(vector).items(),
                           key=lambda kv: (-kv[1], kv[0]))[:k])
        units: dict[str, dict[int, float]] = {}
        if self.settings.sentence_dense and len(topics):
            sims = topics.sentence_similarity(vector)
            for row in np.argsort(-sims, kind="stable")[: self.settings.sentence_candidates]:
                sentence, sim = topics.sentences[int(row)], float(sims[row])
                chunk_id = sentence.chunk.chunk_id
                units.setdefault(chunk_id, {})[sentence.unit.position] = sim
                best[chunk_id] = max(best.get(chunk_id, -1.0), sim)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[: self.settings.candidates]
        return DenseHits(hits=[(self._by_id[cid], sim, units.get(cid, {})) for cid, sim in ranked
                               if cid in self._by_id], vector=vector)

    def feedback(self, passages: list[Passage], vector: list[float]) -> DenseHits | None:
        """Search again with the question vector moved toward the top passages' vectors.

        A question worded unlike the report finds its topic in the first results; the
        second search then looks for that topic (pseudo-relevance feedback, Rocchio-style).
        """
        s = self.settings
        top = [p.chunk.chunk_id for p in passages[: s.feedback_passages]]
        stored = self.topics().chunk_vectors(top)
        if not s.feedback_weight or not stored:
            return None
        dims = len(vector)
        centre = [sum(v[i] for v in stored.values()) / len(stored) for i in range(dims)]
        moved = [q + s.feedback_weight * c for q, c in zip(vector, centre, strict=True)]
        norm = math.sqrt(sum(x * x for x in moved)) or 1.0
        return self.dense_by_vector([x / norm for x in moved])

    def fuse(self, ranked: dict[str, Any]) -> list[Passage]:
        """Combine the rankings (weighted reciprocal rank fusion, or weighted scores)."""
        s = self.settings
        fused: dict[str, Passage] = {}
        bm25_weight = s.bm25_weight
        if is_english(str(ranked.get("question", ""))):
            bm25_weight *= s.english_bm25_weight
        for name, weight in (("bm25", bm25_weight), ("dense", s.dense_weight),
                             ("late", s.late_weight)):
            found = ranked.get(name)
            hits = found.hits if isinstance(found, DenseHits) else (found or [])
            if not hits:
                continue
            values = [hit[1] for hit in hits]
            top, low = max(values), min(values)
            for rank, (chunk, value, *extra) in enumerate(hits):
                p = fused.setdefault(chunk.chunk_id, Passage(chunk=chunk, score=0.0))
                if s.fusion == "rrf":
                    p.score += weight / (s.rrf_k + rank + 1)
                elif name in ("dense", "late"):
                    p.score += weight * (value - low) / ((top - low) or 1.0)
                else:
                    p.score += weight * value / (top or 1.0)
                if name == "dense":
                    p.dense = value
                    p.unit_dense = extra[0] if extra else {}
                elif name == "late":
                    p.late = value
                else:
                    p.lexical = value
        return sorted(fused.values(), key=lambda p: -p.score)

    def neighbours(self, chunk: Chunk) -> list[Chunk]:
        """Return the chunks just before and after `chunk` in the same section."""
        return [c for c in (self.neighbour(chunk, -1), self.neighbour(chunk, 1)) if c is not None]

    def rank(self, fused: list[Passage]) -> list[Passage]:
        """Keep the best match first; rank the rest with their neighbours' scores too.

        The report states a point in one passage and develops it in the next, so a passage
        next to a strong match is a better second candidate than its own words suggest.
        """
        s = self.settings
        if not fused:
            return []
        weight = s.neighbour_weight
        direct = {p.chunk.chunk_id: p.score for p in fused}
        pool = {p.chunk.chunk_id: p for p in fused}
        if weight:
            for p in fused:
                for near in self.neighbours(p.chunk):
                    pool.setdefault(near.chunk_id, Passage(chunk=near, score=0.0))
        boosted = {cid: direct.get(cid, 0.0) + weight * max(
            (direct.get(c.chunk_id, 0.0) for c in self.neighbours(p.chunk)), default=0.0)
            for cid, p in pool.items()} if weight else direct
        best = fused[0]
        rest = sorted((p for p in pool.values() if p is not best),
                      key=lambda p: -boosted[p.chunk.chunk_id])
        passages = [best, *rest][: max(s.k, 5)]
        for rank, p in enumerate(passages, start=1):
            p.rank = rank
            p.direct = direct.get(p.chunk.chunk_id, 0.0)
            if p is not best:
                p.score = boosted[p.chunk.chunk_id]
        return passages

    def annotate(self, passages: list[Passage], vector: list[float] | None) -> list[Passage]:
        """Give the top passages and each of their sentences their similarity to the question.

        The vectors were stored at indexing time and the topic index holds them, so this is a
        few dot products. The answerer can then pick sentences by meaning, not words only, and judge
        the evidence by the question itself (feedback searched with a moved vector).
        """
        if vector is None:
            return passages
        top = passages[: self.settings.annotate_passages]
        by_chunk = {p.chunk.chunk_id: p for p in top}
        topics = self.topics()       # the stored vectors, in memory since the dense search

        def similarity(emb: list[float]) -> float:
            return float(sum(a * b for a, b in zip(emb, vector, strict=True)))

        for p in top:
            p.unit_dense = {}
        if self.settings.sentence_dense:
            for chunk_id, position, emb in topics.unit_vectors(list(by_chunk)):
                passage = by_chunk.get(chunk_id)
                if passage is not None:
                    passage.unit_dense[position] = similarity(emb)
        for chunk_id, emb in topics.chunk_vectors(list(by_chunk)).items():
            passage = by_chunk[chunk_id]
            passage.dense = max([similarity(emb), *passage.unit_dense.values()])
        return passages

    def _retrieve(self, branches: dict[str, Any]) -> Retrieval:
        dense = branches.get("dense")
        if isinstance(dense, DenseHits) and dense.tokens is not None:
            branches = {**branches, "late": self.late_search(dense.tokens)}
        fused = self.fuse(branches)
        if isinstance(dense, DenseHits) and self.settings.feedback_weight and fused:
            again = self.feedback(fused, dense.vector)
            if again is not None:
                fused = self.fuse({**branches, "dense": again})
        vector = dense.vector if isinstance(dense, DenseHits) else None
        # Copies: rank() rescores the passages it keeps by their neighbours.
        candidates = [Passage(chunk=p.chunk, score=p.score, direct=p.score, dense=p.dense,
                              lexical=p.lexical, late=p.late) for p in fused]
        return Retrieval(passages=self.annotate(self.rank(fused), vector),
                         candidates=candidates, vector=vector)

    def as_runnable(self) -> Runnable[str, Retrieval]:
        """Return the retrieval pipeline as an LCEL runnable: question -> passages.

        BM25 and dense search run in parallel; the fusion step may search once more with
        feedback, ranks, and scores the sentences of the top passages.
        """
        branches: dict[str, Runnable] = {"question": RunnablePassthrough()}
        if self.settings.mode in ("hybrid", "bm25"):
            branches["bm25"] = RunnableLambda(self.lexical_search, name="bm25")
        if self.settings.mode in ("hybrid", "dense"):
            branches["dense"] = RunnableLambda(self.dense_search, name="dense")
        return RunnableParallel(branches) | RunnableLambda(self._retrieve, name="fuse")

    def search(self, question: str) -> Retrieval:
        """Return the ranked passages with every fused candidate and the question's vector."""
        return self.as_runnable().invoke(question)

    def retrieve(self, question: str) -> list[Passage]:
        """Return the passages that best match the question."""
        return self.search(question).passages


def point_vectors(topics: TopicIndex, entries: list[GuideEntry]) -> list[tuple[int, np.ndarray]]:
    """Return (card number, vector) for the indexed sentences each card's points quote."""
    rows = topics.row_of_text
    out: list[tuple[int, np.ndarray]] = []
    for i, entry in enumerate(entries):
        for quote, _ in entry.points:
            for text in split_sentences(quote):
                row = rows.get(collapse(text))
                if row is not None:
                    out.append((i, topics.matrix[row]))
    return out
