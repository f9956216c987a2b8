"""Answering: grounding check, is a model's sentence supported by the passages it cites?

A citation only says where a claim is meant to come from; this checks that the cited text
says it. Three signals, each cheap:

- numbers: every number in the sentence (digits, percentages, Swedish number words) occurs
  in the cited passages; an invented figure fails whatever else the sentence shares;
- lexical: the idf-weighted share of the sentence's content tokens (stems) found in the
  cited passages, so a rare word the passages lack weighs most;
- semantic: the cosine between the sentence and the most similar sentence of the cited
  passages, with the assistant's own embedding model.

A sentence needs at least `min_tokens` distinct content tokens to be a claim at all: a bare
word echoed from a passage ("HACKED") is not an answer. The thresholds were set on the
labelled set eval/grounding.yaml (see `python -m eval.grounding`).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.ingest.chunking import split_units
from assistant.text import tokens, words

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

# "[2]", "[1, 3]", "[1][3]" and "[avsnitt 2]" all cite (the group holds the numbers); anything
# else in brackets is left alone. Markers are not part of a claim's numbers.
CITATION_MARKER = re.compile(
    r"\[\s*(?:avsnitt\s*)?(\d{1,3}(?:\s*[,;]\s*(?:avsnitt\s*)?\d{1,3})*)\s*\]", re.IGNORECASE)
# "45", "1,5", "2018", "10 000" (a space or no-break space between thousands).
_NUMBER = re.compile(r"(?<![\w,.])\d{1,3}(?:[ \u00a0]\d{3})+(?![\d])|\d+(?:[.,]\d+)?")
# Swedish number words as digits; "en"/"ett" are articles far more often than numbers.
NUMBER_WORDS = {
    "två": "2", "tre": "3", "fyra": "4", "fem": "5", "sex": "6", "sju": "7", "åtta": "8",
    "nio": "9", "tio": "10", "elva": "11", "tolv": "12", "tretton": "13", "fjorton": "14",
    "femton": "15", "sexton": "16", "sjutton": "17", "arton": "18", "nitton": "19",
    "tjugo": "20", "trettio": "30", "fyrtio": "40", "femtio": "50", "sextio": "60",
    "sjuttio": "70", "åttio": "80", "nittio": "90", "hundra": "100", "tusen": "1000",
    "hälften": "50", "dubbelt": "2",
}
# Stems this long or longer also match inside a compound ("samverkan" in
# "samverkansaktörerna"); shorter ones would match by accident.
_MIN_COMPOUND = 5
_CACHE_LIMIT = 20_000


@dataclass(frozen=True)
class Thresholds:
    """When a sentence counts as supported.

    Set by `python -m eval.grounding` on eval/grounding.yaml (100 sentences, half supported):
    the search minimising 2 x false accepts + false rejects chose these, at 2 % false accepts
    and 10 % false rejects on the set (10 % and 12 % on held-out passages, see
    eval/grounding_report.md). Supported sentences have a median lexical share of 1.00 and
    cosine of 0.78; unsupported ones 0.31 and 0.62, so the lexical share separates best and
    the cosine catches the fabrications built from a passage's own words.
    """

    min_tokens: int = 3        # distinct content tokens for a sentence to be a claim
    lexical: float = 0.70      # idf-weighted share of the sentence's tokens in the passages
    semantic: float = 0.50     # cosine to the most similar passage sentence


@dataclass(frozen=True)
class Support:
    """The grounding signals of one sentence against the passages it cites."""

    tokens: int
    numbers_ok: bool
    lexical: float
    semantic: float
    missing_numbers: tuple[str, ...] = ()

    def passes(self, limits: Thresholds) -> bool:
        """Return True when the sentence is a claim the passages support."""
        return (self.tokens >= limits.min_tokens and self.numbers_ok
                and self.lexical >= limits.lexical and self.semantic >= limits.semantic)


def numbers(text: str) -> set[str]:
    """Return the numbers a text states, normalised ("10 000" -> "10000", "1,5" -> "1.5")."""
    text = CITATION_MARKER.sub(" ", text)
    found = {re.sub(r"[ \u00a0]", "", n).replace(",", ".") for n in _NUMBER.findall(text)}
    found |= {NUMBER_WORDS[w] for w in words(text) if w in NUMBER_WORDS}
    return found


def _passage_numbers(text: str) -> set[str]:
    # A passage's "1 000" may also be read as "1" and "000" by a looser reader: keep both.
    return numbers(text) | set(re.findall(r"\d+", CITATION_MARKER.sub(" ", text)))


def lexical_support(sentence_tokens: set[str], passage_tokens: set[str],
                    idf: Callable[[str], float]) -> float:
    """Return the idf-weighted share of the sentence's tokens that the passages contain."""
    total = sum(idf(t) for t in sentence_tokens)
    if not total:
        return 0.0
    long_passage = [p for p in passage_tokens if len(p) >= _MIN_COMPOUND]
    found = 0.0
    for t in sentence_tokens:
        if t in passage_tokens or len(t) >= _MIN_COMPOUND and any(
                t in p or p in t for p in long_passage):
            found += idf(t)
    return found / total


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def passage_sentences(text: str) -> list[str]:
    """Return the sentences and list items of a passage, as the index embeds them."""
    return [u.text for u in split_units(text) if u.text.strip()]


class Grounder:
    """Score sentences against cited passages; embeddings are cached by text.

    `embeddings` may be None (lexical and number checks only, for callers without a model).
    """

    def __init__(self, embeddings: Embeddings | None, idf: Callable[[str], float] | None = None,
                 thresholds: Thresholds | None = None):
        self.embeddings = embeddings
        self.idf = idf or (lambda token: 1.0)
        self.thresholds = thresholds or Thresholds()
        self._vectors: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def prime(self, vectors: Iterable[tuple[str, list[float]]]) -> None:
        """Add known sentence vectors (the index's stored ones) to the cache."""
        with self._lock:
            if len(self._vectors) > _CACHE_LIMIT:
                self._vectors.clear()
            for text, vector in vectors:
                self._vectors.setdefault(text, vector)

    def vectors(self, texts: Sequence[str]) -> list[list[float]]:
        """Return the document embeddings of texts, embedding only those not cached."""
        assert self.embeddings is not None
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self.prime(zip(missing, self.embeddings.embed_documents(missing), strict=True))
        with self._lock:
            cached = [self._vectors.get(t) for t in texts]
        found = [v for v in cached if v is not None]
        # A cache cleared between the two steps (another thread) embeds again.
        if len(found) < len(cached):
            return self.embeddings.embed_documents(list(texts))
        return found

    def semantic_support(self, sentence: str, passages: Sequence[str]) -> float:
        """Return the highest cosine between the sentence and a sentence of the passages."""
        if self.embeddings is None:
            return 1.0           # no model: the lexical and number checks decide alone
        units = [u for p in passages for u in passage_sentences(p)]
        if not units:
            return 0.0
        vectors = self.vectors([sentence, *units])
        return max(_cosine(vectors[0], v) for v in vectors[1:])

    def support(self, sentence: str, passages: Sequence[str], *, every_signal: bool = False
                ) -> Support:
        """Return the grounding signals of a sentence against the passages it cites.

        every_signal: also embed a sentence that already failed (the eval measures all).
        """
        claim = CITATION_MARKER.sub(" ", sentence).strip()
        own = set(tokens(claim))
        there = {t for p in passages for t in tokens(p)}
        stated = numbers(claim)
        given = {n for p in passages for n in _passage_numbers(p)}
        missing = tuple(sorted(stated - given))
        lexical = lexical_support(own, there, self.idf)
        # The embedding is the slow signal: skip it when the sentence already fails.
        cheap_pass = (len(own) >= self.thresholds.min_tokens and not missing
                      and lexical >= self.thresholds.lexical)
        semantic = (self.semantic_support(claim, passages)
                    if every_signal or cheap_pass else 0.0)
        return Support(tokens=len(own), numbers_ok=not missing, lexical=lexical,
                       semantic=semantic, missing_numbers=missing)

    def supported(self, sentence: str, passages: Sequence[str]) -> bool:
        """Return True when the passages support the sentence."""
        return self.support(sentence, passages).passes(self.thresholds)
