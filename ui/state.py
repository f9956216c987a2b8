"""What the UI keeps: one warm Assistant per process, and each browser session's chat."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from assistant.config import load_settings
from assistant.conversations import (
    ConversationError,
    ConversationStore,
    Turn,
    conversations_path,
    now,
)
from assistant.feedback import FeedbackError, FeedbackStore, feedback_path
from assistant.index.private import PrivateDocument, is_private
from assistant.pipeline import Assistant
from assistant.prompts import ROLE_COMPANY, ROLES
from ui import texts
from ui.render import escape_markdown
from ui.uploads import DONE, UploadJob, remove_leftovers


@dataclass
class Loaded:
    """A ready Assistant, what went wrong (but not fatally) while preparing it, and the
    background thread that warms it up."""

    assistant: Assistant
    warnings: list[str] = field(default_factory=list)
    warming: threading.Thread | None = None


# Builds started by `preload` (python -m ui.serve) before any page ran, by configuration.
_PRELOADS: dict[str, Future[Loaded]] = {}
_PRELOADS_LOCK = threading.Lock()


def preload() -> None:
    """Start building the Assistant for the current settings in the background, so the
    first page run (and its first question) finds the model loading or loaded."""
    try:
        config = load_settings().model_dump_json()
    except Exception:  # noqa: BLE001 - invalid settings: the first page says which
        return
    future: Future[Loaded] = Future()
    with _PRELOADS_LOCK:
        _PRELOADS[config] = future

    def run() -> None:
        try:
            future.set_result(_build())
        except BaseException as exc:  # noqa: BLE001 - the first page shows it
            future.set_exception(exc)

    threading.Thread(target=run, name="asf-preload", daemon=True).start()


@st.cache_resource(show_spinner=texts.LOADING, max_entries=4)
def _load(config: str) -> Loaded:
    """Build the Assistant for one configuration: index ready, model and caches warming.

    config: the settings as JSON, only to give each configuration its own cached Assistant
    (tests run many apps with different data folders in one process). A build `preload`
    started for the same configuration is waited for instead of starting another; a failed
    one raises here, once, and the next page run builds again.
    """
    with _PRELOADS_LOCK:
        started = _PRELOADS.pop(config, None)
    if started is not None:
        return started.result()
    return _build()


def _build() -> Loaded:
    settings = load_settings()
    remove_leftovers(settings.data_dir)     # what an upload cut short by a restart left
    assistant = Assistant(settings)
    # The model loads while the index is checked against the corpus (the check needs it
    # only for changed files, and then waits for it): the chat is ready sooner.
    _background(assistant.load_model, "asf-model")
    report = assistant.ensure_index()
    warnings = [str(e) for e in report.errors] if report else []
    # Everything else the first question would pay for (BM25, Chroma's vector files, token
    # and topic vectors, the guide cards located in the report, the case catalog) is built
    # in the background: the page is usable at once, and a question asked meanwhile waits
    # only for what is still loading.
    return Loaded(assistant, warnings, _background(assistant.warm_up, "asf-warm-up"))


def _background(work: Callable[[], object], name: str) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - a real question will show the same error
            pass

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def load_assistant() -> Loaded:
    """Return the process-wide Assistant for the current settings (built on first call).

    Invalid settings raise SettingsError with a Swedish message naming the variable.
    """
    return _load(load_settings().model_dump_json())


def assistant_or_stop() -> Assistant:
    """Return the Assistant, or show why it cannot start and stop this page."""
    try:
        loaded = load_assistant()
        # `asf index --rebuild` or `asf ingest` in another process made a new index live:
        # every page reads the new one from its next run on, without a restart.
        loaded.assistant.index.reopen_if_changed()
    except Exception as exc:  # noqa: BLE001 - the page shows the reason instead of a trace
        st.error(texts.LOAD_FAILED.format(error=escape_markdown(str(exc))))
        st.stop()
    for warning in loaded.warnings:
        st.sidebar.warning(texts.LOAD_WARNING.format(error=escape_markdown(warning)))
    return loaded.assistant


def warming() -> threading.Thread | None:
    """Return the background warm-up while it runs (None once the first question would find
    everything loaded)."""
    thread = load_assistant().warming
    return thread if thread is not None and thread.is_alive() else None


def feedback_store(assistant: Assistant) -> FeedbackStore:
    """Return the feedback store named by the assistant's settings."""
    return FeedbackStore(feedback_path(assistant.settings))


# ---------------------------------------------------------------------- session
def messages() -> list[dict[str, Any]]:
    """Return this session's conversation: dicts with id, role, content, answer, error."""
    return st.session_state.setdefault("messages", [])


def new_message(role: str, content: str, **extra: Any) -> dict[str, Any]:
    """Return a conversation entry with a fresh id, stamped with the time."""
    return {"id": uuid.uuid4().hex, "role": role, "content": content, "answer": None,
            "error": None, "rating": None, "at": now(), **extra}


def history() -> list[dict[str, str]]:
    """Return the earlier turns as {"role", "content"} for follow-up questions."""
    return [{"role": m["role"], "content": m["content"]} for m in messages()
            if not m.get("error")]


def current_role() -> str:
    """Return the chosen user group (a key of ROLES)."""
    role = st.session_state.get("role")
    return role if role in ROLES else ROLE_COMPANY


def role_label(role: str) -> str:
    """Return the Swedish name of a user group."""
    return str(ROLES[role]["label"]) if role in ROLES else role


# ---------------------------------------------------------------------- saved conversations
def conversation_store(assistant: Assistant) -> ConversationStore:
    """Return the conversations store named by the assistant's settings."""
    return ConversationStore(conversations_path(assistant.settings))


def conversation_id() -> str | None:
    """Return the id under which this session's conversation is saved (None: not yet)."""
    return st.session_state.get("conversation_id")


def start_new_conversation(assistant: Assistant) -> None:
    """Empty the chat; the conversation so far stays saved."""
    if not _saved_before_leaving(assistant):
        return
    st.session_state.messages = []
    st.session_state.conversation_id = None
    st.session_state.pop("confirm_delete", None)


def save_conversation(assistant: Assistant) -> bool:
    """Store this session's conversation, every turn of it (a new one gets an id); return
    whether it is saved.

    When the database is locked or cannot be written, the chat goes on: the warning is kept
    for the sidebar, and the next answer saves the whole conversation again.
    """
    error = _store(assistant)
    if error is not None:
        st.session_state.conversation_warning = texts.CONVERSATION_NOT_SAVED.format(error=error)
    return error is None


def _store(assistant: Assistant) -> str | None:
    """Save the conversation; return the Swedish reason it could not be (None: saved)."""
    turns = [Turn(role=m["role"], content=m["content"], answer=m.get("answer"),
                  error=m.get("error"), message_id=m["id"], created_at=m.get("at", ""))
             for m in messages()]
    if not turns:
        return None
    if any(_quotes_private(m) for m in messages()):
        # An uploaded file is private to this session (#24), and the saved conversations are
        # listed to every session of this app: what quotes it is not saved. The user is told,
        # and may download the conversation.
        st.session_state.conversation_warning = texts.CONVERSATION_PRIVATE
        st.session_state.conversation_unsaved = False
        return None
    key = conversation_id() or uuid.uuid4().hex
    st.session_state.conversation_id = key
    try:
        conversation_store(assistant).save(key, turns, role=current_role())
    except ConversationError as exc:
        st.session_state.conversation_unsaved = True
        return str(exc)
    st.session_state.conversation_unsaved = False
    st.session_state.pop("conversation_warning", None)
    return None


def _quotes_private(message: dict[str, Any]) -> bool:
    """Return True when a turn's answer quotes or shows a session's private upload."""
    answer = message.get("answer")
    if answer is None:
        return False
    return any(is_private(c.source) for c in [*answer.citations, *answer.contexts])


def _saved_before_leaving(assistant: Assistant) -> bool:
    """Return whether the chat may be replaced: a conversation whose last save failed gets
    one more try, and stays on the page (with a warning) while it cannot be saved."""
    if not st.session_state.get("conversation_unsaved"):
        return True
    error = _store(assistant)
    if error is not None:
        st.session_state.conversation_warning = texts.CONVERSATION_KEPT.format(error=error)
    return error is None


def open_conversation(assistant: Assistant, key: str) -> None:
    """Make a saved conversation this session's chat, with the group it was held as, so
    follow-up questions continue from its turns."""
    try:
        found = conversation_store(assistant).load(key)
    except ConversationError as exc:
        st.session_state.conversation_warning = texts.CONVERSATION_NOT_OPENED.format(error=exc)
        return
    if found is None:
        st.session_state.conversation_warning = texts.CONVERSATION_GONE
        return
    if not _saved_before_leaving(assistant):
        return
    conversation, turns = found
    try:
        # The thumbs given before: the feedback store keeps them by message id.
        ratings = feedback_store(assistant).ratings(t.message_id for t in turns if t.answer)
    except FeedbackError:
        ratings = {}       # shown unrated; the ratings themselves stay stored
    st.session_state.messages = [
        {"id": t.message_id or uuid.uuid4().hex, "role": t.role, "content": t.content,
         "answer": t.answer, "error": t.error, "rating": ratings.get(t.message_id),
         "at": t.created_at}
        for t in turns]
    st.session_state.conversation_id = key
    st.session_state.conversation_unsaved = False
    for stale in ("conversation_warning", "confirm_delete", "pending"):
        st.session_state.pop(stale, None)
    if conversation.role in ROLES:
        st.session_state.role = conversation.role


def rename_conversation(assistant: Assistant, key: str, title: str) -> bool:
    """Give a saved conversation a new title; return False when it was not changed (an
    empty title, or the database could not be written: then with a warning)."""
    try:
        conversation_store(assistant).rename(key, title)
    except ValueError:
        return False
    except ConversationError as exc:
        st.session_state.conversation_warning = texts.CONVERSATION_NOT_CHANGED.format(error=exc)
        return False
    return True


def delete_conversation(assistant: Assistant, key: str) -> None:
    """Delete a saved conversation; when it is the open one, the chat starts anew."""
    try:
        conversation_store(assistant).delete(key)
    except ConversationError as exc:
        st.session_state.conversation_warning = texts.CONVERSATION_NOT_CHANGED.format(error=exc)
        return
    st.session_state.pop("confirm_delete", None)
    if conversation_id() == key:
        st.session_state.messages = []
        st.session_state.conversation_id = None
        st.session_state.conversation_unsaved = False


# ---------------------------------------------------------------------- private uploads
UPLOAD_JOB = "upload-job"
PRIVATE_DOCUMENTS = "private-documents"
UPLOAD_RESULT = "upload-result"
SESSION_ASSISTANT = "session-assistant"


def upload_job() -> UploadJob | None:
    """Return this session's upload, running or finished (None: none yet)."""
    return st.session_state.get(UPLOAD_JOB)


def private_documents() -> list[PrivateDocument]:
    """Return the documents this session uploaded (a finished upload joins them here)."""
    documents: dict[str, PrivateDocument] = st.session_state.setdefault(PRIVATE_DOCUMENTS, {})
    job = upload_job()
    if job is not None and not job.running:
        del st.session_state[UPLOAD_JOB]
        if job.state == DONE and job.document is not None:
            documents[job.name] = job.document    # a file of the same name is replaced
            if job.view is not None:              # built and warmed up by the job
                st.session_state[SESSION_ASSISTANT] = (_view_key(
                    load_assistant().assistant, list(documents.values())), job.view)
        st.session_state[UPLOAD_RESULT] = (job.state == DONE, job.message)
    return list(documents.values())


def _view_key(shared: Assistant, documents: list[PrivateDocument]) -> tuple[int, frozenset[int]]:
    return id(shared), frozenset(id(d) for d in documents)


def session_assistant(shared: Assistant) -> Assistant:
    """Return the Assistant as this session sees it: the shared index plus the session's own
    uploads (the view is kept while neither changes)."""
    documents = private_documents()
    if not documents:
        return shared
    key = _view_key(shared, documents)
    cached = st.session_state.get(SESSION_ASSISTANT)
    if cached is None or cached[0] != key:
        cached = (key, shared.with_private(documents))
        st.session_state[SESSION_ASSISTANT] = cached
    return cached[1]
