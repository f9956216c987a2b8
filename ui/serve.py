"""Start the chat UI with the assistant loading from the first second: `python -m ui.serve`.

    python -m ui.serve [streamlit options, e.g. --server.port 8501]

`streamlit run ui/app.py` builds the assistant when the first browser opens the page, so the
first question waited for the embedding model (measured: page ready 7.1 s after start, first
answer 12.8 s after that). This launcher starts the same build in a background thread as the
server process starts, then runs Streamlit's own command line in this process; the page's
first run picks up the assistant being built instead of starting another.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def main(argv: list[str] | None = None) -> int:
    """Start the assistant's build, then `streamlit run ui/app.py` with argv's options."""
    # As in ui/app.py: set before torch is imported (the build imports it).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from streamlit.web import cli

    from ui import state

    state.preload()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
