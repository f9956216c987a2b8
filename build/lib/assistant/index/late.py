"""Index: late interaction, scoring passages by matching question and passage token vectors.

EmbeddingGemma ends in mean pooling and two linear layers, so every contextual token state,
mapped through those layers, lies in the space of the text vectors. A question token is
matched to its most similar token in a passage (MaxSim, as in ColBERT); a passage scores the
idf-weighted mean over the question's tokens. A single vector per passage blurs a specific
word into the passage's general topic; token matching keeps it, in any inflection or language.

Token vectors are stored at indexing time next to Chroma, one file per chunk
(`<generation>/tokens/<chunk id>.npz`, float16, see store.py), written with the generation.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class TokenVectors:
    """A text's token ids and unit-length contextual token vectors (one row per token)."""

    ids: np.ndarray          # int32, (n,)
    vectors: np.ndarray      # float16, (n, dim)


class TokenStore:
    """Token vectors of the indexed chunks, one .npz file per chunk."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, chunk_id: str) -> Path:
        if not _SAFE_ID.match(chunk_id):
            raise ValueError(f"unexpected chunk id {chunk_id!r}")
        return self.folder / f"{chunk_id}.npz"

    def has(self, chunk_id: str) -> bool:
        """Return True when the chunk's token vectors are stored."""
        return self._path(chunk_id).exists()

    def put(self, chunk_id: str, tokens: TokenVectors) -> None:
        """Store a chunk's token vectors (atomically: a crash leaves no half-written file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, ids=tokens.ids, vectors=tokens.vectors)
            os.replace(tmp, self._path(chunk_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, chunk_id: str) -> TokenVectors | None:
        """Return a chunk's token vectors, or None when they are not stored."""
        path = self._path(chunk_id)
        if not path.exists():
            return None
        try:
            with np.load(path) as data:
                return TokenVectors(ids=data["ids"], vectors=data["vectors"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            # Unreadable: drop it, so that the next sync embeds the chunk again.
            path.unlink(missing_ok=True)
            return None

    def delete(self, chunk_ids: Iterable[str]) -> None:
        """Remove the token vectors of chunks that left the index."""
        for chunk_id in chunk_ids:
            self._path(chunk_id).unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove every stored file (before a rebuild)."""
        if self.folder.exists():
            for path in self.folder.glob("*.npz"):
                path.unlink()


class LateScorer:
    """MaxSim scores of every stored chunk for a question's token vectors."""

    def __init__(self, chunk_ids: list[str], store: TokenStore):
        found = [(cid, t) for cid in chunk_ids
                 if (t := store.get(cid)) is not None and len(t.ids)]
        self.chunk_ids = [cid for cid, _ in found]
        if not found:
            self.matrix = np.zeros((0, 0), dtype=np.float32)
            self.offsets = np.zeros(1, dtype=np.int64)
            self.idf: dict[int, float] = {}
            self.max_idf = 1.0
            return
        self.matrix = np.concatenate([t.vectors for _, t in found]).astype(np.float32)
        self.offsets = np.cumsum([0] + [len(t.ids) for _, t in found])
        df: Counter[int] = Counter()
        for _, t in found:
            df.update(set(t.ids.tolist()))
        n = len(found)
        self.idf = {tok: math.log(1 + (n - f + 0.5) / (f + 0.5)) for tok, f in df.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def scores(self, query: TokenVectors) -> dict[str, float]:
        """Return chunk id -> idf-weighted mean of each question token's best match."""
        if not self.chunk_ids or not len(query.ids):
            return {}
        weights = np.array([self.idf.get(int(t), self.max_idf) for t in query.ids])
        sims = query.vectors.astype(np.float32) @ self.matrix.T          # (q, total tokens)
        best = np.maximum.reduceat(sims, self.offsets[:-1], axis=1)      # (q, chunks)
        values = weights @ best / weights.sum()
        return dict(zip(self.chunk_ids, values.tolist(), strict=True))
