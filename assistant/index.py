"""Chunks -> a persistent Chroma collection (through langchain-chroma), kept in sync with files.

Syncing is idempotent: an unchanged file adds nothing, a changed file's chunks are replaced, a
file that is gone loses its chunks. Every file is parsed (and every chunk embedded) before the
collection is touched, so a bad file leaves the index exactly as it was.
"""

from __future__ import annotations

import fcntl
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.cases import CaseDocument
from assistant.chunking import Chunk, chunk_document, split_units
from assistant.config import Settings
from assistant.figures import FIGURE_FORMAT, is_figure_file
from assistant.ingest import (
    CASE_SUFFIXES,
    SECTION_SEPARATOR,
    IngestError,
    SourceDocument,
    file_sha256,
    is_corpus_file,
    load_document,
)
from assistant.late import LateScorer, TokenStore, TokenVectors
from assistant.prompts import ERR_NO_INDEX

if TYPE_CHECKING:
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings

Progress = Callable[[int, int], None]
EMBED_BATCH = 16
# Bump when ingestion or chunking changes what a file turns into, so old chunks are replaced.
PARSER_VERSION = "3"
# Held (flock) by the process that writes to the index, in the data folder.
SYNC_LOCK = "index.lock"
TITLES_FILE = "sources.json"


def _parser_version(path: Path) -> str:
    """Return the version of the parser that reads this file (cards have their own)."""
    if is_figure_file(path):
        return f"figure{FIGURE_FORMAT}"
    return CaseDocument.parser_version if path.suffix.lower() in CASE_SUFFIXES else PARSER_VERSION


class IndexMissingError(RuntimeError):
    """No index has been built yet."""

    def __init__(self) -> None:
        super().__init__(ERR_NO_INDEX)


class IndexModelMismatchError(RuntimeError):
    """The index was built with another embedding model than the configured one."""


@dataclass
class SyncReport:
    """What a sync did."""

    added: int = 0
    removed: int = 0
    sources: int = 0
    chunks: int = 0
    changed_sources: list[str] = field(default_factory=list)
    removed_sources: list[str] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Return True when the collection was modified."""
        return bool(self.added or self.removed)


def _metadata(chunk: Chunk, doc: SourceDocument, version: str) -> dict[str, Any]:
    # A case card's fields ride along with its chunk (case_name, case_industry, ...).
    extra = doc.extra_metadata if isinstance(doc, CaseDocument) else {}
    return extra | {
        "source": chunk.source,
        "title": chunk.title,
        "section": chunk.section,
        "page": chunk.page if chunk.page is not None else -1,
        "kind": chunk.kind,
        "seq": chunk.seq,
        "passage": chunk.text,
        "source_sha": doc.sha256,
        "version": version,
        "path": str(doc.path),
    }


def chunk_from_record(chunk_id: str, document: str, meta: dict[str, Any]) -> Chunk:
    """Rebuild a Chunk from what Chroma stores."""
    page = meta.get("page", -1)
    return Chunk(
        chunk_id=chunk_id,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        section_path=tuple(str(meta.get("section", "")).split(SECTION_SEPARATOR)),
        page=None if page is None or int(page) < 0 else int(page),
        text=str(meta.get("passage", document)),
        indexed_text=document,
        kind=str(meta.get("kind", "text")),
        seq=int(meta.get("seq", 0)),
    )


class Index:
    """The persistent passage index: Chroma on disk plus the chunk list for BM25."""

    def __init__(self, settings: Settings, embeddings: Embeddings | None = None):
        self.settings = settings
        self.embeddings = embeddings or settings.make_embeddings()
        self._store: Chroma | None = None
        self._unit_store: Chroma | None = None
        self._lock = threading.RLock()
        self._chunks: list[Chunk] | None = None
        self.tokens = TokenStore(settings.index_dir / "tokens")
        self._late: LateScorer | None = None

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the index for writing: one thread in this process, one process at a time.

        Two processes that sync at once (the chat UI starting while `asf ingest` runs, say)
        would embed and write the same chunks through two Chroma clients; the second now
        waits for the first and then finds its work done.
        """
        lock = self.settings.data_dir / SYNC_LOCK
        with self._lock:
            lock.parent.mkdir(parents=True, exist_ok=True)
            with open(lock, "a+b") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    @property
    def has_token_vectors(self) -> bool:
        """Return True when the embedding model gives token vectors (late interaction)."""
        return callable(getattr(self.embeddings, "embed_with_tokens", None))

    # ------------------------------------------------------------------ storage
    @property
    def model_name(self) -> str:
        """Return the identity of the embedding model used for this index."""
        return str(getattr(self.embeddings, "name", type(self.embeddings).__name__))

    @property
    def store(self) -> Chroma:
        """Return the langchain Chroma store on the persistent client (created on demand)."""
        if self._store is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings
            from langchain_chroma import Chroma

            self.settings.index_dir.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(self.settings.index_dir),
                settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False))
            self._store = Chroma(
                client=client,
                collection_name=self.settings.collection,
                embedding_function=self.embeddings,
                collection_metadata={"hnsw:space": "cosine",
                                     "embedding_model": self.model_name},
            )
            stored = (self._store._collection.metadata or {}).get("embedding_model")
            if stored and stored != self.model_name and self._store._collection.count():
                raise IndexModelMismatchError(
                    f"Indexet byggdes med modellen {stored}, men inställningarna anger "
                    f"{self.model_name}. Kör `asf index --rebuild`.")
        return self._store

    @property
    def unit_store(self) -> Chroma:
        """Return the Chroma store of sentence units (for sentence-level dense search)."""
        if self._unit_store is None:
            from langchain_chroma import Chroma

            self._unit_store = Chroma(
                client=self.store._client,
                collection_name=f"{self.settings.collection}_units",
                embedding_function=self.embeddings,
                collection_metadata={"hnsw:space": "cosine", "embedding_model": self.model_name},
            )
        return self._unit_store

    def exists(self) -> bool:
        """Return True when the index holds at least one chunk."""
        if not (self.settings.index_dir / "chroma.sqlite3").exists():
            return False
        return self.store._collection.count() > 0

    def chunks(self) -> list[Chunk]:
        """Return every indexed chunk (cached until the next sync)."""
        with self._lock:
            if self._chunks is None:
                data = self.store.get(include=["documents", "metadatas"])
                self._chunks = [
                    chunk_from_record(cid, doc or "", meta or {})
                    for cid, doc, meta in zip(data["ids"], data["documents"], data["metadatas"],
                                                         strict=True)
                ]
                self._chunks.sort(key=lambda c: (c.source, c.chunk_id))
            return self._chunks

    def require(self) -> None:
        """Raise IndexMissingError when there is nothing to search."""
        if not self.exists():
            raise IndexMissingError()

    def sources(self) -> dict[str, dict[str, Any]]:
        """Return the indexed documents: source -> title, path, sha and chunk count."""
        out: dict[str, dict[str, Any]] = {}
        data = self.store.get(include=["metadatas"])
        for meta in data["metadatas"]:
            meta = meta or {}
            entry = out.setdefault(str(meta.get("source")), {
                "title": meta.get("title"), "path": meta.get("path"),
                "sha256": meta.get("source_sha"), "chunks": 0})
            entry["chunks"] += 1
        return out

    # ------------------------------------------------------------------ sync
    def source_key(self, path: Path) -> str:
        """Return the stable source key of a file: corpus-relative, else absolute."""
        path = path.resolve()
        for root in (self.settings.corpus_dir.resolve(), self.settings.data_dir.resolve()):
            try:
                return path.relative_to(root).as_posix()
            except ValueError:
                continue
        return path.as_posix()

    def _titles(self) -> dict[str, str]:
        titles_file = self.settings.corpus_dir / TITLES_FILE
        if titles_file.exists():
            return {k: v.get("title", k) if isinstance(v, dict) else str(v)
                    for k, v in json.loads(titles_file.read_text(encoding="utf-8")).items()}
        return {}

    def corpus_files(self) -> list[Path]:
        """Return every indexable file in the corpus folder and the uploads folder."""
        files: list[Path] = []
        for root in (self.settings.corpus_dir, self.settings.data_dir / "uploads"):
            if root.exists():
                inside = root.resolve()
                # A link that leads out of the folder (corpus/leak.txt -> /etc/passwd) would
                # index, and show in the UI, a file nobody put in the corpus.
                files.extend(p for p in sorted(root.rglob("*"))
                             if is_corpus_file(p) and p.resolve().is_relative_to(inside))
        return files

    def load(self, path: Path) -> SourceDocument:
        """Parse one file (raising IngestError) with its corpus title."""
        key = self.source_key(path)
        return load_document(path, source=key, title=self._titles().get(key))

    def sync(self, paths: Sequence[Path] | None = None, *, strict: bool = True,
             prune: bool = True, progress: Progress | None = None) -> SyncReport:
        """Bring the index in line with the corpus folder plus `paths`.

        strict: any bad file aborts the whole sync before anything is written.
        prune: drop chunks of files that no longer exist.
        """
        with self._writing():
            return self._sync(paths, strict=strict, prune=prune, progress=progress)

    def _sync(self, paths: Sequence[Path] | None, *, strict: bool, prune: bool,
              progress: Progress | None) -> SyncReport:
        wanted = list(dict.fromkeys([*self.corpus_files(), *(Path(p) for p in paths or [])]))
        existing = self.store.get(include=["metadatas"])
        by_source: dict[str, dict[str, str]] = {}
        for cid, meta in zip(existing["ids"], existing["metadatas"], strict=True):
            meta = meta or {}
            by_source.setdefault(str(meta.get("source")), {})[cid] = str(
                meta.get("version", ""))
        paths_of_sources = {str(m.get("source")): str(m.get("path", ""))
                            for m in existing["metadatas"] if m}
        report = SyncReport()
        docs: list[SourceDocument] = []
        seen_sources: set[str] = set()
        for path in wanted:
            key = self.source_key(path)
            if self._unchanged(path, by_source.get(key, {})):
                seen_sources.add(key)
                continue
            try:
                doc = self.load(path)
            except IngestError as exc:
                report.errors.append(exc)
                seen_sources.add(self.source_key(path))   # keep its old chunks as they are
                continue
            seen_sources.add(doc.source)
            old = by_source.get(doc.source, {})
            if self._is_current(doc, old):
                continue
            docs.append(doc)
        if report.errors and strict:
            return report
        # Previously ingested files outside the corpus folder stay while they exist.
        for source, stored_path in paths_of_sources.items():
            if source not in seen_sources and stored_path and Path(stored_path).exists():
                if self._unchanged(Path(stored_path), by_source.get(source, {})):
                    seen_sources.add(source)
                    continue
                try:
                    doc = self.load(Path(stored_path))
                except IngestError as exc:
                    report.errors.append(exc)
                    seen_sources.add(source)
                    continue
                seen_sources.add(source)
                if not self._is_current(doc, by_source.get(source, {})):
                    docs.append(doc)
        new_chunks: list[tuple[Chunk, SourceDocument]] = []
        for doc in docs:
            # A case card is one passage of its quotes; other files are chunked.
            chunks = doc.chunks() if isinstance(doc, CaseDocument) else chunk_document(
                doc, self.settings.chunking.chunk_size, self.settings.chunking.section_in_text)
            for chunk in chunks:
                new_chunks.append((chunk, doc))
        new_ids = {c.chunk_id for c, _ in new_chunks}
        stale: list[str] = []
        for doc in docs:
            stale.extend(cid for cid in by_source.get(doc.source, {}) if cid not in new_ids)
        if prune:
            for source, ids in by_source.items():
                if source not in seen_sources:
                    stale.extend(ids)
                    report.removed_sources.append(source)
        # A chunk stored without token vectors (by a version before they existed, or whose
        # file was lost) is embedded again; _is_current() took its file up as changed.
        known = {cid for ids in by_source.values() for cid in ids
                 if not self.has_token_vectors or self.tokens.has(cid)}
        to_add = [(c, d) for c, d in new_chunks if c.chunk_id not in known]
        # A case card's sentences are the report's, already in the sentence index.
        units = [(c, u) for c, _ in to_add if c.kind != "case" for u in split_units(c.text)]
        # Embed everything first: a failure here leaves the collections untouched.
        chunk_vectors, chunk_tokens = self._embed_chunks([c.indexed_text for c, _ in to_add],
                                                         len(units), progress)
        unit_vectors = self._embed([u.text for _, u in units], progress,
                                   done=len(to_add), total=len(to_add) + len(units))
        for (chunk, _), tokens in zip(to_add if chunk_tokens else [], chunk_tokens,
                                      strict=True):
            self.tokens.put(chunk.chunk_id, tokens)
        collection = self.store._collection
        unit_collection = self.unit_store._collection
        for start in range(0, len(to_add), 256):
            batch = to_add[start:start + 256]
            collection.upsert(
                ids=[c.chunk_id for c, _ in batch],
                embeddings=chunk_vectors[start:start + 256],  # type: ignore[arg-type]
                documents=[c.indexed_text for c, _ in batch],
                metadatas=[_metadata(c, d, self.version(d)) for c, d in batch],
            )
        for start in range(0, len(units), 256):
            batch_units = units[start:start + 256]
            unit_collection.upsert(
                ids=[f"{c.chunk_id}:{u.position}" for c, u in batch_units],
                embeddings=unit_vectors[start:start + 256],  # type: ignore[arg-type]
                documents=[u.text for _, u in batch_units],
                metadatas=[{"chunk_id": c.chunk_id, "position": u.position,
                            "source": c.source} for c, u in batch_units],
            )
        # Chunks whose text survived a file change keep their id: refresh their metadata.
        refreshed = [(c, d) for c, d in new_chunks if c.chunk_id in known]
        if refreshed:
            collection.update(ids=[c.chunk_id for c, _ in refreshed],
                              metadatas=[_metadata(c, d, self.version(d))
                                         for c, d in refreshed])
        if stale:
            stale_ids = sorted(set(stale))
            unit_collection.delete(
                where={"chunk_id": {"$in": stale_ids}})  # type: ignore[dict-item]
            collection.delete(ids=stale_ids)
            self.tokens.delete(stale_ids)
        report.added = len(to_add)
        report.removed = len(set(stale))
        report.changed_sources = [d.source for d in docs]
        self._chunks = None
        self._late = None
        report.chunks = collection.count()
        report.sources = len({c.source for c in self.chunks()})
        return report

    def version(self, doc: SourceDocument) -> str:
        """Return what must match for a file's chunks to be current (content and chunking)."""
        return self._version(doc.sha256, _parser_version(doc.path))

    def _version(self, sha256: str, parser: str) -> str:
        chunking = self.settings.chunking
        return f"{sha256}:{parser}:{chunking.chunk_size}:{int(chunking.section_in_text)}"

    def _is_current(self, doc: SourceDocument, stored: dict[str, str]) -> bool:
        """Return True when a file's stored chunks (id -> version) need no work."""
        return self._current(self.version(doc), stored)

    def _unchanged(self, path: Path, stored: dict[str, str]) -> bool:
        """Return True when a file's stored chunks need no work, judged from its bytes alone.

        This spares parsing every file on every start (a large PDF takes seconds); a file
        that cannot be read is left to load() to report.
        """
        if not stored:
            return False
        try:
            sha = file_sha256(path)
        except OSError:
            return False
        return self._current(self._version(sha, _parser_version(path)), stored)

    def _current(self, version: str, stored: dict[str, str]) -> bool:
        """Return True when stored chunks (id -> version) carry `version` and, with a
        token-capable model, have their token vectors on disk."""
        return bool(stored) and all(v == version for v in stored.values()) and (
            not self.has_token_vectors or all(self.tokens.has(cid) for cid in stored))

    def _embed_chunks(self, texts: list[str], later: int, progress: Progress | None
                      ) -> tuple[list[list[float]], list[TokenVectors]]:
        """Embed chunk texts; with a token-capable model, keep their token vectors too."""
        total = len(texts) + later
        if not self.has_token_vectors:
            return self._embed(texts, progress, total=total), []
        both = self._embed(texts, progress, total=total, tokens=True)
        return [v for v, _ in both], [t for _, t in both]  # type: ignore[misc]

    def _embed(self, texts: list[str], progress: Progress | None, *, done: int = 0,
               total: int | None = None, tokens: bool = False) -> list[Any]:
        """Embed texts in batches of similar length (far less padding), in the given order.

        With tokens=True each result is (vector, TokenVectors). Progress counts from `done`
        toward `total` so that several calls report as one job.
        """
        total = len(texts) + done if total is None else total
        results: list[Any] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        if progress and total and not done:
            progress(0, total)
        for start in range(0, len(texts), EMBED_BATCH):
            batch = order[start:start + EMBED_BATCH]
            batch_texts = [texts[i] for i in batch]
            embedded = (self.embeddings.embed_with_tokens(batch_texts)  # type: ignore[attr-defined]
                        if tokens else self.embeddings.embed_documents(batch_texts))
            for i, result in zip(batch, embedded, strict=True):
                results[i] = result
            if progress:
                progress(done + min(start + EMBED_BATCH, len(texts)), total)
        return results

    def late_scorer(self) -> LateScorer:
        """Return the token-vector scorer over the current chunks (cached until a sync)."""
        with self._lock:
            if self._late is None:
                self._late = LateScorer([c.chunk_id for c in self.chunks()], self.tokens)
            return self._late

    def rebuild(self, progress: Progress | None = None) -> SyncReport:
        """Drop the collection and index the corpus from scratch."""
        with self._writing():
            self.unit_store.delete_collection()
            self.store.delete_collection()
            self.tokens.clear()
            self._store = self._unit_store = None
            self._chunks = None
            self._late = None
            return self._sync(None, strict=False, prune=True, progress=progress)

    def ids(self) -> Iterable[str]:
        """Return the ids of every chunk."""
        return [c.chunk_id for c in self.chunks()]

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """Return the stored embeddings of the given chunks."""
        if not chunk_ids:
            return {}
        data = self.store._collection.get(ids=chunk_ids, include=["embeddings"])
        embeddings = data["embeddings"] if data["embeddings"] is not None else []
        return {cid: list(map(float, emb)) for cid, emb in zip(data["ids"], embeddings,
                                                                 strict=True)}

    def unit_vectors(self, chunk_ids: list[str]) -> list[tuple[str, int, list[float]]]:
        """Return (chunk id, sentence position, embedding) for every sentence of the chunks."""
        if not chunk_ids:
            return []
        data = self.unit_store._collection.get(
            where={"chunk_id": {"$in": chunk_ids}},  # type: ignore[dict-item]
            include=["embeddings", "metadatas"])
        embeddings = data["embeddings"] if data["embeddings"] is not None else []
        return [(str(meta.get("chunk_id")), int(str(meta.get("position", 0))),
                 list(map(float, emb)))
                for emb, meta in zip(embeddings, data["metadatas"] or [], strict=True)]
