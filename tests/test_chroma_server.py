"""The index on a Chroma server (ASF_CHROMA_URL): a real `chroma run` on loopback, two
assistants on two "machines" (separate data folders), one index.

The embedder is the tests' fake, given token vectors here so the local token cache that each
machine keeps beside the shared index is exercised too.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.index.late import TokenVectors
from assistant.index.store import ServerStore, StoreError
from assistant.pipeline import Assistant
from assistant.text import tokens
from tests.conftest import FakeEmbeddings, use_embedder

QUESTION = "Hur många intervjuer genomfördes inom ramen för undersökningen?"
NOTE = "# Anteckningar\n\nVi köper catering av Gnestabagarna, ett ASF i Gnesta.\n"


class TokenFake(FakeEmbeddings):
    """The fake embedder with one token vector per stemmed word (for late interaction)."""

    name = "fake-bow-tokens"

    def embed_with_tokens(self, texts: list[str], query: bool = False
                          ) -> list[tuple[list[float], TokenVectors]]:
        out = []
        for text in texts:
            words = tokens(text) or ["tom"]
            vectors = np.array([self._vector(w) for w in words], dtype=np.float16)
            ids = np.array([hash(w) % 100_000 for w in words], dtype=np.int32)
            out.append((self._vector(text), TokenVectors(ids, vectors)))
        return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory) -> Iterator[str]:
    """A Chroma server (`chroma run`, from the chromadb package) on a free loopback port."""
    binary = Path(sys.executable).with_name("chroma")
    if not binary.exists():
        pytest.skip(f"the chroma command is not installed beside {sys.executable}")
    port = _free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed after the server stops
    server = subprocess.Popen([str(binary), "run", "--path", str(folder / "db"), "--host",
                               "127.0.0.1", "--port", str(port)], stdout=log,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(150):
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            pytest.skip(f"chroma run exited; see {folder / 'server.log'}")
        time.sleep(0.2)
    else:
        server.kill()
        pytest.skip(f"chroma run did not answer within 30 s; see {folder / 'server.log'}")
    yield url
    server.terminate()
    server.wait(timeout=20)
    log.close()


def _machine(tmp_path: Path, name: str, url: str, collection: str) -> Settings:
    return Settings(data_dir=tmp_path / name, chroma_url=url, collection=collection)


def test_two_machines_share_one_index_and_see_each_others_syncs(chroma_url, tmp_path):
    a_settings = _machine(tmp_path, "maskin-a", chroma_url, "delad")
    b_settings = _machine(tmp_path, "maskin-b", chroma_url, "delad")
    a = Assistant(a_settings, embeddings=TokenFake())
    report = a.ensure_index()
    assert report is not None and report.added > 100
    assert not (a_settings.data_dir / "index.current").exists()     # nothing local but tokens

    b_embeddings = TokenFake()
    b = Assistant(b_settings, embeddings=b_embeddings)
    assert b.ensure_index() is None                  # the index is current: b writes nothing
    assert [c.chunk_id for c in b.index.chunks()] == [c.chunk_id for c in a.index.chunks()]
    assert b.ask(QUESTION).answer == a.ask(QUESTION).answer
    # b embedded the token vectors of a's passages for its own cache.
    cached = {p.stem for p in (b_settings.data_dir / "token-cache").glob("*.npz")}
    assert cached == {c.chunk_id for c in b.index.chunks()}

    note = tmp_path / "gnesta.md"
    note.write_text(NOTE, encoding="utf-8")
    assert a.ingest([note]).added == 1
    assert b.index.reopen_if_changed()
    found = b.retriever.search("Gnestabagarna catering Gnesta").passages[0].chunk
    assert "Gnestabagarna" in found.text
    assert b.index.backend.live_name() == a.index.backend.live_name()


def test_a_rebuild_on_the_server_keeps_the_old_generation_until_it_is_done(chroma_url,
                                                                          tmp_path):
    settings = _machine(tmp_path, "maskin", chroma_url, "bygg")
    a = Assistant(settings, embeddings=FakeEmbeddings())
    a.ensure_index()
    first = a.index.backend.live_name()
    reader = Assistant(_machine(tmp_path, "lasare", chroma_url, "bygg"),
                       embeddings=FakeEmbeddings())
    assert not reader.ask(QUESTION).refused

    def failing(*args, **kwargs):
        raise RuntimeError("embedding failed half-way")

    a.index.embeddings.embed_documents = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        a.index.rebuild()
    assert a.index.backend.live_name() == first and not reader.ask(QUESTION).refused
    a.index.embeddings = FakeEmbeddings()
    a.index.rebuild()
    a.index.rebuild()
    assert a.index.backend.live_name() != first
    assert not reader.ask(QUESTION).refused          # reopened on the new generation
    store = a.index.backend
    assert isinstance(store, ServerStore)
    names = {getattr(c, "name", c) for c in store.client.list_collections()}
    generations = {n.removesuffix("_units").removesuffix("_guide") for n in names
                   if n.startswith("bygg--")}
    assert len(generations) == 2                     # the live one and the one before it


def test_an_unreachable_server_gets_a_swedish_message(tmp_path):
    settings = _machine(tmp_path, "maskin", f"http://127.0.0.1:{_free_port()}", "asf")
    assistant = Assistant(settings, embeddings=FakeEmbeddings())
    with pytest.raises(StoreError, match="Chroma-servern på http://127.0.0.1:\\d+ svarar inte"):
        assistant.ensure_index()
    shutil.rmtree(tmp_path / "maskin", ignore_errors=True)


@contextlib.contextmanager
def _elsewhere(*folders: Path) -> Iterator[None]:
    """Hide folders while the block runs, as files on another machine are out of reach."""
    for folder in folders:
        folder.rename(folder.with_name(f"{folder.name}.borta"))
    try:
        yield
    finally:
        for folder in folders:
            folder.with_name(f"{folder.name}.borta").rename(folder)


def _instance(monkeypatch, tmp_path: Path, name: str, url: str) -> None:
    """Make the next `asf` command run as instance `name` (its own data folder)."""
    monkeypatch.setenv("ASF_DATA_DIR", str(tmp_path / name))
    monkeypatch.setenv("ASF_CHROMA_URL", url)
    monkeypatch.setenv("ASF_COLLECTION", "agare")


def _shared_sources(tmp_path: Path, url: str) -> dict[str, int]:
    index = Assistant(_machine(tmp_path, "lasare", url, "agare"),
                      embeddings=TokenFake()).index
    return {source: info["chunks"] for source, info in index.sources().items()}


def test_two_instances_never_remove_documents_the_other_added(chroma_url, tmp_path,
                                                              monkeypatch, capsys):
    """Issue 24, item 3: `asf ingest` on one instance removed what another had added."""
    from assistant import cli

    use_embedder(monkeypatch, lambda settings: TokenFake())
    a_files, b_files = tmp_path / "a-filer", tmp_path / "b-filer"
    a_files.mkdir()
    b_files.mkdir()
    (a_files / "gnesta.md").write_text(NOTE, encoding="utf-8")
    (b_files / "nykoping.md").write_text(
        "# Nyköping\n\nVi hyr lokalvård av Nyköpings arbetsintegrerande kooperativ.\n",
        encoding="utf-8")
    a_source, b_source = (str((d / n).resolve()) for d, n in
                          ((a_files, "gnesta.md"), (b_files, "nykoping.md")))

    _instance(monkeypatch, tmp_path, "instans-a", chroma_url)
    assert cli.main(["ingest", str(a_files / "gnesta.md")]) == 0
    corpus = {s: n for s, n in _shared_sources(tmp_path, chroma_url).items() if s != a_source}
    assert len(corpus) == 1 and a_source in _shared_sources(tmp_path, chroma_url)

    # Instance B (another data folder, another machine: A's file is out of its reach).
    _instance(monkeypatch, tmp_path, "instans-b", chroma_url)
    capsys.readouterr()
    with _elsewhere(a_files):
        assert cli.main(["ingest"]) == 0
        out = capsys.readouterr().out
        assert "borttagna" not in out and "1 dokument som en annan instans lagt till" in out
        assert cli.main(["ingest", str(b_files / "nykoping.md")]) == 0
    both = _shared_sources(tmp_path, chroma_url)
    assert set(both) == {*corpus, a_source, b_source}

    # Restart A (B's file is out of its reach), then B again: nothing lost, nothing doubled.
    _instance(monkeypatch, tmp_path, "instans-a", chroma_url)
    with _elsewhere(b_files):
        assert cli.main(["ingest"]) == 0
    _instance(monkeypatch, tmp_path, "instans-b", chroma_url)
    with _elsewhere(a_files):
        assert cli.main(["ingest"]) == 0
    assert _shared_sources(tmp_path, chroma_url) == both
    assert {s: n for s, n in both.items() if s in corpus} == corpus

    # A removes its own file: A's next sync drops it; B's stays.
    (a_files / "gnesta.md").unlink()
    _instance(monkeypatch, tmp_path, "instans-a", chroma_url)
    with _elsewhere(b_files):
        assert cli.main(["ingest"]) == 0
    assert set(_shared_sources(tmp_path, chroma_url)) == {*corpus, b_source}


def test_a_rebuild_keeps_the_documents_other_instances_added(chroma_url, tmp_path,
                                                             monkeypatch, capsys):
    """`asf index --rebuild` on one instance starts afresh from its own files only; what
    another instance added is carried over as it is."""
    from assistant import cli

    use_embedder(monkeypatch, lambda settings: TokenFake())
    a_files = tmp_path / "a-filer"
    a_files.mkdir()
    (a_files / "gnesta.md").write_text(NOTE, encoding="utf-8")
    a_source = str((a_files / "gnesta.md").resolve())
    monkeypatch.setenv("ASF_COLLECTION", "ombygge")
    monkeypatch.setenv("ASF_CHROMA_URL", chroma_url)
    monkeypatch.setenv("ASF_DATA_DIR", str(tmp_path / "instans-a"))
    assert cli.main(["ingest", str(a_files / "gnesta.md")]) == 0
    reader = Assistant(_machine(tmp_path, "lasare", chroma_url, "ombygge"),
                       embeddings=TokenFake()).index
    before = {c.chunk_id for c in reader.chunks()}
    assert a_source in reader.sources()

    monkeypatch.setenv("ASF_DATA_DIR", str(tmp_path / "instans-b"))
    capsys.readouterr()
    with _elsewhere(a_files):
        assert cli.main(["index", "--rebuild"]) == 0
    assert "1 dokument som en annan instans lagt till" in capsys.readouterr().out
    assert reader.reopen_if_changed()
    assert {c.chunk_id for c in reader.chunks()} == before
    found = Assistant(_machine(tmp_path, "lasare", chroma_url, "ombygge"),
                      embeddings=TokenFake()).retriever.search("Gnestabagarna catering Gnesta")
    assert "Gnestabagarna" in found.passages[0].chunk.text


def test_documents_indexed_before_owners_were_kept_stay_on_a_shared_index(chroma_url,
                                                                          tmp_path):
    """An index written by a version without owners: no instance knows who added its outside
    documents, so none removes them (a local index, one instance, still does)."""
    note = tmp_path / "gnesta.md"
    note.write_text(NOTE, encoding="utf-8")
    a = Assistant(_machine(tmp_path, "instans-a", chroma_url, "arv"), embeddings=TokenFake())
    a.ingest([note])
    generation = a.index.backend.open_live()
    assert generation is not None
    records = generation.collection.records(documents=False)
    generation.collection.update_metadata([cid for cid, _, _ in records],
                                          [{**m, "owners": ""} for _, _, m in records])
    note.unlink()
    b = Assistant(_machine(tmp_path, "instans-b", chroma_url, "arv"), embeddings=TokenFake())
    report = b.ingest()
    assert report.removed == 0 and report.kept_sources == [str(note.resolve())]
    live = b.index.backend.open_live()
    assert live is not None
    owners = {m["owners"] for _, _, m in live.collection.records(documents=False)
              if m["source"] != str(note.resolve())}
    assert owners == {"corpus"}                  # the corpus files b indexes are claimed
    # a's added.json names the file: a knows it added it, and removes it now that it is gone.
    report = a.ingest()
    assert report.removed_sources == [str(note.resolve())] and not report.kept_sources
