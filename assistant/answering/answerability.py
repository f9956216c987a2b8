"""Answering: answer-type checks, does the chosen text hold the kind of thing asked for?

Without a language model the assistant cannot read for meaning, but it can tell when a question
asks for a number, a named organisation or a named person's view and the best evidence holds
none. Such questions are refused instead of being answered with text on a neighbouring topic.
What a question asks for is read once, by the question analysis (`Expected`, `asked_names`);
this module checks the answer against it.
"""

from __future__ import annotations

import re
from collections.abc import Container

from assistant.lexicon import pattern
from assistant.lexicon import words as words_of
from assistant.retrieval.question import (
    GENERIC_NAMES,
    Expected,
    asked_names,
    asked_subjects,
    expected,
)
from assistant.text import PERSON_NAME, PROPER_NAME, is_english, stem, tokens, words

NUMBER_WORDS = words_of("answerability.number_words")
_MONEY_IN_TEXT = pattern("answerability.money_in_text")
_OPINION_MARKERS = pattern("answerability.opinion_markers")

# "En majoritet av de arbetsintegrerande sociala företagen …" says how many of a group, not how
# many there are: it counts as a number in an answer, but not as the count of a named noun.
_COUNT_WORDS = NUMBER_WORDS - words_of("answerability.not_count_words")


# The shortest counted noun looked for as a compound's last part: "träff" in "nätverksträffar";
# shorter stems end too many words ("år" ends "besvär").
_MIN_HEAD_CHARS = 4


def _has_number(text: str) -> bool:
    return bool(re.search(r"\d", text)) or bool(set(words(text)) & NUMBER_WORDS)


def _number_near(text: str, noun: str) -> bool:
    """Return True when a number stands within three words of the noun (by stem), also as the
    last part of a compound ("tre nätverksträffar" counts "träffar")."""
    target = stem(noun.split(":")[0].lower())
    ws = words(text)
    for i, w in enumerate(ws):
        form = stem(w.split(":")[0])
        if form == target or form.startswith(target[:6]) or (
                len(target) >= _MIN_HEAD_CHARS and form.endswith(target)):
            window = ws[max(0, i - 3):i] + ws[i + 1:i + 4]
            if any(x.isdigit() or x in _COUNT_WORDS or re.match(r"\d", x) for x in window):
                return True
    return False


def _focus_sentences(question: str, answer_text: str) -> list[str]:
    """Return the answer sentences sharing the most content words with the question; all of
    them for an English question, whose words the Swedish sentences do not share (only a name
    it names: "Who are Le Mat Jonsered's customers?" was held to the sentence naming the case,
    and refused for naming no one else)."""
    sentences = [x for x in re.split(r"(?<=[.!?:])\s+|\n", answer_text) if x.strip()]
    if is_english(question):
        return sentences
    q = set(tokens(question))
    shared = [len(q & set(tokens(x))) for x in sentences]
    most = max(shared, default=0)
    return [x for x, n in zip(sentences, shared, strict=True) if n == most]


def missing_answer_type(question: str, answer_text: str, passage_text: str,
                        quantities: bool = True, expects: Expected | None = None) -> str | None:
    """Return why the text lacks what the question asks for, or None when it has it.

    quantities=False skips the check for a count ("hur lång leveranstid ska man räkna med?",
    "how much does experience matter?" are advice questions whose answer is no number); a
    question about an amount of money is still checked, unless it asks what the asker should
    charge or pay ("hur mycket ska vi ta betalt?"): that is advice, and the documents' reasoning
    about price answers it without a sum. It also skips the check that every
    number in the question occurs in the source: in a broad question a number describes the
    asker ("vi är 200 anställda", "träffarna 2018"), not the fact asked for, and requiring it
    refused answerable questions such as "vi har 200 anställda, hur börjar vi?".

    `expects` is the question's analysis of what it asks for (read from `question` when not
    given).
    """
    expects = expected(question) if expects is None else expects
    answer_text = re.sub(r"\s*\[\d+\]", "", answer_text)
    return ((_number_missing(expects, passage_text) if quantities else None)
            or _quantity_missing(expects, answer_text, quantities)
            or _name_missing(question, expects, answer_text)
            or _opinion_missing(expects, answer_text))


def _number_missing(expects: Expected, passage_text: str) -> str | None:
    """Return why a number the question names is missing from the source, or None."""
    for written, digits in expects.numbers:
        if digits not in passage_text:
            # Named as the question writes it: "”covid-19”", not "talet 19".
            if written == digits:
                return f"talet {written} i frågan finns inte i källtexten"
            return f"”{written}” i frågan finns inte i källtexten"
    return None


def _quantity_missing(expects: Expected, answer_text: str, quantities: bool) -> str | None:
    """Return why the answer lacks the sum or count asked for, or None."""
    if expects.amount:
        if not _MONEY_IN_TEXT.search(answer_text):
            return "frågan gäller ett belopp som källtexten inte anger"
    elif quantities and expects.quantity:
        if expects.counted:
            if not _number_near(answer_text, expects.counted):
                return "frågan gäller ett antal som källtexten inte anger"
        elif not _has_number(answer_text):
            return "frågan gäller ett antal som källtexten inte anger"
    return None


def _name_missing(question: str, expects: Expected, answer_text: str) -> str | None:
    """Return why the answer lacks the persons or the name asked for, or None."""
    if expects.person:
        names = [n for n in PERSON_NAME.findall(answer_text) if n not in question]
        if not names:
            return "frågan gäller namngivna personer som källtexten inte nämner"
    elif expects.entity:
        proper = {n for focus in _focus_sentences(question, answer_text)
                  for n in PROPER_NAME.findall(focus)
                  if n not in question and n not in GENERIC_NAMES}
        if not proper:
            return "frågan gäller ett namn som källtexten inte anger"
    return None


def _opinion_missing(expects: Expected, answer_text: str) -> str | None:
    """Return why the answer does not say what a person the question names thinks, or None."""
    if not expects.opinion:
        return None
    for name in expects.people:
        sentences = [x for x in re.split(r"(?<=[.!?])\s+", answer_text) if name in x]
        if not any(_OPINION_MARKERS.search(x) for x in sentences):
            return f"källtexten återger inte vad {name} tycker"
    return None


def unknown_name(question: str, known: Container[str]) -> str | None:
    """Return a name or place a which/who/where question asks about that no indexed document
    mentions (`known`: the index's word tokens), or None.

    Listing the catalog's cases or quoting the nearest passage for "Vilka ASF finns i Umeå?"
    answered a question about a place the documents never name. Which names a question asks
    about is the question analysis's `asked_names` (not a sentence that describes the asker,
    not an English question).
    """
    return next((name for name in asked_names(question)
                 if not any(t in known for t in tokens(name))), None)


def outside_subject(question: str, covered: Container[str]) -> str | None:
    """Return a subject of rules, figures or foreign places the question names (a tax, a law,
    a legal form, a country) whose family no indexed document names (`covered`: the families
    the documents name), as the question writes it, or None.

    "Vilka skatteregler gäller om vi köper från ett ASF?" got a broad answer on buying from an
    ASF: the documents never discuss tax. Unlike a name, such a subject is what even a broad
    question asks about, so broad questions are checked too; one that describes the asker
    ("Vi är ett amerikanskt företag") is not asked about.
    """
    return next((written for family, written in asked_subjects(question)
                 if family not in covered), None)
