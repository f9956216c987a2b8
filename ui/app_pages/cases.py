"""The case page: the report's named examples, filtered in a table, each opening to its card.

A chat citation of a case links here with ?case=<slug>, which opens that card.
"""

from __future__ import annotations

import streamlit as st

from assistant.cases.catalog import CaseQuery
from assistant.text import tokens
from ui import cases_view as view
from ui import render, state, texts

assistant = state.assistant_or_stop()
catalog = assistant.catalog
st.title(view.PAGE_TITLE)
st.caption(view.PAGE_INTRO)
for error in catalog.errors:
    st.warning(render.escape_markdown(view.CARD_ERRORS.format(error=error)))
if not len(catalog):
    st.info(view.EMPTY)
    st.stop()

options = view.filter_options(catalog)
text = st.text_input(view.FILTER_TEXT, placeholder=view.FILTER_TEXT_PLACEHOLDER,
                     key="cases-text")
left, right = st.columns(2)
# Swedish placeholders and no "Select all" (a filter with every value is no filter).
choice = {"placeholder": texts.MULTISELECT_PLACEHOLDER, "select_all": False}
with left:
    industry = st.multiselect(view.FILTER_INDUSTRY, options["industry"], key="cases-industry",
                              **choice)
    arena = st.multiselect(view.FILTER_ARENA, options["arena"], key="cases-arena", **choice)
    kind = st.multiselect(view.FILTER_KIND, options["kind"], key="cases-kind",
                          format_func=view.kind_label, **choice)
with right:
    started_by = st.multiselect(view.FILTER_STARTED, options["started_by"], key="cases-started",
                                **choice)
    place = st.multiselect(view.FILTER_PLACE, options["place"], key="cases-place", **choice)

query = CaseQuery(industry=industry, arena=arena, started_by=started_by, place=place, kind=kind,
                  text=list(dict.fromkeys(tokens(text))))
matches = catalog.filter(query)
st.caption(view.COUNT.format(count=len(matches), total=len(catalog)))
if not matches:
    st.info(view.NONE)
    st.stop()
# A table, not a dataframe: it wraps long cells instead of cutting them off.
st.table(view.table_markdown(m.case for m in matches), hide_index=True)
st.caption(view.MISSING_NOTE)

slugs = [m.case.slug for m in matches]
names = {m.case.slug: m.case.name for m in matches}
wanted = view.selected_slug(st.query_params.get(view.QUERY_KEY), slugs)
slug = st.selectbox(view.PICK_CASE, slugs, index=slugs.index(wanted) if wanted else 0,
                    format_func=lambda s: names[s], key=f"cases-pick-{wanted or ''}")
case = next(m.case for m in matches if m.case.slug == slug)
with st.container(border=True):
    for block in view.card_markdown(case):
        st.markdown(block)
    st.caption(render.escape_markdown(view.CARD_SOURCE.format(source=case.source)))
