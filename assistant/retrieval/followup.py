"""Retrieval: follow-up questions -> standalone questions, without a language model.

An elliptical follow-up ("Och hur började det samarbetet?", "Finns det fler exempel?") gets the
topic of the previous turns carried into it, in parentheses: the previous question (and the
questions before it, while those were follow-ups too, so a topic survives a chain of
follow-ups), plus the names the last answer mentioned when the questions name nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.text import STOPWORDS, collapse, words

# Words that make a question lean on what was said before.
_ANAPHORA = frozenset(
    """det den de dem dess deras detta dessa där dit samarbetet företaget företagen exemplet
    exempel fler mer mera också även sen sedan då och it they them their that this those there
    he she his her its more also""".split())
_NAME = re.compile(r"\b[A-ZÅÄÖ][\wåäöÅÄÖé\-]*(?:\s+(?:och\s+)?[A-ZÅÄÖ][\wåäöÅÄÖé\-]*)*")
_MARKER = re.compile(r"\s*\[\d+\]")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*(?:[-*•]\s+)?)$")
# Names too common in this corpus to point at anything.
_GENERIC_NAMES = frozenset({"asf", "asf:et", "asf:s", "sweco", "tillväxtverket"})


def _generic(name: str) -> bool:
    """Return True for a name too common to point at anything, in any case form ("Swecos",
    "Tillväxtverkets" are the genitives)."""
    lowered = name.lower()
    return lowered in _GENERIC_NAMES or lowered.removesuffix("s") in _GENERIC_NAMES


# Words that point back to something said ("Hur kan man lösa det?", "Varför då?").
_POINTERS = frozenset("""det den de dem detta dessa deras dess där då it they them that this
    those their there""".split())

# "Gäller det även …?", "Is that also true for …?": the previous topic, extended.
_EXTENDS = frozenset("även också samma also too same".split())

_EXISTENTIAL = frozenset("finns fanns förekommer is are was were".split())

MAX_CONTEXT_TURNS = 3       # the previous question and at most two before it
MAX_CONTEXT_CHARS = 600
MAX_ANSWER_NAMES = 3


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
        if " " not in name and _SENTENCE_START.search(text[: m.start()]):
            continue    # a sentence's first word is capitalised anyway ("Det", "Samarbetet")
        if name and not _generic(name) and name.lower() not in STOPWORDS \
                and name not in found:
            found.append(name)
    return found


def needs_context(question: str) -> bool:
    """Return True when a question is short or leans on earlier turns.

    A short question that names its own subject ("Vad gör Koopus?") stands on its own.
    """
    if _names_something(question):
        return False
    ws = words(question)
    return len(_content(ws)) <= 2 or bool(set(ws) & _ANAPHORA)


def _names_something(question: str) -> bool:
    """Return True when a question names a subject of its own ("Vad gör Koopus?")."""
    return any(m.start() > 0 and not _generic(m.group(0)) for m in _NAME.finditer(question))


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
    return pointer if len(_content(ws)) <= 1 else None


def _pointer(ws: list[str]) -> str | None:
    """Return the first word that points back ("det", "de", "them"), or None."""
    # "Finns det …" introduces what it asks about ("Finns det exempel från
    # fastighetsbranschen?"); it does not point back.
    return next((w for i, w in enumerate(ws) if w in _POINTERS and not (
        w in {"det", "there"} and i and ws[i - 1] in _EXISTENTIAL)), None)


def context(history: Sequence[dict | str]) -> str:
    """Return the topic of the conversation so far, as carried into a follow-up."""
    past = turns(history)
    questions = [text for role, text in past if role == "user"]
    if not questions:
        return ""
    chain = [questions[-1]]
    for earlier in reversed(questions[:-1]):
        if len(chain) >= MAX_CONTEXT_TURNS or not needs_context(chain[0]):
            break
        chain.insert(0, earlier)
    topic = " ".join(collapse(q) for q in chain)
    if not any(names(q) for q in chain):
        answers = [text for role, text in past if role == "assistant"]
        if answers:
            extra = [n for n in names(_MARKER.sub("", answers[-1])) if n not in topic]
            if extra:
                topic += " " + ", ".join(extra[:MAX_ANSWER_NAMES])
    if len(topic) > MAX_CONTEXT_CHARS:
        topic = topic[-MAX_CONTEXT_CHARS:].split(" ", 1)[-1]
    return topic


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
    ws = words(question)
    if (not standalone.startswith(f"{question} (") or set(ws) & _EXTENDS
            or len(_content(ws)) <= 1):
        return standalone
    return f"{question} {standalone}"


def rewrite(question: str, history: Sequence[dict | str]) -> str:
    """Return the question with the previous turns' topic carried in, when it needs one."""
    question = question.strip()
    if not needs_context(question):
        return question
    topic = context(history)
    return f"{question} ({topic})" if topic else question
