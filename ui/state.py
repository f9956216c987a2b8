"""What the UI keeps: one warm Assistant per process, and each browser session's chat."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from assistant.config import load_settings
from assistant.feedback import FeedbackStore, feedback_path
from assistant.index.private import PrivateDocument
from assistant.pipeline import Assistant
from assistant.prompts import ROLE_COMPANY, ROLES
from ui import texts
from ui.render import escape_markdown
from ui.uploads import DONE, UploadJob, remove_leftovers


@dataclass
class Loaded:
    """A ready Assistant and what went wrong (but not fatally) while preparing it."""

    assistant: Assistant
    warnings: list[str] = field(default_factory=list)


@st.cache_resource(show_spinner=texts.LOADING, max_entries=4)
def _load(config: str) -> Loaded:
    """Build the Assistant for one configuration: index ready, model and caches warm.

    config: the settings as JSON, only to give each configuration its own cached Assistant
    (tests run many apps with different data folders in one process).
    """
    del config
    settings = load_settings()
    remove_leftovers(settings.data_dir)     # what an upload cut short by a restart left
    assistant = Assistant(settings)
    report = assistant.ensure_index()
    warnings = [str(e) for e in report.errors] if report else []
    # Load the model, BM25 and Chroma's vector files in the background: the page is usable at
    # once, and a question asked meanwhile waits only for what is still loading.
    threading.Thread(target=_warm_up, args=(assistant,), name="asf-warm-up", daemon=True).start()
    return Loaded(assistant, warnings)


def _warm_up(assistant: Assistant) -> None:
    try:
        assistant.warm_up()
    except Exception:  # noqa: BLE001 - a real question will show the same error
        pass


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


def feedback_store(assistant: Assistant) -> FeedbackStore:
    """Return the feedback store named by the assistant's settings."""
    return FeedbackStore(feedback_path(assistant.settings))


# ---------------------------------------------------------------------- session
def messages() -> list[dict[str, Any]]:
    """Return this session's conversation: dicts with id, role, content, answer, error."""
    return st.session_state.setdefault("messages", [])


def new_message(role: str, content: str, **extra: Any) -> dict[str, Any]:
    """Return a conversation entry with a fresh id."""
    return {"id": uuid.uuid4().hex, "role": role, "content": content, "answer": None,
            "error": None, "rating": None, **extra}


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
