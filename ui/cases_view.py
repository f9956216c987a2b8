"""Pure helpers and Swedish labels of the case page (ui/app_pages/cases.py).

Nothing here imports Streamlit. Card text reaches the page only through
ui.render.escape_markdown: a user's own card must show as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from assistant.cases.cards import ARENAS, KINDS, STARTED_BY, Case
from assistant.cases.catalog import INDUSTRIES, CaseQuery, Catalog
from assistant.prompts import CASE_FIELD_LABELS, CASE_KIND_LABELS
from ui import render

PAGE_PATH = "app_pages/cases.py"
QUERY_KEY = "case"            # ?case=<slug> opens one card (links from chat citations)

PAGE_TITLE = "Fallexempel"
PAGE_INTRO = (
    "Rapportens namngivna exempel: vilket ASF som gör affärer med vem, i vilken bransch, hur "
    "affärerna började och vad samarbetsparten värdesätter. Varje uppgift bygger på ett "
    "ordagrant citat ur rapporten."
)
FILTER_TEXT = "Sök i fallkorten"
FILTER_TEXT_PLACEHOLDER = "Till exempel: Volvo, hörselskydd, flexibilitet"
FILTER_INDUSTRY = "Bransch"
FILTER_ARENA = "Arena"
FILTER_STARTED = "Så började affärerna"
FILTER_PLACE = "Ort"
FILTER_KIND = "Typ"
COUNT = "{count} av {total} fallexempel"
NONE = "Inga fallexempel matchar filtren. Ta bort något filter."
EMPTY = "Det finns inga fallkort ännu. Lägg YAML-filer i corpus/cases/ (se TEMPLATE.md)."
PICK_CASE = "Öppna ett fallkort"
CARD_SOURCE = "Fil: {source}"
CARD_SECTION = "**Avsnitt i rapporten:** {section}"
CARD_ERRORS = "Fallkort som inte kunde läsas: {error}"
OPEN_CARD = "Öppna fallkortet {name}"
MISSING = "–"
MISSING_NOTE = "– betyder att rapporten inte anger uppgiften för det fallet."
COLUMNS = {"name": "Namn", "kind": "Typ", "place": "Ort", "industry": "Bransch",
           "arena": "Arena", "started_by": "Så började affärerna", "section": "Avsnitt"}


def industry_options(catalog: Catalog) -> list[str]:
    """Return the industry concepts that at least one card matches."""
    return [label for label in INDUSTRIES
            if catalog.filter(CaseQuery(industry=[label]))]


def filter_options(catalog: Catalog) -> dict[str, list[str]]:
    """Return the choices of each filter, limited to values some card has."""
    used = {name: {v for c in catalog for v in c.values(name)} for name in ("arena", "started_by")}
    return {
        "industry": industry_options(catalog),
        "arena": [a for a in ARENAS if a in used["arena"]],
        "started_by": [s for s in STARTED_BY if s in used["started_by"]],
        "place": catalog.places(),
        "kind": [k for k in KINDS if any(c.kind == k for c in catalog)],
    }


def kind_label(kind: str) -> str:
    """Return a kind in Swedish."""
    return CASE_KIND_LABELS.get(kind, kind)


def table_rows(cases: Iterable[Case]) -> list[dict[str, str]]:
    """Return one plain-text row per case; a fact the report does not give shows MISSING."""
    return [{
        COLUMNS["name"]: c.name, COLUMNS["kind"]: c.kind_label,
        COLUMNS["place"]: "; ".join(c.values("place")) or MISSING,
        COLUMNS["industry"]: "; ".join(c.values("industry")) or MISSING,
        COLUMNS["arena"]: ", ".join(c.values("arena")) or MISSING,
        COLUMNS["started_by"]: ", ".join(c.values("started_by")) or MISSING,
        COLUMNS["section"]: c.section,
    } for c in cases]


def table_markdown(cases: Iterable[Case]) -> list[dict[str, str]]:
    """Return the rows for st.table, which wraps long text (a dataframe cuts it off) and
    reads cells as Markdown: every cell is escaped, so card text never becomes markup."""
    return [{name: render.escape_markdown(value) for name, value in row.items()}
            for row in table_rows(cases)]


def card_markdown(case: Case) -> list[str]:
    """Return the card as safe Markdown blocks: each fact's value, then its quote."""
    blocks = [f"### {render.escape_markdown(case.name)}",
              render.escape_markdown(f"{case.about}")]
    for name, fact in case.facts():
        blocks.append(f"**{CASE_FIELD_LABELS[name]}:** {render.escape_markdown(fact.value)}")
        blocks.append("> " + render.escape_markdown(f"”{fact.quote}”").replace("\n", "\n> "))
    blocks.append(CARD_SECTION.format(section=render.escape_markdown(case.section)))
    return blocks


def selected_slug(query_value: Any, slugs: Sequence[str]) -> str | None:
    """Return the slug a ?case= link asks for, when that case is in the list."""
    value = query_value[0] if isinstance(query_value, list) and query_value else query_value
    return value if isinstance(value, str) and value in slugs else None


def link_for_citation(source: str) -> dict[str, str] | None:
    """Return the query parameters that open a cited case card, or None for other sources.

    For the chat page: st.page_link(PAGE_PATH, query_params=link_for_citation(c.source)).
    """
    from assistant.cases.cards import case_slug_of

    slug = case_slug_of(source)
    return {QUERY_KEY: slug} if slug else None
