"""The meeting-planning page: a form, the plan part by part with source cards, downloads."""

from __future__ import annotations

import streamlit as st

from assistant.planner import PlanError, Planner, PlanRequest, parse_length
from assistant.prompts import PLAN_FAILED, PLAN_TARGET_GROUPS
from assistant.types import Answer
from ui import components, render, state
from ui import plan_view as view

assistant = state.assistant_or_stop()
st.title(view.PAGE_TITLE)
st.caption(view.PAGE_INTRO)

with st.form("plan-form"):
    theme = st.selectbox(view.FORM_THEME, view.REPORT_THEMES, index=None,
                         accept_new_options=True, help=view.FORM_THEME_HELP, key="plan-theme",
                         placeholder=view.FORM_THEME_PLACEHOLDER)
    place = st.text_input(view.FORM_PLACE, key="plan-place")
    groups = st.multiselect(view.FORM_GROUPS, PLAN_TARGET_GROUPS, key="plan-groups",
                            placeholder=view.FORM_GROUPS_PLACEHOLDER, select_all=False)
    left, right = st.columns(2)
    with left:
        participants = st.number_input(view.FORM_PARTICIPANTS, min_value=0, max_value=100000,
                                       value=25, step=5, key="plan-participants")
    with right:
        length = st.selectbox(view.FORM_LENGTH, view.LENGTHS, index=2, key="plan-length")
    submitted = st.form_submit_button(view.FORM_SUBMIT, type="primary")

if submitted:
    try:
        request = PlanRequest(theme=theme or "", place=place, groups=tuple(groups),
                              participants=int(participants),
                              minutes=parse_length(length)).checked()
        # One planner per session: it keeps the vectors of the parts' fixed topics.
        planner = st.session_state.get("planner")
        if not isinstance(planner, Planner) or planner.assistant is not assistant:
            planner = st.session_state["planner"] = Planner(assistant)
        with st.spinner(view.MAKING):
            step = st.empty()          # the planner's steps, in Swedish, as it takes them
            st.session_state["plan"] = planner.plan(request, progress=step.caption)
            step.empty()
        st.session_state.pop("plan-error", None)
    except PlanError as exc:
        st.session_state["plan-error"] = str(exc)
        st.session_state.pop("plan", None)
    except Exception as exc:  # noqa: BLE001 - a Swedish message instead of a trace
        st.session_state["plan-error"] = PLAN_FAILED.format(error=exc)
        st.session_state.pop("plan", None)

if error := st.session_state.get("plan-error"):
    st.error(render.escape_markdown(error))
plan = st.session_state.get("plan")
if plan is not None:
    numbers = [c.n for c in plan.citations]
    st.header(render.escape_markdown(plan.title))
    st.caption(render.escape_markdown(plan.summary()))
    if basis := plan.basis():
        st.markdown(render.escape_markdown(basis))
    if plan.note:
        st.info(render.escape_markdown(plan.note))
    left, right = st.columns(2)
    stem = view.file_stem(plan)
    with left:
        st.download_button(view.DOWNLOAD_MD, plan.to_markdown(), file_name=f"{stem}.md",
                           mime="text/markdown", key="plan-md")
    with right:
        st.download_button(view.DOWNLOAD_DOCX, plan.to_docx(), file_name=f"{stem}.docx",
                           mime="application/vnd.openxmlformats-officedocument."
                                "wordprocessingml.document", key="plan-docx")
    for section in plan.sections:
        st.subheader(render.escape_markdown(section.heading))
        table_shown = False
        for line in section.lines:
            if line.kind == "agenda":
                if not table_shown:       # the agenda as one table where it starts
                    st.table(view.agenda_table(section))
                    table_shown = True
                continue
            text = render.answer_markdown(view.line_markdown(line), numbers)
            st.markdown(text if line.kind == "text" else f"• {text}")
    st.subheader(view.SOURCES)
    shown = Answer(question=plan.title, answer="", refused=False, citations=plan.citations)
    for citation in plan.citations:
        components.citation(assistant, shown, citation, key=f"plan-source-{citation.n}")
