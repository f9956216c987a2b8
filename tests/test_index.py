"""Index: real Chroma on disk; syncing is idempotent and a bad file changes nothing."""

from __future__ import annotations

import shutil

import pytest

from assistant.index.passage_index import Index
from assistant.ingest.chunking import split_units
from tests.conftest import DATA, FakeEmbeddings


def _state(index: Index) -> dict[str, str]:
    data = index.store.get(include=["metadatas"])
    return {cid: meta["version"] for cid, meta in zip(data["ids"], data["metadatas"], strict=True)}


def test_sync_builds_then_adds_nothing_for_unchanged_files(settings, fake_embeddings):
    index = Index(settings, fake_embeddings)
    progress = []
    first = index.sync(progress=lambda done, total: progress.append((done, total)))
    assert first.added > 100 and first.sources == 1 and not first.errors
    assert progress[-1] == (progress[-1][1], progress[-1][1])
    calls = fake_embeddings.calls
    again = Index(settings, fake_embeddings).sync()
    assert again.added == 0 and again.removed == 0 and not again.changed
    assert fake_embeddings.calls == calls


def test_changed_file_replaces_its_chunks_and_removed_file_goes(settings, fake_embeddings):
    extra = settings.corpus_dir / "egna-anteckningar.md"
    extra.write_text("# Anteckningar\n\nVårt företag köper kaffe av ett ASF i Malmö.\n",
                     encoding="utf-8")
    index = Index(settings, fake_embeddings)
    index.sync()
    before = {c.chunk_id for c in index.chunks() if c.source == "egna-anteckningar.md"}
    assert len(before) == 1
    extra.write_text("# Anteckningar\n\nVi köper catering av ett ASF i Lund.\n", encoding="utf-8")
    report = index.sync()
    after = {c.chunk_id for c in index.chunks() if c.source == "egna-anteckningar.md"}
    assert report.added == 1 and report.removed == 1 and before.isdisjoint(after)
    assert "Lund" in next(c.text for c in index.chunks() if c.chunk_id in after)
    extra.unlink()
    report = index.sync()
    assert report.removed_sources == ["egna-anteckningar.md"]
    assert not [c for c in index.chunks() if c.source == "egna-anteckningar.md"]


def test_bad_file_leaves_the_index_exactly_as_it_was(settings, fake_embeddings, tmp_path):
    index = Index(settings, fake_embeddings)
    index.sync()
    before = _state(index)
    bad = tmp_path / "trasig.pdf"
    bad.write_bytes((DATA / "rapport.pdf").read_bytes()[:2000])
    good = tmp_path / "bra.md"
    good.write_text("# Bra\n\nEn helt vanlig anteckning om ASF.\n", encoding="utf-8")
    report = index.sync([good, bad])
    assert [e.path.name for e in report.errors] == ["trasig.pdf"]
    assert report.added == 0 and report.removed == 0
    assert _state(Index(settings, fake_embeddings)) == before


class FailingEmbeddings(FakeEmbeddings):
    def embed_documents(self, texts):
        raise RuntimeError("modellen kraschade")


def test_embedding_failure_writes_nothing(settings, fake_embeddings, tmp_path):
    index = Index(settings, fake_embeddings)
    index.sync()
    before = _state(index)
    new = tmp_path / "ny.md"
    new.write_text("# Ny\n\nNågot nytt om socialt företagande.\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        Index(settings, FailingEmbeddings()).sync([new])
    assert _state(Index(settings, fake_embeddings)) == before


def test_external_file_stays_indexed_and_pdf_pages_are_kept(settings, fake_embeddings):
    index = Index(settings, fake_embeddings)
    index.sync([DATA / "rapport.pdf"])
    pdf_chunks = [c for c in index.chunks() if c.source.endswith("rapport.pdf")]
    assert pdf_chunks and all(c.page and 1 <= c.page <= 24 for c in pdf_chunks)
    # A later plain sync keeps the file, since it still exists where it was ingested from.
    report = Index(settings, fake_embeddings).sync()
    assert report.removed == 0


def test_rebuild_starts_from_scratch(settings, fake_embeddings):
    index = Index(settings, fake_embeddings)
    first = index.sync()
    report = index.rebuild()
    assert report.added == first.added and report.chunks == first.chunks


def test_every_stored_vector_belongs_to_its_own_text(settings, fake_embeddings):
    # Texts are embedded in batches sorted by length; each vector must go back to its text.
    index = Index(settings, fake_embeddings)
    index.sync()
    chunks = index.chunks()
    stored = index.chunk_vectors([c.chunk_id for c in chunks])
    for chunk in chunks:
        assert stored[chunk.chunk_id] == pytest.approx(fake_embeddings._vector(chunk.indexed_text))
    sentences = index.unit_vectors([c.chunk_id for c in chunks if c.kind != "case"])
    by_chunk = {c.chunk_id: c for c in chunks}
    assert sentences
    for chunk_id, position, vector in sentences:
        text = next(u.text for u in split_units(by_chunk[chunk_id].text) if u.position == position)
        assert vector == pytest.approx(fake_embeddings._vector(text))


def test_a_link_out_of_the_corpus_is_not_indexed(settings, fake_embeddings, tmp_path):
    from assistant.index.passage_index import Index

    secret = tmp_path / "hemligt.txt"
    secret.write_text("Lösenordet är kanelbulle.\n", encoding="utf-8")
    (settings.corpus_dir / "leak.txt").symlink_to(secret)
    (settings.corpus_dir / "inne.txt").symlink_to(settings.corpus_dir / "sources.json")
    files = Index(settings, fake_embeddings).corpus_files()
    assert all(f.name != "leak.txt" for f in files)
    assert any(f.name == "inne.txt" for f in files)      # a link within the corpus is fine
    assert any(f.name.startswith("sweco") for f in files)


def test_the_corpus_names_file_is_lexicon_data_not_a_document(settings, fake_embeddings):
    from assistant.lexicon import CORPUS_NAMES_FILE

    shutil.copy(CORPUS_NAMES_FILE, settings.corpus_dir / CORPUS_NAMES_FILE.name)
    files = Index(settings, fake_embeddings).corpus_files()
    assert all(f.name != CORPUS_NAMES_FILE.name for f in files)
    assert any(f.name.startswith("sweco") for f in files)


def test_a_lenient_sync_adds_the_good_files_and_keeps_a_bad_files_old_chunks(
        settings, fake_embeddings, tmp_path):
    index = Index(settings, fake_embeddings)
    pdf = tmp_path / "rapport.pdf"
    pdf.write_bytes((DATA / "rapport.pdf").read_bytes())
    index.sync([pdf])
    before = {cid: v for cid, v in _state(index).items() if cid.startswith(str(pdf))} or {
        c.chunk_id: "" for c in index.chunks() if c.source == str(pdf.resolve())}
    assert before
    pdf.write_bytes((DATA / "rapport.pdf").read_bytes()[:2000])     # damaged in place
    good = tmp_path / "bra.md"
    good.write_text("# Bra\n\nEn helt vanlig anteckning om ASF.\n", encoding="utf-8")
    report = index.sync([good], strict=False)
    assert [e.path.name for e in report.errors] == ["rapport.pdf"]
    assert report.added == 1 and report.removed == 0
    assert report.changed_sources == [str(good.resolve())]
    after = {c.chunk_id for c in index.chunks() if c.source == str(pdf.resolve())}
    assert after == set(before)


def test_a_sync_without_pruning_keeps_a_removed_files_chunks(settings, fake_embeddings):
    extra = settings.corpus_dir / "egna-anteckningar.md"
    extra.write_text("# Anteckningar\n\nVårt företag köper kaffe av ett ASF i Malmö.\n",
                     encoding="utf-8")
    index = Index(settings, fake_embeddings)
    index.sync()
    extra.unlink()
    report = index.sync(prune=False)
    assert not report.changed and not report.removed_sources
    assert [c.source for c in index.chunks()].count("egna-anteckningar.md") == 1
