"""Shared fixtures: a deterministic fake embedder, isolated data folders, built assistants."""

from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from assistant.config import PROJECT_ROOT, Settings
from assistant.index.embeddings import (
    EMBEDDERS,
    EmbedderFactory,
    LazyEmbeddings,
    check_model_folder,
    make_embeddings,
)
from assistant.text import tokens

REPORT = PROJECT_ROOT / "corpus" / "sweco-asf-samverkan-naringslivet.txt"
DATA = Path(__file__).resolve().parent / "data"
DIM = 128


class FakeEmbeddings(Embeddings):
    """Hash stemmed tokens into a normalised bag-of-words vector: fast and deterministic."""

    name = "fake-bow"

    def __init__(self) -> None:
        self.calls = 0

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * DIM
        for tok in tokens(text):
            h = int(hashlib.md5(tok.encode()).hexdigest(), 16)
            vec[h % DIM] += 1.0 if (h >> 8) % 2 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Point every data folder at tmp_path and give each test a corpus with the report."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(REPORT, corpus / REPORT.name)
    shutil.copy(PROJECT_ROOT / "corpus" / "sources.json", corpus / "sources.json")
    monkeypatch.setenv("ASF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASF_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("ASF_MODELS_DIR", str(PROJECT_ROOT / "models"))
    return tmp_path


@pytest.fixture
def settings() -> Settings:
    return Settings()


def use_embedder(monkeypatch: pytest.MonkeyPatch, factory: EmbedderFactory,
                 name: str = "test") -> None:
    """Choose an embedder by setting, as a user would: register it under a name and set
    ASF_EMBEDDER, which the CLI, the app and the Assistant read (undone after the test)."""
    monkeypatch.setitem(EMBEDDERS, name, factory)
    monkeypatch.setenv("ASF_EMBEDDER", name)


@pytest.fixture
def fake_embeddings() -> FakeEmbeddings:
    return FakeEmbeddings()


@pytest.fixture
def assistant(settings, fake_embeddings):
    """An Assistant over the report, indexed with the fake embedder in a temporary folder."""
    from assistant.pipeline import Assistant

    a = Assistant(settings, embeddings=fake_embeddings)
    a.ensure_index()
    return a


@pytest.fixture(scope="module")
def shared_assistant(tmp_path_factory):
    """An Assistant over the report with the fake embedder, built once per module.

    For tests that only ask and read; a test that ingests, syncs, changes files or settings
    takes `assistant`, built afresh for it.
    """
    from assistant.pipeline import Assistant

    folder = tmp_path_factory.mktemp("shared-index")
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(REPORT, corpus / REPORT.name)
    shutil.copy(PROJECT_ROOT / "corpus" / "sources.json", corpus / "sources.json")
    a = Assistant(Settings(data_dir=folder / "data", corpus_dir=corpus,
                           models_dir=PROJECT_ROOT / "models"), embeddings=FakeEmbeddings())
    a.ensure_index()
    return a


# ---------------------------------------------------------------------- the real model
# Loading the real embedding model takes seconds and each index built with it minutes, so
# every test that loads it must be marked `integration` (the fast tier, `make check`, leaves
# those out). A test that loads it unmarked fails here, naming the marker.

class RealModelOutsideIntegration(AssertionError):
    """The real embedding model was loaded by a test not marked integration."""


_RUNNING: dict[str, object] = {"test": None, "integration": False}
_real_load = LazyEmbeddings._load


def _guarded_load(self: LazyEmbeddings):
    if self._model is None and _RUNNING["test"] is not None and not _RUNNING["integration"]:
        check_model_folder(self.model_path)    # a missing model still says so, as it would
        raise RealModelOutsideIntegration(
            f"{_RUNNING['test']} loads the real embedding model ({self.model_path}) but is "
            "not marked @pytest.mark.integration: mark it, or use the fake embedder.")
    return _real_load(self)


# Tests import this file as `tests.conftest` besides pytest's own import of it: wrap once,
# with the state pytest's hooks below keep.
if not getattr(LazyEmbeddings._load, "integration_guard", False):
    _guarded_load.integration_guard = True  # type: ignore[attr-defined]
    LazyEmbeddings._load = _guarded_load  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Record which test runs (its fixtures included) and whether it may load the model."""
    _RUNNING["test"] = item.nodeid
    _RUNNING["integration"] = item.get_closest_marker("integration") is not None
    try:
        yield
    finally:
        _RUNNING["test"] = None
        _RUNNING["integration"] = False


# Fixtures that hand a test the real model (loaded once per session, so the load guard above
# sees only the first test that asks).
REAL_MODEL_FIXTURES = ("real_embeddings",)


def pytest_runtest_setup(item):
    """Fail a test that asks for the real model without the integration marker."""
    if item.get_closest_marker("integration") is None:
        asked = [f for f in REAL_MODEL_FIXTURES if f in getattr(item, "fixturenames", ())]
        if asked:
            raise RealModelOutsideIntegration(
                f"{item.nodeid} uses {', '.join(asked)} (the real embedding model) but is not "
                "marked @pytest.mark.integration")


@pytest.fixture(scope="session")
def real_embeddings():
    """The real default embedding model (built by `make setup`)."""
    settings = Settings(models_dir=PROJECT_ROOT / "models")
    if not (settings.model_path / "modules.json").exists():
        pytest.fail(f"Embedding model missing at {settings.model_path}: run `make setup`.")
    emb = make_embeddings(settings)
    emb.embed_query("uppvärmning")
    return emb


@pytest.fixture(scope="session")
def real_index_root(tmp_path_factory):
    """A folder shared by the tests that build an index with the real model."""
    return tmp_path_factory.mktemp("real-index")
