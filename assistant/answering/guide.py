"""Answering: a broad answer that leads with a guide card's points.

A guide card (corpus/guide/*.yaml) is an editor's answer to a question users ask often: its
points are verbatim quotes of the documents, chosen and ordered as an expert would answer. A
broad question that matches a card gets the card's points first, under the card's title, each
cited at the document passage that holds it (never at the card), then the engine's own broad
answer with what the card does not already say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from assistant.cases.guide import locate
from assistant.ingest.chunking import split_units
from assistant.prompts import (
    BROAD_POINTS_HEADING,
    GUIDE_HEADING,
    GUIDE_MORE_HEADING,
    GUIDE_NOTE,
)
from assistant.retrieval.guide import GuideEntry
from assistant.text import collapse, split_sentences
from assistant.types import Answer, Chunk, Citation

_MARKER = re.compile(r"\[(\d+)\]")
_LIST_START = ": - "


def list_items(quote: str, chunk: Chunk | None = None) -> tuple[str, list[str]]:
    """Return a quoted list's lead-in and items (the report's " - " before each item, after a
    lead-in ending in a colon), shown as sub-bullets; other quotes have no items.

    An item may hold " - " itself ("Borås - tema Textilbranschen."), so the items are taken
    from the quote's passage when it lists them; splitting the quote at every " - " made
    "Borås" and "tema Textilbranschen." two bullets.
    """
    if _LIST_START not in quote:
        return quote, []
    lead, rest = quote.split(_LIST_START, 1)
    rest = collapse(rest)
    for unit in split_units(chunk.text) if chunk is not None else []:
        source = [collapse(item) for item in unit.items]
        for k in range(1, len(source) + 1):
            if " - ".join(source[:k]) == rest:
                return f"{lead}:", source[:k]
    return f"{lead}:", [item for item in rest.split(" - ") if item]


def _point_chunk(entry: GuideEntry, i: int, chunks: Mapping[str, Chunk]) -> Chunk | None:
    """Return the indexed passage holding a card's point `i`, or None when none does.

    The retriever located each point's passage once per index version (GuideEntry); a card
    built without them is located here.
    """
    quote, section = entry.points[i]
    known = entry.passages[i] if i < len(entry.passages) else None
    return chunks.get(known) if known else locate(quote, section, chunks.values())


def card_sentences(entry: GuideEntry, chunks: Mapping[str, Chunk]) -> frozenset[str]:
    """Return the sentences a card quotes, as answers compare them (whitespace collapsed); a
    quoted list gives its lead-in and its items too, as answers split lists (`chunks`, the
    indexed passages by id, give a list's items as its passage has them)."""
    found: set[str] = set()
    for i, (quote, _) in enumerate(entry.points):
        chunk = _point_chunk(entry, i, chunks)
        lead, items = list_items(collapse(quote), chunk)
        for text in (lead, *items):
            found.add(text)
            found.update(collapse(sentence) for sentence in split_sentences(text))
        # The passage's own units within the quote: a quote may run over a paragraph break
        # that its sentences do not show ("… lokalsamhället:" / "”Vi arbetar …”").
        whole = collapse(quote)
        for unit in split_units(chunk.text) if chunk is not None else []:
            found.update(t for t in map(collapse, (unit.text, *unit.items)) if t and t in whole)
    return frozenset(found)


def card_part(entry: GuideEntry, chunks: Mapping[str, Chunk], exclude: frozenset[str] = frozenset()
              ) -> tuple[list[str], list[Citation]]:
    """Return the card's lines (its title, then one bullet a point) and their citations;
    `chunks` are the indexed passages by id.

    A point the conversation already quoted whole is left out; a point whose quote no indexed
    passage holds any longer is left out too (`asf ingest` reports it, naming the card).
    """
    lines = [GUIDE_HEADING.format(title=entry.title)]
    citations: list[Citation] = []
    by_chunk: dict[str, Citation] = {}
    for i, (quote, _) in enumerate(entry.points):
        sentences = [collapse(s) for s in split_sentences(quote)]
        if sentences and all(s in exclude for s in sentences):
            continue
        chunk = _point_chunk(entry, i, chunks)
        if chunk is None:
            continue
        citation = by_chunk.get(chunk.chunk_id)
        if citation is None:
            citation = Citation(n=len(citations) + 1, chunk_id=chunk.chunk_id,
                                source=chunk.source, title=chunk.title, section=chunk.section,
                                page=chunk.page, quote=collapse(quote))
            by_chunk[chunk.chunk_id] = citation
            citations.append(citation)
        else:
            citation.quote = f"{citation.quote} … {collapse(quote)}"
        lead, items = list_items(collapse(quote), chunk)
        lines.append(f"- {lead} [{citation.n}]")
        lines.extend(f"  - {item}" for item in items)
    return (lines if citations else []), citations


def lead_with_card(entry: GuideEntry, lines: list[str], citations: list[Citation],
                   rest: Answer | None, second: Answer | None = None) -> Answer:
    """Return the card's part, a second card's part when one is given (an Answer whose text
    is that card's lines), then the engine's answer, each renumbered after the citations
    before it (a passage cited twice keeps its first number)."""
    merged = [Citation(**vars(c)) for c in citations]
    by_chunk = {c.chunk_id: c for c in merged}
    text = "\n".join(lines)
    for part, heading in ((second, None), (rest, GUIDE_MORE_HEADING)):
        if part is None or part.refused or not part.answer.strip():
            continue
        body = _renumbered(part, merged, by_chunk)
        if heading:
            # The engine's part without a passage of its own opens with its points' heading
            # ("Källorna tar upp:"); under "Mer ur källorna:" that says it twice.
            body = body.removeprefix(f"{BROAD_POINTS_HEADING}\n")
        text = f"{text}\n\n{heading}\n{body}" if heading else f"{text}\n\n{body}"
    base = rest or Answer(question="", answer="", refused=False)
    return Answer(question=base.question, answer=text, refused=False, citations=merged,
                  contexts=base.contexts, evidence=base.evidence, note=GUIDE_NOTE,
                  guide=entry.id)


def _renumbered(part: Answer, merged: list[Citation], by_chunk: dict[str, Citation]) -> str:
    """Return a part's text with its citations moved into `merged` (extended in place)."""
    numbers: dict[int, int] = {}
    for c in part.citations:
        if c.chunk_id in by_chunk:
            known = by_chunk[c.chunk_id]
            known.quote = " … ".join(dict.fromkeys([*known.quote.split(" … "),
                                                    *c.quote.split(" … ")]))
            numbers[c.n] = known.n
        else:
            moved = Citation(**{**vars(c), "n": len(merged) + 1})
            merged.append(moved)
            by_chunk[c.chunk_id] = moved
            numbers[c.n] = moved.n
    return _MARKER.sub(lambda m: f"[{numbers.get(int(m.group(1)), int(m.group(1)))}]",
                       part.answer.strip())
