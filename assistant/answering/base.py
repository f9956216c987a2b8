"""Answering: what every answer backend is (the Answerer protocol) and shares.

A backend turns a question and its retrieved passages into a cited Answer, streamed as text
pieces followed by the finished Answer (`stream`) or at once (`answer`). The extractive
backend (extractive.py) quotes sentences; the LLM backend (llm.py) writes and is checked.
A backend that can also rewrite a follow-up into a standalone question is a Rewriter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from assistant.prompts import (
    CLOSEST_MARKDOWN_HEADING,
    REFUSAL_ANSWER,
    SOURCES_MARKDOWN_HEADING,
)
from assistant.types import Answer, Context, Passage


@runtime_checkable
class Answerer(Protocol):
    """Passages -> a cited Answer."""

    def answer(self, question: str, passages: list[Passage]) -> Answer:
        """Return the finished answer."""
        ...

    def stream(self, question: str, passages: list[Passage]) -> Iterator[str | Answer]:
        """Yield pieces of the answer text, then the finished Answer."""
        ...


@runtime_checkable
class Rewriter(Protocol):
    """A follow-up question and the conversation so far -> a standalone question."""

    def rewrite(self, question: str, history: Sequence[dict | str]) -> str:
        """Return the question made standalone."""
        ...


def source_lines(answer: Answer) -> list[str]:
    """Return the lines that list an answer's sources (or, for a refusal, the closest ones)."""
    lines = []
    if answer.refused:
        lines.append("Närmaste avsnitt:")
        for ctx in answer.contexts[:3]:
            page = f", s. {ctx.page}" if ctx.page else ""
            lines.append(f"  • {ctx.title} – {ctx.section}{page}")
            lines.append(f"    ”{ctx.text[:220]}{'…' if len(ctx.text) > 220 else ''}”")
    else:
        lines.append("Källor:")
        for c in answer.citations:
            page = f", s. {c.page}" if c.page else ""
            lines.append(f"  [{c.n}] {c.title} – {c.section}{page}")
            lines.append(f"      ”{c.quote}”")
    return lines


def source_markdown(answer: Answer) -> str:
    """Return an answer's sources as a Markdown list, one item per source with its quote.

    For chat clients that render Markdown: indented lines would run together into one
    paragraph (or a code block) there.
    """
    if answer.refused:
        lines = [CLOSEST_MARKDOWN_HEADING, ""]
        for ctx in answer.contexts[:3]:
            page = f", s. {ctx.page}" if ctx.page else ""
            quote = " ".join(ctx.text[:220].split()) + ("…" if len(ctx.text) > 220 else "")
            lines.append(f"- {ctx.title} – {ctx.section}{page}  \n  ”{quote}”")
        return "\n".join(lines)
    lines = [SOURCES_MARKDOWN_HEADING, ""]
    for c in answer.citations:
        page = f", s. {c.page}" if c.page else ""
        lines.append(f"- [{c.n}] {c.title} – {c.section}{page}  \n  ”{' '.join(c.quote.split())}”")
    return "\n".join(lines)


def final_answer(events: Iterable[str | Answer]) -> Answer:
    """Drain a stream of answer events and return the finished Answer at its end."""
    result: Answer | None = None
    for event in events:
        if isinstance(event, Answer):
            result = event
    if result is None:
        raise RuntimeError("answer stream ended without an Answer")
    return result


def by_match(passages: list[Passage]) -> list[Passage]:
    """Return the passages best direct match first.

    Retrieval ranks the passages below the first partly by their neighbours, which helps
    show the right context; the answer is drawn from the passages that match by themselves.
    """
    return sorted(passages, key=lambda p: (-p.direct, p.rank))


def contexts_of(passages: list[Passage]) -> list[Context]:
    """Return the passages as contexts in rank order."""
    return [Context(rank=p.rank, chunk_id=p.chunk.chunk_id, source=p.chunk.source,
                    title=p.chunk.title, section=p.chunk.section, page=p.chunk.page,
                    text=p.chunk.text, score=round(p.score, 6)) for p in passages]


def refusal(question: str, contexts: list[Context], evidence: float) -> Answer:
    """Return the fixed refusal with the closest passages as contexts."""
    return Answer(question=question, answer=REFUSAL_ANSWER, refused=True, contexts=contexts,
                  evidence=evidence)
