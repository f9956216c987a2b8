"""Passages -> a cited Swedish answer.

The default answerer is extractive: it picks the sentences of the retrieved passages that best
cover the question, so every sentence of an answer is a verbatim sentence of a cited passage.
When the evidence is too weak it refuses with one fixed phrase and shows the closest passages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.config import AnswerSettings
from assistant.prompts import REFUSAL_ANSWER
from assistant.retrieve import BM25, Passage
from assistant.text import split_sentences, tokens


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
        }


def contexts_of(passages: list[Passage]) -> list[Context]:
    """Return the passages as contexts in rank order."""
    return [Context(rank=p.rank, chunk_id=p.chunk.chunk_id, source=p.chunk.source,
                    title=p.chunk.title, section=p.chunk.section, page=p.chunk.page,
                    text=p.chunk.text, score=round(p.score, 6)) for p in passages]


@dataclass
class _Unit:
    """A quotable unit of a passage: a sentence, or a list item."""

    text: str
    passage: Passage
    position: int
    lead_in: bool = False
    items: list[str] = field(default_factory=list)


def _units(passage: Passage) -> list[_Unit]:
    units: list[_Unit] = []
    for para in passage.chunk.text.split("\n\n"):
        lines = para.split("\n")
        if len(lines) > 1 and any(line.startswith("- ") for line in lines[1:]):
            head = [line for line in lines if not line.startswith("- ")]
            items = [line[2:] for line in lines if line.startswith("- ")]
            for sentence in split_sentences(" ".join(head)):
                units.append(_Unit(sentence, passage, len(units)))
            if units and units[-1].text.endswith(":"):
                units[-1].lead_in = True
                units[-1].items = items
            for item in items:
                units.append(_Unit(item, passage, len(units)))
        else:
            for sentence in split_sentences(para.replace("\n", " ")):
                units.append(_Unit(sentence, passage, len(units)))
    return units


class ExtractiveAnswerer:
    """Compose answers from the best-matching sentences of the retrieved passages."""

    def __init__(self, settings: AnswerSettings, bm25: BM25 | None = None):
        self.settings = settings
        self.bm25 = bm25

    def _idf(self, token: str) -> float:
        return self.bm25.idf_of(token) if self.bm25 else 1.0

    def evidence(self, question: str, passages: list[Passage]) -> float:
        """Return how well the passages support an answer (0..1)."""
        if not passages:
            return 0.0
        q = set(tokens(question))
        top = passages[:3]
        if q:
            total = sum(self._idf(t) for t in q)
            covered = max(sum(self._idf(t) for t in q & set(tokens(p.chunk.indexed_text)))
                          for p in top)
            lexical = covered / total if total else 0.0
        else:
            lexical = 0.0
        dense_values = [p.dense for p in top if p.dense is not None]
        if not dense_values:
            return lexical
        dense = max(dense_values)
        # Cosine similarities of this model sit roughly in 0.2 (unrelated) .. 0.7 (on topic).
        dense_scaled = min(1.0, max(0.0, (dense - 0.2) / 0.5))
        return 0.5 * lexical + 0.5 * dense_scaled

    def select(self, question: str, passages: list[Passage]) -> list[_Unit]:
        """Return the units that best answer the question, in reading order."""
        q = tokens(question)
        qset = set(q)
        total = sum(self._idf(t) for t in qset) or 1.0
        scored: list[tuple[float, _Unit]] = []
        for p in passages[:4]:
            prior = 1.0 / (1.0 + 0.35 * (p.rank - 1))
            for unit in _units(p):
                unit_tokens = set(tokens(unit.text))
                overlap = sum(self._idf(t) for t in qset & unit_tokens) / total
                # A unit is worth quoting for its own words and a little for its passage's rank.
                score = (0.25 + overlap) * prior
                if len(unit.text) < 25:
                    score *= 0.5
                scored.append((score, unit))
        if not scored:
            return []
        scored.sort(key=lambda su: -su[0])
        best = scored[0][0]
        chosen = [u for s, u in scored if s >= 0.55 * best][: self.settings.max_sentences]
        order = {id(p): p.rank for p in passages}
        chosen.sort(key=lambda u: (order.get(id(u.passage), 99), u.position))
        return chosen

    def answer(self, question: str, passages: list[Passage]) -> Answer:
        """Return a cited answer, or a refusal when the evidence is weak."""
        contexts = contexts_of(passages)
        evidence = self.evidence(question, passages)
        if evidence < self.settings.min_evidence or not passages:
            return Answer(question=question, answer=REFUSAL_ANSWER, refused=True,
                          contexts=contexts, evidence=evidence)
        units = self.select(question, passages)
        return compose(question, units, contexts, evidence)

    def stream(self, question: str, passages: list[Passage]) -> Iterator[str | Answer]:
        """Yield the answer text piece by piece, then the finished Answer."""
        result = self.answer(question, passages)
        for piece in re.split(r"(?<=\]) ", result.answer):
            yield piece + " "
        yield result


def compose(question: str, units: list[_Unit], contexts: list[Context],
            evidence: float) -> Answer:
    """Number the cited passages and write the answer with [n] after each passage's text."""
    numbers: dict[str, int] = {}
    quotes: dict[str, list[str]] = {}
    parts: list[str] = []
    included: set[str] = set()
    for unit in units:
        if unit.text in included:
            continue
        included.add(unit.text)
        chunk = unit.passage.chunk
        n = numbers.setdefault(chunk.chunk_id, len(numbers) + 1)
        text = unit.text
        quotes.setdefault(chunk.chunk_id, []).append(text)
        if unit.lead_in and unit.items:
            items = [item for item in unit.items[:8] if item not in included]
            included.update(items)
            text = text + "\n" + "\n".join(f"- {item}" for item in items)
            quotes[chunk.chunk_id].extend(items)
        parts.append(f"{text} [{n}]")
    citations = []
    by_id = {u.passage.chunk.chunk_id: u.passage.chunk for u in units}
    for chunk_id, n in numbers.items():
        chunk = by_id[chunk_id]
        citations.append(Citation(n=n, chunk_id=chunk_id, source=chunk.source, title=chunk.title,
                                  section=chunk.section, page=chunk.page,
                                  quote=" … ".join(dict.fromkeys(quotes[chunk_id]))))
    answer = _merge_markers(" ".join(parts))
    return Answer(question=question, answer=answer, refused=False, citations=citations,
                  contexts=contexts, evidence=evidence)


def _merge_markers(text: str) -> str:
    """Write "A [1] B [1]" as "A B [1]" when consecutive sentences cite the same passage."""
    return re.sub(r" \[(\d+)\](\s+)(?=[^\[]*? \[\1\](?:\s|$))", r"\2", text)
