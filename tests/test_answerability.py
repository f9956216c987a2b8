"""Answer-type refusals: a question asking for a name is refused only when no name is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.answerability import missing_answer_type, outside_subject, unknown_name
from assistant.retrieval.question import subjects
from assistant.text import tokens


def test_a_name_in_any_of_the_sentences_that_match_the_question_best_counts():
    # Both sentences share two words with the question; the second names the places.
    answer = "Tre träffar hölls under hösten. Träffarna hölls i Rinkeby och Vadstena."
    assert missing_answer_type("Var hölls träffarna och vem ansvarade?", answer, answer) is None


def test_a_who_question_without_any_name_in_the_matching_text_is_refused():
    answer = "Tre träffar hölls under hösten. Träffarna hölls under en halvdag."
    reason = missing_answer_type("Var hölls träffarna och vem ansvarade?", answer, answer)
    assert reason == "frågan gäller ett namn som källtexten inte anger"


def test_who_should_do_something_asks_for_a_role_not_a_name():
    answer = "Att det finns en utsedd kontaktperson både hos ASF:et och hos kunden."
    for question in ("Vad bör vi skriva i avtalet, och vem ska hålla i kontakten?",
                     "Who should be responsible for the contact?"):
        assert missing_answer_type(question, answer, answer) is None
    assert missing_answer_type("Vem höll i kontakten?", answer, answer) is not None


def test_an_empty_answer_text_is_judged_without_error():
    reason = missing_answer_type("Vem ansvarade?", "", "")
    assert reason == "frågan gäller ett namn som källtexten inte anger"


def test_a_year_the_source_lacks_refuses_a_fact_question():
    text = "Tre nätverksträffar genomfördes under hösten 2018."
    reason = missing_answer_type("Hur många nätverksträffar ordnades år 2019?", text, text)
    assert reason == "talet 2019 i frågan finns inte i källtexten"


def test_a_number_that_describes_the_asker_does_not_refuse_a_broad_question():
    # "200 anställda" is the asker's situation, not the fact asked for (quantities=False is how
    # the pipeline marks a question that is not a factual one).
    text = "Ett sätt att komma igång är att utgå från ett konkret behov i verksamheten."
    question = "Vi är ett fastighetsbolag med 200 anställda. Hur börjar vi köpa av ett ASF?"
    assert missing_answer_type(question, text, text, quantities=False) is None
    assert missing_answer_type(question, text, text) == "talet 200 i frågan finns inte i källtexten"


def test_what_to_charge_is_advice_but_a_price_asked_for_needs_a_sum():
    text = "Det råder delade meningar om priset måste vara marknadsmässigt."
    assert missing_answer_type("Hur mycket ska vi ta betalt av företagskunder?", text, text,
                               quantities=False) is None
    reason = missing_answer_type("Vad kostar det per timme att anlita ett ASF?", text, text,
                                 quantities=False)
    assert reason == "frågan gäller ett belopp som källtexten inte anger"


def test_english_is_told_from_swedish_by_function_words():
    from assistant.text import is_english

    assert is_english("Do we get any tax deduction or VAT advantage in Sweden if we buy "
                      "services from a social enterprise?")
    assert is_english("How do Danish municipalities support social enterprises?")
    assert not is_english("Vi är ett IT-bolag i Malmö. Hur kan vi köpa tjänster av ett ASF?")
    assert not is_english("Hur funkar CSR och social hållbarhet i praktiken för ett ASF?")
    assert not is_english("")


def test_a_name_a_which_question_asks_about_must_be_in_the_documents():
    known = set(tokens("ASF finns i Vadstena"))
    assert unknown_name("Vilka ASF finns i Umeå?", known) == "Umeå"
    assert unknown_name("Finns det ASF i Umeå?", known) == "Umeå"
    assert unknown_name("Vilka ASF finns i Vadstena?", known) is None
    # The asker's own place, a question that is not about which/who/where, and English.
    assert unknown_name("Vi är ett bolag i Umeå. Vilka exempel finns?", known) is None
    assert unknown_name("Hur kan ett ASF i Umeå hitta kunder?", known) is None
    assert unknown_name("Which ASF are there in Umeå?", known) is None


def test_a_number_the_source_lacks_is_named_as_the_question_writes_it():
    answer = "Företagen köper städning av ASF."
    reason = missing_answer_type("Hur påverkade covid-19 ASF:ens affärer?", answer, answer)
    assert reason == "”covid-19” i frågan finns inte i källtexten"
    assert missing_answer_type("Vad hände 2019?", answer, answer) == \
        "talet 2019 i frågan finns inte i källtexten"


def test_the_question_analysis_holds_what_the_answer_must_hold():
    from assistant.retrieval.question import analyse

    count = analyse("Hur många nätverksträffar ordnades år 2019?")
    assert (count.expects.quantity, count.expects.counted) == (True, "nätverksträffar")
    assert count.expects.numbers == (("2019", "2019"),)
    assert analyse("Hur många av företagen köper av ASF?").expects.counted == ""
    # A verb after "hur många" leaves the noun to the conversation: any number answers.
    elliptic = "Hur många fanns det?"
    assert analyse(elliptic).expects.counted == ""
    assert missing_answer_type(elliptic, "Sammanlagt genomfördes tre nätverksträffar av fem "
                               "planerade.", "Sammanlagt genomfördes tre nätverksträffar av fem "
                               "planerade.") is None
    assert analyse("Vad kostar en lunch hos Le Mat?").expects.amount
    assert not analyse("Hur mycket ska vi ta betalt?").expects.amount
    assert analyse("Vilka konsulter skrev rapporten?").expects.person
    assert analyse("Vilket företag köper av Koopus?").expects.entity
    opinion = analyse("Vad tycker Anna Andersson om samverkan?").expects
    assert (opinion.opinion, opinion.people) == (True, ("Anna Andersson",))
    assert analyse("Vilka ASF finns i Umeå?").names == ("Umeå",)
    assert analyse("Vi är ett bolag i Umeå. Vilka exempel finns?").names == ()
    assert analyse("Hur kan man lösa det?").points_back == "det"


def test_the_answer_type_check_reads_the_analysis_it_is_given():
    from assistant.retrieval.question import Expected, analyse

    answer = "Företagen köper städning av ASF."
    question = "Hur många företag köper städning?"
    assert missing_answer_type(question, answer, answer) is not None
    # What the analysis says is checked, not a second reading of the question.
    assert missing_answer_type(question, answer, answer, expects=Expected()) is None
    assert missing_answer_type("Vad köper företagen?", answer, answer,
                               expects=analyse(question).expects) is not None


REPORT_TEXT = (Path(__file__).resolve().parent.parent / "corpus"
               / "sweco-asf-samverkan-naringslivet.txt").read_text(encoding="utf-8")


def _covered(*texts: str) -> frozenset[str]:
    return frozenset(family for text in texts for family, _ in subjects(text))


@pytest.mark.parametrize(("question", "subject"), [
    ("Vilka skatteregler gäller om vi köper från ett ASF?", "skatteregler"),
    ("Can we deduct VAT when buying from a social enterprise?", "deduct"),
    ("Vilken bolagsform är bäst för oss skattemässigt?", "skattemässigt"),
    ("Hur gör man i Finland?", "Finland"),
    ("Vad säger arbetsmiljölagen om handledare?", "arbetsmiljölagen"),
    ("Måste vi betala arbetsgivaravgift för deltagarna?", "arbetsgivaravgift"),
    ("Behöver ASF:et F-skatt för att fakturera oss?", "F-skatt"),
    ("Vilken försäkring behöver deltagarna?", "försäkring"),
    ("Gäller kollektivavtal hos ett ASF?", "kollektivavtal"),
    ("Hur hanterar vi GDPR när vi delar uppgifter om deltagare?", "GDPR"),
    ("Finns det danska sociala företag vi kan lära av?", "danska"),
    ("Vi är ett aktiebolag och undrar vilka skatteregler som gäller?", "skatteregler"),
    ("Vi är osäkra på momsen, vad gäller?", "momsen"),
    ("Vi är ett svenskt bolag. Hur gör man i Tyskland?", "Tyskland"),
    ("Vi funderar på ett samarbete. Hur gör man i Norge? Vi vill ha exempel.", "Norge"),
])
def test_a_subject_the_report_never_discusses_is_named_as_the_question_writes_it(
        question, subject):
    assert outside_subject(question, _covered(REPORT_TEXT)) == subject


def test_a_subject_an_added_document_discusses_is_not_refused():
    note = "Momsen på tjänster från sociala företag är 25 procent; skatter betalas som vanligt."
    covered = _covered(REPORT_TEXT, note)
    # Another word of the same family counts: the note says "skatter", the question "skatteregler".
    assert outside_subject("Vilka skatteregler gäller om vi köper från ett ASF?", covered) is None
    assert outside_subject("Vad gäller för moms och mervärdesskatt?", covered) is None
    assert outside_subject("How is VAT handled?", covered) is None


@pytest.mark.parametrize("question", [
    "Hur fungerar upphandling med reserverade kontrakt?",
    "Vilka regler ändrades 2017 om upphandling och sociala företag?",
    "Vad säger LOU om sociala företag?",
    "Varför höjer företag på ögonbrynen när man är en ekonomisk förening?",
    "Finns det någon särskild bolagsform för sociala företag?",
    "Finns det någon lag för arbetsintegrerande sociala företag?",
    "Hur ser det ut i andra länder?",
    "How do Swedish social enterprises compare internationally?",
    "Kan vi flytta hem produktion från utlandet till ett ASF?",
    "Vad är Stickans Bokföring och event?",
])
def test_a_subject_the_report_discusses_is_not_refused(question):
    assert outside_subject(question, _covered(REPORT_TEXT)) is None


@pytest.mark.parametrize("question", [
    "Vi har ett bra lag på jobbet, hur kommer vi igång med ett ASF?",
    "Laget på vår avdelning vill hjälpa till, hur gör vi?",
    "Hur mycket är lagom att köpa första året?",
    "Vem lagar maten hos Le Mat?",
    "Hur försäkrar vi oss om att kvaliteten håller?",
    "Kan pensionärer arbeta i ett ASF?",
    "Hur uppskattas samarbetet av kunderna?",
    "Vilka förslag ger rapporten till fastighetsbolagen?",
    "How do we build a partnership with a social enterprise?",
    "Hur lång leveranstid ska vi räkna med?",
    # The asker's own country or legal form, as "Vi är ett bolag i Umeå".
    "Vi är ett amerikanskt företag i Göteborg, hur kan vi köpa av ett ASF?",
    "Vårt tyska moderbolag vill att vi köper socialt, var börjar vi?",
    "Vi är en stiftelse som vill anlita ett ASF, hur gör vi?",
    "We are a German company in Malmö, how do we start buying from a social enterprise?",
    # A place in a sentence that describes the situation, not in the one that asks.
    "Vi säljer redan till Norge och Danmark. Hur hittar vi kunder här hemma?",
    "We moved our assembly work to Poland last year. Could a social enterprise take it over?",
])
def test_ordinary_words_near_a_subject_are_no_subject(question):
    assert outside_subject(question, frozenset()) is None


def test_a_counted_noun_is_found_as_the_last_part_of_a_compound():
    text = "Under våren hölls fyra frukostträffar och två seminarier."
    assert missing_answer_type("Hur många träffar hölls?", text, text) is None
    # The noun stands with no number: still refused.
    bare = "Under våren hölls frukostträffar och seminarier."
    assert missing_answer_type("Hur många träffar hölls?", bare, bare) == \
        "frågan gäller ett antal som källtexten inte anger"
    # A short stem is not looked for at a word's end ("år" ends "besvär").
    years = "Företaget har haft tre besvär med leveranserna."
    assert missing_answer_type("Hur många år har de funnits?", years, years) is not None


def test_an_english_question_for_a_name_finds_it_in_any_sentence():
    # The Swedish sentences share no word with the question but the name it names: held to the
    # sentence naming the case, the answer was refused for naming no one else.
    answer = "Koopus gör legoarbeten åt industrin. De har avtal med Volvo och Scania."
    assert missing_answer_type("Who are Koopus's customers?", answer, answer) is None
    assert missing_answer_type("Who are Koopus's customers?", "Koopus gör legoarbeten.",
                               "Koopus gör legoarbeten.") is not None
