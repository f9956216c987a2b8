"""The chat page: pick a role, ask (or click a starter question), read cited answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from assistant.prompts import ROLES
from ui import components, export, state, texts

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _ask_starter(question: str) -> None:
    st.session_state.pending = question


def _new_chat() -> None:
    st.session_state.messages = []


def pick_role() -> str:
    """Draw the role picker in the sidebar; return the chosen role."""
    return st.sidebar.radio(texts.ROLE_PICKER, list(ROLES), key="role", help=texts.ROLE_HELP,
                            format_func=state.role_label)


def conversation_controls(role: str) -> None:
    """Draw download and new-chat buttons (after the turn of this run is in the history)."""
    history = state.messages()
    with st.sidebar:
        export_buttons(history, state.role_label(role))
        st.button(texts.NEW_CHAT, icon=":material/add_comment:", on_click=_new_chat,
                  disabled=not history, width="stretch")


def export_buttons(history: list[dict[str, Any]], role_label: str) -> None:
    """Draw the Markdown and Word downloads of a conversation (the Word file is made only
    when its button is clicked)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    turns = list(history)
    st.download_button(
        texts.DOWNLOAD_CHAT, data=export.conversation_markdown(turns, role_label),
        file_name=texts.DOWNLOAD_FILE.format(stamp=stamp), mime="text/markdown",
        icon=":material/download:", on_click="ignore", disabled=not turns, width="stretch")
    st.download_button(
        texts.DOWNLOAD_CHAT_DOCX, data=lambda: export.conversation_docx(turns, role_label),
        file_name=texts.DOWNLOAD_FILE_DOCX.format(stamp=stamp), mime=DOCX_MIME,
        icon=":material/description:", on_click="ignore", disabled=not turns,
        width="stretch")


def welcome(role: str) -> None:
    """Greet the chosen group and offer its starter questions."""
    info = ROLES[role]
    st.markdown(str(info["welcome"]))
    st.markdown(f"**{texts.STARTERS_HEADING}**")
    for i, question in enumerate(info["starters"]):
        st.button(question, key=f"starter-{role}-{i}", on_click=_ask_starter, args=(question,),
                  icon=":material/arrow_forward:")


assistant = state.assistant_or_stop()
role = pick_role()
st.title(texts.APP_TITLE)
st.caption(texts.APP_TAGLINE)

intro = st.empty()
if not state.messages():
    with intro.container():
        welcome(role)
for turn in state.messages():
    components.show_message(assistant, turn)

question = st.chat_input(texts.CHAT_PLACEHOLDER) or st.session_state.pop("pending", None)
if question:
    intro.empty()
    components.ask(assistant, question)
conversation_controls(role)
