"""Index: chunks -> a persistent Chroma collection (langchain-chroma), kept in sync with files.

Syncing is idempotent: an unchanged file adds nothing, a changed file's chunks are replaced, a
file that is gone loses its chunks. Every file is parsed (and every chunk embedded) before any
collection is touched, and the writes go into a new generation of the index (store.py) that
becomes live only when complete: a bad file, a failure, Ctrl-C or kill -9 leaves the index
exactly as it was. Files added from outside the corpus are listed in `added.json` in the data
folder, so a rebuild keeps them.

Every passage records who added its document (`owners`): the shipped corpus, or the instance
(data folder) that ingested it, named by an id kept in the data folder. On a shared index (a
Chroma server) a sync removes only documents it added, or corpus files, so instances with
their own data folders never remove each other's documents; a local index has one instance
and syncs as it always did.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.cases.cards import CASE_SUFFIXES, CaseDocument, is_corpus_file, load_corpus_document
from assistant.cases.guide import (
    GuideDocument,
    card_of_record,
    check_guide_quotes,
    is_guide_file,
    section_texts,
)
from assistant.config import Settings
from assistant.index.embeddings import TokenEmbeddings, embed_queries, make_embeddings
from assistant.index.late import LateScorer, TokenStore, TokenVectors
from assistant.index.store import (
    TOKENS,
    Generation,
    GenerationStore,
    IndexReadOnlyError,
    Records,
    StoreError,
    first_line,
    is_read_only,
    make_store,
)
from assistant.ingest.chunking import chunk_document, split_units
from assistant.ingest.figures import FIGURE_FORMAT, is_figure_file
from assistant.ingest.loaders import file_sha256, size_over
from assistant.prompts import (
    ERR_INDEX_INCOMPLETE,
    ERR_INGEST_TOO_LARGE,
    ERR_NO_INDEX,
    ERR_SOURCES_JSON,
)
from assistant.types import SECTION_SEPARATOR, Chunk, IngestError, SourceDocument

if TYPE_CHECKING:
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings

Progress = Callable[[int, int], None]
EMBED_BATCH = 16
# Bump when ingestion or chunking changes what a file turns into, so old chunks are replaced.
PARSER_VERSION = "7"            # 7: a paragraph ending on an open word before a list leads it
# Chunk kinds without sentence units: a case card's sentences are the report's, already in the
# sentence index; a guide card's questions are embedded in a collection of their own.
CASE, GUIDE = "case", "guide"
NO_UNITS = (CASE, GUIDE)
# Held (flock) by the process that writes to the index, in the data folder.
SYNC_LOCK = "index.lock"
TITLES_FILE = "sources.json"
# Files added from outside the corpus and uploads folders (`asf ingest FILE`), in the data folder.
ADDED_FILE = "added.json"
# The id of the instance that owns a data folder (stable across restarts), in the data folder.
INSTANCE_FILE = "instance.id"
# The owner of the shipped corpus's documents, which every instance indexes alike.
CORPUS_OWNER = "corpus"


def _parser_version(path: Path) -> str:
    """Return the version of the parser that reads this file (cards have their own)."""
    if is_figure_file(path):
        return f"figure{FIGURE_FORMAT}"
    if is_guide_file(path):
        return GuideDocument.parser_version
    return CaseDocument.parser_version if path.suffix.lower() in CASE_SUFFIXES else PARSER_VERSION


class IndexMissingError(RuntimeError):
    """No index has been built yet."""

    def __init__(self) -> None:
        super().__init__(ERR_NO_INDEX)


class IndexModelMismatchError(RuntimeError):
    """The index was built with another embedding model than the configured one."""


class SourcesFileError(ValueError):
    """The corpus's sources.json (titles) cannot be read; nothing was changed."""


@dataclass
class SyncReport:
    """What a sync did."""

    added: int = 0
    removed: int = 0
    sources: int = 0
    chunks: int = 0
    changed_sources: list[str] = field(default_factory=list)
    removed_sources: list[str] = field(default_factory=list)
    # Gone from this instance's files but added by another instance: left in the shared index.
    kept_sources: list[str] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Return True when the collection was modified."""
        return bool(self.added or self.removed)


def _metadata(chunk: Chunk, doc: SourceDocument, version: str, owners: set[str]
              ) -> dict[str, Any]:
    # A case card's fields ride along with its chunk (case_name, case_industry, ...).
    extra = doc.extra_metadata if isinstance(doc, CaseDocument | GuideDocument) else {}
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
        "owners": _owners_text(owners),
    }


def _owners_text(owners: Iterable[str]) -> str:
    return " ".join(sorted(owners))


def _owners_of(meta: dict[str, Any]) -> set[str]:
    """Return who added a stored passage's document (empty: stored before owners were kept)."""
    return set(str(meta.get("owners", "")).split())


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


@dataclass
class _Stored:
    """The live index's chunk versions by source, file paths by source, chunk kinds by id,
    owners by source and every record's metadata by id."""

    by_source: dict[str, dict[str, str]] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    owners: dict[str, set[str]] = field(default_factory=dict)
    metas: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _SyncRun:
    """One sync: what it starts from (the live index, and what it compares against: the
    live index, or nothing on a rebuild) and what it reads (documents, sources seen and who
    adds each)."""

    titles: dict[str, str]
    wanted: list[Path]
    live: _Stored
    stored: _Stored
    with_units: set[str]
    shared: bool            # a Chroma server: other instances' documents are there too
    me: str
    rebuild: bool
    corpus_root: Path
    report: SyncReport = field(default_factory=SyncReport)
    docs: list[SourceDocument] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    adder: dict[str, str] = field(default_factory=dict)     # source -> who adds it now

    def mine(self, source: str) -> bool:
        """Return True when this instance may treat a stored document as its own."""
        return not self.shared or self.me in self.live.owners.get(source, set())

    def owners(self, source: str) -> set[str]:
        """Return who added a document once this sync is written."""
        return self.live.owners.get(source, set()) | {self.adder.get(source, self.me)}


@dataclass
class _SyncPlan:
    """What a sync writes: chunks to embed and add, chunks whose text is unchanged but whose
    metadata is new, chunk ids to drop, records whose owners alone change, and (on a
    rebuild) the sources copied from the live index as they are."""

    to_add: list[tuple[Chunk, SourceDocument]]
    refreshed: list[tuple[Chunk, SourceDocument]]
    stale: list[str]
    metadata: dict[str, dict[str, Any]]
    keep: list[str]

    @property
    def changes(self) -> bool:
        """Return True when the index must be written."""
        return bool(self.to_add or self.stale or self.refreshed or self.metadata)


class Index:
    """The persistent passage index: Chroma on disk plus the chunk list for BM25."""

    def __init__(self, settings: Settings, embeddings: Embeddings | None = None):
        self.settings = settings
        self.embeddings = embeddings or make_embeddings(settings)
        self.backend: GenerationStore = make_store(
            settings.data_dir, settings.chroma_url, settings.collection,
            self._collection_metadata())
        self._opened = False
        self._open_name: str | None = None
        self._gen: Generation | None = None
        self._retired: Generation | None = None
        self._store: Chroma | None = None
        self._lock = threading.RLock()
        self._chunks: list[Chunk] | None = None
        self._guide: list[tuple[Chunk, dict[str, Any]]] | None = None
        self._revision = 0          # counts the generations opened; see `revision`
        self.tokens = TokenStore(settings.data_dir / TOKENS)
        self._late: LateScorer | None = None

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the index for writing: one thread in this process, one process at a time.

        Two processes that sync at once (the chat UI starting while `asf ingest` runs, say)
        would embed the same chunks twice; the second now waits for the first, then reopens
        the generation the first made live and finds its work done.
        """
        self.backend.check_writable()
        lock = self.settings.data_dir / SYNC_LOCK
        with self._lock:
            try:
                with open(lock, "a+b") as fh:
                    fcntl.flock(fh, fcntl.LOCK_EX)
                    try:
                        self.reopen_if_changed()
                        yield
                    finally:
                        fcntl.flock(fh, fcntl.LOCK_UN)
            except IndexReadOnlyError:
                raise
            except Exception as exc:
                # The lock file, a new generation's folder or its database: whichever write
                # the folder refuses, the user learns the folder is read-only.
                if is_read_only(exc):
                    raise IndexReadOnlyError(self.settings.data_dir) from exc
                raise

    @property
    def token_embeddings(self) -> TokenEmbeddings | None:
        """Return the embedder when it gives token vectors (late interaction), else None."""
        return self.embeddings if isinstance(self.embeddings, TokenEmbeddings) else None

    @property
    def has_token_vectors(self) -> bool:
        """Return True when the embedding model gives token vectors (late interaction)."""
        return self.token_embeddings is not None

    def embed_question(self, question: str, *, with_tokens: bool
                       ) -> tuple[list[float], TokenVectors | None]:
        """Return a question's vector and, when asked and the model gives them, its tokens'."""
        token_embeddings = self.token_embeddings if with_tokens else None
        if token_embeddings is None:
            return self.embeddings.embed_query(question), None
        [(vector, tokens)] = token_embeddings.embed_with_tokens([question], query=True)
        return vector, tokens

    # ------------------------------------------------------------------ storage
    @property
    def model_name(self) -> str:
        """Return the identity of the embedding model used for this index."""
        return str(getattr(self.embeddings, "name", type(self.embeddings).__name__))

    def _collection_metadata(self) -> dict[str, Any]:
        return {"hnsw:space": "cosine", "embedding_model": self.model_name}

    def _ensure_open(self) -> None:
        with self._lock:
            if not self._opened:
                self._open_live()

    def _open_live(self) -> None:
        """Open the live generation (or note that there is none)."""
        self._close()
        generation = self.backend.open_live()
        self._opened = True
        self._open_name = generation.name if generation else None
        self._gen = generation
        if generation is None:
            return
        self.tokens = generation.tokens
        count = generation.collection.count()
        stored = generation.collection.metadata().get("embedding_model")
        if stored and stored != self.model_name and count:
            raise IndexModelMismatchError(
                f"Indexet byggdes med modellen {stored}, men inställningarna anger "
                f"{self.model_name}. Kör `asf index --rebuild`.")
        if self.settings.chroma_url:
            self._fill_tokens()

    def _fill_tokens(self) -> None:
        """Embed the token vectors of passages another machine added (a local cache)."""
        if not self.has_token_vectors or self._gen is None:
            return
        missing = [(cid, doc) for cid, doc, _ in self._gen.collection.records(metadatas=False)
                   if not self.tokens.has(cid)]
        if missing:
            both = self._embed([doc for _, doc in missing], None, tokens=True)
            for (cid, _), (_, vectors) in zip(missing, both, strict=True):
                self.tokens.put(cid, vectors)

    @property
    def _collection(self) -> Records | None:
        return self._gen.collection if self._gen is not None else None

    @property
    def _units(self) -> Records | None:
        return self._gen.units if self._gen is not None else None

    def _close(self) -> None:
        """Let go of the open generation.

        It is closed one switch later: a question that began on it in another thread
        finishes reading first (a question takes well under a second).
        """
        if self._retired is not None:
            self.backend.close(self._retired)
        self._retired = self._gen
        self._gen = None
        self._store = None
        self._chunks = None
        self._revision += 1
        self._late = None
        self._opened = False

    @property
    def revision(self) -> int:
        """Return a number that changes whenever the index's contents may have changed.

        Readers that cache what they derive from the chunks (BM25, the topic index) rebuild
        when it differs from the version they built from.
        """
        return self._revision

    def reopen_if_changed(self) -> bool:
        """Reopen the index when another process (or this one) made a new generation live.

        Costs one read of a small file (a server store: one request); called before every
        question, so a UI or server answers from a rebuilt or synced index without a restart.
        """
        with self._lock:
            if self._opened and self.backend.live_name() == self._open_name:
                return False
            was_open = self._opened
            self._open_live()
            return was_open

    def close(self) -> None:
        """Release every database handle (the index can be opened again later)."""
        with self._lock:
            self._close()
            if self._retired is not None:
                self.backend.close(self._retired)
                self._retired = None

    @property
    def store(self) -> Chroma:
        """Return the langchain Chroma store of passages (raises IndexMissingError); the eval's
        LangChain baseline searches it, answers use the exact search in retrieval/hybrid.py."""
        self._ensure_open()
        if self._gen is None:
            raise IndexMissingError()
        if self._store is None:
            self._store = self._gen.collection.vector_store(self.embeddings,
                                                            self._collection_metadata())
        return self._store

    def exists(self) -> bool:
        """Return True when the index holds at least one chunk."""
        self._ensure_open()
        return self._collection is not None and self._collection.count() > 0

    def chunks(self) -> list[Chunk]:
        """Return every indexed passage, guide cards apart (cached until the next sync)."""
        return [c for c in self._all_chunks() if c.kind != GUIDE]

    def guide_chunks(self) -> list[tuple[Chunk, dict[str, Any]]]:
        """Return every indexed guide card's passage with its stored metadata."""
        self._all_chunks()
        return list(self._guide or [])

    def _all_chunks(self) -> list[Chunk]:
        with self._lock:
            if self._chunks is None:
                self._ensure_open()
                records = self._collection.records() if self._collection is not None else []
                chunks, guide = [], []
                for cid, doc, meta in records:
                    chunk = chunk_from_record(cid, doc, meta)
                    chunks.append(chunk)
                    if chunk.kind == GUIDE:
                        guide.append((chunk, meta))
                chunks.sort(key=lambda c: (c.source, c.chunk_id))
                guide.sort(key=lambda cm: (cm[0].source, cm[0].chunk_id))
                self._chunks, self._guide = chunks, guide
            return self._chunks

    def guide_questions(self) -> dict[tuple[str, int], str]:
        """Return every guide card's ways of asking by (card passage id, position)."""
        self._ensure_open()
        if self._gen is None:
            return {}
        return {(str(m.get("chunk_id")), int(str(m.get("position", 0)))): doc
                for _, doc, m in self._gen.guide.records() if m}

    def stale_guide_points(self) -> list[IngestError]:
        """Return an error naming the file and the card for every guide point whose quote no
        longer stands in its section (after a document changed); the card stays indexed."""
        sections = section_texts(self.chunks())
        return [problem for chunk, meta in self.guide_chunks() for problem in
                check_guide_quotes(card_of_record(chunk, meta, Path(str(meta.get("path", "")))),
                                   sections)]

    def guide_vectors(self) -> list[tuple[str, int, list[float]]]:
        """Return (guide chunk id, position, vector) for every way of asking of every card."""
        self._ensure_open()
        if self._gen is None:
            return []
        ids = [c.chunk_id for c, _ in self.guide_chunks()]
        if not ids:
            return []
        return [(str(meta.get("chunk_id")), int(str(meta.get("position", 0))), vector)
                for meta, vector in self._gen.guide.vectors_of_chunks(ids)]

    def require(self) -> None:
        """Raise IndexMissingError when there is nothing to search."""
        if not self.exists():
            raise IndexMissingError()

    def sources(self) -> dict[str, dict[str, Any]]:
        """Return the indexed documents: source -> title, path, sha and chunk count."""
        out: dict[str, dict[str, Any]] = {}
        for meta in self._stored_metadatas():
            entry = out.setdefault(str(meta.get("source")), {
                "title": meta.get("title"), "path": meta.get("path"),
                "sha256": meta.get("source_sha"), "chunks": 0})
            entry["chunks"] += 1
        return out

    def _stored_metadatas(self) -> list[dict[str, Any]]:
        self._ensure_open()
        if self._collection is None:
            return []
        return [meta for _, _, meta in self._collection.records(documents=False)]

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
        """Return the corpus's titles by source key (raises SourcesFileError)."""
        titles_file = self.settings.corpus_dir / TITLES_FILE
        if not titles_file.exists():
            return {}
        try:
            data = json.loads(titles_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourcesFileError(ERR_SOURCES_JSON.format(
                name=f"{self.settings.corpus_dir.name}/{TITLES_FILE}",
                reason=first_line(exc))) from exc
        if not isinstance(data, dict):
            raise SourcesFileError(ERR_SOURCES_JSON.format(
                name=f"{self.settings.corpus_dir.name}/{TITLES_FILE}",
                reason=f"den innehåller {type(data).__name__}, inte ett objekt"))
        return {k: str(v.get("title", k)) if isinstance(v, dict) else str(v)
                for k, v in data.items()}

    def _roots(self) -> list[Path]:
        return [self.settings.corpus_dir, self.settings.data_dir / "uploads"]

    def _is_outside(self, path: Path) -> bool:
        resolved = path.resolve()
        return not any(resolved.is_relative_to(root.resolve()) for root in self._roots())

    def added_files(self) -> list[Path]:
        """Return the files added from outside the corpus (`asf ingest FILE`) that still exist."""
        return [Path(p) for p in self._added_list() if Path(p).is_file()]

    def _added_list(self) -> list[str]:
        """Return every file listed as added from outside the corpus, existing or not."""
        try:
            data = json.loads((self.settings.data_dir / ADDED_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        files = data.get("files", []) if isinstance(data, dict) else []
        return [p for p in files if isinstance(p, str)]

    def _claim_unowned(self, stored: _Stored, me: str) -> None:
        """Take as this instance's the documents stored before owners were kept that it
        added: listed in its added.json or in its uploads folder (so it can remove them)."""
        added = set(self._added_list())
        uploads = (self.settings.data_dir / "uploads").resolve()
        for source, path in stored.paths.items():
            if not stored.owners.get(source) and path and (
                    path in added or Path(path).resolve().is_relative_to(uploads)):
                stored.owners[source] = {me}

    def _record_added(self, paths: Iterable[Path]) -> None:
        """Write the list of added files (atomically), keeping those that still exist."""
        known = {str(p.resolve()) for p in self.added_files()}
        known |= {str(p.resolve()) for p in paths if p.is_file() and self._is_outside(p)}
        target = self.settings.data_dir / ADDED_FILE
        try:
            written = json.loads(target.read_text(encoding="utf-8")).get("files")
        except (OSError, ValueError, AttributeError):
            written = None
        if written == sorted(known) or (written is None and not known):
            return          # nothing to record, or recorded as it is
        tmp = target.with_name(f"{ADDED_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"files": sorted(known)}, ensure_ascii=False, indent=1),
                       encoding="utf-8")
        os.replace(tmp, target)

    def corpus_files(self) -> list[Path]:
        """Return every indexable file: corpus folder, uploads folder and added files."""
        files: list[Path] = []
        for root in self._roots():
            if root.exists():
                inside = root.resolve()
                # A link that leads out of the folder (corpus/leak.txt -> /etc/passwd) would
                # index, and show in the UI, a file nobody put in the corpus.
                files.extend(p for p in sorted(root.rglob("*"))
                             if is_corpus_file(p) and p.resolve().is_relative_to(inside))
        files.extend(p for p in self.added_files() if is_corpus_file(p))
        return list(dict.fromkeys(files))

    def load(self, path: Path, titles: dict[str, str] | None = None) -> SourceDocument:
        """Parse one file (raising IngestError) with its corpus title."""
        key = self.source_key(path)
        limit_mb = self.settings.max_upload_mb
        size_mb = size_over(path, limit_mb)
        if size_mb is not None:
            raise IngestError(path, ERR_INGEST_TOO_LARGE.format(
                name="{name}", size_mb=size_mb, limit_mb=limit_mb))
        titles = self._titles() if titles is None else titles
        return load_corpus_document(path, source=key, title=titles.get(key))

    def sync(self, paths: Sequence[Path] | None = None, *, strict: bool = True,
             prune: bool = True, progress: Progress | None = None) -> SyncReport:
        """Bring the index in line with the corpus folder plus `paths`.

        strict: any bad file aborts the whole sync before anything is written.
        prune: drop chunks of files that no longer exist.
        """
        with self._writing():
            return self._sync(paths, strict=strict, prune=prune, progress=progress)

    def rebuild(self, progress: Progress | None = None) -> SyncReport:
        """Index the corpus, uploads and added files from scratch, beside the live index.

        The index in use stays live, and answers, until the new one is complete.
        """
        with self._writing():
            return self._sync(None, strict=False, prune=True, progress=progress, rebuild=True)

    def _stored(self) -> _Stored:
        """Return what the live index holds, by source and by chunk."""
        stored = _Stored()
        self._ensure_open()
        if self._collection is None:
            return stored
        for cid, _, meta in self._collection.records(documents=False):
            source = str(meta.get("source"))
            stored.by_source.setdefault(source, {})[cid] = str(meta.get("version", ""))
            stored.paths[source] = str(meta.get("path", ""))
            stored.kinds[cid] = str(meta.get("kind", ""))
            stored.owners.setdefault(source, set()).update(_owners_of(meta))
            stored.metas[cid] = meta
        return stored

    def instance_id(self) -> str:
        """Return this data folder's instance id (made on first use, kept across restarts)."""
        target = self.settings.data_dir / INSTANCE_FILE
        with contextlib.suppress(OSError):
            known = target.read_text(encoding="ascii").strip()
            if known:
                return known
        made = secrets.token_hex(6)
        tmp = target.with_name(f"{INSTANCE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(made + "\n", encoding="ascii")
        try:
            os.link(tmp, target)       # the first process to get here names the instance
        except FileExistsError:
            made = target.read_text(encoding="ascii").strip() or made
        finally:
            tmp.unlink(missing_ok=True)
        return made

    def _with_units(self) -> set[str]:
        """Return the ids of chunks that have their sentence units (a guide card: its
        questions) in the live index."""
        self._ensure_open()
        if self._gen is None:
            return set()
        return {str(m.get("chunk_id")) for records in (self._gen.units, self._gen.guide)
                for _, _, m in records.records(documents=False) if m}

    def _sync(self, paths: Sequence[Path] | None, *, strict: bool, prune: bool,
              progress: Progress | None, rebuild: bool = False) -> SyncReport:
        """Sync in four steps: read (parse the files whose stored chunks are not current),
        compare (what to embed, drop, refresh or re-own), write (one new generation, made
        live only when complete) and report.

        Nothing is written before every file is read: with `strict`, one bad file ends the
        sync here; otherwise a bad file keeps its old chunks and is reported.
        """
        run = self._begin_sync(paths, rebuild)
        for path in run.wanted:
            self._take(run, path, self.source_key(path),
                       CORPUS_OWNER if path.resolve().is_relative_to(run.corpus_root)
                       else run.me)
        if run.report.errors and strict:
            return run.report
        self._take_left_over(run)
        plan = self._plan(run, prune)
        if plan.changes or rebuild:
            self._write(plan.to_add, plan.refreshed, plan.stale, progress, rebuild=rebuild,
                        owners=run.owners, metadata=plan.metadata, keep=plan.keep)
        # Sources keyed by an absolute path were added from outside the corpus and uploads
        # folders (by a version before added.json); those keyed relative to the corpus are
        # corpus files, wherever the corpus folder was when they were indexed.
        self._record_added([*(Path(p) for p in paths or []),
                            *(Path(p) for s, p in run.stored.paths.items()
                              if p and Path(s).is_absolute() and run.mine(s))])
        return self._finish_report(run, plan)

    def _begin_sync(self, paths: Sequence[Path] | None, rebuild: bool) -> _SyncRun:
        """Read what a sync starts from: the titles, the files wanted, the live index (as
        this instance sees it) and who this instance is."""
        titles = self._titles()        # a broken sources.json stops here, before any work
        wanted = list(dict.fromkeys([*self.corpus_files(), *(Path(p) for p in paths or [])]))
        live = self._stored()
        with_units = self._with_units() if not rebuild else set()
        # A shared index (a Chroma server) holds other instances' documents too.
        shared = bool(self.settings.chroma_url)
        me = self.instance_id()
        if shared:
            self._claim_unowned(live, me)
        return _SyncRun(titles=titles, wanted=wanted, live=live,
                        stored=_Stored() if rebuild else live, with_units=with_units,
                        shared=shared, me=me, rebuild=rebuild,
                        corpus_root=self.settings.corpus_dir.resolve())

    def _take(self, run: _SyncRun, path: Path, key: str, owner: str) -> None:
        """Parse a file unless its stored chunks are current; note errors."""
        run.seen.add(key)
        run.adder.setdefault(key, owner)
        stored = run.stored
        if self._unchanged(path, stored.by_source.get(key, {}), stored.kinds, run.with_units):
            return
        try:
            doc = self.load(path, run.titles)
        except IngestError as exc:
            run.report.errors.append(exc)      # keep its old chunks as they are
            return
        run.adder.setdefault(doc.source, owner)
        if not self._is_current(doc, stored.by_source.get(doc.source, {}), stored.kinds,
                                run.with_units):
            run.docs.append(doc)

    def _take_left_over(self, run: _SyncRun) -> None:
        """Take the files ingested from outside the corpus before they were listed in
        added.json: they stay while they exist."""
        for source, stored_path in run.stored.paths.items():
            if (source not in run.seen and stored_path and Path(stored_path).is_file()
                    and run.mine(source)):
                self._take(run, Path(stored_path), source, run.me)

    def _plan(self, run: _SyncRun, prune: bool) -> _SyncPlan:
        """Compare the files read with the stored chunks: what to embed and add, what to
        drop, what keeps its vectors but gets new metadata (or only new owners)."""
        new_chunks = self._chunk_all(run.docs)
        new_ids = {c.chunk_id for c, _ in new_chunks}
        stale = [cid for doc in run.docs for cid in run.stored.by_source.get(doc.source, {})
                 if cid not in new_ids]
        # Who added a document changes without its passages: the owners of every chunk.
        new_owners = self._owner_changes(run)
        if prune:
            pruned, kept_owners = self._prune(run)
            stale.extend(pruned)
            new_owners.update(kept_owners)
        # A chunk stored without token vectors or sentence units (by an older version, or a
        # write that never finished) is embedded again; _is_current() took its file up.
        stored = run.stored
        known = {cid for ids in stored.by_source.values() for cid in ids
                 if self._whole(cid, stored.kinds, run.with_units)}
        return _SyncPlan(
            to_add=[(c, d) for c, d in new_chunks if c.chunk_id not in known],
            refreshed=[(c, d) for c, d in new_chunks if c.chunk_id in known],
            stale=sorted(set(stale)),
            metadata={cid: run.live.metas[cid] | {"owners": _owners_text(who)}
                      for source, who in new_owners.items()
                      for cid in run.live.by_source.get(source, {})},
            keep=run.report.kept_sources if run.rebuild else [])

    def _chunk_all(self, docs: list[SourceDocument]) -> list[tuple[Chunk, SourceDocument]]:
        """Return every document's passages: a case or guide card is one passage of its
        quotes; other files are chunked."""
        chunking = self.settings.chunking
        return [(chunk, doc) for doc in docs
                for chunk in (doc.chunks() if isinstance(doc, CaseDocument | GuideDocument)
                              else chunk_document(doc, chunking.chunk_size,
                                                  chunking.section_in_text))]

    @staticmethod
    def _owner_changes(run: _SyncRun) -> dict[str, set[str]]:
        """Return the new owners of documents seen but not written again (shared index)."""
        if not run.shared:
            return {}
        written = {d.source for d in run.docs}
        return {s: run.owners(s) for s in (run.seen & set(run.stored.by_source)) - written
                if run.owners(s) != run.live.owners.get(s, set())}

    @staticmethod
    def _prune(run: _SyncRun) -> tuple[list[str], dict[str, set[str]]]:
        """Return the chunks of the sources no longer seen that this instance may remove,
        and the new owners of those it leaves to another instance; note both in the report."""
        stale: list[str] = []
        new_owners: dict[str, set[str]] = {}
        for source in run.live.by_source:
            if source in run.seen:
                continue
            added_by = run.live.owners.get(source, set())
            others = added_by - {run.me, CORPUS_OWNER}
            if run.shared and (others or not added_by):
                # Another instance added it (or one before owners were kept): it stays.
                run.report.kept_sources.append(source)
                if added_by and others != added_by:
                    new_owners[source] = others
            elif not run.rebuild:
                stale.extend(run.stored.by_source[source])
                run.report.removed_sources.append(source)
        return stale, new_owners

    def _finish_report(self, run: _SyncRun, plan: _SyncPlan) -> SyncReport:
        """Return the report: what changed, the guide points the index no longer supports,
        and what the live index now holds."""
        report = run.report
        report.changed_sources = [d.source for d in run.docs]
        report.added = len(plan.to_add)
        report.removed = len(plan.stale)
        if plan.to_add or plan.stale or plan.refreshed or run.rebuild:
            report.errors.extend(self.stale_guide_points())
        chunks = self.chunks()
        report.chunks = len(chunks)
        report.sources = len({c.source for c in chunks})
        return report

    def _write(self, to_add: list[tuple[Chunk, SourceDocument]],
               refreshed: list[tuple[Chunk, SourceDocument]], stale: list[str],
               progress: Progress | None, *, rebuild: bool,
               owners: Callable[[str], set[str]], metadata: dict[str, dict[str, Any]] | None = None,
               keep: Sequence[str] = ()) -> None:
        """Embed, then write a new generation beside the live one and make it live.

        owners: who added each written passage's document, by source. metadata: records
        whose metadata alone changes (who added them). keep: on a rebuild, the sources whose
        records are copied from the live index as they are (another instance added them).
        """
        units = [(c, u) for c, _ in to_add if c.kind not in NO_UNITS
                 for u in split_units(c.text)]
        asked = [(c, i, q) for c, d in to_add if isinstance(d, GuideDocument)
                 for i, q in enumerate(d.questions)]
        # Embed everything first: a failure here leaves the index untouched.
        total = len(to_add) + len(units) + len(asked)
        chunk_vectors, chunk_tokens = self._embed_chunks([c.indexed_text for c, _ in to_add],
                                                         [c.source for c, _ in to_add],
                                                         len(units) + len(asked), progress)
        unit_vectors = self._embed([u.text for _, u in units], progress,
                                   done=len(to_add), total=total,
                                   groups=[c.source for c, _ in units])
        # A card is matched question to question, so its ways of asking are embedded as the
        # user's question is, with the model's query prompt.
        asked_vectors = self._embed([q for _, _, q in asked], progress,
                                    done=len(to_add) + len(units), total=total, query=True,
                                    groups=[c.source for c, _, _ in asked])
        building = self.backend.begin(copy_live=not rebuild)
        try:
            collection, unit_collection, guide, tokens = (
                building.collection, building.units, building.guide, building.tokens)
            if keep and self._gen is not None:
                collection.copy_from(self._gen.collection, sources=keep)
                unit_collection.copy_from(self._gen.units, sources=keep)
                guide.copy_from(self._gen.guide, sources=keep)
            for (chunk, _), vectors in zip(to_add if chunk_tokens else [], chunk_tokens,
                                           strict=True):
                tokens.put(chunk.chunk_id, vectors)
            if stale:
                unit_collection.delete_chunks(stale)
                guide.delete_chunks(stale)
                collection.delete(stale)
                if not self.settings.chroma_url:      # the server's token cache is shared
                    tokens.delete(stale)
            collection.upsert(ids=[c.chunk_id for c, _ in to_add], embeddings=chunk_vectors,
                              documents=[c.indexed_text for c, _ in to_add],
                              metadatas=[_metadata(c, d, self.version(d), owners(d.source))
                                         for c, d in to_add])
            added = [c.chunk_id for c, _ in to_add]
            if added:       # units of a chunk written again replace its old ones
                unit_collection.delete_chunks(added)
                guide.delete_chunks(added)
            guide.upsert(
                ids=[f"{c.chunk_id}:q{i}" for c, i, _ in asked], embeddings=asked_vectors,
                documents=[q for _, _, q in asked],
                metadatas=[{"chunk_id": c.chunk_id, "position": i, "source": c.source}
                           for c, i, _ in asked])
            unit_collection.upsert(
                ids=[f"{c.chunk_id}:{u.position}" for c, u in units], embeddings=unit_vectors,
                documents=[u.text for _, u in units],
                metadatas=[{"chunk_id": c.chunk_id, "position": u.position, "source": c.source}
                           for c, u in units])
            # Chunks whose text survived a file change keep their id: refresh metadata.
            if refreshed:
                collection.update_metadata([c.chunk_id for c, _ in refreshed],
                                           [_metadata(c, d, self.version(d), owners(d.source))
                                            for c, d in refreshed])
            if metadata:
                collection.update_metadata(list(metadata), list(metadata.values()))
            self._verify(collection, unit_collection, guide, tokens)
        except BaseException:
            self.backend.discard(building)
            raise
        self.backend.commit(building)
        self._open_live()

    def _verify(self, collection: Records, unit_collection: Records, guide: Records,
                tokens: TokenStore) -> None:
        """Check a generation before it goes live: every passage has its sentences (a guide
        card its questions) and tokens."""
        with_units = {str(m.get("chunk_id")) for _, _, m in
                      unit_collection.records(documents=False) if m}
        with_questions = {str(m.get("chunk_id")) for _, _, m in guide.records(documents=False)
                          if m}
        for cid, _, meta in collection.records(documents=False):
            kind = str(meta.get("kind", ""))
            if kind == GUIDE and cid not in with_questions:
                raise StoreError(ERR_INDEX_INCOMPLETE.format(detail=f"{cid} saknar frågor"))
            if kind not in NO_UNITS and cid not in with_units:
                raise StoreError(ERR_INDEX_INCOMPLETE.format(detail=f"{cid} saknar meningar"))
            if self.has_token_vectors and not tokens.has(cid):
                raise StoreError(ERR_INDEX_INCOMPLETE.format(detail=f"{cid} saknar tokenvektorer"))

    def version(self, doc: SourceDocument) -> str:
        """Return what must match for a file's chunks to be current (content and chunking)."""
        return self._version(doc.sha256, _parser_version(doc.path))

    def _version(self, sha256: str, parser: str) -> str:
        chunking = self.settings.chunking
        return f"{sha256}:{parser}:{chunking.chunk_size}:{int(chunking.section_in_text)}"

    def _is_current(self, doc: SourceDocument, stored: dict[str, str],
                    kinds: dict[str, str], with_units: set[str]) -> bool:
        """Return True when a file's stored chunks (id -> version) need no work."""
        return self._current(self.version(doc), stored, kinds, with_units)

    def _unchanged(self, path: Path, stored: dict[str, str], kinds: dict[str, str],
                   with_units: set[str]) -> bool:
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
        return self._current(self._version(sha, _parser_version(path)), stored, kinds,
                             with_units)

    def _current(self, version: str, stored: dict[str, str], kinds: dict[str, str],
                 with_units: set[str]) -> bool:
        """Return True when stored chunks (id -> version) carry `version` and are whole."""
        return bool(stored) and all(v == version for v in stored.values()) and all(
            self._whole(cid, kinds, with_units) for cid in stored)

    def _whole(self, chunk_id: str, kinds: dict[str, str], with_units: set[str]) -> bool:
        """Return True when a stored chunk has its sentence units and (if the model gives
        them) its token vectors; a chunk that lacks either is written again."""
        return (kinds.get(chunk_id) == CASE or chunk_id in with_units) and (
            not self.has_token_vectors or self.tokens.has(chunk_id))

    def _embed_chunks(self, texts: list[str], groups: list[str], later: int,
                      progress: Progress | None
                      ) -> tuple[list[list[float]], list[TokenVectors]]:
        """Embed chunk texts; with a token-capable model, keep their token vectors too."""
        total = len(texts) + later
        if not self.has_token_vectors:
            return self._embed(texts, progress, total=total, groups=groups), []
        both = self._embed(texts, progress, total=total, tokens=True, groups=groups)
        return [v for v, _ in both], [t for _, t in both]

    def _embed(self, texts: list[str], progress: Progress | None, *, done: int = 0,
               total: int | None = None, tokens: bool = False, query: bool = False,
               groups: Sequence[str] | None = None) -> list[Any]:
        """Embed texts in batches of similar length (far less padding), in the given order.

        A batch never mixes groups (files) and is made from its group's texts alone, sorted
        by length and then text: under dynamic int8 quantisation the activation scale is one
        per batch, so a text's vector depends on its batch mates (measured: up to 0.06 per
        component). So a file gets the same vectors whatever else is indexed with it, in a
        full build or alone. With tokens=True each result is (vector, TokenVectors). Progress
        counts from `done` toward `total` so that several calls report as one job.
        """
        total = len(texts) + done if total is None else total
        results: list[Any] = [None] * len(texts)
        keys = list(groups) if groups is not None else [""] * len(texts)
        by_group: dict[str, list[int]] = {}
        for i in range(len(texts)):
            by_group.setdefault(keys[i], []).append(i)
        batches = [ordered[start:start + EMBED_BATCH]
                   for key in sorted(by_group)
                   for ordered in [sorted(by_group[key], key=lambda i: (len(texts[i]), texts[i]))]
                   for start in range(0, len(ordered), EMBED_BATCH)]
        if progress and total and not done:
            progress(0, total)
        finished = 0
        for batch in batches:
            batch_texts = [texts[i] for i in batch]
            token_embeddings = self.token_embeddings if tokens else None
            embedded: list[Any] = (
                token_embeddings.embed_with_tokens(batch_texts) if token_embeddings is not None
                else embed_queries(self.embeddings, batch_texts) if query
                else self.embeddings.embed_documents(batch_texts))
            for i, result in zip(batch, embedded, strict=True):
                results[i] = result
            finished += len(batch)
            if progress:
                progress(done + finished, total)
        return results

    def embed_passages(self, texts: list[str], progress: Progress | None = None, *,
                       done: int = 0, total: int | None = None, tokens: bool = False,
                       groups: Sequence[str] | None = None) -> list[Any]:
        """Embed passage texts exactly as a sync does (for a session's private document);
        takes no lock, so questions are answered meanwhile."""
        return self._embed(texts, progress, done=done, total=total, tokens=tokens,
                           groups=groups)

    def late_scorer(self) -> LateScorer:
        """Return the token-vector scorer over the current chunks (cached until a sync)."""
        with self._lock:
            if self._late is None:
                self._late = LateScorer([c.chunk_id for c in self.chunks()], self.tokens)
            return self._late

    def ids(self) -> Iterable[str]:
        """Return the ids of every chunk."""
        return [c.chunk_id for c in self.chunks()]

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """Return the stored embeddings of the given chunks."""
        if not chunk_ids:
            return {}
        self._ensure_open()
        if self._collection is None:
            return {}
        return self._collection.vectors(chunk_ids)

    def unit_vectors(self, chunk_ids: list[str]) -> list[tuple[str, int, list[float]]]:
        """Return (chunk id, sentence position, embedding) for every sentence of the chunks."""
        if not chunk_ids:
            return []
        self._ensure_open()
        if self._units is None:
            return []
        return [(str(meta.get("chunk_id")), int(str(meta.get("position", 0))), vector)
                for meta, vector in self._units.vectors_of_chunks(chunk_ids)]

