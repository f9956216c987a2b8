"""Named presets (`asf --settings NAME`, ASF_PRESET) and embedders chosen by name."""

from __future__ import annotations

import json
import os
import re

import pytest

from assistant import cli
from assistant.config import PRESETS_DIR, Settings, SettingsError, load_settings, preset_names
from assistant.index import EMBEDDERS, make_embeddings
from eval.harness import Variant, settings_for
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


# ---------------------------------------------------------------------- unknown fields
FIELDS_OF_RETRIEVAL = "k, candidates, mode, bm25_weight"


def _error(**values) -> str:
    with pytest.raises(SettingsError) as err:
        Settings(**values)
    return str(err.value)


def test_a_misspelt_field_of_a_group_is_a_swedish_error_naming_it_and_the_groups_fields():
    message = _error(retrieval={"fusoin": "rrf"})
    assert message.startswith("Okänd inställning ASF_RETRIEVAL__FUSOIN: gruppen retrieval har "
                              "inget fält 'fusoin'")
    assert FIELDS_OF_RETRIEVAL in message and "fusion" in message
    broad = _error(answer={"broad": {"w_wrds": 0.3}})
    assert "ASF_ANSWER__BROAD__W_WRDS" in broad and "gruppen answer.broad" in broad
    assert "w_words" in broad
    assert "inställningarna har inget fält 'fusion'" in _error(fusion="rrf")


@pytest.mark.parametrize("variable, field", [("ASF_RETRIEVAL__FUSOIN", "fusoin"),
                                             ("ASF_FUSION", "fusion"),
                                             ("ASF_ANSWER__BROAD__W_WRDS", "w_wrds"),
                                             ("asf_retreival__k", "retreival")])
def test_a_misspelt_variable_in_the_environment_is_a_swedish_error(monkeypatch, variable,
                                                                   field):
    monkeypatch.setenv(variable, "7")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert f"Okänd inställning {variable.upper()}: " in str(err.value)
    assert f"inget fält '{field}'" in str(err.value)


def test_the_cli_names_a_misspelt_variable_and_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("ASF_RETRIEVAL__FUSOIN", "rrf")
    assert cli.main(["ask", "Vad är ett ASF?"]) == 2
    err = capsys.readouterr().err
    assert "Okänd inställning ASF_RETRIEVAL__FUSOIN" in err and "Traceback" not in err


def test_dotenv_other_programs_variables_are_left_alone_and_a_misspelt_one_is_an_error(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "HF_TOKEN=hemligt\nOTHER_APP__NESTED=1\nASF_PRESET=standard\nASF_RETRIEVAL__K=7\n"
        "ASF_ANSWER__BROAD__W_WORDS=0.3\n", encoding="utf-8")
    settings = Settings()
    assert settings.retrieval.k == 7 and settings.answer.broad.w_words == 0.3
    monkeypatch.setenv("ASF_TEST_CACHE", str(tmp_path))      # the test suite's own variable
    assert Settings().retrieval.k == 7
    for line, name in (("ASF_RETRIEVAL__FUSOIN=rrf", "ASF_RETRIEVAL__FUSOIN"),
                       ("ASF_FUSOIN=rrf", "ASF_FUSOIN"),
                       ("ASF_RETREIVAL__K=7", "ASF_RETREIVAL__K")):
        (tmp_path / ".env").write_text(f"HF_TOKEN=hemligt\n{line}\n", encoding="utf-8")
        with pytest.raises(SettingsError) as err:
            Settings()
        assert str(err.value).startswith(f"Okänd inställning {name}: ")


@pytest.fixture
def presets(tmp_path, monkeypatch):
    """A presets folder of the test's own: write(name, settings) adds one."""
    from assistant import config

    folder = tmp_path / "presets"
    folder.mkdir()
    monkeypatch.setattr(config, "PRESETS_DIR", folder)

    def write(name: str, settings: dict, **extra) -> str:
        data = {"description": f"test {name}", "settings": settings, **extra}
        (folder / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
        return name
    return write


def test_a_preset_with_a_misspelt_field_is_a_swedish_error_naming_the_preset(presets):
    presets("stavfel", {"retrieval": {"fusoin": "rrf"}})
    with pytest.raises(SettingsError) as err:
        Settings.from_name("stavfel")
    message = str(err.value)
    assert message.startswith("Inställningsprofilen 'stavfel' har en okänd inställning "
                              "'retrieval.fusoin': gruppen retrieval har inget fält 'fusoin'")
    assert FIELDS_OF_RETRIEVAL in message and "assistant/presets/stavfel.json" in message
    presets("stavfel-broad", {"answer": {"broad": {"w_wrds": 0.3}}})
    with pytest.raises(SettingsError, match="'answer.broad.w_wrds'"):
        Settings.from_name("stavfel-broad")
    presets("extra-nyckel", {}, setings={})
    with pytest.raises(SettingsError, match="description"):
        Settings.from_name("extra-nyckel")


# ---------------------------------------------------------------------- tuning in settings
# Today's values of the broad weights and of the former module constants and scoring
# literals: the defaults must not change what the assistant answers.
DEFAULTS = {
    "broad": dict(
        max_points=6, max_chars=1400, max_point_chars=520, per_section=3, min_relative=0.62,
        diversity=0.45, duplicate=0.86, w_sentence=0.15, w_before=0.085, w_passage=0.40,
        w_section=0.15, w_words=0.60, w_heading=0.20, sections=4, first_section_points=2,
        per_section_points=1, w_section_vector=0.3, w_section_heading=0.2, w_addressed=0.5,
        min_section_share=0.6, advice_bonus=0.05, similarity_floor=0.25, similarity_span=0.45,
        quote_factor=0.9, min_sentence_chars=30, short_in_quote_chars=60, back_steps=2,
        candidates=60, redundancy_floor=0.3, section_candidates=3, situation_candidates=3,
        about_words=10, examples=2, example_floor=0.5, example_margin=0.03,
        min_window_chars=300, window_slack_chars=200),
    "extractive": dict(
        evidence_passages=3, evidence_dense_floor=0.2, evidence_dense_span=0.5,
        evidence_dense_share=0.5, type_check_passages=3, unit_base=0.2, position_weight=0.1,
        unit_dense_floor=0.3, unit_dense_span=0.4, short_unit_chars=25, short_unit_factor=0.6,
        said_factor=0.5, follow_units=2, same_passage_share=0.6, other_passage_share=0.85,
        back_steps=3, quotation_back=3, quotation_max_chars=600, announced_max_chars=400,
        list_parts=10, list_items=12, count_candidates=20, recall_chars=300),
    "grounding": dict(align_min=0.4, min_compound=5, role_before=2, role_after=3),
}


PLAN_DEFAULTS = dict(part_lines=2, lesson_lines=4, discussion_lines=4, cases=3,
                     known_theme=0.40, known_theme_words=0.5)


def test_the_tuning_groups_default_to_the_values_the_code_had():
    answer = Settings().answer
    for group, values in DEFAULTS.items():
        assert getattr(answer, group).model_dump() == values, group
        for name in values:          # each field says what it tunes
            assert type(getattr(answer, group)).model_fields[name].description
    plan = Settings().plan.model_dump()
    assert {name: plan[name] for name in PLAN_DEFAULTS} == PLAN_DEFAULTS


LEAD = "Samverkan sker på följande arenor:"
ITEMS = ["Näringslivet.", "Kommunerna.", "Andra ASF.", "Föreningarna."]


def _list_answer(settings: Settings) -> str:
    from assistant.answering.extractive import ExtractiveAnswerer
    from assistant.types import Chunk, Passage

    text = "Modellen beskriver arenor.\n\n" + LEAD + "".join(f"\n- {i}" for i in ITEMS)
    chunk = Chunk(chunk_id="c1", source="rapport.txt", title="Rapporten",
                  section_path=("Inledning",), page=1, text=text, indexed_text=text, seq=1)
    passage = Passage(chunk=chunk, score=1.0, rank=1, direct=1.0, dense=0.9)
    return ExtractiveAnswerer(settings.answer).answer("Vilka arenor finns?", [passage]).answer


def test_a_preset_reaches_a_former_extractive_constant(presets):
    presets("two-items", {"answer": {"min_evidence": 0.0, "extractive": {"list_items": 2}}})
    plain = _list_answer(Settings(answer={"min_evidence": 0.0}))
    short = _list_answer(Settings.from_name("two-items"))
    assert all(f"- {item}" in plain for item in ITEMS)
    assert f"{LEAD}\n- Näringslivet.\n- Kommunerna.\n\n" in short     # the list stops at two
    assert "- Andra ASF." not in short


def test_a_preset_reaches_broad_weights_and_the_ablation_takes_them(presets, shared_assistant,
                                                                    tmp_path):
    from assistant.answering.broad import BroadAnswerer

    presets("no-words", {"answer": {"broad": {"w_words": 0.0, "w_heading": 0.0}}})
    settings = Settings.from_name("no-words")
    assert settings.answer.broad.w_words == 0.0
    assert settings_for(Settings(), Variant.of("no-words"), tmp_path).answer.broad.w_words == 0.0
    default = shared_assistant.broad
    no_words = BroadAnswerer(settings.answer, shared_assistant.retriever.topics, default.idf)
    question = "Vilka utmaningar finns för samarbetet mellan företag och ASF?"
    analysis = shared_assistant.analyse(question, question)
    retrieval = shared_assistant.retriever.search(question)
    _, scores = default.scores(question, retrieval, analysis)
    _, without = no_words.scores(question, retrieval, analysis)
    assert (without <= scores + 1e-6).all() and (without < scores - 1e-3).any()
    chosen = [p.text for p in default.select_by_section(question, retrieval, analysis)]
    assert chosen != [p.text for p in no_words.select_by_section(question, retrieval, analysis)]


def test_a_former_broad_constant_set_in_settings_changes_the_point(presets):
    from assistant.answering.broad import readable
    from assistant.ingest.chunking import split_units
    from assistant.retrieval.topics import TopicIndex
    from assistant.types import Chunk

    text = ("Några företag ligger i ett utsatt område. Dessa företag vill lyfta området. Ett "
            "sätt att åstadkomma detta är att samverka med ett lokalt ASF.")
    chunk = Chunk(chunk_id="c0", source="r.txt", title="R", section_path=("A",), page=None,
                  text=text, indexed_text=text, seq=0)
    topics = TopicIndex([chunk], {"c0": [1.0, 0.0]},
                        [("c0", u.position, [1.0, 0.0]) for u in split_units(text)])
    last = next(s for s in topics.sentences if s.unit.text.startswith("Ett sätt"))
    assert len(readable(topics, last, Settings().answer.broad)) == 3
    presets("one-step", {"answer": {"broad": {"back_steps": 1}}})
    one = readable(topics, last, Settings.from_name("one-step").answer.broad)
    assert [s.unit.text for s in one] == ["Dessa företag vill lyfta området.", last.unit.text]


def test_a_former_grounding_constant_set_in_settings_changes_the_support():
    from assistant.answering.grounding import Grounder, lexical_support

    idf = {"samverkan": 2.0, "aktör": 1.0}.get
    strict = Settings(answer={"grounding": {"min_compound": 10}}).answer.grounding
    assert lexical_support({"samverkan", "aktör"}, {"samverkansaktör"},
                           lambda t: idf(t) or 1.0) == 1.0
    assert lexical_support({"samverkan", "aktör"}, {"samverkansaktör"},
                           lambda t: idf(t) or 1.0, strict) == 0.0
    sentence = "Samverkansaktörerna deltog i intervjuerna om arbetet."
    passage = "Samverkan mellan aktörer har deltagit i intervjuer om arbete."
    assert Grounder(None).support(sentence, [passage]).lexical > \
        Grounder(None, limits=strict).support(sentence, [passage]).lexical


def test_env_example_with_every_line_switched_on_is_valid(tmp_path, monkeypatch):
    from assistant.config import PROJECT_ROOT

    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    lines = [m.group(1) for m in re.finditer(r"^#\s*(ASF_\w+=.*)$", text, re.MULTILINE)]
    assert len(lines) >= 10
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert Settings().api.port == 8000          # every name is a setting, every value valid
