"""Answering: list-of-cases questions answered from the case catalog, one citation per case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from assistant.cases.cards import case_chunk
from assistant.cases.catalog import Catalog, question_query
from assistant.lexicon import pattern
from assistant.prompts import (
    CASES_ANSWER_ALL,
    CASES_ANSWER_ELSEWHERE,
    CASES_ANSWER_ELSEWHERE_ONE,
    CASES_ANSWER_INTRO,
    CASES_ANSWER_INTRO_ONE,
    CASES_ANSWER_MORE,
    CASES_ANSWER_NOTE,
    CASES_NO_MORE,
    CASES_NONE_IN_PLACE,
)
from assistant.types import Answer, Citation, Context

# "Vilka fler exempel finns?", "Finns det andra?": cases an earlier answer listed are left out.
_MORE = pattern("answering.more")


def answer_from_catalog(catalog: Catalog, question: str, earlier: Sequence[str] = (),
                        shown: frozenset[str] = frozenset()) -> Answer | None:
    """Answer a list-of-cases question from the catalog, or return None to fall through.

    Every matching case gets one line and one citation whose quote is its verbatim report
    text (the quotes of the fields that matched, else its summary quote).

    In a conversation `earlier` holds the user's earlier questions. Only a question that itself
    asks for cases is answered here ("och hur får vi samarbetet att hålla?" after a list of
    cases is not). One that names no filter of its own ("Finns det fler exempel?") takes them
    from the latest earlier question that names one, and one that asks for more leaves out the
    cases in `shown` (the names earlier answers gave).
    """
    if not len(catalog):
        return None
    query = question_query(question, catalog)
    if (query is None and earlier and _MORE.search(question)
            and question_query(earlier[-1], catalog) is not None):
        # "Finns det fler från fastighetsbranschen?" after a list of cases asks for cases.
        query = question_query(f"{question.rstrip('?!. ')} exempel", catalog)
    if query is None:
        return None
    carried = False
    if earlier and query.empty():
        # The latest filter said in the conversation: "Finns det exempel från vår bransch?"
        # two turns after "Vi är ett fastighetsbolag …" asks for the property sector.
        for turn in reversed(earlier):
            said = question_query(f"{question} ({turn})", catalog)
            if said is not None and not said.empty():
                query, carried = said, True
                break
    matches = catalog.filter(query)
    place = ""
    if (not matches and carried and query.place
            and not replace(query, place=[]).empty()):
        # "Finns det exempel från vår bransch?" after "Vi är ett fastighetsbolag i Västerås":
        # the place came along with the sector, and no card from it fits, so say so and give
        # the sector's cases from elsewhere. A question that names its place itself falls
        # through instead (measured: the broad answer found a case near that place).
        place = ", ".join(query.place)
        query = replace(query, place=[])
        matches = catalog.filter(query)
    if not matches:
        return None
    more = bool(earlier) and bool(shown) and bool(_MORE.search(question))
    criteria = f" ({query.criteria()})" if not query.empty() else ""
    if more:
        before = len(matches)
        matches = [m for m in matches if m.case.name not in shown]
        if not matches:
            named = "det" if before == 1 else f"de {before}"
            return Answer(question=question, refused=False, note=CASES_ANSWER_NOTE,
                          answer=CASES_NO_MORE.format(named=named, criteria=criteria))
        intro = CASES_ANSWER_MORE.format(count=len(matches), criteria=criteria)
    elif place:
        intro = (CASES_ANSWER_ELSEWHERE_ONE if len(matches) == 1 else CASES_ANSWER_ELSEWHERE
                 ).format(place=place, count=len(matches), criteria=query.criteria())
    elif query.empty():
        intro = CASES_ANSWER_ALL.format(count=len(matches))
    elif len(matches) == 1:
        intro = CASES_ANSWER_INTRO_ONE.format(criteria=query.criteria())
    else:
        intro = CASES_ANSWER_INTRO.format(count=len(matches), criteria=query.criteria())
    if more and place:
        intro = f"{CASES_NONE_IN_PLACE.format(place=place)} {intro}"
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

