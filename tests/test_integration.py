"""Integration: the real EmbeddingGemma model, real Chroma on disk, the real report."""

from __future__ import annotations

import re

import pytest

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.prompts import ALREADY_SAID_NOTE
from eval.harness import DEFAULT, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def real_assistant(real_embeddings, real_index_root):
    # The same folder the eval test uses for the default configuration: one build, not two.
    settings = settings_for(Settings(), DEFAULT, real_index_root)
    a = Assistant(settings, embeddings=real_embeddings)
    a.ensure_index()
    return a


def test_report_answers_with_citations(real_assistant):
    answer = real_assistant.ask("Hur många nätverksträffar hölls?")
    assert not answer.refused and "tre nätverksträffar" in answer.answer
    assert "Nätverksträffar" in answer.citations[0].section


def test_english_question_gets_a_swedish_cited_answer(real_assistant):
    from assistant.prompts import ENGLISH_NOTE

    answer = real_assistant.ask("Where were the network meetings held?")
    assert not answer.refused
    assert "Vadstena" in answer.answer and "Rinkeby" in answer.answer
    # The asker is told why the answer is in Swedish; a Swedish question is not.
    assert ENGLISH_NOTE in answer.note
    assert ENGLISH_NOTE not in real_assistant.ask("Var hölls nätverksträffarna?").note


def test_an_english_question_naming_a_case_is_answered_like_the_swedish_one(real_assistant):
    # "What is Koop M?" was refused: its English words match nothing, its name does.
    answer = real_assistant.ask("What is Koop M and where is it located?")
    assert not answer.refused and "Vadstena" in answer.answer


@pytest.mark.parametrize("question", ["Vem vann fotbolls-VM 2018?", "Hur bakar man kanelbullar?",
                                      "What is the capital of Australia?"])
def test_off_topic_is_refused(real_assistant, question):
    assert real_assistant.ask(question).refused


@pytest.mark.parametrize(("question", "name"), [("Vilka ASF finns i Umeå?", "Umeå"),
                                              ("Vilka ASF finns i Malmö som gör catering?",
                                               "Malmö")])
def test_a_name_the_documents_never_mention_is_refused_and_the_closest_cards_offered(
        real_assistant, question, name):
    # The name pulled the question away from every card (none 0.5 close): no card was offered.
    answer = real_assistant.ask(question)
    assert answer.refused and name in answer.note
    assert answer.related


@pytest.mark.parametrize(("question", "subject"), [
    ("Vilka skatteregler gäller om vi köper tjänster från ett ASF?", "skatteregler"),
    ("Hur gör man för att samarbeta med sociala företag i Finland?", "Finland"),
])
def test_a_subject_the_report_never_discusses_is_refused_with_its_name(real_assistant, question,
                                                                       subject):
    # Both got a broad answer on a neighbouring topic (buying from an ASF, cooperation).
    answer = real_assistant.ask(question)
    assert answer.refused and f"”{subject}”" in answer.note
    assert answer.related


def test_an_ordinary_broad_question_is_not_refused_as_outside_the_documents(real_assistant):
    answer = real_assistant.ask("Hur kommer vårt företag igång med att köpa tjänster av ett ASF?")
    assert not answer.refused and "tar inte upp" not in answer.note


def test_a_warm_answer_embeds_only_the_question(real_assistant, monkeypatch):
    # Fast by the work it does, not by a stopwatch: once warm, an answer embeds no passage,
    # builds no index and loads no model again, only the question (a few model calls).
    real_assistant.ask("Vad är ett ASF?")
    embeddings = real_assistant.index.embeddings
    model = embeddings._model
    embedded: list[tuple[str, int]] = []
    for method in ("embed_query", "embed_documents", "embed_with_tokens"):
        original = getattr(embeddings, method)

        def counting(texts, *args, _original=original, _method=method, **kwargs):
            query = _method == "embed_query" or kwargs.get("query", False)
            embedded.append(("query" if query else "passage",
                             1 if isinstance(texts, str) else len(texts)))
            return _original(texts, *args, **kwargs)

        monkeypatch.setattr(embeddings, method, counting)
    real_assistant.ask("Vilka utmaningar finns i samarbetet?")
    assert embedded and all(kind == "query" for kind, _ in embedded), embedded
    assert sum(n for _, n in embedded) <= 3, embedded
    assert embeddings._model is model


def test_every_chunk_has_token_vectors_and_late_interaction_finds_a_quoted_sentence(
        real_assistant):
    index = real_assistant.index
    assert len(index.late_scorer()) == len(index.chunks())
    quote = "Totalt har 23 intervjuer gjorts med samverkansaktörerna."
    [(_, tokens)] = index.embeddings.embed_with_tokens([quote], query=True)
    best_chunk, _ = real_assistant.retriever.late_search(tokens)[0]
    assert quote in " ".join(best_chunk.text.split())


def _conversation(assistant, *questions):
    history, answers = [], []
    for question in questions:
        answers.append(assistant.ask(question, list(history)))
        history += [{"role": "user", "content": question},
                    {"role": "assistant", "content": answers[-1].answer}]
    return answers


@pytest.mark.xfail(strict=True, reason=(
    "Known regression of #23: the first answer now leads with the drivers card, so the "
    "summary sentence was not said before and wins the follow-up on small companies; it had "
    "been left out only because the previous answer quoted it. Strict: passing again fails."))
def test_a_short_follow_up_gets_the_new_aspect_not_the_summary_again(real_assistant):
    # Each follow-up had repeated the summary of the companies' drivers word for word.
    answers = _conversation(real_assistant, "Vilka drivkrafter har företag för att köpa av ASF?",
                            "Gäller det även små företag?", "Och de stora?")
    # Behaviour, not one sentence: which sentence wins a near tie may move with the index.
    first, small, large = (a.answer for a in answers)
    assert not any(a.refused for a in answers)
    assert small != first and first not in small
    assert re.search(r"\b(små|mindre)\b", small, re.IGNORECASE), small
    assert large not in (first, small) and first not in large
    assert re.search(r"\bstor(a|e)\b", large, re.IGNORECASE), large


def test_a_follow_up_may_name_again_what_the_previous_answer_said(real_assistant):
    # Leaving out every sentence an earlier answer said would name the wrong people (Yalla
    # Vårby's): the partner was said before, and must be said again.
    answers = _conversation(real_assistant, "Berätta om Yalla Rinkeby.",
                            "Vilka samarbetar de med?")
    # The partner by name, however the sentence that wins spells it (ByggVesta, Byggvestas).
    follow_up = answers[1].answer.lower()
    assert "byggvesta" in follow_up and answers[1].answer != answers[0].answer
    assert follow_up.index("byggvesta") < follow_up.find("yalla vårby") \
        or "yalla vårby" not in follow_up


def test_a_follow_up_the_previous_answer_answered_says_so_instead_of_repeating_it(
        real_assistant):
    # The whole answer on Kamratstödet came back word for word: the documents hold nothing more.
    answers = _conversation(real_assistant, "Berätta om Kamratstödet.",
                            "vem samarbetar de med och hur kom det till?")
    assert answers[1].answer != answers[0].answer and not answers[1].refused
    assert "Galaxen" in answers[1].answer
    # The note says so, then how the follow-up was read (a question of its own).
    assert answers[1].note.startswith(ALREADY_SAID_NOTE)
    assert "Följdfrågan besvaras som" in answers[1].note


def test_a_definition_from_a_footnote_leads_with_its_sentence_not_its_label(real_assistant):
    answer = real_assistant.ask("Vad är ett IOP?")
    assert not answer.refused
    assert not answer.answer.lstrip().startswith("Fotnot"), answer.answer[:120]
    assert "IOP är en avtalsform" in answer.answer
    assert "Fotnot" not in answer.answer


@pytest.mark.parametrize("question", ["Hur kommer vi igång?"])
def test_a_short_question_is_read_in_the_askers_role(real_assistant, question):
    # In a role the question is read as that group's question, the note shows how, and each
    # group gets its own answer first. Without a role it is taken as it stands: whether that
    # is answered or refused sits at the evidence threshold, and moved with the CPU the index
    # was built on (refused on one machine's fresh index, answered from the report's passage
    # on how collaborations start on another's), so only the reading is asserted.
    from assistant.prompts import GUIDE_ROLES, ROLE_READ_NOTE, ROLES

    plain = real_assistant.ask(question)
    assert plain.standalone_question in ("", question)
    assert ROLE_READ_NOTE.split("{")[0] not in plain.note
    firsts = set()
    for role in GUIDE_ROLES:
        answer = real_assistant.ask(question, role=role)
        assert not answer.refused and answer.citations, role
        read_as = f"{question} ({ROLES[role]['context']})"
        assert ROLE_READ_NOTE.format(question=read_as) in answer.note
        firsts.add(answer.answer.split("\n", 1)[0])
    assert len(firsts) == len(GUIDE_ROLES), firsts


@pytest.mark.parametrize("question", [
    "Vad kan vi göra för att fler affärer ska bli av mellan ASF och företag?",
    "Hur får vi igång fler samarbeten i vår region?"])
def test_each_role_gets_a_card_written_for_it_first(real_assistant, question):
    # The question fits every group; with the role only a near-tie breaker (+0.02), a buyer
    # was led by the card on an ASF's marketing and sales.
    from assistant.prompts import GUIDE_ROLES

    for role in GUIDE_ROLES:
        answer = real_assistant.ask(question, role=role)
        card = real_assistant.retriever.guide().by_id(answer.guide)
        assert card is not None and role in card.roles, (role, answer.guide)


@pytest.mark.parametrize("role, question, card", [
    ("asf", "Vi är ett socialt företag i Malmö med caféverksamhet och catering. Hur ska vi "
            "sätta pris när vi säljer till företag?", "prissattning"),
    ("asf", "Vi driver ett ASF i Umeå med snickeri och har fått en förfrågan som vi inte riktigt "
            "klarar av. Ska vi tacka nej till uppdraget?", "tacka-nej-till-uppdrag"),
    ("asf", "Jag är ny verksamhetsledare för ett ASF i Göteborg. Hur marknadsför vi våra "
            "tjänster mot företag?", "marknadsforing-och-forsaljning"),
])
def test_a_situation_told_first_does_not_pull_the_card_away_from_what_is_asked(
        real_assistant, role, question, card):
    # Matched as a whole, the situation sentence led all three with the card on telling
    # customers one is a social enterprise, or on the choice of industry.
    assert real_assistant.ask(question, role=role).guide == card


def test_every_guide_card_title_asked_word_for_word_is_answered_by_its_card(real_assistant):
    # "Relaterade frågor" asks a card's title as it stands. Seven of the 64 titles led with
    # another card when one exact way of asking counted for a sixth of the score, and only 26
    # answers led with the card at all: a title asking for a fact or a name was answered by
    # the factual route, and one title was 0.84 similar to its own stored copy.
    wrong = []
    for card in real_assistant.retriever.guide().entries:
        answer = real_assistant.ask(card.title)
        if answer.guide != card.id:
            wrong.append((card.title, answer.guide))
    assert not wrong


def test_a_question_that_names_its_subject_is_not_read_in_a_role(real_assistant):
    answer = real_assistant.ask("Hur många intervjuer genomfördes?", role="company")
    assert "Frågan besvaras som" not in answer.note and "45" in answer.answer


@pytest.mark.parametrize("question", ["Hur bakar vi bröd?", "Hur spelar vi golf?"])
def test_a_short_question_off_the_documents_ground_is_refused_in_any_role(real_assistant,
                                                                        question):
    # Read in a role on its own evidence, "Hur spelar vi golf?" was answered in the role.
    answer = real_assistant.ask(question, role="company")
    assert answer.refused and "Frågan besvaras som" not in answer.note
