"""Index: storage, generations of the Chroma database, each change switched in whole.

Every change to the index is written into a new generation folder (a copy of the live one,
or an empty one for a rebuild) and becomes live only when complete, by atomically replacing
one small pointer file (`index.current`). A crash, kill -9 or Ctrl-C at any point therefore
leaves the previous generation live and whole; the folder of an unfinished write is removed
by the next writer. Readers (the UI, another CLI process) notice a new generation by the
pointer and reopen. The previous generation is kept until the next change, so a process that
has not yet noticed keeps reading a whole index.

Copying a generation costs about 0.1 s for the shipped corpus (44 MB, measured); token
vector files never change once written, so they are hard-linked instead of copied.

Two stores implement this (the GenerationStore protocol): LocalStore, folders beside each
other under the data folder with Chroma's embedded PersistentClient (the default), and
ServerStore, collections named by generation on a Chroma server (ASF_CHROMA_URL) with the
pointer in one small collection's metadata, so several machines share one index.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from assistant.index.late import TokenStore
from assistant.lexicon import pattern
from assistant.prompts import ERR_CHROMA_UNREACHABLE, ERR_INDEX_CORRUPT, ERR_INDEX_READ_ONLY

if TYPE_CHECKING:
    from langchain_chroma import Chroma

POINTER = "index.current"
# The single folder used before generations existed: live while no pointer file exists.
LEGACY = "chroma"
PREFIX = "index-"
BUILDING = ".building"
BROKEN = "broken-"
TOKENS = "tokens"
_GENERATION = re.compile(rf"^(?:{PREFIX}\d{{8}}T\d{{6}}-[0-9a-f]{{6}}|{LEGACY})$")
# SQLite's result codes for a damaged file: SQLITE_CORRUPT (11) and SQLITE_NOTADB (26);
# Chroma reports them in its own exception types with the code in the message.
_CORRUPTION = pattern("messages.corrupt_index")


class StoreError(RuntimeError):
    """The index folder cannot be used as it is; the message says what to do."""


class IndexCorruptError(StoreError):
    """The live index could not be read and was moved aside."""


class IndexReadOnlyError(StoreError):
    """The data folder cannot be written, so the index cannot change."""

    def __init__(self, folder: Path) -> None:
        super().__init__(ERR_INDEX_READ_ONLY.format(folder=folder.name or str(folder)))


def is_corruption(exc: BaseException) -> bool:
    """Return True when an error from Chroma or SQLite says the database file is damaged."""
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return True
    return bool(_CORRUPTION.search(str(exc)))


def is_read_only(exc: BaseException) -> bool:
    """Return True when an error says the folder or database cannot be written."""
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return True
    return "readonly database" in str(exc).lower() or "read-only file system" in str(exc).lower()


def open_client(path: Path) -> Any:
    """Return a Chroma PersistentClient on one generation folder (telemetry off)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False))


def close_client(client: Any) -> None:
    """Release a client's database handles (Chroma keeps one shared system per folder)."""
    with contextlib.suppress(Exception):
        client.close()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Generations:
    """The generation folders of one data folder and the pointer to the live one."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    @property
    def pointer(self) -> Path:
        """Return the file that names the live generation (and the one before it)."""
        return self.data_dir / POINTER

    def _names(self) -> list[str]:
        try:
            lines = self.pointer.read_text(encoding="utf-8").split()
        except FileNotFoundError:
            legacy = self.data_dir / LEGACY
            return [LEGACY] if (legacy / "chroma.sqlite3").exists() else []
        return [n for n in lines if _GENERATION.match(n)]

    def live_name(self) -> str | None:
        """Return the name of the live generation (None: there is no index)."""
        names = self._names()
        return names[0] if names else None

    def live(self) -> Path | None:
        """Return the live generation's folder (None: there is no index)."""
        name = self.live_name()
        return self.data_dir / name if name else None

    def check_writable(self) -> None:
        """Raise IndexReadOnlyError when the data folder cannot be written."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            probe = self.data_dir / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            if is_read_only(exc):
                raise IndexReadOnlyError(self.data_dir) from exc
            raise

    def begin(self, copy_live: bool) -> Path:
        """Return a new folder for a generation being written: a copy of the live one, or empty.

        Call with the writer's lock held: folders that earlier writers left unfinished are
        removed first.
        """
        self.clean_unfinished()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        folder = self.data_dir / f"{PREFIX}{stamp}-{secrets.token_hex(3)}{BUILDING}"
        live = self.live()
        if copy_live and live is not None and live.exists():
            shutil.copytree(live, folder, ignore=shutil.ignore_patterns(TOKENS))
            if (live / TOKENS).exists():
                shutil.copytree(live / TOKENS, folder / TOKENS, copy_function=_link_or_copy)
        else:
            folder.mkdir(parents=True)
        return folder

    def commit(self, building: Path) -> Path:
        """Make a finished generation live (atomically) and drop generations before the last."""
        final = building.with_name(building.name.removesuffix(BUILDING))
        os.replace(building, final)
        previous = self.live_name()
        names = [final.name] + ([previous] if previous and previous != final.name else [])
        tmp = self.pointer.with_name(f"{POINTER}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("\n".join(names) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)
        _fsync_dir(self.data_dir)
        self._prune(keep=set(names))
        return final

    def discard(self, building: Path) -> None:
        """Remove an unfinished generation folder."""
        shutil.rmtree(building, ignore_errors=True)

    def clean_unfinished(self) -> None:
        """Remove folders of writes that never finished (a crash or kill left them)."""
        if self.data_dir.exists():
            for folder in self.data_dir.glob(f"{PREFIX}*{BUILDING}"):
                shutil.rmtree(folder, ignore_errors=True)
            for tmp in self.data_dir.glob(f"{POINTER}.*.tmp"):
                tmp.unlink(missing_ok=True)

    def _prune(self, keep: set[str]) -> None:
        for folder in self.data_dir.iterdir():
            if folder.is_dir() and _GENERATION.match(folder.name) and folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)

    def move_aside(self, detail: str) -> IndexCorruptError:
        """Move the live generation out of the way; return the error that tells the user."""
        live = self.live()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        aside = self.data_dir / f"{BROKEN}{stamp}"
        if live is not None and live.exists():
            os.replace(live, aside)
        rest = [n for n in self._names()[1:] if (self.data_dir / n).exists()]
        if self.pointer.exists() or rest:
            # The generation before the damaged one is not trusted either: start afresh.
            self.pointer.unlink(missing_ok=True)
        return IndexCorruptError(ERR_INDEX_CORRUPT.format(detail=detail, aside=aside.name))


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link a file that is never modified in place (copy where links are not allowed)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# ---------------------------------------------------------------------- stores
# Records per Chroma read or write: large enough to be quick, small enough for SQLite's limits.
RECORD_BATCH = 256


class Records:
    """One Chroma collection, through the calls the index makes: every chromadb read, write and
    search of the index goes through here (the index never holds a chromadb object)."""

    def __init__(self, collection: Any, client: Any):
        self._collection = collection
        self._client = client

    @property
    def name(self) -> str:
        """Return the collection's name."""
        return str(self._collection.name)

    def count(self) -> int:
        """Return how many records the collection holds."""
        return int(self._collection.count())

    def metadata(self) -> dict[str, Any]:
        """Return the collection's own metadata (the embedding model it was built with)."""
        return dict(self._collection.metadata or {})

    def probe(self) -> None:
        """Read one record: raises when the database file is damaged."""
        self._collection.get(limit=1, include=["metadatas"])

    def records(self, *, documents: bool = True, metadatas: bool = True
                ) -> list[tuple[str, str, dict[str, Any]]]:
        """Return (id, document, metadata) of every record ("" and {} where not asked for)."""
        include = [*(["documents"] if documents else []), *(["metadatas"] if metadatas else [])]
        data = self._collection.get(include=include)
        ids = data["ids"]
        docs = data.get("documents") or [""] * len(ids)
        metas = data.get("metadatas") or [{}] * len(ids)
        return [(str(i), d or "", dict(m or {})) for i, d, m in zip(ids, docs, metas, strict=True)]

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        """Return the stored embeddings of the given records."""
        data = self._collection.get(ids=ids, include=["embeddings"])
        embeddings = data["embeddings"] if data["embeddings"] is not None else []
        return {str(i): list(map(float, e)) for i, e in zip(data["ids"], embeddings, strict=True)}

    def vectors_of_chunks(self, chunk_ids: list[str]
                          ) -> list[tuple[dict[str, Any], list[float]]]:
        """Return (metadata, embedding) of every record whose chunk_id is one of chunk_ids."""
        data = self._collection.get(where={"chunk_id": {"$in": chunk_ids}},
                                    include=["embeddings", "metadatas"])
        embeddings = data["embeddings"] if data["embeddings"] is not None else []
        return [(dict(m or {}), list(map(float, e)))
                for e, m in zip(embeddings, data["metadatas"] or [], strict=True)]

    def upsert(self, ids: list[str], embeddings: list[list[float]], documents: list[str],
               metadatas: list[dict[str, Any]]) -> None:
        """Write records (in batches), replacing those with the same ids."""
        for start in range(0, len(ids), RECORD_BATCH):
            end = start + RECORD_BATCH
            self._collection.upsert(ids=ids[start:end], embeddings=embeddings[start:end],
                                    documents=documents[start:end],
                                    metadatas=metadatas[start:end])

    def update_metadata(self, ids: list[str], metadatas: list[dict[str, Any]]) -> None:
        """Replace the metadata of existing records (in batches)."""
        for start in range(0, len(ids), RECORD_BATCH):
            self._collection.update(ids=ids[start:start + RECORD_BATCH],
                                    metadatas=metadatas[start:start + RECORD_BATCH])

    def delete(self, ids: list[str]) -> None:
        """Delete records by id."""
        self._collection.delete(ids=ids)

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        """Delete the records that belong to the given chunks (a chunk's sentence units)."""
        self._collection.delete(where={"chunk_id": {"$in": chunk_ids}})

    def copy_from(self, source: Records, sources: Sequence[str] | None = None) -> None:
        """Copy every record (ids, vectors, documents, metadata) of another collection, or
        those whose metadata names one of `sources`."""
        where = {"source": {"$in": list(sources)}} if sources is not None else None
        if sources is not None and not sources:
            return
        offset = 0
        while True:
            batch = source._collection.get(include=["embeddings", "documents", "metadatas"],
                                           where=where, limit=COPY_BATCH, offset=offset)
            if not batch["ids"]:
                return
            self._collection.add(ids=batch["ids"], embeddings=batch["embeddings"],
                                 documents=batch["documents"], metadatas=batch["metadatas"])
            offset += len(batch["ids"])

    def vector_store(self, embeddings: Any, metadata: dict[str, Any]) -> Chroma:
        """Return a langchain Chroma store over this collection, for similarity search."""
        from langchain_chroma import Chroma

        return Chroma(client=self._client, collection_name=self.name,
                      embedding_function=embeddings, collection_metadata=metadata)


@dataclass
class Generation:
    """One generation, open: its passage, sentence and guide-question collections and its
    token vectors."""

    name: str
    client: Any
    collection: Records
    units: Records
    guide: Records                   # guide cards' ways of asking, embedded as questions
    tokens: TokenStore
    folder: Path | None = None       # LocalStore: the generation's folder


class GenerationStore(Protocol):
    """Where the index's generations live and how one becomes live."""

    def live_name(self) -> str | None:
        """Return the live generation's name (None: no index)."""

    def open_live(self) -> Generation | None:
        """Open the live generation (None: no index); raise StoreError when unusable."""

    def begin(self, copy_live: bool) -> Generation:
        """Return a new, writable generation: a copy of the live one, or empty."""

    def commit(self, generation: Generation) -> None:
        """Make a finished generation live and drop those before the previous one."""

    def discard(self, generation: Generation) -> None:
        """Remove a generation that did not finish."""

    def check_writable(self) -> None:
        """Raise StoreError when no generation can be written."""

    def close(self, generation: Generation) -> None:
        """Release a generation's handles."""


# The collections of a generation besides the passages: sentences, guide-card questions.
UNITS_SUFFIX, GUIDE_SUFFIX = "_units", "_guide"


def _collections(client: Any, base: str, metadata: dict[str, Any], create: bool
                 ) -> tuple[Records, Records, Records]:
    """Return the passage, sentence and guide-question collections named from `base`."""
    if create:
        collection = client.get_or_create_collection(base, embedding_function=None,
                                                     metadata=metadata)
    else:
        collection = client.get_collection(base, embedding_function=None)
    units = client.get_or_create_collection(f"{base}{UNITS_SUFFIX}", embedding_function=None,
                                            metadata=metadata)
    guide = client.get_or_create_collection(f"{base}{GUIDE_SUFFIX}", embedding_function=None,
                                            metadata=metadata)
    return Records(collection, client), Records(units, client), Records(guide, client)


def _missing(exc: BaseException) -> bool:
    return "does not exist" in str(exc)


class LocalStore:
    """Generations as folders under the data folder, each an embedded Chroma database."""

    def __init__(self, data_dir: Path, collection: str, metadata: dict[str, Any]):
        self.generations = Generations(data_dir)
        self.collection, self.metadata = collection, metadata

    def live_name(self) -> str | None:
        """Return the live generation's folder name."""
        return self.generations.live_name()

    def open_live(self) -> Generation | None:
        """Open the live folder; a damaged one is moved aside (IndexCorruptError)."""
        live = self.generations.live()
        if live is None:
            return None
        tokens = TokenStore(live / TOKENS)
        client = None
        try:
            try:
                client = open_client(live)
            except Exception as exc:
                if not is_read_only(exc):
                    raise
                # Chroma cannot open a database it may not write (it migrates at start):
                # read a private copy instead; syncing says the folder is read-only.
                live = _private_copy(live)
                tokens = TokenStore(live / TOKENS)
                client = open_client(live)
            try:
                collection, units, guide = _collections(client, self.collection, self.metadata,
                                                        False)
            except Exception as exc:  # noqa: BLE001 - chromadb's NotFoundError varies
                if not _missing(exc):
                    raise
                close_client(client)   # an empty legacy folder: no index yet
                return None
            collection.count()
            collection.probe()                               # a damaged file fails here
        except Exception as exc:
            close_client(client)
            if is_corruption(exc):
                raise self.generations.move_aside(first_line(exc)) from exc
            if is_read_only(exc):
                raise IndexReadOnlyError(self.generations.data_dir) from exc
            raise
        return Generation(live.name, client, collection, units, guide, tokens, live)

    def begin(self, copy_live: bool) -> Generation:
        """Copy the live folder (or start an empty one) and open it for writing."""
        folder = self.generations.begin(copy_live)
        try:
            client = open_client(folder)
            collection, units, guide = _collections(client, self.collection, self.metadata, True)
        except BaseException:
            self.generations.discard(folder)
            raise
        return Generation(folder.name, client, collection, units, guide,
                          TokenStore(folder / TOKENS), folder)

    def commit(self, generation: Generation) -> None:
        """Close the finished folder and switch the pointer to it."""
        close_client(generation.client)
        assert generation.folder is not None
        self.generations.commit(generation.folder)

    def discard(self, generation: Generation) -> None:
        """Close and remove an unfinished folder."""
        close_client(generation.client)
        if generation.folder is not None:
            self.generations.discard(generation.folder)

    def check_writable(self) -> None:
        """Raise IndexReadOnlyError when the data folder cannot be written."""
        self.generations.check_writable()

    def close(self, generation: Generation) -> None:
        """Release the folder's database handles."""
        close_client(generation.client)


class ServerStore:
    """Generations as collections on a Chroma server; the pointer in a collection's metadata.

    Chroma has no lock across machines: writes from processes on one machine wait for each
    other (the data folder's lock), but two machines writing at the same moment are not
    coordinated; let one process write (`asf ingest`, `asf index --rebuild`). Each write is
    still all-or-nothing: it becomes live by one metadata update. Token vectors are a local
    cache (data folder), filled by whoever embeds a passage, and by a reader for passages
    another machine added.
    """

    def __init__(self, url: str, data_dir: Path, collection: str, metadata: dict[str, Any]):
        self.url, self.data_dir = url, data_dir
        self.collection, self.metadata = collection, metadata
        self._client: Any = None
        self.tokens = TokenStore(data_dir / "token-cache")

    @property
    def client(self) -> Any:
        """Return the HTTP client (connected on first use; ChromaUnreachable if it fails)."""
        if self._client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            parts = urlsplit(self.url)
            try:
                self._client = chromadb.HttpClient(
                    host=parts.hostname or "localhost",
                    port=parts.port or (443 if parts.scheme == "https" else 8000),
                    ssl=parts.scheme == "https",
                    settings=ChromaSettings(anonymized_telemetry=False))
                self._client.heartbeat()
            except Exception as exc:
                self._client = None
                raise StoreError(ERR_CHROMA_UNREACHABLE.format(url=_safe(self.url))) from exc
        return self._client

    def _pointer(self) -> Any:
        return self.client.get_or_create_collection(f"{self.collection}{POINTER_SUFFIX}",
                                                    embedding_function=None)

    def _names(self) -> list[str]:
        metadata = self._pointer().metadata or {}
        return [n for n in (metadata.get("live"), metadata.get("previous")) if n]

    def live_name(self) -> str | None:
        """Return the live generation's name, read from the pointer collection."""
        names = self._names()
        return names[0] if names else None

    def _base(self, name: str) -> str:
        return f"{self.collection}--{name}"

    def open_live(self) -> Generation | None:
        """Open the live generation's collections."""
        name = self.live_name()
        if name is None:
            return None
        try:
            collection, units, guide = _collections(self.client, self._base(name),
                                                    self.metadata, False)
        except Exception as exc:  # noqa: BLE001 - chromadb's NotFoundError varies
            if _missing(exc):
                return None
            raise
        return Generation(name, self.client, collection, units, guide, self.tokens)

    def begin(self, copy_live: bool) -> Generation:
        """Create the collections of a new generation, with the live one's records copied."""
        stamp = time.strftime("%Y%m%dt%H%M%S", time.gmtime())
        name = f"{stamp}-{secrets.token_hex(3)}"
        collection, units, guide = _collections(self.client, self._base(name), self.metadata,
                                                True)
        generation = Generation(name, self.client, collection, units, guide, self.tokens)
        live = self.open_live() if copy_live else None
        try:
            if live is not None:
                collection.copy_from(live.collection)
                units.copy_from(live.units)
                guide.copy_from(live.guide)
        except BaseException:
            self.discard(generation)
            raise
        return generation

    def commit(self, generation: Generation) -> None:
        """Point at the new generation (one metadata update) and drop older ones."""
        names = [generation.name, *self._names()[:1]]
        self._pointer().modify(metadata={"live": names[0], "previous": names[-1]})
        keep = {self._base(n) for n in names}
        prefix = f"{self.collection}--"
        for name in self.client.list_collections():
            name = getattr(name, "name", name)
            base = name.removesuffix(UNITS_SUFFIX).removesuffix(GUIDE_SUFFIX)
            if base.startswith(prefix) and base not in keep:
                with contextlib.suppress(Exception):
                    self.client.delete_collection(name)

    def discard(self, generation: Generation) -> None:
        """Delete an unfinished generation's collections."""
        base = self._base(generation.name)
        for name in (base, f"{base}{UNITS_SUFFIX}", f"{base}{GUIDE_SUFFIX}"):
            with contextlib.suppress(Exception):
                self.client.delete_collection(name)

    def check_writable(self) -> None:
        """Reach the server (the local token cache must be writable too)."""
        self.client  # noqa: B018 - raises StoreError when the server is unreachable
        Generations(self.data_dir).check_writable()

    def close(self, generation: Generation) -> None:
        """Nothing to release: the HTTP client is shared."""


POINTER_SUFFIX = "__pointer"
COPY_BATCH = 500


def _safe(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def first_line(exc: BaseException) -> str:
    """Return the first line of an error's message, shortened (for a Swedish message)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _private_copy(live: Path) -> Path:
    """Copy a generation that cannot be written to a temporary folder (removed at exit)."""
    import atexit
    import tempfile

    copy = Path(tempfile.mkdtemp(prefix="asf-index-")) / live.name
    shutil.copytree(live, copy)
    atexit.register(shutil.rmtree, copy.parent, ignore_errors=True)
    return copy


def make_store(data_dir: Path, chroma_url: str, collection: str,
               metadata: dict[str, Any]) -> GenerationStore:
    """Return the server store when a Chroma URL is set, else the local one."""
    if chroma_url:
        return ServerStore(chroma_url, data_dir, collection, metadata)
    return LocalStore(data_dir, collection, metadata)
