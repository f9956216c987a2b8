"""App: answer feedback -> a local SQLite file, and `asf feedback export` as CSV or JSONL.

Each rated answer is one row keyed by the answer's id, so changing a thumb from up to down
updates the row instead of adding a second one; clearing the thumb removes it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from assistant.prompts import (
    ERR_FEEDBACK_BROKEN,
    ERR_FEEDBACK_LOCKED,
    ERR_OUTPUT_IS_FOLDER,
    ERR_OUTPUT_WRITE,
    MSG_FEEDBACK_EMPTY,
    MSG_FEEDBACK_EXPORTED,
)

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.types import Answer

FEEDBACK_FILE = "feedback.sqlite3"
THUMBS_UP, THUMBS_DOWN = 1, 0
FORMATS = ("csv", "jsonl")
# Column order of the table and of both export formats.
COLUMNS = ("answer_id", "created_at", "updated_at", "rating", "role", "question", "answer",
           "refused", "citations")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    answer_id  TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rating     INTEGER NOT NULL CHECK (rating IN (0, 1)),
    role       TEXT NOT NULL DEFAULT '',
    question   TEXT NOT NULL,
    answer     TEXT NOT NULL,
    refused    INTEGER NOT NULL DEFAULT 0,
    citations  TEXT NOT NULL DEFAULT '[]'
)
"""


def feedback_path(settings: Settings) -> Path:
    """Return the feedback database file named by the settings."""
    return settings.feedback_db or settings.data_dir / FEEDBACK_FILE


def citations_of(answer: Answer) -> list[dict[str, Any]]:
    """Return an answer's citations as plain dicts (what the feedback row stores)."""
    return [{"n": c.n, "chunk_id": c.chunk_id, "source": c.source, "title": c.title,
             "section": c.section, "page": c.page, "quote": c.quote} for c in answer.citations]


class FeedbackError(RuntimeError):
    """The feedback database cannot be used right now; the message is Swedish."""


@contextmanager
def _guarded(path: Path) -> Iterator[None]:
    """Turn SQLite's English errors (a locked or broken file) into FeedbackError."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        template = ERR_FEEDBACK_LOCKED if "locked" in text or "busy" in text \
            else ERR_FEEDBACK_BROKEN
        raise FeedbackError(template.format(path=path)) from exc
    except sqlite3.DatabaseError as exc:
        raise FeedbackError(ERR_FEEDBACK_BROKEN.format(path=path)) from exc


# SQLite's default limit on parameters of one statement is 999.
_IDS_PER_QUERY = 500


class FeedbackStore:
    """Thumbs up/down on answers, kept in one SQLite file."""

    # Seconds to wait for another process's lock. A rating is written in milliseconds, so a
    # longer wait only means a lock that will not go away (another process in BEGIN
    # EXCLUSIVE), and the user should hear so at once, not after the former 10 s.
    BUSY_TIMEOUT = 1.0

    def __init__(self, path: Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT)
        try:
            conn.execute(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    def record(self, answer_id: str, rating: int | None, *, question: str, answer: str,
               citations: Iterable[dict[str, Any]] = (), refused: bool = False,
               role: str = "") -> None:
        """Store (or update) the rating of one answer; rating None removes it.

        Raise FeedbackError (Swedish) when the file is locked by another process or broken.
        """
        if rating not in (THUMBS_UP, THUMBS_DOWN, None):
            raise ValueError(f"rating must be 0, 1 or None, not {rating!r}")
        with _guarded(self.path), closing(self._connect()) as conn, conn:
            if rating is None:
                conn.execute("DELETE FROM feedback WHERE answer_id = ?", (answer_id,))
                return
            now = datetime.now(UTC).isoformat(timespec="seconds")
            conn.execute(
                "INSERT INTO feedback (answer_id, created_at, updated_at, rating, role, question,"
                " answer, refused, citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(answer_id) DO UPDATE SET rating = excluded.rating,"
                " updated_at = excluded.updated_at",
                (answer_id, now, now, rating, role, question, answer, int(refused),
                 json.dumps(list(citations), ensure_ascii=False)))

    def ratings(self, answer_ids: Iterable[str]) -> dict[str, int]:
        """Return the stored rating of each of these answers that has one.

        Raise FeedbackError (Swedish) when the file is locked by another process or broken.
        """
        ids = list(dict.fromkeys(answer_ids))
        if not ids or not self.path.exists():
            return {}
        found: dict[str, int] = {}
        with _guarded(self.path), closing(self._connect()) as conn:
            for start in range(0, len(ids), _IDS_PER_QUERY):
                batch = ids[start:start + _IDS_PER_QUERY]
                found.update(conn.execute(
                    "SELECT answer_id, rating FROM feedback WHERE answer_id IN"
                    f" ({', '.join('?' * len(batch))})", batch).fetchall())
        return found

    def rows(self) -> list[dict[str, Any]]:
        """Return every stored rating, oldest first, with citations as lists.

        Raise FeedbackError (Swedish) when the file is locked by another process or broken.
        """
        if not self.path.exists():
            return []
        with _guarded(self.path), closing(self._connect()) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY created_at, rowid").fetchall()
        out = []
        for row in rows:
            item = dict(row)
            item["refused"] = bool(item["refused"])
            item["citations"] = json.loads(item["citations"] or "[]")
            out.append(item)
        return out

    def export(self, out: TextIO, fmt: str = "csv") -> int:
        """Write every rating to `out` as CSV or JSONL; return how many were written."""
        return write_rows(self.rows(), out, fmt)


def write_rows(rows: list[dict[str, Any]], out: TextIO, fmt: str = "csv") -> int:
    """Write feedback rows to `out` as CSV or JSONL; return how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"Okänt format: {fmt!r}. Välj {' eller '.join(FORMATS)}.")
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            cells = {**row, "refused": int(row["refused"]),
                     "citations": json.dumps(row["citations"], ensure_ascii=False)}
            writer.writerow({k: _safe_cell(v) for k, v in cells.items()})
    return len(rows)


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: object) -> object:
    """Return a CSV cell a spreadsheet shows as text: a leading ' neutralises a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


# ---------------------------------------------------------------------- CLI
def cmd_export(args: argparse.Namespace) -> int:
    """Write the stored feedback as CSV or JSONL to a file or stdout."""
    from assistant.config import load_settings

    if args.output is not None and _is_folder(args.output):
        example = Path(args.output) / f"omdomen.{args.format}"
        print(f"Fel: {ERR_OUTPUT_IS_FOLDER.format(path=args.output, example=example)}",
              file=sys.stderr)
        return 2
    store = FeedbackStore(feedback_path(load_settings()))
    if not store.path.exists():
        print(MSG_FEEDBACK_EMPTY.format(path=store.path), file=sys.stderr)
    try:
        rows = store.rows()         # read first: a locked database leaves no empty file
    except FeedbackError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return 1
    if args.output is None:
        write_rows(rows, sys.stdout, args.format)
        return 0
    output = Path(args.output)
    # A byte-order mark lets Excel read the Swedish letters in a CSV file correctly.
    encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding=encoding, newline="") as out:
            count = write_rows(rows, out, args.format)
    except OSError:
        print(f"Fel: {ERR_OUTPUT_WRITE.format(path=output)}", file=sys.stderr)
        return 1
    print(MSG_FEEDBACK_EXPORTED.format(count=count, output=output), file=sys.stderr)
    return 0


def _is_folder(output: str) -> bool:
    """Return True when an output path names a folder (it exists as one, or ends in /)."""
    return Path(output).is_dir() or output.endswith(("/", os.sep))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `feedback export` subcommand to the `asf` parser."""
    parser = subparsers.add_parser("feedback", help="omdömen (tumme upp/ned) på svar")
    actions = parser.add_subparsers(dest="feedback_command", required=True, metavar="ÅTGÄRD")
    p = actions.add_parser("export", help="skriv omdömena som CSV eller JSONL")
    p.add_argument("--format", choices=FORMATS, default="csv", help="filformat (standard: csv)")
    p.add_argument("--output", "-o", metavar="FIL",
                   help="fil att skriva till (standard: skriv till terminalen)")
    p.set_defaults(func=cmd_export)
