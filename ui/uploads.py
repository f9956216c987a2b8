"""An uploaded document -> a private document of the session that uploaded it.

The file is read and embedded in a background thread (an UploadJob per session), with
progress, an estimate and a cancel button; no lock of the shared index is held, so other
sessions' questions are answered meanwhile. The result lives only in the session's memory
(assistant/index/private.py): the shared index, the corpus and uploads folders, other sessions,
the API and the CLI never see it. To parse it, the file stays for a moment in a folder of
its own under data_dir/upload-tmp, removed right after parsing; what a killed process left
there is removed when the app starts. An operator adds a document for everyone with
`asf ingest`.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.index.private import Cancelled, PrivateDocument, cancellable, read_private
from assistant.pipeline import Assistant
from assistant.prompts import ERR_UPLOAD_FAILED, MSG_INDEX_UNCHANGED, MSG_UPLOAD_DONE
from assistant.types import IngestError
from ui import texts
from ui.render import check_upload

# Where an upload waits to be parsed, in the data folder: one folder per upload, named
# "<process id>-<random>", so that a starting app knows which ones a dead process left.
UPLOAD_TMP = "upload-tmp"
RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"


def temp_folder(assistant: Assistant) -> Path:
    """Return the folder where uploads wait (for a moment) to be parsed."""
    return assistant.settings.data_dir / UPLOAD_TMP


def remove_leftovers(data_dir: Path) -> int:
    """Remove what uploads of processes that are gone left behind; return how many.

    Called when the app starts: an upload interrupted by a restart leaves nothing.
    """
    folder = data_dir / UPLOAD_TMP
    if not folder.is_dir():
        return 0
    removed = 0
    for entry in folder.iterdir():
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue          # another app process on the same data folder is reading it
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class UploadJob:
    """One upload being read and embedded for one session, in a background thread.

    The page reads `state`, `done`, `total`, `remaining()` and `message`; the thread writes
    them (plain attributes, no Streamlit calls off the script thread).
    """

    name: str
    state: str = RUNNING
    done: int = 0
    total: int = 0
    message: str = ""
    document: PrivateDocument | None = None
    view: Assistant | None = None        # the session's assistant with it, warmed up
    clock: Callable[[], float] = time.monotonic
    started: float | None = None        # when the first batch was reported
    _cancel: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def progress(self, done: int, total: int) -> None:
        """Note how far the embedding has come."""
        if self.started is None:
            self.started = self.clock()
        self.done, self.total = done, total

    def remaining(self) -> float | None:
        """Return the seconds still to go at the rate seen so far (None: not known yet)."""
        if self.started is None or not self.done or not self.total:
            return None
        elapsed = self.clock() - self.started
        return elapsed / self.done * (self.total - self.done)

    def time_left(self) -> str:
        """Return the estimate in Swedish words ("" until there is one)."""
        seconds = self.remaining()
        if seconds is None:
            return ""
        if seconds < 60:
            return texts.UNDER_A_MINUTE
        minutes = max(1, round(seconds / 60))
        return texts.ONE_MINUTE if minutes == 1 else texts.MINUTES.format(n=minutes)

    def cancel(self) -> None:
        """Ask the thread to stop after the batch it is embedding."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the thread to finish; return True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def running(self) -> bool:
        """Return True while the file is being read."""
        return self.state == RUNNING

    def start(self, assistant: Assistant, data: bytes,
              others: Sequence[PrivateDocument] = ()) -> None:
        """Read and embed the file in a background thread (`others`: the session's other
        private documents, which the session's assistant answers from as well)."""
        self._thread = threading.Thread(target=self._run, args=(assistant, data, others),
                                        name=f"asf-upload-{self.name}", daemon=True)
        self._thread.start()

    def _run(self, assistant: Assistant, data: bytes,
             others: Sequence[PrivateDocument]) -> None:
        try:
            self.document = read_upload(assistant, self.name, data,
                                        cancellable(self.progress, self._cancel.is_set))
        except Cancelled:
            self.state, self.message = CANCELLED, texts.UPLOAD_CANCELLED.format(name=self.name)
            return
        except IngestError as exc:
            self.state = FAILED
            self.message = f"{_no_temp_path(assistant, exc)} {MSG_INDEX_UNCHANGED}"
            return
        except Exception as exc:  # noqa: BLE001 - the page shows the reason, not a trace
            self.state = FAILED
            reason = _no_temp_path(assistant, exc)
            self.message = (f"{ERR_UPLOAD_FAILED.format(name=self.name, reason=reason)} "
                            f"{MSG_INDEX_UNCHANGED}")
            return
        self.view = _warmed(assistant, [*(d for d in others if d.name != self.name),
                                        self.document])
        self.message = MSG_UPLOAD_DONE.format(name=self.name, chunks=len(self.document.chunks))
        self.state = DONE


def _no_temp_path(assistant: Assistant, error: Exception) -> str:
    """Return an error's text without the server's path to the upload's temporary folder."""
    root = str(temp_folder(assistant))
    return re.sub(re.escape(root) + r"/[^/\s'\"]+/", "", str(error)).replace(root, UPLOAD_TMP)


def _warmed(assistant: Assistant, documents: list[PrivateDocument]) -> Assistant | None:
    """Return the session's assistant over its documents with its search structures built
    (BM25, vectors and guide cards over the shared passages and its own), so that its first
    question does not build them (measured with the real model: 6.7 s here, then 0.5 s for
    the first question instead of 5.9-12.8 s). None when that fails: the session then builds
    them at its first question, which shows any error."""
    view = assistant.with_private(documents)
    try:
        view.warm_up()
        view.retriever.guide()
    except Exception:  # noqa: BLE001 - the document is read; its first question will tell
        return None
    return view


def start_upload(assistant: Assistant, name: str, data: bytes,
                 others: Sequence[PrivateDocument] = ()) -> UploadJob:
    """Check an upload and start reading it in the background (a refused file: a job that
    has already failed, with the Swedish reason)."""
    name = Path(name).name
    job = UploadJob(name)
    refused = check_upload(name, len(data), assistant.settings.max_upload_mb)
    if refused:
        job.state, job.message = FAILED, refused
        return job
    job.start(assistant, data, others)
    return job


def read_upload(assistant: Assistant, name: str, data: bytes,
                progress: Callable[[int, int], None] | None = None) -> PrivateDocument:
    """Parse and embed an uploaded file as a private document (raises IngestError).

    The bytes are written to a folder of their own for the parser and removed as soon as
    it has read them, before the embedding starts.
    """
    folder = temp_folder(assistant) / f"{os.getpid()}-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    path = folder / name
    try:
        path.write_bytes(data)

        def parsed(done: int, total: int) -> None:
            # Reported first after parsing, before any embedding: the bytes are not needed.
            shutil.rmtree(folder, ignore_errors=True)
            if progress is not None:
                progress(done, total)

        return read_private(assistant.index, path, name, parsed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
