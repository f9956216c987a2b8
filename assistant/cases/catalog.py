"""Cases: the catalog of case cards and the questions it answers, by fields and filters.

List questions ("Finns det exempel från fastighetsbranschen?", "Hur fick andra ASF sin första
kund?") are turned into field filters (`question_query`), and the cards are matched
deterministically; `asf cases` uses the same filters from its options. The answering stage
turns a match into a cited answer (assistant/answering/catalog.py).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.cases.cards import (
    ANY,
    ARENAS,
    KINDS,
    STARTED_BY,
    Case,
    Fact,
    distinct_quotes,
    is_case_file,
    load_case,
    name_part,
)
from assistant.lexicon import entries, pattern, table
from assistant.lexicon import words as lexicon_words
from assistant.prompts import CASE_KIND_LABELS, CASES_CRITERIA_LABELS
from assistant.text import PROPER_NAME, collapse, stem, tokens, words
from assistant.types import IngestError


class Catalog:
    """The case cards of the corpus, reloaded when a card file changes."""

    def __init__(self, cases: Sequence[Case] = (), errors: Sequence[IngestError] = ()):
        self.cases: list[Case] = list(cases)
        self.errors: list[IngestError] = list(errors)
        self._signature: tuple = ()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, paths: Iterable[Path],
             source_key: Callable[[Path], str] | None = None) -> Catalog:
        """Read the case cards among `paths`; a bad card is reported, the rest still load."""
        catalog = cls()
        catalog.refresh(paths, source_key)
        return catalog

    def refresh(self, paths: Iterable[Path],
                source_key: Callable[[Path], str] | None = None) -> None:
        """Reload the cards when the set of card files or any of them changed."""
        files = sorted(Path(p) for p in paths if is_case_file(Path(p)))
        signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files
                          if p.exists())
        with self._lock:
            if signature == self._signature and (self.cases or self.errors or not files):
                return
            cases, errors = [], []
            for path in files:
                try:
                    cases.append(load_case(path, source_key(path) if source_key else path.name))
                except IngestError as exc:
                    errors.append(exc)
            self.cases = sorted(cases, key=lambda c: c.name.casefold())
            self.errors = errors
            self._signature = signature

    def __iter__(self):
        return iter(self.cases)

    def __len__(self) -> int:
        return len(self.cases)

    def get(self, key: str) -> Case | None:
        """Return the case with this slug, name or source, if any."""
        key_cf = key.casefold()
        return next((c for c in self.cases if key_cf in (c.slug.casefold(), c.name.casefold(),
                                                          c.source.casefold())), None)

    def filter(self, query: CaseQuery) -> list[Match]:
        """Return the cases that match every given filter, with the facts that matched."""
        out = []
        for case in self.cases:
            facts = query.match(case, self)
            if facts is not None:
                out.append(Match(case, facts))
        return out

    def places(self) -> list[str]:
        """Return the place names on the cards ("Dalarna", "Jönköping", ...)."""
        return sorted({name_part(c.place.value) for c in self.cases if c.place})

    def names(self) -> list[str]:
        """Return the names of the cases and their named partners ("Koopus", "Volvo Cars")."""
        out = set()
        for case in self.cases:
            out.add(case.name)
            out.update(re.findall(r"\(([^)]+)\)$", case.name))          # "(GSM)"
            for value in case.values("partners"):
                for part in name_part(value).split(" och "):
                    part = part.strip()
                    if part[:1].isupper() and part.split()[0] not in _NOT_NAMES:
                        out.add(part)
        return sorted(out, key=len, reverse=True)

    def vocabulary(self) -> set[str]:
        """Return every stem that occurs on some card (for free-text matching)."""
        return {t for c in self.cases for t in _case_tokens(c)}


@dataclass
class Match:
    """A case that matches a query, and the facts that made it match (quoted in answers)."""

    case: Case
    facts: list[tuple[str, Fact]]

    def quotes(self, limit: int = 2) -> list[str]:
        """Return the quotes to show for this match (the summary when nothing specific)."""
        quotes = distinct_quotes([f.quote for _, f in self.facts]) or [self.case.summary.quote]
        return quotes[:limit]


# --------------------------------------------------------------------------- matching

def _rx(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _group(prefix: str) -> dict[str, re.Pattern[str]]:
    """Return the lexicon's patterns named `prefix<label>` by label, in the lexicon's order."""
    return {name[len(prefix):]: pattern(name) for name in entries() if name.startswith(prefix)}


# Industry concepts: (label, pattern in a question, pattern in a card's industry and partner
# values). A card matches an industry by what the report says it does, not by its name.
_IN_CARD = _group("cases.industry_in_card.")
INDUSTRIES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    label: (question, _IN_CARD[label])
    for label, question in _group("cases.industry.").items()}
_BRANSCH_WORD = pattern("cases.bransch_word")

ARENA_PATTERNS = _group("cases.arena.")
STARTED_PATTERNS = _group("cases.started.")
_START_TOPIC = pattern("cases.start_topic")
_OTHERS = pattern("cases.others")
_LIST_INTENT = pattern("cases.list_intent")
_VALUES_TOPIC = pattern("cases.values_topic")
# First words of partner values that describe rather than name a partner.
_NOT_NAMES = lexicon_words("cases.not_partner_names")
# Words of list questions that say nothing about which cases are meant.
_GENERIC = frozenset(tokens(" ".join(sorted(lexicon_words("cases.generic")))))


def _case_tokens(case: Case) -> set[str]:
    text = " ".join([case.name] + [f"{f.value} {f.quote}" for _, f in case.facts()])
    return set(tokens(text))


def _token_hits(query: str, vocabulary: set[str]) -> bool:
    return any(query == t or (len(query) >= 4 and query in t) for t in vocabulary)


@dataclass
class CaseQuery:
    """Filters over the cards: every non-empty filter must match (values within one: any)."""

    industry: list[str] = field(default_factory=list)
    arena: list[str] = field(default_factory=list)
    started_by: list[str] = field(default_factory=list)
    place: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    values_text: list[str] = field(default_factory=list)   # free text within partner_values
    names: list[str] = field(default_factory=list)         # a case or partner named by name
    # The question's own words for the free-text stems, as the answer shows them.
    said_as: dict[str, str] = field(default_factory=dict)

    def empty(self) -> bool:
        """Return True when no filter is set (every case matches)."""
        return not any((self.industry, self.arena, self.started_by, self.place, self.kind,
                        self.text, self.values_text, self.names))

    def criteria(self) -> str:
        """Return the filters in Swedish ("bransch: fastighet; arena: näringslivet")."""
        parts = []
        for name in ("names", "industry", "arena", "started_by", "place", "kind", "text"):
            values = list(getattr(self, name))
            if name == "text":
                values += self.values_text
            if values:
                shown = ["alla sätt" if v == ANY else self.said_as.get(v)
                         or CASE_KIND_LABELS.get(v, v) for v in values]
                label = CASES_CRITERIA_LABELS["name" if name == "names" else name]
                parts.append(f"{label}: {', '.join(shown)}")
        return "; ".join(parts)

    def match(self, case: Case, catalog: Catalog | None = None) -> list[tuple[str, Fact]] | None:
        """Return the facts through which the case matches, or None when it does not."""
        found: list[tuple[str, Fact]] = []
        for facet in (self._names, self._industry, self._arena, self._started_by, self._place,
                      self._kind, self._text, self._values_text):
            facts = facet(case)
            if facts is None:
                return None
            found.extend(facts)
        return list(dict.fromkeys(found))

    # Each facet returns None (no match), or the matching facts ([] when the facet is unset
    # or matched something that has no quote of its own, like the kind).
    def _names(self, case: Case) -> list[tuple[str, Fact]] | None:
        if not self.names:
            return []
        hits: list[tuple[str, Fact]] = []
        for name in self.names:
            pattern = _rx(rf"(?<!\w){re.escape(name)}(?!\w)")
            if pattern.search(case.name):
                hits.append(("summary", case.summary))
            hits += [("partners", f) for f in case.partners if pattern.search(f.value)]
        return hits or None

    def _industry(self, case: Case) -> list[tuple[str, Fact]] | None:
        if not self.industry:
            return []
        hits: list[tuple[str, Fact]] = []
        for term in self.industry:
            pattern = industry_pattern(term)
            if case.industry and pattern.search(f"{case.industry.value} {case.industry.quote}"):
                hits.append(("industry", case.industry))
            hits += [("partners", f) for f in case.partners if pattern.search(f.value)]
            if pattern.search(case.summary.value):
                hits.append(("summary", case.summary))
        return hits or None

    def _arena(self, case: Case) -> list[tuple[str, Fact]] | None:
        if not self.arena:
            return []
        wanted = {a.casefold() for a in self.arena}
        hits = [("arena", f) for f in case.arena if f.value.casefold() in wanted]
        return hits or None

    def _started_by(self, case: Case) -> list[tuple[str, Fact]] | None:
        if not self.started_by:
            return []
        wanted = {s.casefold() for s in self.started_by}
        hits = [("started_by", f) for f in case.started_by
                if ANY in wanted or f.value.casefold() in wanted]
        return hits or None

    def _place(self, case: Case) -> list[tuple[str, Fact]] | None:
        if not self.place:
            return []
        if case.place and any(p.casefold() in case.place.value.casefold() for p in self.place):
            return [("place", case.place)]
        return None

    def _kind(self, case: Case) -> list[tuple[str, Fact]] | None:
        if not self.kind:
            return []
        return [] if case.kind in self.kind else None

    def _text(self, case: Case) -> list[tuple[str, Fact]] | None:
        if not self.text:
            return []
        vocabulary = _case_tokens(case)
        if not all(_token_hits(t, vocabulary) for t in self.text):
            return None
        return [(name, f) for name, f in case.facts()
                if any(_token_hits(t, set(tokens(f"{f.value} {f.quote}"))) for t in self.text)]

    def _values_text(self, case: Case) -> list[tuple[str, Fact]] | None:
        if not self.values_text:
            return []
        hits = [("partner_values", f) for f in case.partner_values
                if all(_token_hits(t, set(tokens(f"{f.value} {f.quote}")))
                       for t in self.values_text)]
        return hits or None


def industry_pattern(term: str) -> re.Pattern[str]:
    """Return the pattern that finds an industry term (a known concept, else its stems)."""
    for label, (question, card) in INDUSTRIES.items():
        if term.casefold() == label.casefold() or question.search(term):
            return card
    stems = [stem(w) for w in re.findall(r"\w+", term.lower())]
    return _rx("".join(f"(?=.*{re.escape(s)})" for s in stems) or r"(?!)", re.I | re.S)


def normalise_choice(value: str, choices: Sequence[str],
                     aliases: dict[str, str] | None = None) -> str | None:
    """Return the allowed value that `value` names (case-insensitive, prefix), or None."""
    v = value.strip().casefold()
    for alias, target in (aliases or {}).items():
        if v == alias.casefold():
            return target
    exact = [c for c in choices if c.casefold() == v]
    if exact:
        return exact[0]
    prefixed = [c for c in choices if c.casefold().startswith(v)] if v else []
    return prefixed[0] if len(prefixed) == 1 else None


KIND_ALIASES = {label: kind for kind, label in CASE_KIND_LABELS.items()}
ARENA_ALIASES = table("cases.arena_aliases")
STARTED_ALIASES = table("cases.started_aliases")


def question_query(question: str, catalog: Catalog) -> CaseQuery | None:
    """Return the filters a list-of-cases question asks for, or None for any other question.

    A list question asks for examples ("Vilka exempel finns på ...", "Finns det exempel från
    ... branschen?", "Which examples ...") or how other ASF got customers ("Hur fick andra ASF
    sin första kund?"). Its arena, way of starting, named cases or partners, industry and place
    become filters, each taken out of the question once found. When it names none of them, its
    remaining words must all occur on a card (words no card has are ignored, but a question
    made only of such words is not a catalog question).
    """
    text = collapse(question)
    low = text.lower()
    start_topic = bool(_START_TOPIC.search(low))
    if not (_LIST_INTENT.search(low) or (start_topic and _OTHERS.search(low))):
        return None
    query = CaseQuery()
    rest = text                    # what is left to read; found filters are blanked out

    def take(pattern: re.Pattern[str]) -> bool:
        nonlocal rest
        found = bool(pattern.search(rest))
        rest = _rx(pattern.pattern).sub(" ", rest) if found else rest
        return found

    query.arena = [label for label, pattern in ARENA_PATTERNS.items() if take(pattern)]
    query.started_by = [label for label, pattern in STARTED_PATTERNS.items() if take(pattern)]
    if start_topic and not query.started_by:
        query.started_by.append(ANY)
    take(_START_TOPIC)
    query.names = [name for name in catalog.names()
                   if take(_rx(rf"(?<!\w){re.escape(name)}(?!\w)"))]
    concept_spans = [m.span() for q, _ in INDUSTRIES.values() for m in q.finditer(rest)]
    for match in _BRANSCH_WORD.finditer(rest):
        word = (match.group(1) or match.group(2)).lower()
        overlaps = any(s < match.end() and match.start() < e for s, e in concept_spans)
        if not overlaps and tokens(word) and stem(word) not in _GENERIC:
            query.industry.append(word)         # an industry no concept knows: match its stem
    query.industry += [label for label, (pattern, _) in INDUSTRIES.items() if take(pattern)]
    rest = _BRANSCH_WORD.sub(" ", rest)
    query.place = [place for place in catalog.places()
                   if take(_rx(rf"(?<!\w){re.escape(place)}"))]
    values_topic = take(_VALUES_TOPIC)
    leftovers = [t for t in dict.fromkeys(tokens(rest)) if t not in _GENERIC]
    known = catalog.vocabulary()
    if any(not _token_hits(t, known) for name in PROPER_NAME.findall(rest)
           for t in tokens(name) if t not in _GENERIC):
        # A place or name no card has ("Vilka ASF finns i Umeå?"): the cards cannot answer,
        # and filtering by the question's other words listed cases from elsewhere.
        return None
    if query.empty():
        hits = [t for t in leftovers if _token_hits(t, known)]
        if leftovers and not hits:
            return None              # about something no card mentions: not a catalog question
        if values_topic:
            query.values_text = hits
        else:
            query.text = hits
        query.said_as = {t: w for w in words(rest) for t in tokens(w) if t in hits}
    return query






def cases_json(matches: Iterable[Match]) -> str:
    """Return matches as the JSON of `asf cases --json`."""
    return json.dumps([m.case.to_dict() for m in matches], ensure_ascii=False, indent=1)


def query_from_options(industry: Sequence[str] = (), arena: Sequence[str] = (),
                       started_by: Sequence[str] = (), place: Sequence[str] = (),
                       kind: Sequence[str] = (), text: str = "") -> CaseQuery:
    """Return the query of `asf cases` options; raise ValueError (Swedish) for a bad value."""
    from assistant.prompts import ERR_CASES_BAD_FILTER

    def choose(option: str, values: Sequence[str], choices: Sequence[str],
               aliases: dict[str, str]) -> list[str]:
        out = []
        for value in values:
            chosen = normalise_choice(value, choices, aliases)
            if chosen is None:
                raise ValueError(ERR_CASES_BAD_FILTER.format(option=option, value=value,
                                                             allowed=", ".join(choices)))
            out.append(chosen)
        return out

    return CaseQuery(
        industry=[v for v in industry if v.strip()],
        arena=choose("arena", arena, ARENAS, ARENA_ALIASES),
        started_by=choose("started-by", started_by, STARTED_BY, STARTED_ALIASES),
        place=[v.strip() for v in place if v.strip()],
        kind=choose("kind", kind, KINDS, KIND_ALIASES),
        text=list(dict.fromkeys(tokens(text))),
    )


