"""The answer routes: tried in order, each with the same call; a Request works out only what a
route asks for (the clarify route answers before any rewrite or search)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.answering.routes import Clarify, FromCatalog, Request, Route
from assistant.cases.catalog import Catalog
from assistant.config import AnswerSettings
from assistant.pipeline import Assistant
from assistant.prompts import OUTSIDE_SUBJECT_REASON
from assistant.retrieval.followup import asking_sentence
from assistant.retrieval.question import Analysis, analyse
from assistant.types import Answer
from tests.test_guide import CARD, write_card


class CountingStages:
    """Stages that record which parts of a request were worked out."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def standalone(self, question: str, history: Sequence[dict | str]) -> str:
        self.calls.append("standalone")
        return question

    def analyse(self, question: str, query: str, role: str | None) -> Analysis:
        self.calls.append("analyse")
        return Analysis("broad")

    def search(self, question: str, query: str):
        self.calls.append("search")
        raise AssertionError("no search expected")

    def cards(self, retrieval, analysis, focus=None, question="", in_role=False):
        self.calls.append("cards")
        return []

    def closest_card(self, retrieval) -> float:
        self.calls.append("closest_card")
        return 0.0


def test_a_dangling_question_is_asked_back_without_a_rewrite_or_a_search() -> None:
    stages = CountingStages()
    request = Request("Hur kan man lösa det?", [], None, stages, AnswerSettings())
    answer = Clarify().answer(request)
    assert answer is not None and answer.refused and "”det”" in answer.answer
    assert stages.calls == []


def test_a_question_that_is_not_a_case_list_passes_the_catalog_without_a_search() -> None:
    stages = CountingStages()
    request = Request("Hur ska vi sätta pris på våra tjänster?", [], None, stages,
                      AnswerSettings())
    assert Clarify().answer(request) is None
    assert FromCatalog(Catalog).answer(request) is None
    assert "search" not in stages.calls


def test_the_request_works_each_part_out_once() -> None:
    stages = CountingStages()
    request = Request("Vad är ett IOP?", [], None, stages, AnswerSettings())
    assert request.broad and request.broad
    assert request.exclude == frozenset()
    assert stages.calls == ["standalone", "analyse"]


def test_the_cards_a_refusal_offers_are_matched_to_the_question_without_the_missing_name(
        ) -> None:
    request = Request("Vilka ASF finns i Umeå?", [{"role": "user", "content": "Hej"}],
                      "company", CountingStages(), AnswerSettings())
    other = request.without("Umeå")
    # On its own: a follow-up's rewrite may call a language model.
    assert other is not None and (other.question, other.role, other.history) == (
        "Vilka ASF finns i?", "company", ())
    # Only as a word of its own; nothing to match when no word is left.
    request = Request("Finns det ASF i Umeå och Umeåregionen, eller i Umeå ?", [], None,
                      CountingStages(), AnswerSettings())
    rest = request.without("Umeå")
    assert rest is not None and rest.question == "Finns det ASF i och Umeåregionen, eller i?"
    assert Request("Moms?", [], None, CountingStages(), AnswerSettings()).without("Moms") is None


def test_the_extractive_and_the_model_backends_get_their_routes_in_order(
        assistant: Assistant) -> None:
    assert [type(r).__name__ for r in assistant.routes] == [
        "Clarify", "FromCatalog", "UnknownName", "OutsideSubject", "GuideCard", "Broad",
        "Factual"]
    model = Assistant(assistant.settings.model_copy(update={"backend": "llm"}),
                      embeddings=assistant.index.embeddings)
    assert [type(r).__name__ for r in model.routes] == [
        "Clarify", "FromCatalog", "UnknownName", "OutsideSubject", "Model"]


class Fixed(Route):
    """A route that answers one question and passes every other."""

    offers_related = False

    def answer(self, request: Request) -> Answer | None:
        if "kaffe" not in request.question:
            return None
        return Answer(question="", answer="Ett svar\npå två rader", refused=False)


def test_the_pipeline_asks_each_route_in_turn_and_finishes_the_answer(assistant: Assistant
                                                                      ) -> None:
    assistant.routes.insert(0, Fixed())
    pieces = list(assistant.stream("Serverar de kaffe?"))
    answer = pieces[-1]
    assert pieces[:-1] == ["Ett svar\n", "på två rader\n"]
    assert isinstance(answer, Answer) and answer.question == "Serverar de kaffe?"
    assert answer.standalone_question == "Serverar de kaffe?" and answer.related == []
    other = assistant.ask("Hur många intervjuer genomfördes?")
    assert other.answer != "Ett svar\npå två rader"


class GroundStages(CountingStages):
    """Stages whose search finds a question this close to a guide card's way of asking."""

    def __init__(self, card: float) -> None:
        super().__init__()
        self.card = card
        self.searched: list[str] = []

    def search(self, question: str, query: str):
        self.searched.append(query)
        return f"retrieval of {query}"

    def closest_card(self, retrieval) -> float:
        return self.card


@pytest.mark.parametrize(("question", "card", "read_in_role"), [
    ("Hur kommer vi igång?", 0.51, True),           # short, close to what users ask here
    ("Hur bakar vi bröd?", 0.35, False),            # short, but off the documents' topics
    ("Hur hittar vi rätt samarbetspartner till ett ASF?", 0.7, False),  # says enough itself
    # Several sentences say who asks and what about; "och" and "den" do not make it lean on
    # the role (its asking sentence is matched to the cards on its own).
    ("Jag ska ordna en frukostträff för företag och ASF. Hur lägger vi upp den?", 0.7, False),
])
def test_a_first_question_in_a_role_is_read_in_it_only_when_it_says_too_little(
        question, card, read_in_role) -> None:
    from assistant.prompts import ROLES

    stages = GroundStages(card)
    request = Request(question, [], "company", stages, AnswerSettings())
    in_role = f"{question} ({ROLES['company']['context']})"
    assert request.query == (in_role if read_in_role else question)
    assert request.retrieval == f"retrieval of {request.query}"
    # The question's own search is kept when it is answered as it stands, not repeated.
    assert stages.searched == ([question, in_role] if read_in_role else [question])


def test_a_short_question_kept_as_it_stands_is_searched_once_whichever_part_comes_first(
        ) -> None:
    stages = GroundStages(0.35)
    request = Request("Hur bakar vi bröd?", [], "company", stages, AnswerSettings())
    assert request.retrieval == "retrieval of Hur bakar vi bröd?"
    assert request.query == "Hur bakar vi bröd?" and stages.searched == ["Hur bakar vi bröd?"]


def test_a_question_without_a_role_or_in_a_conversation_is_not_searched_twice() -> None:
    for role, history in ((None, []), ("asf", [{"role": "user", "content": "Vad gör Koopus?"}])):
        stages = GroundStages(0.3)
        request = Request("Hur kommer vi igång?", history, role, stages, AnswerSettings())
        assert request.query == "Hur kommer vi igång?"
        assert request.retrieval and stages.searched == ["Hur kommer vi igång?"]


def test_a_broad_question_on_a_subject_no_document_discusses_is_refused_until_one_does(
        settings, fake_embeddings, tmp_path) -> None:
    # "Vilka skatteregler gäller …" got a broad answer on buying from an ASF; the report never
    # discusses tax. The refusal names the subject and still offers the closest cards.
    write_card(settings.corpus_dir / "guide", CARD)
    settings.answer.related_min_similarity = 0.0
    assistant = Assistant(settings, embeddings=fake_embeddings)
    assistant.ensure_index()
    question = "Vilka skatteregler gäller om vi köper tjänster från ett ASF?"
    answer = assistant.ask(question)
    assert answer.refused and answer.note == OUTSIDE_SUBJECT_REASON.format(subject="skatteregler")
    assert answer.related and len(answer.contexts) >= 5
    assert "”Finland”" in assistant.ask("Hur gör man med sociala företag i Finland?").note
    # A document the user adds that discusses tax (another word of the family) covers it.
    note = tmp_path / "skatt.txt"
    note.write_text("Skatter vid köp från sociala företag\n\nTjänster från ett socialt företag "
                    "beskattas som andra tjänster; skatten betalas på vanligt sätt.\n",
                    encoding="utf-8")
    assert assistant.ingest([note]).added == 1
    assert "tar inte upp" not in assistant.ask(question).note
    assert "”Finland”" in assistant.ask("Hur gör man med sociala företag i Finland?").note


class SearchingStages(CountingStages):
    """Stages that search (recording what) and keep what the cards were matched with."""

    def __init__(self) -> None:
        super().__init__()
        self.searched: list[str] = []
        self.focus: object = "not matched"

    def search(self, question: str, query: str):
        self.searched.append(query)
        return f"retrieval of {query}"

    def cards(self, retrieval, analysis, focus=None, question="", in_role=False, words=""):
        self.focus, self.words = focus, words
        return []


def test_asking_sentence_is_the_sentence_a_question_of_several_asks_in() -> None:
    assert asking_sentence("Vi är ett logistikföretag i Jönköping. Vad ska vi tänka på innan "
                           "vi skriver avtal?") == "Vad ska vi tänka på innan vi skriver avtal?"
    assert asking_sentence("Hur hittar vi kunder bland företagen? Vi är ett ASF som gör "
                           "catering.") == "Hur hittar vi kunder bland företagen?"
    assert asking_sentence("Vi driver ett ASF. Vi vill hitta nya kunder bland "
                           "företagen.") == "Vi vill hitta nya kunder bland företagen."
    # One sentence, or an asking sentence that says too little on its own: none.
    assert asking_sentence("Hur sätter ett ASF pris på sina tjänster?") is None
    assert asking_sentence("Vi är ett fastighetsbolag i Göteborg. Hur gör vi?") is None


def test_a_first_question_of_several_sentences_matches_the_cards_with_its_asking_sentence(
        ) -> None:
    stages = SearchingStages()
    question = "Vi är ett logistikföretag i Jönköping. Vad ska vi tänka på innan vi skriver avtal?"
    request = Request(question, [], None, stages, AnswerSettings())
    assert request.cards == []
    assert sorted(stages.searched) == ["Vad ska vi tänka på innan vi skriver avtal?", question]
    assert stages.focus == "retrieval of Vad ska vi tänka på innan vi skriver avtal?"
    # Its words are matched to the cards' too, not the situation's (a town, a trade).
    assert stages.words == "Vad ska vi tänka på innan vi skriver avtal?"


@pytest.mark.parametrize("question, history, settings", [
    ("Vad ska vi tänka på innan vi skriver avtal?", [], AnswerSettings()),
    ("Vi är ett logistikföretag. Vad ska vi tänka på innan vi skriver avtal?", [],
     AnswerSettings(guide_focus_weight=0.0)),
])
def test_one_sentence_or_a_weight_of_zero_matches_the_cards_with_the_question_alone(
        question: str, history: list, settings: AnswerSettings) -> None:
    stages = SearchingStages()
    request = Request(question, history, None, stages, settings)
    assert request.cards == []
    assert stages.searched == [question] and stages.focus is None


class FollowUpStages(SearchingStages):
    """Stages that make a follow-up standalone as the deterministic rewrite does."""

    def standalone(self, question: str, history: Sequence[dict | str]) -> str:
        return f"{question} (Hur ska vi sätta pris på våra tjänster?)" if history else question


HISTORY = [{"role": "user", "content": "Hur ska vi sätta pris på våra tjänster?"},
           {"role": "assistant", "content": "Åsikterna går isär."}]


def test_a_follow_up_with_an_aspect_of_its_own_matches_the_cards_with_its_own_search_too(
        ) -> None:
    stages = FollowUpStages()
    question = "Hur skriver vi avtal med kunden?"
    request = Request(question, HISTORY, None, stages, AnswerSettings())
    assert request.cards == []
    assert question in stages.searched and stages.focus == f"retrieval of {question}"


@pytest.mark.parametrize("question", ["Gäller det även små företag?", "Och de stora?"])
def test_a_follow_up_about_the_topic_itself_matches_the_cards_with_the_topic(question) -> None:
    stages = FollowUpStages()
    request = Request(question, HISTORY, None, stages, AnswerSettings())
    assert request.cards == []
    assert question not in stages.searched and stages.focus is None


class AnalysingStages(CountingStages):
    """Stages that analyse questions as the pipeline does (a follow-up kept as it stands)."""

    def analyse(self, question: str, query: str, role: str | None) -> Analysis:
        return analyse(query)


@pytest.mark.parametrize("previous, question, kind", [
    # Nothing in the follow-up says what it asks: it asks as the previous question did.
    ("Vilka råd gav deltagarna i Rinkeby?", "Och vad sa de i Borås då?", "broad"),
    # A follow-up whose words say what it asks keeps its own kind …
    ("Vilka råd gav deltagarna i Rinkeby?", "Hur många deltog i Vadstena?", "fact"),
    # … as does one asking whether the topic extends to something …
    ("Vilka råd gav deltagarna i Rinkeby?", "Gäller det även små företag?", "fact"),
    # … and one after a question whose kind was guessed too keeps the guess.
    ("Vad kom fram på träffen i Rinkeby?", "Och vad sa de i Borås då?", "fact"),
])
def test_a_follow_up_that_says_nothing_of_what_it_asks_asks_as_the_previous_question(
        previous: str, question: str, kind: str) -> None:
    history = [{"role": "user", "content": previous}, {"role": "assistant", "content": "…"}]
    assert Request(question, history, None, AnalysingStages(),
                   AnswerSettings()).analysis.kind == kind
    # As a first question, it is what its words make it.
    assert Request(question, [], None, AnalysingStages(), AnswerSettings()).analysis.kind \
        == analyse(question).kind


def test_the_sentences_said_closest_to_what_is_asked_are_the_ones_a_follow_up_may_requote(
        ) -> None:
    from assistant.ingest.chunking import split_units
    from assistant.retrieval.topics import TopicIndex
    from assistant.types import Chunk

    text = "Leveranser tar längre tid. Priset är lägre. Kunderna är nöjda."
    chunk = Chunk(chunk_id="c0", source="r.txt", title="R", section_path=("A",), page=None,
                  text=text, indexed_text=text, seq=0)
    vectors = {0: [1.0, 0.0], 1: [0.0, 1.0], 2: [0.6, 0.8]}
    topics = TopicIndex([chunk], {"c0": [1.0, 0.0]},
                        [("c0", u.position, vectors[u.position]) for u in split_units(text)])
    said = ["Kunderna är nöjda.", "Priset är lägre.", "Något som inte är indexerat."]
    assert topics.closest_sentences(said, [0.0, 1.0], 1) == ["Priset är lägre."]
    assert topics.closest_sentences(said, [1.0, 0.0], 5) == ["Kunderna är nöjda.",
                                                             "Priset är lägre."]
    assert topics.closest_sentences(said, [1.0, 0.0], 0) == []


class RequotingStages(CountingStages):
    """Stages that let the first `top` sentences said (in sorted order) come back."""

    def requoted(self, said: frozenset[str], question: str, top: int) -> frozenset[str]:
        self.calls.append("requoted")
        return frozenset(sorted(said)[:top])


def test_a_broad_follow_up_leaves_out_what_was_said_but_the_sentences_closest_to_it() -> None:
    history = [{"role": "user", "content": "Vad är bra med ASF i industrin?"},
               {"role": "assistant", "content": "- Arbetet stannar lokalt. [1]\n"
                                                "- Leveranser tar längre tid. [2]"}]
    stages = RequotingStages()          # analyses every question as broad
    request = Request("Och vad kan bli problemen då?", history, None, stages,
                      AnswerSettings(followup_requote=1))
    assert request.exclude == frozenset({"Leveranser tar längre tid."})
    none_back = Request("Och vad kan bli problemen då?", history, None, RequotingStages(),
                        AnswerSettings(followup_requote=0))
    assert none_back.exclude == frozenset({"Arbetet stannar lokalt.",
                                           "Leveranser tar längre tid."})


class PassageStages(RequotingStages):
    """Requoting stages whose standalone form is the real rewrite and whose search returns one
    passage holding the last answer's second sentence; every question reads as a fact's."""

    def analyse(self, question: str, query: str, role: str | None) -> Analysis:
        return Analysis("fact", guessed=True)

    def standalone(self, question: str, history: Sequence[dict | str]) -> str:
        from assistant.retrieval.followup import rewrite

        return rewrite(question, history)

    def search(self, question: str, query: str):
        from assistant.retrieval.hybrid import Retrieval
        from assistant.types import Chunk, Passage

        text = "Leveranser tar längre tid. Det beror på frånvaro. Kunderna planerar för det."
        chunk = Chunk(chunk_id="c0", source="r.txt", title="R", section_path=("A",), page=None,
                      text=text, indexed_text=text, seq=0)
        return Retrieval([Passage(chunk=chunk, score=1.0, rank=1)], vector=None)


def test_asked_to_hear_more_of_a_sentence_its_passage_may_come_again() -> None:
    history = [{"role": "user", "content": "Vad är bra med ASF i industrin?"},
               {"role": "assistant", "content": "- Arbetet stannar lokalt. [1]\n"
                                                "- Leveranser tar längre tid. [2]\n"
                                                "- Kunderna planerar för det. [2]"}]
    request = Request("Kan du utveckla det där om leveranserna?", history, None,
                      PassageStages(), AnswerSettings(followup_requote=0))
    assert request.query.endswith("(Leveranser tar längre tid.)")
    assert request.analysis.kind == "broad"
    # The passage around the sentence pointed at may be quoted again, nothing else said.
    assert request.exclude == frozenset({"Arbetet stannar lokalt."})


class CardStages(CountingStages):
    """Stages whose question kind is guessed or said, with one card at a given score."""

    def __init__(self, guessed: bool, score: float) -> None:
        super().__init__()
        self.guessed, self.score = guessed, score

    def analyse(self, question: str, query: str, role: str | None) -> Analysis:
        return Analysis("fact", guessed=self.guessed)

    def search(self, question: str, query: str):
        return None

    def cards(self, retrieval, analysis, focus=None, question="", in_role=False, words=""):
        from assistant.retrieval.guide import GuideEntry, GuideMatch
        from assistant.types import Chunk

        chunk = Chunk(chunk_id="g", source="guide/skepsis.yaml", title="T", section_path=("A",),
                      page=None, text="x", indexed_text="x")
        entry = GuideEntry(chunk, "skepsis", "Varför är många företag skeptiska till ASF?",
                           ("company",), (("x", ("A",)),))
        return [GuideMatch(entry, self.score, 0.86)]


@pytest.mark.parametrize(("guessed", "score", "asks"), [
    (True, 10.9, True),     # no word says what it asks, and a card nearly has it: the card
    (False, 10.9, False),   # it says it asks for a fact: the factual route, as before
    (True, 0.9, False),     # guessed, but no card nearly has it
])
def test_a_question_of_guessed_kind_nearly_a_cards_way_of_asking_is_answered_by_the_card(
        guessed: bool, score: float, asks: bool) -> None:
    question = "Varför är företagare så misstänksamma mot sociala företag?"
    request = Request(question, [], None, CardStages(guessed, score), AnswerSettings())
    assert request.asks_a_card is asks
