"""Retrieval: question analysis, the kind of answer asked for and the asker's situation.

Without a language model the shape of an answer has to be chosen from the question's grammar.
A factual question (a count, a date, a place, a name) is answered by the one sentence that
holds the fact; a request for a list by the list; a broad advice or "how do we" question, a
comparison or a request for examples by the main points gathered from several sections. The
asker's situation (industry, place, role, size) steers what is chosen: a property company is
shown the property-sector findings and cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from assistant.lexicon import pattern
from assistant.lexicon import words as words_of
from assistant.retrieval.followup import dangling
from assistant.text import PERSON_NAME, PROPER_NAME, collapse, is_english, split_sentences, words

Kind = Literal["fact", "list", "broad", "examples", "comparison"]
Asks = Literal["count", "date", "place", "name", "amount"]

# The question words of a factual question and the type of fact each asks for ("när" asks for
# a date at the head of a clause, "vem ska …" for a role, which is advice, not a name).
_FACT_ASKED: tuple[Asks, ...] = ("amount", "count", "date", "place", "name")
_FACT: list[tuple[Asks, re.Pattern[str]]] = [
    (asks, pattern(f"question.{asks}")) for asks in _FACT_ASKED]
# "Hur mycket ska vi ta betalt?", "how much should we charge?": an amount the asker has to
# decide asks for advice (how the documents reason about price), not for a figure they state.
ADVICE_AMOUNT = pattern("question.advice_amount")
_EXAMPLES = pattern("question.examples")
_COMPARISON = pattern("question.comparison")
# "How do we / what should I / where do we start": advice and situational questions.
_BROAD = pattern("question.broad")
_LIST = pattern("question.list")
# First-person situations: "vi är ett fastighetsbolag", "jag driver ett ASF", "we are a ...".
SITUATION = pattern("question.situation")
_FIRST_PERSON = words_of("question.first_person")
# A follow-up that asks how to deal with what was just described.
_SOLUTION = pattern("question.solution")

_ROLES: list[tuple[str, re.Pattern[str]]] = [
    (role, pattern(f"question.role_{role}")) for role in ("advisor", "asf", "company")]
# A question about planning a meeting, workshop or event: the documents' planning models
# (figure cards) answer its "how do I lay it out".
_MEETING = pattern("question.meeting")
_PLANNING = pattern("question.planning")
# Asks how to get customers: a word of getting or of new ones right before the customer word
# ("få fler kunder", "sin första riktiga företagskund"), not any mention of customers ("Ska vi
# berätta för kunderna att vi är ett socialt företag?" got how the cases found theirs).
_CUSTOMERS = pattern("question.customers")
# Whom each role is, in the words documents use when they address it ("Rekommendationer till
# offentliga aktörer och företagsfrämjare"): a section whose heading names the asker's own
# group speaks to them. (The model's vectors do not separate addressees: a municipality's
# question is closer to "Rekommendationer till ASF", 0.45, than to the heading addressing
# public actors, 0.27, because both name ASF.)
ADDRESSEES = {role: " ".join(sorted(words_of(f"question.addressees_{role}")))
              for role in ("advisor", "asf", "company")}
_SIZE = pattern("question.size")
_PLACE = pattern("question.place_in")
_NOT_PLACES = words_of("generic_names") | words_of("question.broad_places")

# What the answer must hold (the answer-type check reads it from the Analysis).
_QUANTITY = pattern("answerability.quantity")
_HOW_MANY_NOUN = pattern("answerability.how_many_noun")
_NOT_COUNTED = words_of("answerability.not_counted")
_MONEY = pattern("answerability.money")
_PERSON_QUESTION = pattern("answerability.person_question")
# "Vem ska hålla i kontakten?" asks for a role (advice), not for a name the text must hold.
_ENTITY_QUESTION = pattern("answerability.entity_question")
_OPINION = pattern("answerability.opinion")
_NUMBER = re.compile(r"[\w-]*?\b(\d{2,})\b[\w-]*")
# A question that asks which, who, where or whether there is something: its names are what it
# asks about ("Vilka ASF finns i Umeå?"), unlike a name that describes the asker.
_ENTITY_OPENING = pattern("answerability.entity_opening")
# Capitalised words that name the domain or the study itself rather than an answer to "which
# company" or a place the documents might not know.
GENERIC_NAMES = (words_of("generic_names") | words_of("study_names")
                 | words_of("answerability.generic_names") | words_of("answerability.study_names"))


@dataclass(frozen=True)
class Situation:
    """Who is asking: industry (a catalog industry label), place, role and size, if said."""

    industry: tuple[str, ...] = ()
    place: str | None = None
    role: str | None = None
    size: str | None = None

    def __bool__(self) -> bool:
        return bool(self.industry or self.place or self.role or self.size)


@dataclass(frozen=True)
class Expected:
    """What an answer must hold for the kind of thing the question asks (answer-type check)."""

    amount: bool = False            # a sum of money the documents state, not one to decide
    quantity: bool = False          # a count or size ("hur många", "hur stor", "how much")
    counted: str = ""               # the noun a "hur många" question counts ("intervjuer")
    person: bool = False            # named persons ("vilka konsulter", "vem skrev")
    entity: bool = False            # a name: which company, municipality, who
    numbers: tuple[tuple[str, str], ...] = ()   # (as written, digits) of each number >= 10
    people: tuple[str, ...] = ()    # the persons the question names
    opinion: bool = False           # asks what someone thinks


@dataclass(frozen=True)
class Analysis:
    """What a question asks for."""

    kind: Kind
    asks: Asks | None = None
    situation: Situation = field(default_factory=Situation)
    meeting: bool = False           # asks how to plan a meeting, workshop or event
    customers: bool = False         # asks about customers (finding, getting, keeping them)
    expects: Expected = field(default_factory=Expected)
    names: tuple[str, ...] = ()     # names and places a which/who/where question asks about
    points_back: str | None = None  # the word a question leans on what was said with ("det")
    guessed: bool = False           # no word said what is asked: the kind is by length


def analyse(question: str, industries: dict[str, re.Pattern[str]] | None = None) -> Analysis:
    """Return the kind of answer a question asks for and the asker's situation.

    `industries` maps an industry label to the pattern that finds it in a question (the case
    catalog's vocabulary), so a situation's industry uses the same labels as the cards.
    The expected answer, the names asked about and the back reference are read from the
    question as written (the answer-type check and the name check read the same text).
    """
    text = collapse(question)
    analysis = _analyse(text, industries or {})
    return replace(analysis, meeting=bool(_MEETING.search(text) and _PLANNING.search(text)),
                   customers=bool(_CUSTOMERS.search(text)), expects=expected(question),
                   names=asked_names(question), points_back=dangling(question))


def expected(question: str) -> Expected:
    """Return what an answer to the question must hold: a sum, a count of a noun, names, a
    person's view, the numbers the question names."""
    quantity = bool(_QUANTITY.search(question))
    noun = _HOW_MANY_NOUN.search(question)
    counted = noun.group(1) if noun else ""
    return Expected(
        # "Hur mycket ska vi ta betalt?" asks how to decide, not for a sum.
        amount=bool(_MONEY.search(question)) and quantity
        and not ADVICE_AMOUNT.search(question),
        quantity=quantity,
        counted=counted if counted.lower() not in _NOT_COUNTED else "",
        person=bool(_PERSON_QUESTION.search(question)),
        entity=bool(_ENTITY_QUESTION.search(question)),
        numbers=tuple((m.group(), m.group(1)) for m in _NUMBER.finditer(question)),
        people=tuple(PERSON_NAME.findall(question)),
        opinion=bool(_OPINION.search(question)))


def asked_names(question: str) -> tuple[str, ...]:
    """Return the names and places a which/who/where question asks about ("Vilka ASF finns i
    Umeå?" -> "Umeå"), in order.

    A sentence that describes the asker ("Vi är ett fastighetsbolag i Malmö.") is skipped, as
    are the domain's and the study's own names and hyphenated words; English questions give
    none (their capitals are not names, and the documents are Swedish).
    """
    if is_english(question):
        return ()
    found: list[str] = []
    for sentence in split_sentences(question):
        sentence = sentence.strip()
        if not _ENTITY_OPENING.match(sentence) or SITUATION.search(sentence):
            continue
        found += [name for name in PROPER_NAME.findall(sentence)
                  if name not in GENERIC_NAMES and "-" not in name]
    return tuple(found)


_OUTSIDE_SUBJECTS = pattern("answerability.outside_subjects")
_ASKER_DESCRIBED = pattern("answerability.asker_described")
_PLACE_SUBJECTS = words_of("answerability.place_subjects")


def subjects(text: str) -> list[tuple[str, str]]:
    """Return the subjects of rules, figures and foreign places a text names (taxes, laws,
    legal forms, countries …), in order, each as (its family, the words as the text writes
    them): "Vilka skatteregler gäller?" -> [("skatt", "skatteregler")].

    The same rule reads a question and the documents, so a family the documents name in any
    of its words ("skatter", "tax") covers a question naming it in another.
    """
    return [_subject(m) for m in _OUTSIDE_SUBJECTS.finditer(text)]


def asked_subjects(question: str) -> list[tuple[str, str]]:
    """Return the subjects a question asks about, as `subjects` does, but not one that
    describes the asker ("Vi är ett amerikanskt företag", "Vår stiftelse"), as "Vi är ett
    bolag i Umeå" asks nothing about Umeå."""
    found = []
    for m in _OUTSIDE_SUBJECTS.finditer(question):
        sentence = max(question.rfind(end, 0, m.start()) for end in ".?!") + 1
        if _ASKER_DESCRIBED.search(question[sentence:m.start()]):
            continue
        subject = _subject(m)
        if subject[0] in _PLACE_SUBJECTS and not _asks(question, m.end()):
            continue    # a place in a sentence that describes the situation, not what is asked
        found.append(subject)
    return found


def _asks(question: str, at: int) -> bool:
    """Return True when the sentence holding position `at` asks: it ends with "?", or it is
    the text's last sentence."""
    rest = question[at:]
    end = min((i for i in (rest.find(c) for c in ".?!") if i >= 0), default=None)
    return end is None or rest[end] == "?" or not rest[end + 1:].strip()


def _subject(found: re.Match[str]) -> tuple[str, str]:
    family = next(name for name, text in found.groupdict().items() if text is not None)
    return family, found.group()


def _analyse(text: str, industries: dict[str, re.Pattern[str]]) -> Analysis:
    situation = _situation(text, industries)
    # "Hur kan man lösa det?" asks how to deal with what was said: the report's advice.
    solution = bool(_SOLUTION.search(text))
    situational = bool(SITUATION.search(text)) or _told_first(text)
    if _COMPARISON.search(text):
        return Analysis("comparison", None, situation)
    advice_amount = bool(ADVICE_AMOUNT.search(text))
    for asks, rule in _FACT:
        if rule.search(text) and not situational and not advice_amount:
            return Analysis("fact", asks, situation)
    if _EXAMPLES.search(text) and not _BROAD.search(text):
        return Analysis("examples", None, situation)
    if situational or solution or advice_amount or _BROAD.search(text):
        return Analysis("broad", None, situation)
    if _EXAMPLES.search(text):
        return Analysis("examples", None, situation)
    if _LIST.search(text):
        return Analysis("list", None, situation)
    # A long question without a question word of its own usually describes a situation; a
    # short one asks about one thing, answered where the report says it. Treating every
    # such question as broad gave the persona set +0.008 coverage but cost the main set's
    # citation precision 0.60 -> 0.39 (points from other sections on narrow questions).
    kind: Kind = "broad" if len(words(text)) >= 14 else "fact"
    return Analysis(kind, None, situation, guessed=True)


def _told_first(text: str) -> bool:
    """Return True when the asker tells of themselves before asking ("Nästan alla våra
    intäkter kommer från kommunen idag. Är det ett problem?"): a statement in the first person
    before the last sentence, which asks. Such a question asks about the asker's situation,
    not for a fact, whatever its question word ("Är det", "Hur många"); "Skoopi nämns i
    rapporten. Vem är Skoopi?" still asks for a name."""
    sentences = split_sentences(text)
    if len(sentences) < 2 or not sentences[-1].rstrip().endswith("?"):
        return False
    return any(not s.rstrip().endswith("?") and _FIRST_PERSON.intersection(words(s))
               for s in sentences[:-1])


def _situation(text: str, industries: dict[str, re.Pattern[str]]) -> Situation:
    industry = tuple(label for label, rule in industries.items() if rule.search(text))
    place = next((m.group(1) for m in _PLACE.finditer(text)
                  if m.group(1) not in _NOT_PLACES and not m.group(1).isupper()), None)
    role = next((name for name, rule in _ROLES if rule.search(text)), None)
    size = _SIZE.search(text)
    return Situation(industry, place, role, size.group(1).lower() if size else None)

