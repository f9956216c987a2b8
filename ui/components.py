"""Streamlit pieces of the chat: an answer with its citations, a refusal, feedback, streaming.

Document and answer text reaches the page only through ui.render (escaped Markdown), never as
HTML.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant.feedback import FeedbackError, citations_of
from assistant.pipeline import Assistant, QuestionError
from assistant.types import Answer, Citation, Context
from ui import cases_view, render, state, texts

CURSOR = " ▌"
USER_AVATAR = ":material/person:"
ASSISTANT_AVATAR = ":material/handshake:"


def section_text(assistant: Assistant, source: str, section: str) -> str:
    """Return the whole text of one section of a document, in reading order."""
    # The retriever's passages: the shared index's plus the session's own uploads.
    chunks = [c for c in assistant.retriever.index.chunks()
              if c.source == source and c.section == section]
    return "\n\n".join(c.text for c in sorted(chunks, key=lambda c: c.seq))


def _passage_text(assistant: Assistant, answer: Answer, chunk_id: str, fallback: str) -> str:
    for ctx in answer.contexts:
        if ctx.chunk_id == chunk_id:
            return ctx.text
    chunk = assistant.retriever.chunk(chunk_id)
    return chunk.text if chunk is not None else fallback


def _whole_section(assistant: Assistant, source: str, section: str, quotes: list[str],
                   key: str) -> None:
    if st.toggle(texts.WHOLE_SECTION, key=key):
        with st.container(border=True):
            st.markdown(render.highlight(section_text(assistant, source, section), quotes))


def citation(assistant: Assistant, answer: Answer, c: Citation, key: str) -> None:
    """Show one citation: where it is from, the passage with the quote marked, the section."""
    with st.expander(render.citation_label(c.n, c.title, c.section, c.page)):
        st.markdown(texts.SOURCE_LINE.format(
            title=render.escape_markdown(c.title),
            section=render.escape_markdown(render.location(c.section, c.page))))
        quotes = render.quote_parts(c.quote)
        st.markdown(texts.PASSAGE_HEADING)
        st.markdown(render.highlight(_passage_text(assistant, answer, c.chunk_id, c.quote),
                                     quotes))
        if link := cases_view.link_for_citation(c.source):
            st.page_link(cases_view.PAGE_PATH, query_params=link, icon=":material/work:",
                         label=cases_view.OPEN_CARD.format(
                             name=c.title.removeprefix("Fallexempel: ")))
        _whole_section(assistant, c.source, c.section, quotes, key=f"{key}-section")


def context(assistant: Assistant, ctx: Context, key: str) -> None:
    """Show one of the closest passages beside a refusal."""
    label = render.escape_markdown(f"{ctx.title} – {render.location(ctx.section, ctx.page)}")
    with st.expander(label):
        st.markdown(render.escape_markdown(ctx.text))
        _whole_section(assistant, ctx.source, ctx.section, [], key=f"{key}-section")


def _ask_related(question: str) -> None:
    st.session_state.pending = question


def related_questions(answer: Answer, key: str) -> None:
    """Offer other guide cards' questions as one-click follow-ups."""
    if not answer.related:
        return
    st.markdown(f"**{texts.RELATED_HEADING}**")
    for i, question in enumerate(answer.related):
        st.button(question, key=f"{key}-rel{i}", on_click=_ask_related, args=(question,),
                  icon=":material/arrow_forward:")


def answer_body(assistant: Assistant, answer: Answer, key: str,
                show_related: bool = True) -> None:
    """Show a finished answer: text with numbered markers, one expander per citation and, when
    `show_related`, other questions to ask next."""
    if answer.refused:
        st.warning(render.escape_markdown(answer.answer), icon=":material/search_off:")
        if answer.contexts:
            st.markdown(f"**{texts.CLOSEST_HEADING}**")
        for i, ctx in enumerate(answer.contexts[:3]):
            context(assistant, ctx, key=f"{key}-ctx{i}")
        _note(answer)
        if show_related:
            related_questions(answer, key)
        return
    st.markdown(render.answer_markdown(answer.answer, [c.n for c in answer.citations]))
    if answer.citations:
        st.markdown(f"**{texts.SOURCES_HEADING}**")
    for c in answer.citations:
        citation(assistant, answer, c, key=f"{key}-cit{c.n}")
    _note(answer)
    if show_related:
        related_questions(answer, key)


def _note(answer: Answer) -> None:
    # The note comes last, after the sources, as in the CLI, the API and the export.
    if answer.note:
        st.caption(render.escape_markdown(answer.note))


def _save_feedback(message_id: str) -> None:
    message = next((m for m in state.messages() if m["id"] == message_id), None)
    answer = message.get("answer") if message else None
    if message is None or answer is None:
        return
    key = f"feedback-{message_id}"
    rating = st.session_state.get(key)
    try:
        state.feedback_store(state.load_assistant().assistant).record(
            message_id, rating, question=answer.question, answer=answer.answer,
            citations=citations_of(answer), refused=answer.refused,
            role=state.role_label(state.current_role()))
    except FeedbackError:
        # Another process holds the database: the thumb goes back to what is stored, and
        # the user is asked to try again instead of seeing a traceback.
        message["feedback_failed"] = True
        st.session_state[key] = message.get("rating")
        return
    message["rating"] = rating
    message["feedback_failed"] = False


def feedback(message: dict[str, Any]) -> None:
    """Show thumbs up/down under an answer; a click is stored at once."""
    key = f"feedback-{message['id']}"
    st.feedback("thumbs", key=key, default=message.get("rating"),
                on_change=_save_feedback, args=(message["id"],))
    if message.get("feedback_failed"):
        st.warning(texts.FEEDBACK_NOT_SAVED, icon=":material/sync_problem:")
    elif st.session_state.get(key) is not None:
        st.caption(texts.FEEDBACK_THANKS)


def _reply(assistant: Assistant, message: dict[str, Any]) -> None:
    if message.get("error"):
        st.error(render.escape_markdown(message["error"]))
    else:
        answer_body(assistant, message["answer"], key=message["id"])
        feedback(message)


def show_message(assistant: Assistant, message: dict[str, Any]) -> None:
    """Show one turn of the conversation."""
    if message["role"] == "user":
        with st.chat_message("user", avatar=USER_AVATAR):
            st.markdown(render.escape_markdown(message["content"]))
        return
    # The same layout as while streaming (one container in the message), so expanders and
    # toggles keep their identity, and stay open, when the page is drawn again.
    with st.chat_message("assistant", avatar=ASSISTANT_AVATAR), st.container():
        _reply(assistant, message)


def ask(assistant: Assistant, question: str) -> dict[str, Any]:
    """Ask a question, stream the answer into the page and return the assistant's turn."""
    earlier = state.history()
    user = state.new_message("user", question)
    state.messages().append(user)
    show_message(assistant, user)
    reply = state.new_message("assistant", "")
    with st.chat_message("assistant", avatar=ASSISTANT_AVATAR):
        slot = st.empty()
        slot.caption(texts.THINKING)
        shown = ""
        try:
            for event in assistant.stream(question, earlier, role=state.current_role()):
                if isinstance(event, Answer):
                    reply["answer"], reply["content"] = event, event.answer
                else:
                    shown += event
                    slot.markdown(render.answer_markdown(shown) + CURSOR)
        except QuestionError as exc:
            reply["error"] = reply["content"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown in the chat instead of a stack trace
            reply["error"] = reply["content"] = texts.ANSWER_FAILED.format(error=exc)
        if reply["answer"] is None and not reply["error"]:
            reply["error"] = reply["content"] = texts.ANSWER_FAILED.format(error=texts.NO_ANSWER)
        if reply["error"]:
            user["error"] = reply["error"]     # keep a failed question out of the history
        with slot.container():
            _reply(assistant, reply)
    state.messages().append(reply)
    return reply
