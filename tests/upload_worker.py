"""Upload a file through the UI (AppTest) in a process of its own that a test can kill.

Prints `embedding-upload` when the first batch of the upload is being embedded, then keeps
embedding slowly; the test kills the process with SIGKILL at that moment (a restart in the
middle of an upload). The embedder is the tests' fake; everything else is the product.
Usage: upload_worker.py NAME (the file's text is the hostile upload of the tests).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import os  # noqa: E402

from streamlit.testing.v1 import AppTest  # noqa: E402

from assistant.config import PROJECT_ROOT  # noqa: E402
from assistant.index import register_embedder  # noqa: E402
from tests.conftest import FakeEmbeddings  # noqa: E402
from tests.test_private_uploads import HOSTILE  # noqa: E402
from ui import texts  # noqa: E402


class SlowUpload(FakeEmbeddings):
    """The fake embedder; the upload's batches announce themselves and take a while."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if any("bankgiro" in t for t in texts):
            print("embedding-upload", flush=True)
            time.sleep(30)
        return super().embed_documents(texts)


def main() -> int:
    """Upload the file named on the command line and wait for it to be read."""
    embeddings = SlowUpload()
    register_embedder("test", lambda settings: embeddings)
    os.environ["ASF_EMBEDDER"] = "test"
    at = AppTest.from_file(str(PROJECT_ROOT / "ui" / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("app_pages/sources.py").run()
    at.file_uploader[0].upload(sys.argv[1], HOSTILE.encode(), "text/plain").run()
    next(b for b in at.tabs[3].button if b.label == texts.UPLOAD_BUTTON).click().run()
    job = at.session_state["upload-job"] if "upload-job" in at.session_state else None
    if job is not None:
        job.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
