"""Base: shared text helpers, Swedish tokenisation with Snowball stemming, sentence splitting."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from functools import lru_cache

import snowballstemmer

from assistant.lexicon import words as words_of

# Words keep å, ä, ö, é and inner hyphens/colons ("ASF:et", "IT-konsult"); digits count as words.
_WORD = re.compile(r"[0-9a-zåäöéüæø]+(?:[:\-][0-9a-zåäöéüæø]+)*", re.IGNORECASE)

# Swedish and English function words that carry no topic.
STOPWORDS = words_of("stopwords")

# Snowball stemmer objects keep state while stemming: one per thread.
_local = threading.local()


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Return the Swedish Snowball stem of a lower-cased word."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("swedish")
    return stemmer.stemWord(word)


def words(text: str) -> list[str]:
    """Return the lower-cased words of a text, keeping å, ä and ö."""
    return [w.lower() for w in _WORD.findall(text)]


def tokens(text: str) -> list[str]:
    """Return stemmed content tokens (stopwords removed) for lexical matching."""
    out = []
    for word in words(text):
        # "ASF:et", "ASF:s" and "ASF:en" all mean ASF.
        word = word.split(":", 1)[0] if ":" in word else word
        if word in STOPWORDS or len(word) < 2 and not word.isdigit():
            continue
        out.append(stem(word))
    return out


def coverage(words_asked: AbstractSet[str], words_there: AbstractSet[str],
             idf: Callable[[str], float]) -> float:
    """Return the idf-weighted share of the asked words (stems) that a text contains."""
    total = sum(idf(t) for t in words_asked)
    return sum(idf(t) for t in words_asked & words_there) / total if total else 0.0


_ABBREVIATIONS = ("t.ex.", "bl.a.", "m.m.", "mm.", "etc.", "dvs.", "s.k.", "resp.", "ca.", "tex.")
_SENTENCE_END = re.compile(r"(?<=[.!?”])\s+(?=[”\"(A-ZÅÄÖ0-9•–-])")


def split_sentences(text: str) -> list[str]:
    """Split running Swedish text into sentences, keeping abbreviations like "t.ex." intact."""
    protected = text
    for abbr in _ABBREVIATIONS:
        protected = re.sub(re.escape(abbr) + r"(?=\s)", lambda m: m.group(0).replace(".", "\x01"),
                           protected, flags=re.IGNORECASE)
    return [part.replace("\x01", ".").strip()
            for part in _SENTENCE_END.split(protected) if part.strip()]


def cut_long(text: str, limit: int) -> list[str]:
    """Cut a text longer than `limit` into pieces of at most `limit` characters.

    Each cut falls at the last whitespace before the limit (in its second half, so pieces
    stay substantial), or hard at the limit when there is none (a 200,000-character line
    without spaces). Text within the limit is returned whole.
    """
    pieces: list[str] = []
    text = text.strip()
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit + 1)
        if cut <= 0:
            cut = max((text.rfind(c, limit // 2, limit + 1) for c in "\n\t"), default=-1)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def collapse(text: str) -> str:
    """Return text with every run of whitespace turned into one space."""
    return re.sub(r"\s+", " ", text).strip()


# Control characters (C0, DEL, C1), the non-characters U+FFFE/U+FFFF and lone surrogates:
# none belongs in a one-line input, a terminal or XML (python-docx refuses them).
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def strip_control(text: str) -> str:
    """Return one-line text with control characters replaced by spaces, whitespace collapsed."""
    return collapse(_CONTROL_CHARS.sub(" ", text))


# Function words of each language ("i", "in", "man" and "var" are both, so neither list has
# them). A question is English when its English function words outnumber its Swedish ones:
# counting English words alone against a quarter of the length missed "Do we get any tax
# deduction or VAT advantage in Sweden if we buy services from a social enterprise?" (3 of 19).
_ENGLISH = frozenset("""the a an what which who whom how why does do did is are was were been
    can could should would will shall must of and or for with their they them our we you your
    my me us if to from on at by not this that these those there any some get want have has
    had about as it its into than""".split())
_SWEDISH = frozenset("""och att det som en ett är vi jag på för med av till hur vad vilka vilket
    vilken kan ska bör har inte de den om från vår våra vårt mitt min sig så när eller hos
    oss ni dem deras också men""".split())


def is_english(question: str) -> bool:
    """Return True when a question reads as English rather than Swedish."""
    ws = words(question)
    english = sum(w in _ENGLISH for w in ws)
    return english > 0 and english > sum(w in _SWEDISH for w in ws)


def is_fragment(text: str) -> bool:
    """Return True for a piece of an interviewee's quote cut by sentence splitting (an odd
    number of quotation marks: "Matchning mellan vad de kan och vi behöver.”"), which does
    not read on its own."""
    return (text.count("”") + text.count('"') + text.count("“")) % 2 == 1


def inside_quotation(passage: str, sentence: str) -> bool:
    """Return True for a sentence in the middle of an interviewee's quotation: its paragraph
    has an unclosed quotation mark before it ("”Man skulle kunna … Men jag är lite kluven
    till det.”" has "Men jag är lite kluven till det." inside), so it does not read alone."""
    at = passage.find(sentence)
    if at <= 0:
        return False
    before = passage[passage.rfind("\n", 0, at) + 1:at]
    return (before.count("”") + before.count('"') + before.count("“")) % 2 == 1


# A capitalised word that does not open a sentence: a name or a place ("Koopus", "Umeå").
PROPER_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-ZÅÄÖ][\wåäöé\-]+")


# Words that open a sentence by pointing back to the one before ("De har avtal …", "Därför …").
# ("Det"/"Den" open a sentence as often as a subject placeholder, "Det råder delade meningar",
# as they point back, so they do not count.)
_BACK_OPENINGS = frozenset("""de dessa detta denna där därför dessutom dock han hon hen deras
    dess they these this it asf:et asf:ets företaget företagets orten träffen""".split())
# Words that point back from anywhere in a sentence's opening ("mot denna bakgrund", "Ett bra
# exempel på det förstnämnda är …").
_BACK_WORDS = frozenset("denna dessa detta förstnämnda sistnämnda ovannämnda ovanstående".split())
_BACK_PHRASE = re.compile(r"^(att (de|dessa)|(det|den|de) (senare|förra)\b|å andra sidan|däremot|"
                          r"av (den|denna) anledning(en)?|av det skälet|"
                          r"på så sätt|i och med (det|detta))\b", re.IGNORECASE)
# A subordinate clause whose subject is "de"/"han"/"hon" ("Genom att de köper …", "När hon
# startade …"): the pronoun names someone in the sentence before. "de" followed by an
# adjective is an article ("När de stora företagen …"), so a verb must follow: a present
# tense in -r or a common auxiliary or past form.
_BACK_CLAUSE = re.compile(
    r"^(genom att|för att|eftersom|efter att|när|då|om|sedan|innan|trots att|medan)\s+"
    r"(de|han|hon|hen)\s+(\w+r|kan|ska|skulle|vill|ville|måste|bör|borde|fick|fått|hade|var|"
    r"blev|kunde|såg|tog|gick|gjorde|började|startade|köpte|anlitade)\b", re.IGNORECASE)


def refers_back(sentence: str) -> bool:
    """Return True when a sentence's opening words point back to the sentence before, so it
    does not read on its own."""
    opening = [w.lower().strip(",.:;”\"") for w in sentence.split()[:6]]
    return bool(opening) and (opening[0] in _BACK_OPENINGS
                              or any(w in _BACK_WORDS for w in opening)
                              or bool(_BACK_PHRASE.match(sentence.strip()))
                              or bool(_BACK_CLAUSE.match(sentence.strip())))
