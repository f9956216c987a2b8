"""Guide cards (corpus/guide/*.yaml): every shipped quote verbatim in its section, bad cards
named with their field, indexing in a collection of their own, stale quotes reported, and
broad answers that lead with the closest card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from assistant.cases.guide import (
    check_guide_quotes,
    is_guide_file,
    load_guide_card,
    section_texts,
)
from assistant.config import PROJECT_ROOT, Settings
from assistant.ingest.chunking import chunk_document
from assistant.ingest.loaders import load_document
from assistant.prompts import GUIDE_AGAIN_NOTE, GUIDE_HEADING, GUIDE_ROLES
from assistant.types import IngestError

GUIDE = PROJECT_ROOT / "corpus" / "guide"
REPORT = PROJECT_ROOT / "corpus" / "sweco-asf-samverkan-naringslivet.txt"
CARDS = sorted(GUIDE.glob("*.yaml"))


@pytest.fixture(scope="module")
def report_sections() -> dict[tuple[str, ...], str]:
    return section_texts(chunk_document(load_document(REPORT), 1000))


# --------------------------------------------------------------------------- the shipped cards

def test_the_shipped_cards_cover_the_report_and_every_quote_is_verbatim(report_sections):
    assert 50 <= len(CARDS) <= 70
    used: set[tuple[str, ...]] = set()
    problems = []
    for path in CARDS:
        card = load_guide_card(path)
        problems += [e.message if hasattr(e, "message") else str(e)
                     for e in check_guide_quotes(card, report_sections)]
        used.update(p.section_path for p in card.points)
        assert sum(_english(q) for q in card.asked) >= 2, path.name
    assert problems == []
    # Every section with text of its own is the source of at least one point.
    with_text = {path for path, text in report_sections.items() if len(text) > 200}
    assert with_text - used == set()


def _english(text: str) -> bool:
    from assistant.text import is_english
    return is_english(text)


def test_every_role_has_cards():
    roles = [r for path in CARDS for r in load_guide_card(path).roles]
    assert {r: roles.count(r) >= 8 for r in GUIDE_ROLES} == dict.fromkeys(GUIDE_ROLES, True)


# --------------------------------------------------------------------------- bad cards

CARD = {
    "id": "avtal",
    "title": "Behöver vi skriva avtal med ett ASF?",
    "roles": ["company", "asf"],
    "asked": ["Ska vi skriva kontrakt med ASF:et?", "Räcker det med en muntlig överenskommelse?",
              "Vi är ett bageri och ska anlita ett ASF, behövs avtal?",
              "Hur formaliserar man samarbetet?", "Vilka avtal är vanligast?",
              "Do we need a written contract with a social enterprise?",
              "Is a verbal agreement enough?"],
    "points": [
        {"quote": "Samarbetet formaliseras i vissa fall genom avtal, men oftast gäller muntliga "
                  "överenskommelser och löpande kommunikation kring hur problem och frågor ska "
                  "lösas.",
         "section": "Affärer med konventionella företag › Muntliga avtal är vanligast"},
        {"quote": "I de fall det mer är en fråga om återkommande tjänster, verkar faktiska avtal "
                  "vara mer vanligt.",
         "section": "Affärer med konventionella företag › Muntliga avtal är vanligast"},
        {"quote": "Oavsett menar flera intervjuade att god och löpande kommunikation är helt "
                  "avgörande för ett gott samarbete.",
         "section": "Affärer med konventionella företag › Muntliga avtal är vanligast"},
    ],
}


def write_card(folder: Path, card: dict, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or card['id']}.yaml"
    path.write_text(yaml.safe_dump(card, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "field"), [
    ({"extra": "x"}, "extra"),
    ({"id": "annat-namn"}, "id"),
    ({"roles": ["kund"]}, "roles"),
    ({"asked": ["bara en"]}, "asked"),
    ({"points": CARD["points"][:2]}, "points"),
    ({"points": [*CARD["points"][:2], {"quote": "x", "section": "y", "note": "z"}]},
     "points[3]"),
])
def test_a_bad_card_is_named_with_its_field(tmp_path, change, field):
    path = write_card(tmp_path / "guide", CARD | change, name="avtal")
    with pytest.raises(IngestError) as err:
        load_guide_card(path)
    assert "avtal.yaml" in str(err.value) and f"”{field}”" in str(err.value)


def test_a_card_is_told_apart_from_case_and_figure_cards(tmp_path):
    from assistant.cases.cards import is_case_file

    card = write_card(tmp_path / "guide", CARD)
    assert is_guide_file(card) and not is_case_file(card)
    case = PROJECT_ROOT / "corpus" / "cases" / "koopus.yaml"
    figure = PROJECT_ROOT / "corpus" / "figures" / "planeringsmodell.yaml"
    assert not is_guide_file(case) and not is_guide_file(figure)


def test_a_quote_outside_its_section_is_reported(tmp_path, report_sections):
    moved = CARD | {"points": [{**CARD["points"][0], "section": "Utmaningar › Kommunikation"},
                               *CARD["points"][1:]]}
    problems = check_guide_quotes(load_guide_card(write_card(tmp_path, moved)), report_sections)
    assert len(problems) == 1 and "punkt 1" in str(problems[0])


# --------------------------------------------------------------------------- index and answers

@pytest.fixture
def guided(settings, fake_embeddings):
    """An Assistant over the report plus one guide card, indexed with the fake embedder."""
    from assistant.pipeline import Assistant

    write_card(settings.corpus_dir / "guide", CARD)
    a = Assistant(settings, embeddings=fake_embeddings)
    a.ensure_index()
    return a


def test_a_card_is_indexed_apart_from_the_passages(guided):
    index = guided.index
    assert all(c.kind != "guide" for c in index.chunks())
    [(chunk, meta)] = index.guide_chunks()
    assert meta["guide_id"] == "avtal"
    questions = index.guide_vectors()
    assert len(questions) == 1 + len(CARD["asked"])        # the title and each way of asking
    assert {cid for cid, _, _ in questions} == {chunk.chunk_id}


def test_changing_and_removing_a_card_updates_its_questions(guided, settings):
    path = settings.corpus_dir / "guide" / "avtal.yaml"
    write_card(path.parent, CARD | {"asked": [*CARD["asked"], "Måste vi ha ett avtal?"]})
    guided.ingest()
    assert len(guided.index.guide_vectors()) == 2 + len(CARD["asked"])
    path.unlink()
    report = guided.ingest()
    assert guided.index.guide_chunks() == [] and guided.index.guide_vectors() == []
    assert "guide/avtal.yaml" in report.removed_sources


def test_a_quote_the_changed_report_lacks_is_reported_by_ingest_with_file_and_card(guided,
                                                                                    settings):
    report_file = settings.corpus_dir / REPORT.name
    text = report_file.read_text(encoding="utf-8")
    report_file.write_text(text.replace("verkar faktiska \navtal vara mer vanligt",
                                        "verkar skriftliga \navtal vara mer vanligt"),
                           encoding="utf-8")
    report = guided.ingest(strict=False)
    messages = [str(e) for e in report.errors]
    assert any("avtal.yaml" in m and "punkt 2" in m for m in messages), messages
    assert len(guided.index.guide_chunks()) == 1             # the card is still there


def test_a_broad_question_leads_with_the_card_cited_at_the_report(guided):
    guided.settings.answer.guide_min_similarity = 0.0
    answer = guided.ask("Vi är ett bageri och ska anlita ett ASF, behövs avtal?")
    assert answer.guide == "avtal"
    assert answer.answer.startswith(GUIDE_HEADING.format(title=CARD["title"]))
    first = answer.citations[0]
    assert first.source == REPORT.name
    assert first.section == CARD["points"][0]["section"]
    assert CARD["points"][0]["quote"] in first.quote
    # The engine's part does not say again what the card said.
    body = answer.answer.split("\n")
    assert sum(CARD["points"][1]["quote"] in line for line in body) == 1
    markers = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", answer.answer)}
    assert markers == {c.n for c in answer.citations}


def test_the_engines_part_after_a_long_card_gets_its_minimum_budget(guided):
    answer = guided.settings.answer
    answer.guide_min_similarity, answer.guide_max_chars = 0.0, 600       # the card fills it
    lengths = {}
    for minimum in (300, 2000):
        answer.guide_min_engine_chars = minimum
        reply = guided.ask("Vi är ett bageri och ska anlita ett ASF, behövs avtal?")
        assert reply.guide == "avtal"
        card_part = next(part for part in reply.answer.split("\n\n") if part.startswith(
            GUIDE_HEADING.format(title=CARD["title"])))
        lengths[minimum] = len(reply.answer) - len(card_part)
    assert lengths[300] < lengths[2000]


def test_a_factual_question_does_not_lead_with_a_card(guided):
    guided.settings.answer.guide_min_similarity = 0.0
    answer = guided.ask("Hur många intervjuer genomfördes?")
    assert answer.guide == "" and not answer.answer.startswith("Vägledning")
    assert "related" in answer.to_dict()


def test_a_card_far_from_the_question_is_not_used(guided):
    guided.settings.answer.guide_min_similarity = 0.99
    answer = guided.ask("Vi är ett bageri och vill veta hur vi kommer igång med att köpa "
                        "tjänster av ett ASF och vad vi ska tänka på")
    assert answer.guide == ""


def test_json_output_has_related_questions(guided):
    guided.settings.answer.related_min_similarity = 0.0
    answer = guided.ask("Hur viktig är kommunikationen i samarbetet?")
    data = json.loads(json.dumps(answer.to_dict()))
    assert data["related"] == [CARD["title"]]


def test_removing_the_guide_folder_leaves_answers_working(tmp_path, settings, fake_embeddings):
    from assistant.pipeline import Assistant

    folder = settings.corpus_dir / "guide"
    write_card(folder, CARD)
    a = Assistant(settings, embeddings=fake_embeddings)
    a.ensure_index()
    shutil.rmtree(folder)
    a.ingest()
    assert not a.ask("Behöver vi skriva avtal med ett ASF?").refused


def test_settings_reach_the_guide(monkeypatch):
    monkeypatch.setenv("ASF_ANSWER__GUIDE_MIN_SIMILARITY", "0.7")
    assert Settings().answer.guide_min_similarity == 0.7


def test_a_quoted_list_is_shown_as_sub_bullets_and_cited_whole():
    from assistant.answering.guide import list_items

    quote = "Rekommendationer till ASF: - Att hitta en nisch. - Att sälja in sig."
    assert list_items(quote) == ("Rekommendationer till ASF:",
                                 ["Att hitta en nisch.", "Att sälja in sig."])
    assert list_items("Ett vanligt stycke - med ett tankstreck.") == (
        "Ett vanligt stycke - med ett tankstreck.", [])


def test_a_listed_item_holding_a_dash_stays_one_item_when_its_passage_is_known():
    from assistant.answering.guide import list_items
    from assistant.types import Chunk

    text = ("Vi valde teman. De träffar som planerades var följande:\n"
            "- Jönköping- tema Kompetensförsörjning.\n- Borås - tema Textilbranschen.\n"
            "- Vadstena - tema Lokal samverkan.")
    chunk = Chunk(chunk_id="c", source="r.txt", title="R", section_path=("S",), page=1,
                  text=text, indexed_text=text)
    quote = ("De träffar som planerades var följande: - Jönköping- tema Kompetensförsörjning. "
             "- Borås - tema Textilbranschen. - Vadstena - tema Lokal samverkan.")
    assert list_items(quote, chunk)[1] == ["Jönköping- tema Kompetensförsörjning.",
                                           "Borås - tema Textilbranschen.",
                                           "Vadstena - tema Lokal samverkan."]


# Shipped cards whose points quote whole passages, a list's items, a sentence with its
# antecedent, or a list item of several sentences: what the answer shows under "Mer ur
# källorna" and among the examples must not say again what the card said.
WHOLE_PASSAGE_CARDS = ["koopus", "installda-traffar", "rekommendationer-sammanfattning",
                       "affarsmassighet", "socialt-ansvar-och-csr", "rinkeby-traffen"]


@pytest.fixture(scope="module")
def shipped_cards(tmp_path_factory):
    from assistant.pipeline import Assistant
    from tests.conftest import FakeEmbeddings

    folder = tmp_path_factory.mktemp("shipped")
    corpus = folder / "corpus"
    (corpus / "guide").mkdir(parents=True)
    shutil.copy(REPORT, corpus / REPORT.name)
    shutil.copy(PROJECT_ROOT / "corpus" / "sources.json", corpus / "sources.json")
    for name in WHOLE_PASSAGE_CARDS:
        shutil.copy(GUIDE / f"{name}.yaml", corpus / "guide")
    a = Assistant(Settings(data_dir=folder / "data", corpus_dir=corpus,
                           models_dir=PROJECT_ROOT / "models"), embeddings=FakeEmbeddings())
    a.ensure_index()
    return a


@pytest.mark.parametrize("name", WHOLE_PASSAGE_CARDS)
def test_an_answer_led_by_a_card_never_says_a_sentence_twice(shipped_cards, name):
    import re

    from assistant.text import split_sentences

    title = load_guide_card(GUIDE / f"{name}.yaml").title
    answer = shipped_cards.ask(title)
    assert answer.guide == name
    text = re.sub(r" ?\[\d+\]", "", answer.answer)
    sentences = [s for line in text.splitlines()
                 for s in split_sentences(line.strip().lstrip("-• ").strip()) if len(s) > 30]
    assert [s for s in set(sentences) if sentences.count(s) > 1] == []


def test_a_question_the_documents_cannot_answer_stays_refused_and_offers_cards(guided):
    guided.settings.answer.guide_min_similarity = 0.0
    guided.settings.answer.related_min_similarity = 0.0
    answer = guided.ask("Vilka skatteregler gäller för kanelbullar med kardemumma i Japan och "
                        "hur bakar man dem bäst?")
    assert answer.refused and answer.guide == ""
    assert answer.related == [CARD["title"]]


def _card_in(card_id: str, passage: str):
    """Return a one-point card for the asf role whose point the passage `passage` holds."""
    from assistant.retrieval.guide import GuideEntry
    from assistant.types import Chunk

    chunk = Chunk(chunk_id=card_id, source=f"guide/{card_id}.yaml", title=card_id,
                  section_path=(card_id,), page=None, text="x", indexed_text=card_id,
                  kind="guide")
    return GuideEntry(chunk, card_id, card_id, ("asf",), (("x", ("A",)),), (passage,))


def test_retrieval_agreement_breaks_a_tie_between_equally_close_cards():
    from assistant.retrieval.guide import GuideIndex

    cards = [_card_in("a-kort", "p1"), _card_in("b-kort", "p2")]
    guide = GuideIndex(cards, [("a-kort", 0, [1.0, 0.0]), ("b-kort", 0, [1.0, 0.0])])
    assert guide.match([1.0, 0.0])[0].entry.id == "a-kort"
    ranked = guide.match([1.0, 0.0], retrieved=["p2", "p1"], retrieval_weight=0.3)
    assert ranked[0].entry.id == "b-kort"
    assert ranked[0].similarity == ranked[1].similarity == 1.0     # the threshold sees cosine


def test_the_bonuses_steer_close_calls_but_not_past_a_clearly_closer_card():
    from assistant.retrieval.guide import GuideIndex

    cards = [_card_in("a-kort", "p1"), _card_in("b-kort", "p2")]
    # "a-kort" is 0.8 similar to the question, "b-kort" 0.6; only "b-kort" agrees with retrieval.
    guide = GuideIndex(cards, [("a-kort", 0, [0.8, 0.6]), ("b-kort", 0, [0.6, 0.8])])
    kwargs = {"retrieved": ["p2"], "retrieval_weight": 0.3}
    assert guide.match([1.0, 0.0], **kwargs)[0].entry.id == "b-kort"
    assert guide.match([1.0, 0.0], similarity_lead=0.1, **kwargs)[0].entry.id == "a-kort"
    assert guide.match([1.0, 0.0], similarity_lead=0.25, **kwargs)[0].entry.id == "b-kort"


def test_words_shared_with_a_cards_ways_of_asking_break_a_close_call():
    from assistant.retrieval.guide import GuideEntry, GuideIndex
    from assistant.types import Chunk

    def entry(card_id: str, title: str) -> GuideEntry:
        chunk = Chunk(chunk_id=card_id, source=f"guide/{card_id}.yaml", title=title,
                      section_path=(card_id,), page=None, text="x", indexed_text=title,
                      kind="guide")
        return GuideEntry(chunk, card_id, title, ("company",), (("x", ("A",)),), ())

    # The model can put a question closer to a card asked in the same form than to the card
    # on its subject ("Är ASF billigare än andra leverantörer?" went to the quality card);
    # the words it shares with the pricing card's ways of asking decide a close call.
    cards = [entry("kvalitet", "Håller ASF samma kvalitet som andra leverantörer?"),
             entry("pris", "Hur ska ett ASF sätta pris?")]
    guide = GuideIndex(cards, [("kvalitet", 0, [0.8, 0.6]), ("pris", 0, [0.75, 0.66])],
                       questions={("pris", 0): "Är ASF billigare än andra?",
                                  ("kvalitet", 0): "Är kvaliteten lika bra?"})
    question = "Är det billigare att köpa av ett ASF?"
    assert guide.match([1.0, 0.0], words=question)[0].entry.id == "kvalitet"     # weight 0
    ranked = guide.match([1.0, 0.0], words=question, lexical_weight=0.1)
    assert ranked[0].entry.id == "pris"
    assert ranked[0].similarity < ranked[1].similarity       # the threshold sees cosine alone


def test_a_near_copy_of_one_way_of_asking_leads_over_a_card_close_on_average():
    from assistant.retrieval.guide import GuideEntry, GuideIndex
    from assistant.types import Chunk

    def entry(card_id: str) -> GuideEntry:
        chunk = Chunk(chunk_id=card_id, source=f"guide/{card_id}.yaml", title=card_id,
                      section_path=(card_id,), page=None, text="x", indexed_text=card_id,
                      kind="guide")
        return GuideEntry(chunk, card_id, card_id, ("asf",), (("x", ("A",)),), ())

    # "a-kort" has the question almost word for word once and two far ways of asking; every
    # way of asking of "b-kort" is fairly close. Averaging the three closest favours b.
    near, fair, far = [0.9, 0.436], [0.7, 0.714], [0.0, 1.0]
    guide = GuideIndex([entry("a-kort"), entry("b-kort")],
                       [("a-kort", 0, near), ("a-kort", 1, far), ("a-kort", 2, far),
                        ("b-kort", 0, fair), ("b-kort", 1, fair), ("b-kort", 2, fair)])
    assert guide.match([1.0, 0.0], top=3)[0].entry.id == "b-kort"
    led = guide.match([1.0, 0.0], top=3, near_copy=0.85)
    assert [m.entry.id for m in led] == ["a-kort", "b-kort"]
    assert led[0].similarity == pytest.approx(0.9, abs=1e-3)  # the near copy's own cosine
    assert guide.match([1.0, 0.0], top=3, near_copy=0.95)[0].entry.id == "b-kort"
    # A card's title asked word for word (a related question clicked) is a near copy even
    # when the vectors put it below the threshold; its title here is its id.
    titled = guide.match([1.0, 0.0], top=3, near_copy=0.95, question="  A-KORT ")
    assert titled[0].entry.id == "a-kort"
    assert guide.match([1.0, 0.0], top=3, near_copy=0.95,
                       question="a-kort?")[0].entry.id == "b-kort"


def test_a_second_card_nearly_as_close_follows_the_first_with_its_own_points(settings,
                                                                              fake_embeddings):
    from assistant.pipeline import Assistant

    write_card(settings.corpus_dir / "guide", CARD)
    second = load_guide_card(GUIDE / "kommunikation-och-kontaktperson.yaml")
    shutil.copy(GUIDE / "kommunikation-och-kontaktperson.yaml", settings.corpus_dir / "guide")
    a = Assistant(settings, embeddings=fake_embeddings)
    a.ensure_index()
    a.settings.answer.guide_min_similarity = 0.0
    a.settings.answer.related_min_similarity = 0.0
    question = "Vi är ett bageri och ska anlita ett ASF, behövs avtal och vem sköter kontakten?"
    a.settings.answer.guide_second_margin = 0.0             # one card
    one = a.ask(question)
    assert one.answer.count("Vägledning: ") == 1
    a.settings.answer.guide_second_margin = 0.5            # any card is "nearly as close" ...
    a.settings.answer.guide_second_min_similarity = 0.99   # ... but none close enough alone
    assert a.ask(question).answer.count("Vägledning: ") == 1
    a.settings.answer.guide_second_min_similarity = 0.0
    two = a.ask(question)
    headings = [line for line in two.answer.split("\n") if line.startswith("Vägledning: ")]
    assert sorted(headings) == sorted(GUIDE_HEADING.format(title=t)
                                      for t in (CARD["title"], second.title))
    # One numbering over both cards and the engine's part; no card offered as related again.
    markers = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", two.answer)}
    assert markers == {c.n for c in two.citations} == set(range(1, len(two.citations) + 1))
    assert not set(two.related) & {CARD["title"], second.title}
    # A sentence both cards quote is said once.
    lines = [line for line in two.answer.split("\n") if line.strip()]
    assert len(lines) == len(set(lines))


def test_a_broad_follow_up_after_a_cards_answer_is_led_by_the_next_card(settings,
                                                                       fake_embeddings):
    from assistant.pipeline import Assistant

    write_card(settings.corpus_dir / "guide", CARD)
    shutil.copy(GUIDE / "kommunikation-och-kontaktperson.yaml", settings.corpus_dir / "guide")
    a = Assistant(settings, embeddings=fake_embeddings)
    a.ensure_index()
    a.settings.answer.guide_min_similarity = 0.0
    a.settings.answer.guide_second_margin = 0.0             # one card an answer
    a.settings.answer.guide_requote_lead = 0.0              # a said card never leads again
    question = "Vi är ett bageri och ska anlita ett ASF, behövs avtal och vem sköter kontakten?"
    first = a.ask(question)
    assert first.guide
    history = [{"role": "user", "content": question},
               {"role": "assistant", "content": first.answer}]
    follow = a.ask("Vilka råd finns om avtal och om vem som sköter kontakten med ett ASF?",
                   history)
    # The first card's points were all said: the other card leads.
    assert follow.guide and follow.guide != first.guide
    # Asked for by its title, the first card answers again, its points quoted again.
    title = a.retriever.guide().by_id(first.guide).title
    again = a.ask(title, history)
    assert again.guide == first.guide
    assert again.answer.startswith(GUIDE_HEADING.format(title=title))
    assert sum(line.startswith("- ") for line in again.answer.split("\n\n")[0].split("\n")) \
        >= 2


def test_a_said_card_closer_than_any_other_by_the_lead_answers_a_follow_up_again(
        settings, fake_embeddings):
    from assistant.pipeline import Assistant

    write_card(settings.corpus_dir / "guide", CARD)       # the only card: none is closer
    a = Assistant(settings, embeddings=fake_embeddings)
    a.ensure_index()
    a.settings.answer.guide_min_similarity = 0.0
    question = "Vi är ett bageri och ska anlita ett ASF, behövs avtal och vem sköter kontakten?"
    first = a.ask(question)
    assert first.guide and GUIDE_AGAIN_NOTE not in (first.note or "")
    history = [{"role": "user", "content": question},
               {"role": "assistant", "content": first.answer}]
    follow_up = "Vilka råd finns om avtal och om vem som sköter kontakten med ett ASF?"
    a.settings.answer.guide_requote_lead = 1e-6
    again = a.ask(follow_up, history)
    assert again.guide == first.guide and GUIDE_AGAIN_NOTE in again.note
    assert again.answer.split("\n\n")[0] == first.answer.split("\n\n")[0]
    a.settings.answer.guide_requote_lead = 0.0
    assert not a.ask(follow_up, history).guide


def test_stands_out_is_a_lead_in_similarity_over_every_other_card():
    from assistant.answering.routes import stands_out
    from assistant.retrieval.guide import GuideMatch

    def match(id_: str, similarity: float) -> GuideMatch:
        return GuideMatch(SimpleNamespace(id=id_), similarity + 1.0, similarity)

    cards = [match("a", 0.67), match("b", 0.42), match("c", 0.55)]
    assert stands_out(cards[0], cards, 0.1)
    assert not stands_out(cards[0], cards, 0.15)    # "c" is within 0.12
    assert not stands_out(cards[0], cards, 0.0)     # 0: never
    assert stands_out(cards[0], cards[:1], 0.5)     # no other card


def test_locating_the_points_collapses_each_passage_once(guided, monkeypatch):
    import assistant.cases.guide as guide_module

    chunks = list(guided.retriever.topics().chunks.values())
    points = [point for entry in guided.retriever.guide().entries for point in entry.points]
    calls = []
    real = guide_module.collapse
    monkeypatch.setattr(guide_module, "collapse", lambda text: calls.append(text) or real(text))
    guide_module._collapsed.cache_clear()
    for quote, section in points:
        assert guide_module.locate(quote, section, chunks) is not None
    # Each passage once, and each quote and its first sentence; was passages x points.
    assert len(points) >= 3 and len(calls) <= len(chunks) + 2 * len(points)


def test_the_engines_points_under_a_card_are_not_headed_twice():
    from assistant.answering.guide import lead_with_card
    from assistant.prompts import BROAD_POINTS_HEADING, GUIDE_MORE_HEADING
    from assistant.retrieval.guide import GuideEntry
    from assistant.types import Answer, Chunk, Citation

    chunk = Chunk(chunk_id="c1", source="r.txt", title="R", section_path=("A",), page=None,
                  text="Avtal är vanligt.", indexed_text="Avtal är vanligt.")
    entry = GuideEntry(id="avtal", title="Behövs avtal?", roles=("company",),
                       points=[("Avtal är vanligt.", "A")], chunk=chunk)
    cited = Citation(n=1, chunk_id="c1", source="r.txt", title="R", section="A", page=None,
                     quote="Avtal är vanligt.")
    rest = Answer(question="", answer=f"{BROAD_POINTS_HEADING}\n- Kommunikation är viktig. [1]",
                  refused=False, citations=[Citation(**{**vars(cited), "chunk_id": "c2",
                                                        "quote": "Kommunikation är viktig."})])
    answer = lead_with_card(entry, ["Vägledning: Behövs avtal?", "- Avtal är vanligt. [1]"],
                            [cited], rest)
    assert f"{GUIDE_MORE_HEADING}\n- Kommunikation är viktig. [2]" in answer.answer
    assert BROAD_POINTS_HEADING not in answer.answer
