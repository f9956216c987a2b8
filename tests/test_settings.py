"""Named presets (`asf --settings NAME`, ASF_PRESET) and embedders chosen by name."""

from __future__ import annotations

import json
import os

import pytest

from assistant import cli
from assistant.config import PRESETS_DIR, Settings, SettingsError, load_settings, preset_names
from assistant.index import EMBEDDERS, make_embeddings
from tests.conftest import FakeEmbeddings, use_embedder


def test_a_preset_changes_only_the_fields_it_names(monkeypatch):
    monkeypatch.setenv("ASF_RETRIEVAL__LATE_WEIGHT", "2.5")
    settings = Settings.from_name("bm25")
    assert settings.retrieval.mode == "bm25"
    assert settings.retrieval.late_weight == 2.5          # still from the environment
    assert Settings().retrieval.mode != "bm25"


def test_a_preset_wins_over_the_environment_for_its_own_fields(monkeypatch):
    monkeypatch.setenv("ASF_EMBEDDING_QUANTIZE", "true")
    assert Settings.from_name("fp32").embedding_quantize is False


def test_asf_preset_in_the_environment_chooses_the_preset(monkeypatch):
    monkeypatch.setenv("ASF_PRESET", "chunk-400")
    assert load_settings().chunking.chunk_size == 400


def test_every_shipped_preset_is_valid_json_with_a_description():
    assert "standard" in preset_names() and len(preset_names()) >= 10
    for name in preset_names():
        data = json.loads((PRESETS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert data["description"] and isinstance(data["settings"], dict)
        Settings.from_name(name)


@pytest.mark.parametrize("name", ["finns-inte", "../config", "FP32"])
def test_an_unknown_preset_is_a_swedish_error_listing_the_presets(name):
    with pytest.raises(SettingsError) as err:
        Settings.from_name(name)
    assert "Okänd inställningsprofil" in str(err.value) and "fp32" in str(err.value)


def test_the_cli_refuses_an_unknown_preset_before_loading_anything(capsys, monkeypatch):
    def no_model(settings):
        raise AssertionError("the model must not load for a bad preset")

    use_embedder(monkeypatch, no_model)
    assert cli.main(["--settings", "finns-inte", "ask", "Vad är ett ASF?"]) == 2
    assert "Okänd inställningsprofil 'finns-inte'" in capsys.readouterr().err


def test_the_cli_answers_with_a_named_preset(capsys, monkeypatch):
    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    seen: list[Settings] = []
    real = EMBEDDERS["test"]
    monkeypatch.setitem(EMBEDDERS, "test", lambda settings: seen.append(settings) or real(settings))
    assert cli.main(["--settings", "bm25", "ask", "--json", "Hur många intervjuer?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["citations"] and seen and seen[0].retrieval.mode == "bm25"
    assert "ASF_PRESET" not in os.environ          # the choice does not outlive the command


def test_an_unknown_embedder_name_is_a_swedish_settings_error(monkeypatch):
    monkeypatch.setenv("ASF_EMBEDDER", "finns-inte")
    with pytest.raises(SettingsError) as err:
        make_embeddings(load_settings())
    assert "ASF_EMBEDDER='finns-inte'" in str(err.value) and "local" in str(err.value)


def test_the_default_embedder_is_the_local_model():
    from assistant.index import LazyEmbeddings

    embeddings = make_embeddings(Settings())
    assert isinstance(embeddings, LazyEmbeddings)      # loads lazily: nothing read yet
