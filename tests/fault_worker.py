"""Run the `asf` command in a separate process that tests can kill, interrupt or slow down.

The embedder is the tests' deterministic fake (the real model would add minutes and is not
what these tests are about); everything else is the product: the CLI, the index, Chroma on
disk. Faults are injected from the environment:

FAULT_SLOW=S          each embedding batch takes S seconds (time to kill or interrupt it)
FAULT_KILL_AT=units   the process kills itself (SIGKILL) when it first writes sentence units,
                      after the passages of the same sync were written
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import cli  # noqa: E402
from assistant.index import register_embedder  # noqa: E402
from tests.conftest import FakeEmbeddings  # noqa: E402


class SlowEmbeddings(FakeEmbeddings):
    """The fake embedder, slowed down per batch."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        time.sleep(self.delay)
        return super().embed_documents(texts)


def _kill_on_unit_write() -> None:
    from chromadb.api.models.Collection import Collection

    upsert = Collection.upsert

    def dying_upsert(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name.endswith("_units"):
            print("killing", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return upsert(self, *args, **kwargs)

    Collection.upsert = dying_upsert  # type: ignore[method-assign]


def main() -> int:
    """Run `asf ARGS…` with the faults the environment asks for."""
    embeddings = SlowEmbeddings(float(os.environ.get("FAULT_SLOW", "0")))
    register_embedder("test", lambda settings: embeddings)
    os.environ["ASF_EMBEDDER"] = "test"
    if os.environ.get("FAULT_KILL_AT") == "units":
        _kill_on_unit_write()
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
