"""App: the chat's conversations, kept in a local SQLite file to list, reopen, rename, delete.

A conversation is saved whole after each answer (its turns replace the stored ones), so a save
that failed because another process held the file is made good by the next one, and a
reopened conversation continues where it stopped: its turns are the follow-up history again.
Each turn keeps who spoke, the text, the answer with its citations and closest passages, and
when; the conversation keeps its title (the first question until renamed) and the asker's
group. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.prompts import ERR_CONVERSATIONS_BROKEN, ERR_CONVERSATIONS_LOCKED
from assistant.text import collapse
from assistant.types import Answer, Citation, Context

if TYPE_CHECKING:
    from assistant.config import Settings

CONVERSATIONS_FILE = "conversations.sqlite3"
SPEAKERS = ("user", "assistant")
# Closest passages kept per answer beyond the cited ones: what a refusal shows (the UI and the
# export show three), so a long conversation does not store every retrieved passage.
KEPT_CONTEXTS = 3

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS conversations (
        id         TEXT PRIMARY KEY,
        title      TEXT NOT NULL,
        role       TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        touched    INTEGER NOT NULL DEFAULT 0  -- orders the list: higher was saved later
    )""",
    """CREATE TABLE IF NOT EXISTS turns (
        conversation_id TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        message_id      TEXT NOT NULL,
        role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content         TEXT NOT NULL,
        answer          TEXT,
        error           TEXT,
        created_at      TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    )""",
)


def conversations_path(settings: Settings) -> Path:
    """Return the conversations database file named by the settings."""
    return settings.conversations_db or settings.data_dir / CONVERSATIONS_FILE


class ConversationError(RuntimeError):
    """The conversations database cannot be used right now; the message is Swedish."""


@dataclass(frozen=True)
class Turn:
    """One message of a conversation: the asker's question or the assistant's reply."""

    role: str                        # "user" or "assistant"
    content: str
    answer: Answer | None = None
    error: str | None = None
    message_id: str = ""
    created_at: str = ""


@dataclass(frozen=True)
class Conversation:
    """A stored conversation as listed: its title, the asker's group and how long it is."""

    id: str
    title: str
    role: str
    created_at: str
    updated_at: str
    questions: int


def now() -> str:
    """Return the current time as stored (UTC, ISO 8601, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def title_of(turns: Sequence[Turn]) -> str:
    """Return a conversation's default title: its first question, on one line."""
    first = next((t.content for t in turns if t.role == "user"), "")
    return collapse(first)


@contextmanager
def _guarded(path: Path) -> Iterator[None]:
    """Turn SQLite's English errors and file-system errors into ConversationError."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        template = ERR_CONVERSATIONS_LOCKED if "locked" in text or "busy" in text \
            else ERR_CONVERSATIONS_BROKEN
        raise ConversationError(template.format(name=path.name)) from exc
    except (sqlite3.DatabaseError, OSError) as exc:
        raise ConversationError(ERR_CONVERSATIONS_BROKEN.format(name=path.name)) from exc


class ConversationStore:
    """Conversations of the chat, kept in one SQLite file."""

    # Seconds to wait for another process's lock: as the feedback store, a save takes
    # milliseconds, so a longer wait only delays the Swedish warning.
    BUSY_TIMEOUT = 1.0

    def __init__(self, path: Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT)
        try:
            for statement in _SCHEMA:
                conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        return conn

    def save(self, conversation_id: str, turns: Sequence[Turn], *, role: str = "") -> None:
        """Store a conversation's turns (replacing those stored) and the asker's group.

        A new conversation is titled by its first question; a stored title (renamed or not)
        is kept. Raise ConversationError (Swedish) when the file is locked or unusable.
        """
        for turn in turns:
            if turn.role not in SPEAKERS:
                raise ValueError(f"role must be one of {SPEAKERS}, not {turn.role!r}")
        stamp = now()
        with _guarded(self.path), closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT INTO conversations (id, title, role, created_at, updated_at, touched)"
                " VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(touched), 0) + 1"
                " FROM conversations)) ON CONFLICT(id) DO UPDATE SET role = excluded.role,"
                " updated_at = excluded.updated_at, touched = excluded.touched",
                (conversation_id, title_of(turns), role, stamp, stamp))
            conn.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            conn.executemany(
                "INSERT INTO turns (conversation_id, seq, message_id, role, content, answer,"
                " error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(conversation_id, seq, t.message_id, t.role, t.content,
                  None if t.answer is None else json.dumps(answer_record(t.answer),
                                                           ensure_ascii=False),
                  t.error, t.created_at or stamp) for seq, t in enumerate(turns)])

    def conversations(self) -> list[Conversation]:
        """Return the stored conversations, the most recently continued first."""
        if not self.path.exists():
            return []
        with _guarded(self.path), closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT c.id, c.title, c.role, c.created_at, c.updated_at,"
                " (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id"
                "  AND t.role = 'user') FROM conversations c"
                " ORDER BY c.touched DESC").fetchall()
        return [Conversation(*row) for row in rows]

    def load(self, conversation_id: str) -> tuple[Conversation, list[Turn]] | None:
        """Return a conversation and its turns in order (None: no such conversation)."""
        if not self.path.exists():
            return None
        with _guarded(self.path), closing(self._connect()) as conn:
            head = conn.execute(
                "SELECT id, title, role, created_at, updated_at FROM conversations"
                " WHERE id = ?", (conversation_id,)).fetchone()
            if head is None:
                return None
            rows = conn.execute(
                "SELECT role, content, answer, error, message_id, created_at FROM turns"
                " WHERE conversation_id = ? ORDER BY seq", (conversation_id,)).fetchall()
        turns = [Turn(role=role, content=content, answer=_answer_or_none(answer),
                      error=error, message_id=message_id, created_at=created)
                 for role, content, answer, error, message_id, created in rows]
        key, title, role, created_at, updated_at = head
        return Conversation(key, title, role, created_at, updated_at,
                            questions=sum(t.role == "user" for t in turns)), turns

    def rename(self, conversation_id: str, title: str) -> None:
        """Give a conversation a new title (whitespace collapsed; an empty title is refused)."""
        title = collapse(title)
        if not title:
            raise ValueError("a conversation's title cannot be empty")
        with _guarded(self.path), closing(self._connect()) as conn, conn:
            conn.execute("UPDATE conversations SET title = ? WHERE id = ?",
                         (title, conversation_id))

    def delete(self, conversation_id: str) -> None:
        """Remove a conversation and its turns."""
        if not self.path.exists():
            return
        with _guarded(self.path), closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))


# ---------------------------------------------------------------------- answers as JSON
def answer_record(answer: Answer) -> dict[str, Any]:
    """Return what is stored of an answer: all of it but the passages nobody will show."""
    record = asdict(answer)
    cited = {c.chunk_id for c in answer.citations}
    record["contexts"] = [asdict(c) for i, c in enumerate(answer.contexts)
                          if i < KEPT_CONTEXTS or c.chunk_id in cited]
    return record


def answer_from_record(record: dict[str, Any]) -> Answer:
    """Rebuild an Answer from its stored record (fields unknown to this version are skipped)."""
    known = {f.name for f in fields(Answer)}
    values = {k: v for k, v in record.items() if k in known}
    values["citations"] = [Citation(**_known(Citation, c)) for c in values.get("citations", [])]
    values["contexts"] = [Context(**_known(Context, c)) for c in values.get("contexts", [])]
    return Answer(**values)


def _known(cls: type, record: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in record.items() if k in names}


def _answer_or_none(text: str | None) -> Answer | None:
    if not text:
        return None
    try:
        return answer_from_record(json.loads(text))
    except (ValueError, TypeError):
        # A record this version cannot read shows as its text (the turn's content) instead
        # of failing the whole conversation.
        return None
