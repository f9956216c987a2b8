"""The chat page: pick a role, ask (or click a starter question), read cited answers."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import streamlit as st

from assistant.conversations import Conversation, ConversationError
from assistant.prompts import ROLES
from ui import components, export, render, state, texts

# How long a page run waits for the warm-up before it draws itself again (it is ~5 s), in
# steps of WARM_STEP_S.
WARM_WAIT_S = 20.0
WARM_STEP_S = 0.25
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _ask_starter(question: str) -> None:
    st.session_state.pending = question


def _new_chat() -> None:
    state.start_new_conversation(state.load_assistant().assistant)


def _open_chat(key: str) -> None:
    state.open_conversation(state.load_assistant().assistant, key)


def _rename_chat(key: str, title: str) -> None:
    widget = f"chat-name-{key}"
    if not state.rename_conversation(state.load_assistant().assistant, key,
                                     st.session_state[widget]):
        st.session_state[widget] = title        # show the stored name again


def _confirm_delete(key: str | None) -> None:
    st.session_state.confirm_delete = key


def _delete_chat(key: str) -> None:
    state.delete_conversation(state.load_assistant().assistant, key)


def pick_role() -> str:
    """Draw the role picker in the sidebar; return the chosen role."""
    return st.sidebar.radio(texts.ROLE_PICKER, list(ROLES), key="role", help=texts.ROLE_HELP,
                            format_func=state.role_label)


def conversation_controls(role: str) -> None:
    """Draw download and new-chat buttons and the saved conversations (after the turn of
    this run is in the history and saved)."""
    history = state.messages()
    with st.sidebar:
        export_buttons(history, state.role_label(role))
        st.button(texts.NEW_CHAT, icon=":material/add_comment:", on_click=_new_chat,
                  disabled=not history, width="stretch")
        saved_conversations()


def saved_conversations() -> None:
    """List the saved conversations by title (their first question unless renamed); the
    open one can be renamed or deleted."""
    if warning := st.session_state.get("conversation_warning"):
        st.warning(render.escape_markdown(warning), icon=":material/sync_problem:")
    try:
        stored = state.conversation_store(assistant).conversations()
    except ConversationError as exc:
        st.warning(render.escape_markdown(texts.CONVERSATIONS_UNAVAILABLE.format(error=exc)),
                   icon=":material/sync_problem:")
        return
    if not stored:
        return
    st.subheader(texts.SAVED_CHATS)
    current = state.conversation_id()
    if opened := next((c for c in stored if c.id == current), None):
        manage(opened)
    # A long list scrolls in a box of its own, below the controls of the open conversation.
    box = st.container(height=360) if len(stored) > 8 else st.container()
    for conversation in stored:
        is_open = conversation.id == current
        box.button(render.short_title(conversation.title), key=f"chat-{conversation.id}",
                  on_click=_open_chat, args=(conversation.id,), disabled=is_open,
                  icon=":material/chat:" if is_open else ":material/history:",
                  help=texts.OPEN_CHAT_CURRENT if is_open else texts.SAVED_CHAT_HELP.format(
                      when=render.local_time(conversation.updated_at),
                      questions=conversation.questions),
                  type="tertiary", width="stretch")


def manage(conversation: Conversation) -> None:
    """Offer renaming and (after a confirmation) deleting the open conversation."""
    with st.expander(texts.MANAGE_CHAT, icon=":material/edit:"):
        widget = f"chat-name-{conversation.id}"
        st.session_state.setdefault(widget, conversation.title)
        st.text_input(texts.CHAT_NAME, max_chars=200, key=widget, on_change=_rename_chat,
                      args=(conversation.id, conversation.title))
        if st.session_state.get("confirm_delete") != conversation.id:
            st.button(texts.DELETE_CHAT, icon=":material/delete:", on_click=_confirm_delete,
                      args=(conversation.id,))
            return
        st.warning(texts.DELETE_CONFIRM)
        st.button(texts.DELETE_YES, type="primary", on_click=_delete_chat,
                  args=(conversation.id,))
        st.button(texts.DELETE_NO, on_click=_confirm_delete, args=(None,))


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


# The shared index plus what this session uploaded (nobody else's questions see that).
assistant = state.session_assistant(state.assistant_or_stop())
role = pick_role()
if private := state.private_documents():
    st.sidebar.caption(texts.PRIVATE_FILES.format(
        names=", ".join(render.escape_markdown(d.name) for d in private)))
st.title(texts.APP_TITLE)
st.caption(texts.APP_TAGLINE)

intro = st.empty()
if not state.messages():
    with intro.container():
        welcome(role)
for turn in state.messages():
    components.show_message(assistant, turn)

# The box opens when the model and caches are loaded (the chat UI starts loading them with
# the server): then the first answer takes as long as the next ones. The page is drawn and
# the starter questions can be read (and clicked) meanwhile.
warming = state.warming()
question = (st.chat_input(texts.CHAT_WARMING if warming else texts.CHAT_PLACEHOLDER,
                          disabled=warming is not None)
            or st.session_state.pop("pending", None))
if question:
    intro.empty()
    components.ask(assistant, question)
    state.save_conversation(assistant)
conversation_controls(role)
if warming is not None:
    # Waited for in short steps, each a Streamlit call: a click elsewhere (another page, a
    # starter question) takes over the run at once instead of after the warm-up.
    pulse = st.empty()
    deadline = time.monotonic() + WARM_WAIT_S
    while warming.is_alive() and time.monotonic() < deadline:
        warming.join(timeout=WARM_STEP_S)
        pulse.empty()
    st.rerun()      # drawn again: with the box open, or waiting again on a slow machine
