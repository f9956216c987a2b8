"""Answering: list-of-cases questions answered from the case catalog, one citation per case."""

from __future__ import annotations

from assistant.cases.cards import case_chunk
from assistant.cases.catalog import Catalog, question_query
from assistant.prompts import (
    CASES_ANSWER_ALL,
    CASES_ANSWER_INTRO,
    CASES_ANSWER_INTRO_ONE,
    CASES_ANSWER_NOTE,
)
from assistant.types import Answer, Citation, Context


def answer_from_catalog(catalog: Catalog, question: str) -> Answer | None:
    """Answer a list-of-cases question from the catalog, or return None to fall through.

    Every matching case gets one line and one citation whose quote is its verbatim report
    text (the quotes of the fields that matched, else its summary quote).
    """
    if not len(catalog):
        return None
    query = question_query(question, catalog)
    if query is None:
        return None
    matches = catalog.filter(query)
    if not matches:
        return None
    if query.empty():
        intro = CASES_ANSWER_ALL.format(count=len(matches))
    elif len(matches) == 1:
        intro = CASES_ANSWER_INTRO_ONE.format(criteria=query.criteria())
    else:
        intro = CASES_ANSWER_INTRO.format(count=len(matches), criteria=query.criteria())
    lines, citations, contexts = [intro], [], []
    for n, match in enumerate(matches, start=1):
        case, chunk = match.case, case_chunk(match.case)
        quotes = match.quotes()
        lines.append(f"- {case.name} ({case.about}): {' … '.join(quotes)} [{n}]")
        citations.append(Citation(n=n, chunk_id=chunk.chunk_id, source=case.source,
                                  title=case.title, section=case.section, page=None,
                                  quote=" … ".join(quotes)))
        contexts.append(Context(rank=n, chunk_id=chunk.chunk_id, source=case.source,
                                title=case.title, section=case.section, page=None,
                                text=chunk.text, score=1.0))
    return Answer(question=question, answer="\n".join(lines), refused=False,
                  citations=citations, contexts=contexts, evidence=1.0, note=CASES_ANSWER_NOTE)

