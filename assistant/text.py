"""Base: shared text helpers, Swedish tokenisation with Snowball stemming, sentence splitting."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from functools import lru_cache

import snowballstemmer

from assistant.lexicon import pattern
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


_ABBREVIATION = pattern("text.abbreviation")
_SENTENCE_END = re.compile(r"(?<=[.!?”])\s+(?=[”\"(A-ZÅÄÖ0-9•–-])")


def split_sentences(text: str) -> list[str]:
    """Split running Swedish text into sentences, keeping abbreviations like "t.ex." intact."""
    protected = _ABBREVIATION.sub(lambda m: m.group(0).replace(".", "\x01"), text)
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


def said_in(text: str, said: AbstractSet[str]) -> bool:
    """Return True when `said` (collapsed sentences) holds the text or one of its sentences:
    a list item of several sentences is said when a guide card quoted one of them."""
    return collapse(text) in said or any(collapse(s) in said for s in split_sentences(text))


# Control characters (C0, DEL, C1), the non-characters U+FFFE/U+FFFF and lone surrogates:
# none belongs in a one-line input, a terminal or XML (python-docx refuses them).
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def strip_control(text: str) -> str:
    """Return one-line text with control characters replaced by spaces, whitespace collapsed."""
    return collapse(_CONTROL_CHARS.sub(" ", text))


# A question is English when its English function words outnumber its Swedish ones:
# counting English words alone against a quarter of the length missed "Do we get any tax
# deduction or VAT advantage in Sweden if we buy services from a social enterprise?" (3 of 19).
_ENGLISH = words_of("text.english_function_words")
_SWEDISH = words_of("text.swedish_function_words")


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


# Names, found by their capitals (every stage asks here). A capitalised word that does not open
# a sentence: a name or a place ("Koopus", "Umeå").
PROPER_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-ZÅÄÖ][\wåäöé\-]+")
# The same, a single capital letter included and after a colon too ("Koop M", "Le Mat"): the
# words of a name a question asks about, checked against the passages.
NAME_WORD = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-ZÅÄÖ][\wåäöé\-]*")
# A person's first and last name ("Anna Andersson", "Eva Berg-Lind").
PERSON_NAME = re.compile(r"\b[A-ZÅÄÖ][a-zåäöé]+ [A-ZÅÄÖ][a-zåäöé]+(?:-[A-ZÅÄÖ][a-zåäöé]+)?\b")
# A run of capitalised words joined by spaces or "och" ("Le Mat Jonsered"), wherever it stands.
NAME_PHRASE = pattern("text.name_phrase")


# Words and phrases that point back to the sentence before: at its opening ("De har avtal …",
# "Därför …"), anywhere in its first words ("mot denna bakgrund"), as an opening phrase ("Å
# andra sidan"), or as a subordinate clause with a pronoun subject ("När hon startade …").
_BACK_OPENINGS = words_of("text.back_openings")
_BACK_WORDS = words_of("text.back_words")
_BACK_PHRASE = pattern("text.back_phrase")
_BACK_CLAUSE = pattern("text.back_clause")


def refers_back(sentence: str) -> bool:
    """Return True when a sentence's opening words point back to the sentence before, so it
    does not read on its own."""
    opening = [w.lower().strip(",.:;”\"") for w in sentence.split()[:6]]
    return bool(opening) and (opening[0] in _BACK_OPENINGS
                              or any(w in _BACK_WORDS for w in opening)
                              or bool(_BACK_PHRASE.match(sentence.strip()))
                              or bool(_BACK_CLAUSE.match(sentence.strip())))


class BM25:
    """Okapi BM25 over stemmed tokens."""

    def __init__(self, docs: list[list[str]], k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b
        self.docs = [Counter(d) for d in docs]
        self.lengths = [len(d) for d in docs]
        self.avgdl = (sum(self.lengths) / len(docs)) if docs else 0.0
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5) if n else 1.0

    def idf_of(self, token: str) -> float:
        """Return a token's idf; unseen tokens get the highest possible idf."""
        return self.idf.get(token, self.max_idf)

    def scores(self, query: list[str]) -> list[float]:
        """Return the BM25 score of every document for the query tokens."""
        out = []
        terms = [t for t in dict.fromkeys(query) if t in self.idf]
        for doc, length in zip(self.docs, self.lengths, strict=True):
            score = 0.0
            for t in terms:
                tf = doc.get(t, 0)
                if tf:
                    norm = tf + self.k1 * (1 - self.b + self.b * length / (self.avgdl or 1))
                    score += self.idf[t] * tf * (self.k1 + 1) / norm
            out.append(score)
        return out
