"""The Assistant: grounded, cited answers; refusals; question checks; follow-ups."""

from __future__ import annotations

import pytest

from assistant.index.passage_index import IndexMissingError
from assistant.pipeline import Assistant, QuestionError
from assistant.prompts import CANNOT_ANSWER_PHRASE
from assistant.types import Answer


def _sentences_without_markers(answer: str) -> list[str]:
    import re

    text = re.sub(r"\s*\[\d+\]", "\n", answer)
    return [line.strip().removeprefix("- ") for line in text.split("\n") if line.strip()]


def test_answer_is_cited_and_every_sentence_is_from_a_cited_passage(shared_assistant):
    answer = shared_assistant.ask("Hur många intervjuer genomfördes inom ramen för undersökningen?")
    assert not answer.refused
    assert "45" in answer.answer
    assert answer.citations and [c.n for c in answer.citations] == list(
        range(1, len(answer.citations) + 1))
    cited = " ".join(c.text for c in answer.contexts
                     if c.chunk_id in {x.chunk_id for x in answer.citations})
    for sentence in _sentences_without_markers(answer.answer):
        assert sentence in cited
    for citation in answer.citations:
        assert f"[{citation.n}]" in answer.answer
        assert citation.section and citation.source
        for quote in citation.quote.split(" … "):
            assert quote in cited
    assert len(answer.contexts) >= 5
    assert [c.rank for c in answer.contexts] == list(range(1, len(answer.contexts) + 1))


def test_off_topic_question_is_refused_with_the_fixed_phrase(shared_assistant):
    answer = shared_assistant.ask("Hur bakar man kanelbullar med kardemumma?")
    assert answer.refused and answer.answer.startswith(CANNOT_ANSWER_PHRASE)
    assert not answer.citations and len(answer.contexts) >= 5


def test_a_which_question_about_a_place_no_document_names_is_refused_with_the_place(
        shared_assistant):
    answer = shared_assistant.ask("Vilka ASF finns i Umeå som jag kan kontakta?")
    assert answer.refused and answer.note == "Umeå nämns inte i rapporten eller de andra " \
        "indexerade dokumenten"
    assert len(answer.contexts) >= 5
    # A place that describes the asker is no reason to refuse; a named place is answered.
    for question in ("Vi är ett fastighetsbolag i Umeå. Vilka träffar hölls?",
                     "Vilka deltog i träffen i Vadstena?"):
        assert "nämns inte" not in shared_assistant.ask(question).note


def test_amount_the_report_does_not_give_is_refused(shared_assistant):
    answer = shared_assistant.ask("Hur många anställda har Le Mat Jonsered?")
    assert answer.refused


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_empty_question(shared_assistant, question):
    with pytest.raises(QuestionError, match="tom"):
        shared_assistant.ask(question)


@pytest.mark.parametrize("question", ["?!?!...,,,;;", "– … ”?”"])
def test_a_question_of_only_punctuation_says_so(shared_assistant, question):
    with pytest.raises(QuestionError, match="inga ord"):
        shared_assistant.ask(question)


@pytest.mark.parametrize(("question", "word"), [("Hur kan man lösa det?", "det"),
                                                ("Vilka samarbetar de med?", "de"),
                                                ("Varför då?", "då")])
def test_a_question_that_points_back_with_nothing_before_it_is_asked_back(shared_assistant,
                                                                         question, word):
    answer = shared_assistant.ask(question)
    assert answer.refused and not answer.contexts and not answer.citations
    assert f"(”{word}”)" in answer.answer and "ingen tidigare fråga" in answer.answer
    history = [{"role": "user", "content": "Vilka utmaningar finns med kommunikationen?"},
               {"role": "assistant", "content": "…"}]
    assert "ingen tidigare fråga" not in shared_assistant.ask(question, history).answer


@pytest.mark.parametrize("question", ["Vad innebär det att vara ett ASF?",
                                      "Hur många intervjuer genomfördes?",
                                      "Finns det exempel från fastighetsbranschen?",
                                      "Hur började det för Koopus?"])
def test_a_question_with_its_own_subject_is_not_asked_back(shared_assistant, question):
    assert "ingen tidigare fråga" not in shared_assistant.ask(question).answer


def test_too_long_question(shared_assistant):
    with pytest.raises(QuestionError, match="för lång"):
        shared_assistant.ask("ASF " * 1000)


def test_missing_index_says_what_to_do(settings, fake_embeddings):
    with pytest.raises(IndexMissingError, match="asf ingest"):
        Assistant(settings, embeddings=fake_embeddings).ask("Vad är ett ASF?")


def test_stream_yields_text_then_the_answer(shared_assistant):
    events = list(shared_assistant.stream("Vad gör Koopus?"))
    assert isinstance(events[-1], Answer)
    assert "".join(e for e in events[:-1] if isinstance(e, str)).strip() == events[-1].answer


def test_follow_up_carries_the_topic_of_the_previous_turn(shared_assistant):
    history = [{"role": "user", "content": "Vad gör Gotlands skog och miljö?"},
               {"role": "assistant", "content": "…"}]
    answer = shared_assistant.ask("Hur uppstod avtalet?", history)
    assert "Gotlands skog och miljö" in answer.standalone_question
    assert not answer.refused
    assert any("GSM" in c.quote or "Gotlands" in c.quote for c in answer.citations)


def test_off_topic_follow_up_is_not_dressed_in_the_previous_topic(shared_assistant):
    history = [{"role": "user", "content": "Hur många intervjuer genomfördes?"},
               {"role": "assistant", "content": "45 intervjuer genomfördes. [1]"}]
    answer = shared_assistant.ask("Hur bakar man kanelbullar med kardemumma?", history)
    assert answer.standalone_question == "Hur bakar man kanelbullar med kardemumma?"
    assert answer.refused


def test_an_index_that_is_up_to_date_is_left_as_it_is(assistant, settings, fake_embeddings):
    again = Assistant(settings, embeddings=fake_embeddings)
    calls = fake_embeddings.calls
    assert again.ensure_index() is None
    assert fake_embeddings.calls == calls


def test_a_changed_corpus_file_is_indexed_again_before_questions_are_answered(
        assistant, settings, fake_embeddings):
    report = settings.corpus_dir / "sweco-asf-samverkan-naringslivet.txt"
    report.chmod(0o644)         # the copy keeps the checkout's mode
    report.write_text(report.read_text(encoding="utf-8") + "\n\nTillägg\n\nKoopus har öppnat "
                      "ett kafé i Gnesta som drivs av tolv medarbetare.\n", encoding="utf-8")
    later = Assistant(settings, embeddings=fake_embeddings)
    done = later.ensure_index()
    assert done is not None and done.changed_sources == ["sweco-asf-samverkan-naringslivet.txt"]
    assert any("Gnesta" in c.text for c in later.index.chunks())
    assert "Gnesta" in later.ask("Var har Koopus öppnat ett kafé?").answer


def test_a_changed_chunk_size_rebuilds_the_passages(assistant, settings, fake_embeddings):
    before = len(assistant.index.chunks())
    smaller = settings.model_copy(deep=True)
    smaller.chunking.chunk_size = 400
    later = Assistant(smaller, embeddings=fake_embeddings)
    assert later.ensure_index() is not None
    assert len(later.index.chunks()) > before


def test_a_file_removed_from_the_corpus_leaves_the_index_at_the_next_start(
        settings, fake_embeddings):
    extra = settings.corpus_dir / "kiruna.txt"
    extra.write_text("Kiruna\n\nEtt kooperativ i Kiruna säljer renskinn till hotell.\n",
                     encoding="utf-8")
    Assistant(settings, embeddings=fake_embeddings).ensure_index()
    extra.unlink()
    later = Assistant(settings, embeddings=fake_embeddings)
    done = later.ensure_index()
    assert done is not None and done.removed_sources == ["kiruna.txt"]
    assert not any("Kiruna" in c.text for c in later.index.chunks())


def test_unchanged_files_are_not_parsed_again(assistant, settings, fake_embeddings,
                                              monkeypatch):
    from assistant.index.passage_index import Index

    def parse(self, path):
        raise AssertionError(f"{path.name} was parsed although it did not change")

    monkeypatch.setattr(Index, "load", parse)
    assert Assistant(settings, embeddings=fake_embeddings).ensure_index() is None


def test_a_failed_check_leaves_the_index_answering_and_says_why(assistant, settings,
                                                                fake_embeddings):
    report = settings.corpus_dir / "sweco-asf-samverkan-naringslivet.txt"
    report.chmod(0o644)
    report.write_text(report.read_text(encoding="utf-8") + "\n\nTillägg\n\nEn ny mening.\n",
                      encoding="utf-8")
    (settings.corpus_dir / "sources.json").write_text("{ inte json", encoding="utf-8")
    later = Assistant(settings, embeddings=fake_embeddings)
    done = later.ensure_index()
    assert done is not None and len(done.errors) == 1
    assert "kunde inte stämmas av" in str(done.errors[0]) and "asf ingest" in str(done.errors[0])
    assert not later.ask("Vad gör Koopus?").refused


def test_a_second_process_waits_for_a_sync_in_progress(assistant, settings, fake_embeddings):
    import subprocess
    import sys
    import threading

    from assistant.index.passage_index import SYNC_LOCK

    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys; f = open(sys.argv[1], 'a+b'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()",
         str(settings.data_dir / SYNC_LOCK)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        done = threading.Event()
        worker = threading.Thread(
            target=lambda: (Assistant(settings, embeddings=fake_embeddings).ensure_index(),
                            done.set()))
        worker.start()
        assert not done.wait(1.5)
    finally:
        holder.communicate("", timeout=10)
    worker.join(timeout=60)
    assert done.is_set()


def test_the_study_s_own_names_are_not_carried_into_a_follow_up_in_any_case_form():
    from assistant.retrieval.followup import names

    # "Tillväxtverkets" from a first answer turned "Gäller det även små företag?" into a
    # question about the agency.
    text = "Studien gjordes på Tillväxtverkets uppdrag, och enligt Swecos analys växer Koopus."
    assert names(text) == ["Koopus"]


def test_words_that_open_a_sentence_or_a_quoted_point_are_not_carried_as_names():
    from assistant.retrieval.followup import names

    # From a guide card's answer: "Samarbetet, ASF-personalen, Ett ASF" were carried into the
    # next question's topic and shown in its note.
    text = ("Vägledning: Vilka mervärden får man?\n- ”Samarbetet skapar nya kontaktvägar.” [1]\n"
            "- Ett ASF har helt andra förutsättningar. [2]\n- Flera ASF framhåller detta, där "
            "ASF-personalen hjälper till. [3]\n- Le Mat Jonsered samarbetar med Volvo Cars. [4]")
    assert names(text) == ["Le Mat Jonsered", "Volvo Cars"]
    # A sentence also starts after a quote's end and its citation ('"Flera" carried from an
    # answer on agreements into "Gäller det även små företag? (… Flera)"').
    assert names("vad varje part ska göra.” [1] Flera av de sociala företagen hos "
                 "Koopus.") == ["Koopus"]


def test_a_name_in_the_previous_answer_is_carried_once_not_again_as_its_last_word():
    from assistant.retrieval.followup import context

    history = [{"role": "user", "content": "Hur hittar vi våra första kunder?"},
               {"role": "assistant", "content": "Exempel ur rapporten:\n- Le Mat Jonsered "
                                                "(ASF, Jonsered): ett café. [1]"}]
    assert context(history) == "Hur hittar vi våra första kunder? Le Mat Jonsered"


def test_a_follow_up_is_searched_with_its_own_words_weighing_more_than_the_topic(shared_assistant):
    from assistant.retrieval.followup import search_text

    history = [{"role": "user", "content": "Finns det exempel på fastighetsbolag som anlitar "
                                           "ASF för fastighetsskötsel i sina områden?"},
               {"role": "assistant", "content": "Rapporten har 5 fallexempel …"}]
    question = "och hur får vi samarbetet att hålla i längden?"
    standalone = shared_assistant.standalone(question, history)
    text = search_text(question, standalone)
    assert text.count("längden") == 2 and text.count("fastighetsskötsel") == 1
    assert search_text("Vad är ett IOP?", "Vad är ett IOP?") == "Vad är ett IOP?"
    # A follow-up that extends the topic or names nothing of its own is about the topic.
    for follow_up in ("Gäller det även små företag?", "Och de stora?"):
        standalone = f"{follow_up} (Vilka drivkrafter har företag?)"
        assert search_text(follow_up, standalone) == standalone


def test_there_is_in_a_follow_up_introduces_its_subject_instead_of_pointing_back():
    from assistant.retrieval.followup import rewrite

    history = [{"role": "user", "content": "Vilka argument biter bäst på småföretagare?"},
               {"role": "assistant", "content": "Rapporten säger …"}]
    for question in ("Finns det trender som talar för ASF just nu?",
                     "Are there any trends in favour of social enterprises right now?"):
        assert rewrite(question, history) == question
    # A word that does point back still carries the conversation.
    assert rewrite("Finns det fler exempel?", history) != "Finns det fler exempel?"
    # Asked within a conversation, a "Finns det …" question carries its topic on.
    chain = [{"role": "user", "content": "En rådgivare tycker att vi borde specialisera oss. "
                                         "Vad säger rapporten?"},
             {"role": "assistant", "content": "Rapporten säger …"},
             {"role": "user",
              "content": "Finns det något företag i rapporten som bara städar kontor?"},
             {"role": "assistant", "content": "Rapporten säger …"}]
    assert "specialisera" in rewrite("Och vilka nackdelar kan det ge?", chain)


def test_a_follow_up_with_one_question_that_says_too_little_alone_carries_the_conversation():
    from assistant.retrieval.followup import rewrite

    # The first turn tells, without asking; "Vad borde vi göra?" asks about it.
    history = [{"role": "user", "content": "Vi är ett litet ASF med café och catering. Vi har "
                                           "svårt att få fler företagskunder."},
               {"role": "assistant", "content": "Rapporten säger …"}]
    follow_up = "Vad borde vi göra? Ska vi lägga pengar på annonser?"
    assert rewrite(follow_up, history) == f"{follow_up} ({history[0]['content']})"
    # Questions that each say what they ask stand on their own.
    both = ("Vad kostar en helsidesannons i lokaltidningen? Hur många företagare läser "
            "lokaltidningen varje vecka?")
    assert rewrite(both, history) == both
    assert rewrite("Ska vi lägga pengar på annonser?", history) \
        == "Ska vi lägga pengar på annonser?"


def test_common_names_joined_are_no_subject_a_pronoun_stands_for():
    from assistant.retrieval.followup import names, rewrite

    assert names("Sweco och Tillväxtverket skrev rapporten om samverkan.") == []
    # "de" stands for what the question itself asks about, not for the study's authors.
    question = "Hur många seminarier blev det, och var hölls de?"
    assert not rewrite(question, ["Sweco och Tillväxtverket skrev rapporten?"]).startswith(
        question.replace("de?", "Sweco"))
    assert names("Koopus och Sweco samarbetade.") == ["Koopus och Sweco"]


@pytest.mark.parametrize(("heading", "question", "expected"), [
    ("Vägledning: Vad är Koopus och hur gör de legoarbeten?", "Vilka kunder har de?",
     "Vilka kunder har Koopus?"),
    ("Vägledning: Vad är Koopus och hur gör de legoarbeten?", "Vad gör deras kunder?",
     "Vad gör Koopus kunder?"),
    ("Vägledning: Vad är Koopus och hur gör de legoarbeten?", "Who are their customers?",
     "Who are Koopus's customers?"),
])
def test_a_pronoun_stands_for_the_case_the_last_answer_s_card_was_about(heading, question,
                                                                        expected):
    from assistant.retrieval.followup import rewrite

    history = [{"role": "user", "content": "Finns det något ASF som monterar åt industrin?"},
               {"role": "assistant", "content": f"{heading}\n- Koopus monterar. [1]"}]
    assert rewrite(question, history, cases=["Koopus"]) == expected
    # Not a name the catalog does not hold as a case, nor an answer without a card.
    assert rewrite(question, history, cases=["Le Mat Jonsered"]) != expected
    plain = [history[0], {"role": "assistant", "content": "Koopus monterar. [1]"}]
    assert rewrite(question, plain, cases=["Koopus"]) != expected


def test_a_follow_up_asking_to_hear_more_carries_the_sentence_it_points_at():
    from assistant.retrieval.followup import pointed_sentence, rewrite

    answer = ("Vägledning: Vilka trender finns?\n- Miljömedvetenhet ger nya tjänster. [1]\n"
              "- Många vill stötta integration i praktiken. Det gäller även kommunerna. [2]")
    history = [{"role": "user", "content": "Vilka trender talar för ASF?"},
               {"role": "assistant", "content": answer}]
    question = "Kan du utveckla det där om integrationen?"
    assert pointed_sentence(question, history) == "Många vill stötta integration i praktiken."
    assert rewrite(question, history) == \
        f"{question} (Många vill stötta integration i praktiken.)"
    # Not without a word that finds a sentence, nor without asking to hear more.
    assert pointed_sentence("Kan du utveckla det där om skatter?", history) is None
    assert pointed_sentence("Hur fungerar integrationen?", history) is None
    assert pointed_sentence(question, []) is None
