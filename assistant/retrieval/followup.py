"""Retrieval: follow-up questions -> standalone questions, without a language model.

An elliptical follow-up ("Och hur började det samarbetet?", "Finns det fler exempel?") gets the
topic of the previous turns carried into it, in parentheses: the previous question (and the
questions before it, while those were follow-ups too, so a topic survives a chain of
follow-ups), plus the names the last answer mentioned when the questions name nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from assistant.lexicon import pattern
from assistant.lexicon import words as words_of
from assistant.prompts import GUIDE_HEADING
from assistant.text import (
    NAME_PHRASE,
    STOPWORDS,
    collapse,
    is_english,
    split_sentences,
    stem,
    words,
)

# How an answer that leads with a guide card begins ("Vägledning: " and the card's title).
_HEADING = GUIDE_HEADING.split("{", 1)[0]
# Words that make a question lean on what was said before.
_ANAPHORA = words_of("followup.anaphora")
_NAME = NAME_PHRASE
_MARKER = re.compile(r"\s*\[\d+\]")
# Where a sentence starts: also after a bullet and an opening quote or bracket ("- ”Samarbetet").
# A sentence starts after its predecessor's end, a closing quote and citation marks included
# ('… göra.” [1] Flera av …').
_SENTENCE_START = re.compile(
    r"(?:^|[.!?:;][”\"’)]*(?:\s*\[\d+\])*\s+|\n\s*(?:[-*•]\s+)?)[”\"“'(\[]*$")
# Names too common in this corpus to point at anything, lower-cased (compared in any case).
_GENERIC_NAMES = (frozenset(n.lower() for n in words_of("generic_names") | words_of("study_names"))
                  | words_of("followup.generic_name_forms"))


_JOINED = re.compile(r"\s+(?:och|and|&)\s+")


def _generic(name: str) -> bool:
    """Return True for a name too common to point at anything, in any case form ("Swecos",
    "Tillväxtverkets" are the genitives)."""
    lowered = name.lower()
    parts = _JOINED.split(lowered)
    if len(parts) > 1:
        # Common names joined ("Tillväxtverket och Sweco") are as common: read as one name,
        # the study's authors became the subject of "var hölls de?".
        return all(map(_generic, parts))
    if "-" in lowered and " " not in lowered:
        # A compound of a common name ("ASF-personalen", "Sweco-rapporten") is as common.
        lowered = lowered.split("-", 1)[0]
    return lowered in _GENERIC_NAMES or lowered.removesuffix("s") in _GENERIC_NAMES


# Words that point back to something said ("Hur kan man lösa det?", "Varför då?").
_POINTERS = words_of("followup.pointers")
_WEAK_POINTERS = words_of("followup.weak_pointers")

# "Gäller det även …?", "Is that also true for …?": the previous topic, extended.
_EXTENDS = words_of("followup.extends")

_EXISTENTIAL = words_of("followup.existential")
_EXISTENTIAL_SUBJECTS = words_of("followup.existential_subjects")

MAX_CONTEXT_TURNS = 3       # the previous question and at most two before it
MAX_CONTEXT_CHARS = 600
MAX_ANSWER_NAMES = 3


def _last_answer(history: Sequence[dict | str]) -> str:
    """Return the assistant's last answer in the conversation ("" when there is none)."""
    return next((text for role, text in reversed(turns(history)) if role == "assistant"), "")


def turns(history: Sequence[dict | str]) -> list[tuple[str, str]]:
    """Return (role, text) for every non-empty turn; plain strings are user turns."""
    out = []
    for turn in history:
        if isinstance(turn, str):
            role, text = "user", turn
        elif isinstance(turn, dict):
            role, text = str(turn.get("role", "user")), str(turn.get("content", ""))
        else:
            continue
        if text.strip():
            out.append((role, text.strip()))
    return out


def names(text: str) -> list[str]:
    """Return the capitalised names of a text, leaving out sentence-initial words."""
    found: list[str] = []
    for m in _NAME.finditer(text):
        name = m.group(0)
        if _SENTENCE_START.search(text[: m.start()]):
            # A sentence's first word is capitalised anyway ("Det", "Samarbetet"), also as
            # the first of several ("Flera ASF", "Ett ASF"; "Le Mat Jonsered" stays a name).
            rest = name.partition(" ")[2]
            if not rest or _generic(rest) or rest.lower() in STOPWORDS:
                continue
        if name and not _generic(name) and name.lower() not in STOPWORDS \
                and name not in found:
            found.append(name)
    return found


def needs_context(question: str, *, in_chain: bool = False) -> bool:
    """Return True when a question is short or leans on earlier turns.

    A short question that names its own subject ("Vad gör Koopus?") stands on its own, and so
    does "Finns det trender som talar för ASF just nu?": its "det" introduces what it asks
    about. Read as leaning, it got the previous question carried in and was answered on that
    question's subject.

    in_chain: whether an earlier question of the conversation carries the topic before it on.
    There a "Finns det …" asked within the topic ("Finns det något företag i rapporten som
    bara städar kontor?" after a question on specialising) does: stopping at it, the next
    follow-up ("Och vilka nackdelar kan det ge?") lost the specialising (measured: one held-out
    conversation 0.75 -> 0.0).
    """
    if _names_something(question):
        return False
    ws = words(question)
    return len(_content(ws)) <= 2 or any(
        w in _ANAPHORA and (in_chain or not _existential(ws, i)) for i, w in enumerate(ws))


def leans_on_context(question: str) -> bool:
    """Return True when a follow-up needs the conversation: as a whole (`needs_context`), or
    in one of its questions that says too little alone ("Vad borde vi göra? Ska vi lägga
    pengar på annonser?" after a turn on having too few customers: the first asks about
    that)."""
    asked = _questions(split_sentences(question))
    return needs_context(question) or len(asked) > 1 and any(map(needs_context, asked))


def _questions(sentences: list[str]) -> list[str]:
    """Return the sentences that end with a question mark."""
    return [s for s in sentences if s.rstrip().endswith("?")]


def asking_sentence(question: str) -> str | None:
    """Return the sentence a question of several sentences asks in ("Vi är ett logistikföretag
    i Jönköping. Vad ska vi tänka på innan vi skriver avtal?" -> the second), or None when it
    has one sentence or its asking sentence has too few words of its own to be searched alone
    ("… Hur gör vi?"), as `needs_context` counts them. A pointer back ("fler", "företagen")
    does not disqualify it: the whole question is matched too.

    The last sentence with a question mark asks; without one, the last sentence does.
    """
    if len(split_sentences(question)) < 2:
        return None
    asked = asked_in(question)
    return asked if len(_content(words(asked))) > 2 else None


def _names_something(question: str) -> bool:
    """Return True when a question names a subject of its own ("Vad gör Koopus?"); a
    sentence's capitalised first word is none ("Okej. Och vad brukar de klaga på?")."""
    return bool(names(question))


def _content(ws: list[str]) -> list[str]:
    """Return the words that say what a question is about (no stopwords, no pointers)."""
    return [w for w in ws if w not in STOPWORDS and w not in _ANAPHORA]


def dangling(question: str) -> str | None:
    """Return the word a question points back with when it names nothing else to ask about
    ("Hur kan man lösa det?" -> "det"), or None when it stands on its own."""
    ws = words(question)
    pointer = _pointer(ws)
    if pointer is None or _names_something(question):
        return None
    return pointer if len(_content(ws)) <= (0 if pointer in _WEAK_POINTERS else 1) else None


def _pointer(ws: list[str]) -> str | None:
    """Return the first word that points back ("det", "de", "them"), or None."""
    # "Finns det …" introduces what it asks about ("Finns det exempel från
    # fastighetsbranschen?"); it does not point back.
    return next((w for i, w in enumerate(ws) if w in _POINTERS and not _existential(ws, i)),
                None)


def _existential(ws: list[str], i: int) -> bool:
    """Return True when word i is the placeholder subject of "Finns det …", "Is there …"."""
    return ws[i] in _EXISTENTIAL_SUBJECTS and i > 0 and ws[i - 1] in _EXISTENTIAL


def context(history: Sequence[dict | str]) -> str:
    """Return the topic of the conversation so far, as carried into a follow-up."""
    past = turns(history)
    questions = [text for role, text in past if role == "user"]
    if not questions:
        return ""
    chain = [questions[-1]]
    for earlier in reversed(questions[:-1]):
        if len(chain) >= MAX_CONTEXT_TURNS or not needs_context(chain[0], in_chain=True):
            break
        chain.insert(0, earlier)
    topic = " ".join(collapse(q) for q in chain)
    if not any(names(q) for q in chain):
        answers = [text for role, text in past if role == "assistant"]
        if answers:
            extra: list[str] = []
            for name in names(_MARKER.sub("", answers[-1])):
                # Not again, nor as a part of one already taken ("Jonsered" of "Le Mat
                # Jonsered").
                if name not in topic and not any(name in taken for taken in extra):
                    extra.append(name)
            if extra:
                topic += " " + ", ".join(extra[:MAX_ANSWER_NAMES])
    if len(topic) > MAX_CONTEXT_CHARS:
        topic = topic[-MAX_CONTEXT_CHARS:].split(" ", 1)[-1]
    return topic


def extends(question: str) -> bool:
    """Return True when a follow-up asks whether the topic extends to something ("Gäller det
    även små företag?", "Is that also true for small firms?")."""
    return bool(set(words(question)) & _EXTENDS)


def in_role(question: str, role_context: str) -> str:
    """Return a question read in the asker's role: the role's context in parentheses, like a
    follow-up's topic ("Hur kommer vi igång? (som företag som vill köpa …)")."""
    return f"{question} ({role_context})"


def search_text(question: str, standalone: str) -> str:
    """Return what retrieval searches with for a question made standalone: a follow-up that
    asks about an aspect of its own counts twice, the topic carried in once.

    The topic is the previous questions, often longer than the follow-up, and it outweighed
    what is asked now ("och hur får vi samarbetet att hålla i längden?" after a property
    company's question on examples got the examples' passages again). A follow-up that asks
    whether the topic extends to something ("Gäller det även små företag?") or names no aspect
    of its own ("Och de stora?") is about the topic: doubled, "små företag" found Le Mat
    Jonsered's "små lokala företag" instead of what the report says of small companies'
    drivers. A standalone question a language model wrote is searched as it is.
    """
    return f"{question} {standalone}" if asks_own_aspect(question, standalone) else standalone


def asks_own_aspect(question: str, standalone: str) -> bool:
    """Return True when a follow-up made standalone with the topic in parentheses asks about
    an aspect of its own (see `search_text`), not whether the topic extends to something."""
    ws = words(question)
    return (standalone.startswith(f"{question} (") and not extends(question)
            and len(_content(ws)) > 1)


# A follow-up that asks the previous question again of something else ("Och i Vadstena?",
# "Men Koopus?", "What about Västerås?").
_ELLIPSIS = pattern("followup.ellipsis")
_ELLIPSIS_WORDS = 5
# Pronouns that stand for a named subject ("Vilka samarbetar de med?"), and the genitive ones.
_SUBJECT_PRONOUNS = words_of("followup.subject_pronouns")
_GENITIVE_PRONOUNS = words_of("followup.genitive_pronouns")
# "de" right after these is an article ("Och de stora?"), not a pronoun.
_BEFORE_ARTICLE = words_of("followup.before_article")
# A name right after these is a place, not a subject a pronoun could stand for ("… utanför
# Göteborg. Hur gick det till när de fick sina första kunder?").
_PLACE_BEFORE = pattern("followup.place_before")
# Places too wide to be a subject ("… in the south of Sweden. What do they sell?").
_BROAD_PLACES = words_of("question.broad_places")
_WORD = re.compile(r"[\wåäöÅÄÖé:\-]+")


def rewrite(question: str, history: Sequence[dict | str], substitute: bool = True,
            cases: Collection[str] = ()) -> str:
    """Return the follow-up as a question of its own, when it needs the conversation.

    Two forms are made standalone by substitution: an elliptical question that names a new
    subject takes the previous question's frame ("Vilka deltog i träffen i Västerås?" then
    "Och i Vadstena?" -> "Vilka deltog i träffen i Vadstena?"), and a pronoun that stands for
    the previous question's named subject is replaced by the name ("Vad gör Le Mat
    Jonsered?" then "Vilka samarbetar de med?" -> "Vilka samarbetar Le Mat Jonsered med?").
    Any other follow-up gets the previous turns' topic carried in, in parentheses. When the
    previous question names no subject, the pronoun stands for the case (one of `cases`, the
    catalog's names) the last answer's guide card was about (`answered_subject`).
    """
    question = question.strip()
    pointed = pointed_sentence(question, history)
    if pointed:
        return f"{question} ({pointed})"
    previous = _previous_question(history) if substitute else ""
    if previous:
        framed = (_reframe(question, previous)
                  or _resolve_pronoun(question, previous, answered_subject(history, cases)))
        if framed:
            return framed
    if not leans_on_context(question):
        return question
    topic = context(history)
    return f"{question} ({topic})" if topic else question


# "Kan du utveckla det där om integration?": asks for more of what the last answer said.
_ELABORATE = pattern("followup.elaborate")


def elaborates(question: str) -> bool:
    """Return True when a question asks to hear more ("Kan du utveckla det?")."""
    return bool(_ELABORATE.search(question))


def pointed_sentence(question: str, history: Sequence[dict | str]) -> str | None:
    """Return the sentence of the last answer a follow-up asks to hear more of ("Kan du utveckla
    det där om integrationen?": the one that shares most of its other words, by stem),
    or None when it asks for no such thing or no sentence shares a word.

    Carried the previous question instead, "utveckla" found the cards on developing an ASF's
    business, not the trend the user pointed at (eval/followups.yaml 0.646 -> 0.679 with the
    passage requoted, see `Request.exclude`; no other set has such a follow-up).
    """
    if not elaborates(question):
        return None
    wanted = {stem(w) for w in _content(words(_ELABORATE.sub(" ", question)))}
    last = _last_answer(history)
    if not wanted or not last:
        return None
    sentences = [s for line in _MARKER.sub("", last).split("\n")
                 if not line.startswith(_HEADING)
                 for s in split_sentences(line.strip().lstrip("-* ").strip())]
    shared = [(len(wanted & {stem(w) for w in words(s)}), -i) for i, s in enumerate(sentences)]
    best = max(range(len(sentences)), key=lambda i: shared[i], default=None)
    return collapse(sentences[best]) if best is not None and shared[best][0] else None


def asked_in(question: str) -> str:
    """Return the sentence a question asks in: its last with a question mark, else its last
    (`asking_sentence` only when it says enough to be searched alone)."""
    sentences = split_sentences(question)
    asked = _questions(sentences) or sentences
    return asked[-1] if asked else ""


def _previous_question(history: Sequence[dict | str], depth: int = MAX_CONTEXT_TURNS) -> str:
    """Return the previous question, itself made standalone by substitution when it was a
    follow-up ("Vad gör Koopus?", "Var ligger de?", then "Hur fick de sin första kund?")."""
    past = turns(history)
    last = max((i for i, (role, _) in enumerate(past) if role == "user"), default=None)
    if last is None:
        return ""
    question = collapse(past[last][1])
    if depth > 1:
        before = _previous_question([{"role": r, "content": t} for r, t in past[:last]],
                                    depth - 1)
        if before:
            question = _reframe(question, before) or _resolve_pronoun(question, before) \
                or question
    return question


def _reframe(question: str, previous: str) -> str | None:
    """Return the previous question with its named subject replaced by the one this
    elliptical follow-up names, or None when the follow-up is not of that form."""
    if not _ELLIPSIS.match(question) or len(words(question)) > _ELLIPSIS_WORDS:
        return None
    new, old = names(question), names(previous)
    if not new or not old or new[0] in old:
        return None
    return previous.replace(old[-1], new[0], 1) if old[-1] in previous else None


def _pronoun(question: str) -> re.Match[str] | None:
    """Return the first pronoun that stands for a subject ("de", "deras", "they"), or None;
    "de" as an article ("Och de stora?", "med de långa avtalen") is none."""
    tokens = list(_WORD.finditer(question))
    for i, m in enumerate(tokens):
        word = m.group(0).lower()
        if word in _GENITIVE_PRONOUNS or (word in _SUBJECT_PRONOUNS and i and tokens[i - 1]
                                          .group(0).lower() not in _BEFORE_ARTICLE):
            return m
    return None


def _subject(text: str) -> str | None:
    """Return the first name in a text that can be a subject: not a broad place, nor a place
    after a preposition ("… utanför Göteborg")."""
    return next((n for n in names(text) if n not in _BROAD_PLACES
                 and not _PLACE_BEFORE.search(text[:text.find(n)])), None)


def answered_subject(history: Sequence[dict | str], cases: Collection[str]) -> str | None:
    """Return the case the last answer was about, when it led with a guide card whose title
    names one of the `cases` ("Vad är Le Mat Jonsered och hur fick de sina kunder?"), else
    None.

    "Vi vill starta ett ASF som driver ett hotell. Finns det något liknande exempel?" names no
    subject, its answer does: without it, "Hur har de fått tag på sina kunder?" was carried
    the first question's words and answered on telling customers that one is a social
    enterprise. Only a card's title: an answer's first sentence names places and the study's
    authors as often as its subject ("… tre nätverksträffar i Rinkeby, Västerås och
    Vadstena"); and only a case: a topic card's title names partners and concepts ("Vilka gör
    ASF affärer med – företag, kommuner och Arbetsförmedlingen?", "… CSR …").
    """
    last = _last_answer(history)
    first = last.split("\n", 1)[0]
    if not first.startswith(_HEADING):
        return None
    known = [c.lower() for c in cases]
    return next((n for n in names(first.removeprefix(_HEADING))
                 if any(n.lower() in c or c in n.lower() for c in known)), None)


def _resolve_pronoun(question: str, previous: str, answered: str | None = None) -> str | None:
    """Return the follow-up with its pronoun replaced by the previous question's named
    subject (or, when that names none, by the subject the last answer was `answered` about),
    or None when it names a subject of its own or has no such pronoun."""
    if _names_something(question):
        return None
    subject = _subject(previous) or answered
    if subject is None:
        return None
    m = _pronoun(question)
    if m is None:
        return None
    if m.group(0).lower() in _GENITIVE_PRONOUNS:
        if is_english(question):
            genitive = f"{subject}'s"
        else:
            genitive = subject if subject.endswith(("s", "x", "z")) else f"{subject}s"
        return question[:m.start()] + genitive + question[m.end():]
    return question[:m.start()] + subject + question[m.end():]
