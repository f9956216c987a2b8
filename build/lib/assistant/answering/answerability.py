"""Answering: answer-type checks, does the chosen text hold the kind of thing asked for?

Without a language model the assistant cannot read for meaning, but it can tell when a question
asks for a number, a named organisation or a named person's view and the best evidence holds
none. Such questions are refused instead of being answered with text on a neighbouring topic.
"""

from __future__ import annotations

import re
from collections.abc import Container

from assistant.retrieval.question import ADVICE_AMOUNT, SITUATION
from assistant.text import PROPER_NAME, is_english, split_sentences, stem, tokens, words

NUMBER_WORDS = frozenset(
    """två tre fyra fem sex sju åtta nio tio elva tolv tretton fjorton femton tjugo trettio
    fyrtio femtio hundra tusen miljon miljoner miljard hälften halva tredjedel fjärdedel
    procent dubbelt majoritet""".split())

_QUANTITY = re.compile(
    r"\b(hur (många|mycket|stor|stort|stora|höga?|högt|lång|långa)|vad (kostar|kostade|kostnaden)"
    r"|vad tar .{0,40}betalt|vilken omsättning|how (many|much)|what did .{0,40}(cost|pay))\b",
    re.IGNORECASE)
_HOW_MANY_NOUN = re.compile(r"\bhur många\s+([a-zåäö:\-]+)", re.IGNORECASE)
_MONEY = re.compile(
    r"\b(kostar|kostade|kostnaden|betalt|betalade|omsättning|omsätter|lönebidrag|pris per|"
    r"timpris|budget|cost|costs|pay|paid|price|turnover|revenue)\b", re.IGNORECASE)
_MONEY_IN_TEXT = re.compile(r"\b(\d[\d  ]*(kr|kronor|sek|euro|mkr|tkr|msek)|kronor|miljon(er)?|"
                            r"miljard(er)?|€|\$)", re.IGNORECASE)
_PERSON_QUESTION = re.compile(
    r"\b(vilka personer|vilken person|vilka konsulter|vilka författare|vem skrev|"
    r"which [\w ]{0,20}(people|persons|consultants|authors)|who wrote)\b", re.IGNORECASE)
# "Vem ska hålla i kontakten?" asks for a role (advice), not for a name the text must hold.
_ENTITY_QUESTION = re.compile(
    r"\b(vilket|vilken|vilka) (företag|kommun|kommuner|land|länder|organisation|myndighet|bank)\b"
    r"|\bwhich (company|companies|municipality|country|organisation|organization)\b"
    r"|\bvem\b(?!\s+(ska|bör|borde|behöver|måste)\b)|\bwho\b(?!\s+(should|must|needs?)\b)",
    re.IGNORECASE)
_OPINION = re.compile(r"\b(tycker|tyckte|anser|ansåg|tycka|opinion|think|thought|views?)\b",
                      re.IGNORECASE)
_OPINION_MARKERS = re.compile(
    r"\b(menar|menade|tycker|tyckte|anser|ansåg|säger|sade|sa|uttryckte|uttrycker|lyfte|"
    r"framhöll|betonade|berättade)\b", re.IGNORECASE)
_PERSON_NAME = re.compile(r"\b[A-ZÅÄÖ][a-zåäöé]+ [A-ZÅÄÖ][a-zåäöé]+(?:-[A-ZÅÄÖ][a-zåäöé]+)?\b")

# Capitalised words that name the study itself rather than an answer to "which company".
_GENERIC_NAMES = frozenset({"ASF", "Sweco", "Tillväxtverket", "Sverige", "Skoopi"})


# "En majoritet av de arbetsintegrerande sociala företagen …" says how many of a group, not how
# many there are: it counts as a number in an answer, but not as the count of a named noun.
_COUNT_WORDS = NUMBER_WORDS - {"majoritet"}


def _has_number(text: str) -> bool:
    return bool(re.search(r"\d", text)) or bool(set(words(text)) & NUMBER_WORDS)


def _number_near(text: str, noun: str) -> bool:
    """Return True when a number stands within three words of the noun (by stem)."""
    target = stem(noun.split(":")[0].lower())
    ws = words(text)
    for i, w in enumerate(ws):
        if stem(w.split(":")[0]) == target or stem(w.split(":")[0]).startswith(target[:6]):
            window = ws[max(0, i - 3):i] + ws[i + 1:i + 4]
            if any(x.isdigit() or x in _COUNT_WORDS or re.match(r"\d", x) for x in window):
                return True
    return False


def _focus_sentences(question: str, answer_text: str) -> list[str]:
    """Return the answer sentences sharing the most content words with the question."""
    from assistant.text import tokens

    q = set(tokens(question))
    sentences = [x for x in re.split(r"(?<=[.!?:])\s+|\n", answer_text) if x.strip()]
    shared = [len(q & set(tokens(x))) for x in sentences]
    most = max(shared, default=0)
    return [x for x, n in zip(sentences, shared, strict=True) if n == most]


def missing_answer_type(question: str, answer_text: str, passage_text: str,
                        quantities: bool = True) -> str | None:
    """Return why the text lacks what the question asks for, or None when it has it.

    quantities=False skips the check for a count ("hur lång leveranstid ska man räkna med?",
    "how much does experience matter?" are advice questions whose answer is no number); a
    question about an amount of money is still checked, unless it asks what the asker should
    charge or pay ("hur mycket ska vi ta betalt?"): that is advice, and the documents' reasoning
    about price answers it without a sum. It also skips the check that every
    number in the question occurs in the source: in a broad question a number describes the
    asker ("vi är 200 anställda", "träffarna 2018"), not the fact asked for, and requiring it
    refused answerable questions such as "vi har 200 anställda, hur börjar vi?".
    """
    answer_text = re.sub(r"\s*\[\d+\]", "", answer_text)
    for found in re.finditer(r"[\w-]*?\b(\d{2,})\b[\w-]*", question) if quantities else ():
        if found.group(1) not in passage_text:
            # Named as the question writes it: "”covid-19”", not "talet 19".
            if found.group() == found.group(1):
                return f"talet {found.group()} i frågan finns inte i källtexten"
            return f"”{found.group()}” i frågan finns inte i källtexten"
    # "Hur mycket ska vi ta betalt?" asks how to decide, not for a sum.
    if (_MONEY.search(question) and _QUANTITY.search(question)
            and not ADVICE_AMOUNT.search(question)):
        if not _MONEY_IN_TEXT.search(answer_text):
            return "frågan gäller ett belopp som källtexten inte anger"
    elif quantities and _QUANTITY.search(question):
        match = _HOW_MANY_NOUN.search(question)
        noun = match.group(1) if match else ""
        if noun and noun.lower() not in {"av", "de", "det", "som", "gånger"}:
            if not _number_near(answer_text, noun):
                return "frågan gäller ett antal som källtexten inte anger"
        elif not _has_number(answer_text):
            return "frågan gäller ett antal som källtexten inte anger"
    if _PERSON_QUESTION.search(question):
        names = [n for n in _PERSON_NAME.findall(answer_text) if n not in question]
        if not names:
            return "frågan gäller namngivna personer som källtexten inte nämner"
    elif _ENTITY_QUESTION.search(question):
        proper = {n for focus in _focus_sentences(question, answer_text)
                  for n in PROPER_NAME.findall(focus)
                  if n not in question and n not in _GENERIC_NAMES}
        if not proper:
            return "frågan gäller ett namn som källtexten inte anger"
    people = list(_PERSON_NAME.findall(question))
    if people and _OPINION.search(question):
        for name in people:
            sentences = [x for x in re.split(r"(?<=[.!?])\s+", answer_text) if name in x]
            if not any(_OPINION_MARKERS.search(x) for x in sentences):
                return f"källtexten återger inte vad {name} tycker"
    return None


# A question that asks which, who, where or whether there is something: its names are what it
# asks about ("Vilka ASF finns i Umeå?"), unlike a name that describes the asker.
_ENTITY_OPENING = re.compile(
    r"^(vilka|vilken|vilket|vem|vems|var|när|hur många|finns det|fanns det)\b", re.IGNORECASE)


def unknown_name(question: str, known: Container[str]) -> str | None:
    """Return a name or place a which/who/where question asks about that no indexed document
    mentions (`known`: the index's word tokens), or None.

    A sentence that describes the asker ("Vi är ett fastighetsbolag i Malmö.") is skipped, and
    English questions are not judged (their capitals are not names, and the documents are
    Swedish). Listing the catalog's cases or quoting the nearest passage for "Vilka ASF finns
    i Umeå?" answered a question about a place the documents never name.
    """
    if is_english(question):
        return None
    for sentence in split_sentences(question):
        sentence = sentence.strip()
        if not _ENTITY_OPENING.match(sentence) or SITUATION.search(sentence):
            continue
        for name in PROPER_NAME.findall(sentence):
            if name in _GENERIC_NAMES or "-" in name:
                continue
            if not any(t in known for t in tokens(name)):
                return name
    return None

