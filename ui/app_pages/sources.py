"""The sources page: browse the report by section, search, list and upload documents."""

from __future__ import annotations

import streamlit as st

from assistant.pipeline import QuestionError
from ui import render, state, texts
from ui.uploads import ingest_upload


def _step(key: str, step: int, total: int) -> None:
    st.session_state[key] = min(max(st.session_state.get(key, 0) + step, 0), total - 1)


assistant = state.assistant_or_stop()
st.title(texts.SOURCES_TITLE)
st.caption(texts.SOURCES_INTRO)
browse, search, documents, upload = st.tabs(
    [texts.TAB_BROWSE, texts.TAB_SEARCH, texts.TAB_DOCUMENTS, texts.TAB_UPLOAD])
sources = assistant.index.sources()
titles = {source: str(info.get("title") or source) for source, info in sources.items()}

with browse:
    grouped = render.group_sections(assistant.index.chunks())
    if not grouped:
        st.info(texts.DOCUMENTS_EMPTY)
    else:
        # The report first, uploaded documents after it, the cards last.
        order = render.document_order(grouped, titles)
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
    last = st.session_state.pop("upload-result", None)
    if last is not None:
        (st.success if last[0] else st.error)(render.escape_markdown(last[1]))
    limit = assistant.settings.max_upload_mb
    # The widget states the app's limit; its English texts (and its refusal of a larger
    # file) are shown in Swedish by ui/swedish.py. Checked here too, as soon as a file is
    # chosen.
    file = st.file_uploader(texts.UPLOAD_LABEL.format(limit=limit), type=["pdf", "txt", "md"],
                            max_upload_size=limit, key="upload-file")
    refused = render.check_upload(file.name, file.size, limit) if file is not None else None
    if refused:
        st.error(render.escape_markdown(refused))
    if st.button(texts.UPLOAD_BUTTON, icon=":material/upload_file:",
                 disabled=file is None or refused is not None, type="primary"):
        assert file is not None
        bar = st.progress(0.0, text=texts.UPLOAD_SAVING.format(
            name=render.escape_markdown(file.name)))

        def progress(done: int, total: int) -> None:
            bar.progress(done / total if total else 1.0,
                         text=texts.UPLOAD_PROGRESS.format(done=done, total=total))

        result = ingest_upload(assistant, file.name, file.getvalue(), progress=progress)
        st.session_state["upload-result"] = (result.ok, result.message)
        st.rerun()
