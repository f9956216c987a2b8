"""Answer-type refusals: a question asking for a name is refused only when no name is given."""

from __future__ import annotations

from assistant.answerability import missing_answer_type


def test_a_name_in_any_of_the_sentences_that_match_the_question_best_counts():
    # Both sentences share two words with the question; the second names the places.
    answer = "Tre träffar hölls under hösten. Träffarna hölls i Rinkeby och Vadstena."
    assert missing_answer_type("Var hölls träffarna och vem ansvarade?", answer, answer) is None


def test_a_who_question_without_any_name_in_the_matching_text_is_refused():
    answer = "Tre träffar hölls under hösten. Träffarna hölls under en halvdag."
    reason = missing_answer_type("Var hölls träffarna och vem ansvarade?", answer, answer)
    assert reason == "frågan gäller ett namn som källtexten inte anger"


def test_an_empty_answer_text_is_judged_without_error():
    reason = missing_answer_type("Vem ansvarade?", "", "")
    assert reason == "frågan gäller ett namn som källtexten inte anger"
