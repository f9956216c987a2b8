"""The eval set is true to the report, the harness scores correctly, and quality holds.

The issue's gate (hit@5 ≥ 0.95, fact recall ≥ 0.85, citation precision ≥ 0.90, refusal
accuracy ≥ 0.90, false refusals ≤ 5 %) is not reached yet; eval/report.md shows where the
pipeline stands. Until it is, `test_quality_does_not_regress` holds the line at the figures
measured when the floor was last raised, so no change makes answers worse unnoticed.
"""

from __future__ import annotations

from collections import Counter

import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.text import collapse
from assistant.types import Answer, Citation, Context
from eval.harness import (
    ABLATION,
    DEFAULT,
    GATE,
    Variant,
    contains_evidence,
    evaluate,
    fact_found,
    gate_failures,
    load_items,
    score_item,
    settings_for,
)
from tests.conftest import REPORT

# The measured level of the default pipeline, so that no change makes answers worse
# unnoticed. Raise these when the pipeline improves. Lowering one lets a change through: only
# for a deliberate trade-off whose commit names the items it costs and why it is right. Each
# floor sits under the level measured on a fresh index of the shipped corpus (hit@5 0.944,
# fact recall 0.853 and, on another machine's fresh index, 0.872; citation precision
# 0.422-0.430, refusal accuracy 0.909, false refusals 0.008); the margins are for index-build
# noise (int8 vectors differ a little between CPUs), not for a change. Citation precision is
# far below the 0.90 on purpose: broad answers, and the guide cards that lead them,
# add points from other sections, each cited to its own passage, and those passages rarely
# hold an item's single gold evidence. Precision 0.42 -> 0.41 when a card's points were no
# longer quoted again under "Mer ur källorna" (0.429 -> 0.422): the engine's part cites other
# passages instead of the card's (q040 lost a correct citation; q098 lost one with the
# re-chunked Vadstena list, while q097 went from refused to answered). Precision 0.41 -> 0.40
# when the card closest by similarity leads once the ranking's bonuses would put one 0.1 less
# similar first (0.428 -> 0.420): q101 ("… vill ordna en träff … Hur lägger vi upp den?") was
# led by the Vadstena meeting's card (0.469, lifted by retrieval agreement) and is now led by
# the recommendations to public actors (0.584) and a second card, 4 -> 11 citations with the
# same one correct; its facts found are unchanged. Every change of a floor, with its figures:
# eval/figures.md.
FLOOR = {"hit@5": 0.94, "fact_recall": 0.83, "citation_precision": 0.40,
         "refusal_accuracy": 0.90, "false_refusal_rate": 0.05}


@pytest.fixture(scope="module")
def items():
    return load_items()


def test_eval_set_is_verbatim_from_the_report_and_covers_what_it_must(items):
    report = collapse(REPORT.read_text(encoding="utf-8")).lower()
    assert len(items) >= 80 and len({i.id for i in items}) == len(items)
    for item in items:
        for evidence in item.evidence:
            assert collapse(evidence).lower() in report, item.id
        for fact in item.facts:
            assert any(fact_found([alt], " ".join(item.evidence)) for alt in fact), item.id
        assert item.answerable == bool(item.evidence)
    counts = Counter(i.type for i in items)
    assert counts["unanswerable"] >= 15
    assert sum(i.lang == "en" for i in items) >= 10
    assert sum(i.style == "user" for i in items) >= 15
    text = " ".join(i.question + " " + " ".join(i.evidence) for i in items)
    for name in ["Le Mat Jonsered", "Koopus", "Aspiranterna", "Stickans", "Gotlands skog",
                 "Clean Car Service", "Galaxen", "Kamratstödet", "Yalla Rinkeby", "Koop M",
                 "Rinkeby", "Västerås", "Vadstena", "utsedd kontaktperson",
                 "Offentliga aktörer och företagsfrämjare"]:
        assert name in text, name


def _answer(text: str, quote: str, passage: str, refused: bool = False) -> Answer:
    context = Context(1, "c1", "s", "t", "Sek", None, passage, 1.0)
    citation = Citation(1, "c1", "s", "t", "Sek", None, quote)
    return Answer("q", text, refused, [] if refused else [citation], [context])


def test_scoring_counts_hits_facts_and_citations(items):
    item = next(i for i in items if i.id == "q001")
    passage = "Uppdraget. " + item.evidence[0] + " Mer text."
    good = score_item(item, _answer("45 intervjuer genomfördes. [1]", item.evidence[0], passage),
                      0.01)
    assert good.hit_rank == 1 and good.facts_found == 1 and good.citations_ok == 1
    assert not good.problems
    bad = score_item(item, _answer("Det var många. [1]", "Något annat.", "Något annat."), 0.01)
    assert bad.hit_rank is None and bad.facts_found == 0 and bad.citations_ok == 0
    assert len(bad.problems) == 3


def test_list_markers_do_not_hide_evidence():
    from eval.harness import Item

    item = Item("x", "q", "list", "csr", "sv", "report",
                ["Det handlar då om: Den rent affärsmässiga drivkraften"], [["affärsmässiga"]])
    assert contains_evidence(item, "Det handlar då om:\n- Den rent affärsmässiga drivkraften")


def test_gate_failures_name_each_metric():
    metrics = {"hit@5": 0.9, "fact_recall": 0.9, "citation_precision": 0.95,
               "refusal_accuracy": 0.95, "false_refusal_rate": 0.1}
    assert gate_failures(metrics) == ["hit@5=0.9 (gräns 0.95)",
                                      "false_refusal_rate=0.1 (gräns 0.05)"]
    assert set(GATE) == set(FLOOR)


def test_variants_get_their_own_index_folder(tmp_path):
    from assistant.config import Settings

    base = Settings()
    plain = settings_for(base, DEFAULT, tmp_path)
    small = settings_for(base, Variant.of("chunk-400"), tmp_path)
    fp32 = settings_for(base, Variant.of("fp32"), tmp_path)
    assert not fp32.embedding_quantize and base.embedding_quantize
    assert small.chunking.chunk_size == 400 and base.chunking.chunk_size != 400
    assert len({plain.data_dir, small.data_dir, fp32.data_dir}) == 3


def test_every_ablation_variant_is_a_preset_a_user_can_name():
    from assistant.config import Settings, preset_names

    names = set(preset_names())
    assert {v.preset for v in [DEFAULT, *ABLATION]} <= names
    for variant in ABLATION:
        assert Settings.from_name(variant.preset) is not None
        assert variant.name          # labelled in the report by the preset's description


@pytest.mark.integration
def test_quality_does_not_regress(items, real_embeddings, real_index_root, monkeypatch):
    # The shipped corpus, case cards included, exactly as `asf eval` measures it; its own index.
    monkeypatch.setenv("ASF_CORPUS_DIR", str(PROJECT_ROOT / "corpus"))
    runs = evaluate(items, [DEFAULT], embeddings=real_embeddings,
                    data_root=real_index_root / "shipped-corpus", log=lambda _: None)
    metrics = runs[DEFAULT.name]["metrics"]
    print("\n" + ", ".join(f"{k}={metrics[k]}" for k in FLOOR))
    below = [f"{k}={metrics[k]} (golv {v})" for k, v in FLOOR.items()
             if (metrics[k] > v if k == "false_refusal_rate" else metrics[k] < v)]
    assert not below, below


# The persona set's measured level (eval/persona.yaml, default settings, a fresh index of the
# shipped corpus): coverage 0.586, half covered 0.650, median 2553 characters (2026-12-07:
# the asking sentence and a follow-up's own words in card matching, ten ways of asking per
# card; 0.522 / 0.533 / 2565 before); refusal accuracy 1.0 (6 of 6) since questions on
# taxes, laws and foreign places no document discusses are refused (0.5 before). The
# issue's coverage targets (0.70, half covered 0.85) are not reached; eval/figures.md says
# why, and holds every change of these floors. With the words a question shares with a
# card's ways of asking in the card ranking: coverage 0.583 -> 0.613, half covered 0.667 ->
# 0.700 on one fresh index (floors 0.56 -> 0.59, 0.60 -> 0.65). The floor keeps what was
# reached; with six unanswerable and sixty answerable items one flip of int8
# batch noise moves refusal accuracy by 0.167 and false refusals by 0.017, so those floors
# allow one (false refusals two). The median is a limit, the 2600 characters.
# Follow-ups taking the previous question's kind and requoting what answers them: coverage
# 0.613 -> 0.636, half covered 0.700 -> 0.717 (floors 0.59 -> 0.61, 0.65 -> 0.68).
# A card leading from similarity 0.45 (not 0.5): 0.636 -> 0.652, 0.717 -> 0.733, median
# 2542 -> 2568 (floors 0.61 -> 0.63, 0.68 -> 0.70).
PERSONA_FLOOR = {"coverage": 0.63, "half_covered": 0.70, "refusal_accuracy": 0.83,
                 "false_refusal_rate": 0.07, "median_chars": 2600}
# The follow-up conversations written for this (eval/followups.yaml, 24): coverage 0.431
# with the code of 2026-12-06, 0.566 since follow-ups take the previous question's kind and
# may requote what answers them (2026-12-07); 0.635 since a card leads from similarity 0.45;
# 0.646 since a card that stands out leads a follow-up again (2026-12-08), 0.679 with "kan du
# utveckla …?" carrying the sentence it points at, 0.696 since the bonuses no longer outrank a
# card 0.1 closer (floor 0.59 -> 0.64). The second development set (eval/followups_dev2.yaml,
# 36): 0.657 before those changes, 0.725 after. Those figures are from the measuring index;
# this test's fresh index of the shipped corpus gave 0.679 and 0.670 (2026-12-08), and each
# floor sits 0.04 under that: a fresh index's int8 batch noise moves an item or two.
FOLLOWUP_FLOORS = {"followups.yaml": 0.64, "followups_dev2.yaml": 0.63}


@pytest.fixture
def shipped_assistant(real_embeddings, real_index_root, monkeypatch):
    """An Assistant over the shipped corpus with the real model, default settings."""
    from assistant.pipeline import Assistant

    monkeypatch.setenv("ASF_CORPUS_DIR", str(PROJECT_ROOT / "corpus"))
    settings = settings_for(Settings(), DEFAULT, real_index_root / "shipped-corpus")
    assistant = Assistant(settings, embeddings=real_embeddings)
    assistant.ensure_index()
    return assistant


@pytest.mark.integration
def test_persona_answers_do_not_regress(shipped_assistant):
    from eval.persona import evaluate_persona

    metrics = evaluate_persona(shipped_assistant)[0]["overall"]
    print("\n" + ", ".join(f"{k}={metrics.get(k)}" for k in PERSONA_FLOOR))
    upper = ("false_refusal_rate", "median_chars")
    below = [f"{k}={metrics[k]} (golv {v})" for k, v in PERSONA_FLOOR.items()
             if (metrics[k] > v if k in upper else metrics[k] < v)]
    assert not below, below
    assert metrics.get("repeated_followups", 0) == 0


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(FOLLOWUP_FLOORS))
def test_follow_up_answers_do_not_regress(shipped_assistant, name):
    from eval.persona import FOLLOWUPS, evaluate_persona, load_persona

    path = FOLLOWUPS.with_name(name)
    metrics = evaluate_persona(shipped_assistant, load_persona(path))[0]["overall"]
    print(f"\n{name}: follow-up coverage={metrics['coverage']}")
    assert metrics["coverage"] >= FOLLOWUP_FLOORS[name]
    assert metrics.get("repeated_followups", 0) == 0
