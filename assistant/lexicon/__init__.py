"""Base: the Swedish (and English) word rules every stage uses, as data.

Question intents, back references, number words, generic names: each rule is one named entry in
a YAML file beside this module (one file per area: `question.yaml`, `cases.yaml`, …), either a
regular expression (`pattern`) or a word set (`words`), with example sentences it must match
(`examples`) and must not match (`not`). Entry names are unique across the files. Names
that belong to one corpus (its authors, commissioners, the report's own cases) sit in
`corpus/names.yaml` beside `corpus/sources.json`. tests/test_lexicon.py runs every entry's
examples, so adding a rule is one entry and an example.

    from assistant.lexicon import pattern, words
    COUNT = pattern("question.count")      # a compiled re.Pattern
    STOPWORDS = words("stopwords")          # a frozenset of lower-case words
    DIGITS = table("number_words")          # a dict, for a word set written as a mapping

A pattern may name a word set in braces, `{number_words}`, which stands for the set's words
as one alternation (longest first). Patterns ignore case unless the entry says `case: true`.
A word set may be written as a mapping (`två: "2"`, `företag: näringslivet`) when each word
stands for a value; its words are the keys.
A pattern may be written as a list of pieces, joined without separators, so long
alternations can be split over lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LEXICON_DIR = Path(__file__).resolve().parent
CORPUS_NAMES_FILE = LEXICON_DIR.parent.parent / "corpus" / "names.yaml"

_REFERENCE = re.compile(r"\{([a-z_]+)\}")


class LexiconError(ValueError):
    """An entry of the lexicon is missing or malformed; the message names the file and entry."""


@dataclass(frozen=True)
class Entry:
    """One rule: a pattern or a word set, with its example sentences."""

    name: str
    source: Path
    pattern: str | None = None
    words: frozenset[str] = frozenset()
    case: bool = False
    examples: tuple[str, ...] = ()
    counter: tuple[str, ...] = ()          # sentences the rule must not match
    note: str = ""
    values: tuple[tuple[str, str], ...] = ()   # a word set written as a mapping: (word, value)

    def compiled(self) -> re.Pattern[str]:
        """Return the entry's pattern compiled (word-set references expanded)."""
        if self.pattern is None:
            raise LexiconError(f"{self.source.name}: {self.name} är en ordlista, inget mönster.")
        text = _REFERENCE.sub(lambda m: _alternation(m.group(1), self), self.pattern)
        try:
            return re.compile(text, 0 if self.case else re.IGNORECASE)
        except re.error as exc:
            raise LexiconError(f"{self.source.name}: mönstret {self.name} är ogiltigt: {exc}"
                               ) from exc

    def matches(self, sentence: str) -> bool:
        """Return True when the entry's rule finds something in the sentence."""
        if self.pattern is not None:
            return bool(self.compiled().search(sentence))
        found = {w.lower() for w in re.findall(r"[\w:\-]+", sentence)}
        return bool(found & {w.lower() for w in self.words})


def _alternation(name: str, within: Entry) -> str:
    entry = entries().get(name)
    if entry is None or entry.pattern is not None:
        raise LexiconError(f"{within.source.name}: {within.name} nämner {{{name}}}, "
                           "som inte är en ordlista i lexikonet.")
    return "(?:" + "|".join(re.escape(w) for w in sorted(entry.words, key=lambda w: (-len(w), w))) \
        + ")"


def _text(value: Any, name: str, source: Path) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    if isinstance(value, str):
        return value
    raise LexiconError(f"{source.name}: {name} ska vara en text eller en lista av texter.")


def _read(path: Path) -> dict[str, Entry]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise LexiconError(f"{path.name} går inte att läsa som YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path.name} ska vara en lista av namngivna poster.")
    out: dict[str, Entry] = {}
    for name, raw in data.items():
        if not isinstance(raw, dict):
            raise LexiconError(f"{path.name}: {name} ska ha fält (pattern/words, examples).")
        unknown = set(raw) - {"pattern", "words", "case", "examples", "not", "note"}
        if unknown:
            raise LexiconError(f"{path.name}: {name} har okända fält: "
                               f"{', '.join(sorted(unknown))}.")
        examples = tuple(raw.get("examples") or ())
        if not examples:
            raise LexiconError(f"{path.name}: {name} saknar exempel (examples).")
        if ("pattern" in raw) == ("words" in raw):
            raise LexiconError(f"{path.name}: {name} ska ha antingen pattern eller words.")
        value = raw.get("pattern", raw.get("words"))
        listed = value.split() if isinstance(value, str) else [str(w) for w in value or ()]
        values = tuple((str(k), str(v)) for k, v in value.items()) \
            if "words" in raw and isinstance(value, dict) else ()
        out[str(name)] = Entry(
            name=str(name), source=path, examples=examples,
            counter=tuple(raw.get("not") or ()), note=str(raw.get("note", "")),
            pattern=_text(value, str(name), path) if "pattern" in raw else None,
            words=frozenset() if "pattern" in raw else frozenset(listed),
            case=bool(raw.get("case", False)), values=values)
    return out


@cache
def entries() -> dict[str, Entry]:
    """Return every entry of the lexicon by name (patterns, word sets, corpus names)."""
    found: dict[str, Entry] = {}
    for path in [*sorted(LEXICON_DIR.glob("*.yaml")), CORPUS_NAMES_FILE]:
        for name, entry in _read(path).items():
            if name in found:
                raise LexiconError(f"{path.name}: {name} finns redan i "
                                   f"{found[name].source.name}.")
            found[name] = entry
    return found


def entry(name: str) -> Entry:
    """Return one entry by name, or raise LexiconError naming it."""
    try:
        return entries()[name]
    except KeyError:
        raise LexiconError(f"Lexikonet saknar posten {name}.") from None


@cache
def pattern(name: str) -> re.Pattern[str]:
    """Return the compiled pattern of an entry."""
    return entry(name).compiled()


@cache
def words(name: str) -> frozenset[str]:
    """Return the word set of an entry."""
    found = entry(name)
    if found.pattern is not None:
        raise LexiconError(f"{found.source.name}: {name} är ett mönster, ingen ordlista.")
    return found.words


def table(name: str) -> dict[str, str]:
    """Return (a new dict of) the mapping of a word set written as one, in file order."""
    found = entry(name)
    if not found.values:
        raise LexiconError(f"{found.source.name}: {name} är ingen tabell (ord: värde).")
    return dict(found.values)
