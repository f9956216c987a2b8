"""An uploaded document -> a file under data_dir/uploads and new chunks in the index.

A file that cannot be read leaves no trace: the saved file is removed again (or the earlier
version of the same name restored), and the index is untouched because the sync is strict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.index.passage_index import Progress, SyncReport
from assistant.pipeline import Assistant
from assistant.prompts import (
    ERR_UPLOAD_FAILED,
    MSG_INDEX_UNCHANGED,
    MSG_UPLOAD_DONE,
    MSG_UPLOAD_UNCHANGED,
)
from ui.render import check_upload

UPLOADS = "uploads"


@dataclass
class UploadResult:
    """What became of one upload: ok, a Swedish message, and the sync report if any."""

    ok: bool
    message: str
    report: SyncReport | None = None


def upload_folder(assistant: Assistant) -> Path:
    """Return the folder where uploaded documents are kept."""
    return assistant.settings.data_dir / UPLOADS


def ingest_upload(assistant: Assistant, name: str, data: bytes,
                  progress: Progress | None = None) -> UploadResult:
    """Save an uploaded document and index it, or undo everything and say why not."""
    name = Path(name).name
    refused = check_upload(name, len(data), assistant.settings.max_upload_mb)
    if refused:
        return UploadResult(False, refused)
    target = upload_folder(assistant) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = target.read_bytes() if target.exists() else None
    target.write_bytes(data)
    try:
        report = assistant.ingest([target], progress=progress, strict=True)
    except Exception as exc:  # noqa: BLE001 - any failure must leave the folder as it was
        _restore(target, previous)
        return UploadResult(False, f"{ERR_UPLOAD_FAILED.format(name=name, reason=exc)} "
                                   f"{MSG_INDEX_UNCHANGED}")
    if report.errors:
        _restore(target, previous)
        reasons = " ".join(str(e) for e in report.errors)
        return UploadResult(False, f"{reasons} {MSG_INDEX_UNCHANGED}", report)
    template = MSG_UPLOAD_DONE if report.changed else MSG_UPLOAD_UNCHANGED
    return UploadResult(True, template.format(name=name, added=report.added,
                                              sources=report.sources, chunks=report.chunks),
                        report)


def _restore(target: Path, previous: bytes | None) -> None:
    if previous is None:
        target.unlink(missing_ok=True)
    else:
        target.write_bytes(previous)
