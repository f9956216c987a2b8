"""The sources page: browse the report by section, search, list and upload documents."""

from __future__ import annotations

import streamlit as st

from assistant.index.private import is_private
from assistant.pipeline import QuestionError
from ui import render, state, texts
from ui.uploads import UploadJob, start_upload


def _step(key: str, step: int, total: int) -> None:
    st.session_state[key] = min(max(st.session_state.get(key, 0) + step, 0), total - 1)


@st.fragment(run_every=1.0)
def upload_progress() -> None:
    """Show the running upload's progress, estimate and cancel button (redrawn every second;
    the whole page is drawn again when it is done)."""
    job = state.upload_job()
    if job is None or not job.running:
        st.rerun()
        return
    _draw_progress(job)


def _draw_progress(job: UploadJob) -> None:
    name = render.escape_markdown(job.name)
    if not job.total:
        st.progress(0.0, text=texts.UPLOAD_SAVING.format(name=name))
    else:
        left = job.time_left()
        text = texts.UPLOAD_PROGRESS.format(done=job.done, total=job.total)
        text += texts.UPLOAD_ESTIMATE.format(time=left) if left else texts.UPLOAD_ESTIMATING
        st.progress(job.done / job.total, text=text)
    st.button(texts.UPLOAD_CANCEL, icon=":material/cancel:", on_click=job.cancel,
              key="upload-cancel")


shared = state.assistant_or_stop()
assistant = state.session_assistant(shared)
private = state.private_documents()
st.title(texts.SOURCES_TITLE)
st.caption(texts.SOURCES_INTRO)
browse, search, documents, upload = st.tabs(
    [texts.TAB_BROWSE, texts.TAB_SEARCH, texts.TAB_DOCUMENTS, texts.TAB_UPLOAD])
sources = assistant.index.sources()
titles = {source: str(info.get("title") or source) for source, info in sources.items()}

with browse:
    grouped = render.group_sections(assistant.retriever.index.chunks())
    if not grouped:
        st.info(texts.DOCUMENTS_EMPTY)
    else:
        titles |= {d.source: d.chunks[0].title for d in private if d.chunks}
        # The report first, uploaded documents after it, the cards last, the session's
        # own uploads at the very end.
        order = sorted(render.document_order(grouped, titles), key=is_private)
        source = st.selectbox(texts.PICK_DOCUMENT, order, format_func=lambda s: titles.get(s, s),
                              key="browse-source")
        sections = grouped[source]
        key = f"browse-section-{source}"
        index = st.selectbox(
            texts.PICK_SECTION, range(len(sections)), key=key,
            format_func=lambda i: render.location(sections[i].section, sections[i].page))
        st.caption(texts.SECTION_POSITION.format(n=index + 1, total=len(sections)))
        with st.container(border=True):
            st.markdown(render.escape_markdown(sections[index].text))
        previous, following = st.columns(2)
        previous.button(texts.PREVIOUS_SECTION, icon=":material/arrow_back:", on_click=_step,
                        args=(key, -1, len(sections)), disabled=index == 0, width="stretch")
        following.button(texts.NEXT_SECTION, icon=":material/arrow_forward:", on_click=_step,
                         args=(key, 1, len(sections)), disabled=index >= len(sections) - 1,
                         width="stretch")

with search:
    query = st.text_input(texts.SEARCH_LABEL, placeholder=texts.SEARCH_PLACEHOLDER,
                          key="search-query")
    hits = []
    if query.strip():
        try:
            hits = assistant.retriever.retrieve(assistant.check_question(query))
        except QuestionError as exc:
            st.warning(str(exc))
        else:
            if not hits:
                st.info(texts.SEARCH_NONE)
    for hit in hits:
        chunk = hit.chunk
        with st.container(border=True):
            st.markdown("**" + render.escape_markdown(texts.SEARCH_HIT.format(
                rank=hit.rank, title=chunk.title,
                section=render.location(chunk.section, chunk.page))) + "**")
            st.markdown(render.escape_markdown(chunk.text))

with documents:
    if private:
        st.caption(texts.PRIVATE_FILES.format(
            names=", ".join(render.escape_markdown(d.name) for d in private)))
    if not sources:
        st.info(texts.DOCUMENTS_EMPTY)
    else:
        # A dataframe shows its cells as plain text, so titles need no escaping here.
        st.dataframe(
            [{texts.DOCUMENTS_COLUMNS["title"]: titles[s],
              texts.DOCUMENTS_COLUMNS["source"]: s,
              texts.DOCUMENTS_COLUMNS["chunks"]: info["chunks"]}
             for s, info in ((s, sources[s]) for s in render.document_order(sources, titles))],
            hide_index=True, width="stretch")

with upload:
    st.caption(texts.UPLOAD_PRIVATE)
    last = st.session_state.pop(state.UPLOAD_RESULT, None)
    if last is not None:
        (st.success if last[0] else st.error)(render.escape_markdown(last[1]))
    job = state.upload_job()
    if job is not None:
        upload_progress()
    else:
        limit = assistant.settings.max_upload_mb
        # The widget states the app's limit; its English texts (and its refusal of a larger
        # file) are shown in Swedish by ui/swedish.py. Checked here too, as soon as a file is
        # chosen.
        file = st.file_uploader(texts.UPLOAD_LABEL.format(limit=limit),
                                type=["pdf", "txt", "md"], max_upload_size=limit,
                                key="upload-file")
        refused = render.check_upload(file.name, file.size, limit) if file is not None else None
        if refused:
            st.error(render.escape_markdown(refused))
        if st.button(texts.UPLOAD_BUTTON, icon=":material/upload_file:",
                     disabled=file is None or refused is not None, type="primary"):
            assert file is not None
            # Read in the background: this session's page stays usable, and no other
            # session waits for it.
            st.session_state[state.UPLOAD_JOB] = start_upload(shared, file.name,
                                                              file.getvalue(), private)
            st.rerun()
