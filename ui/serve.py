"""Start the chat UI with the assistant loading from the first second: `python -m ui.serve`.

    python -m ui.serve [streamlit options, e.g. --server.port 8501]

`streamlit run ui/app.py` builds the assistant when the first browser opens the page, so the
first question waited for the embedding model (measured: page ready 7.1 s after start, first
answer 12.8 s after that). This launcher first starts the embedding model loading in a child
process (`EncoderProcess`: on the other core, not taking turns with Streamlit for one
interpreter lock), then starts the assistant's build in a background thread, then runs
Streamlit's own command line in this process; the page's first run picks up the assistant
being built instead of starting another. The chat box opens when everything is loaded:
measured in Chromium, page drawn 4.5-5.5 s after start, box open 7.4-8.8 s, first answer
0.34-0.48 s (before: box open at 5.0-6.4 s, first answer 5.1-7.0 s after).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def main(argv: list[str] | None = None) -> int:
    """Start the assistant's build, then `streamlit run ui/app.py` with argv's options."""
    # As in ui/app.py: set before torch is imported (the build imports it), and before the
    # settings are read (the page reads the same ones).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("ASF_EMBEDDING_PROCESS", "true")
    prestart_model()
    from streamlit.web import cli

    from ui import state

    state.preload()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


def prestart_model() -> None:
    """Start the embedding model's child process before Streamlit is imported, so that its
    load begins at once instead of after Streamlit's and the build's imports (~1.1 s in)."""
    from assistant.config import load_settings
    from assistant.index.encoder import EncoderProcess

    try:
        settings = load_settings()
    except Exception:  # noqa: BLE001 - invalid settings: the first page says which
        return
    if settings.embedder == "local" and settings.embedding_process and settings.model_path.exists():
        EncoderProcess.prestart(settings.model_path, settings.embedding_quantize)


if __name__ == "__main__":
    sys.exit(main())
