"""Answering: broad answers, the report's main points on a question from several sections.

A broad question ("Vi är ett byggföretag i Göteborg, var ska vi börja?", "Hur bör jag lägga
upp en workshop?") is answered in the report by sentences spread over several sections: the
recommendations, the success factors, the challenges, a case. Quoting a window around the best
sentence of one passage gives a quarter of that. Here every indexed sentence is scored against
the question by meaning (its own vector, its section's vector and its passage's fused
retrieval score) and by words, and up to six points are chosen by maximal marginal relevance:
each next point is the best remaining sentence that says something the chosen ones do not, at
most three per section. Each point is a verbatim sentence (with the list it introduces, or the
sentence it refers back to) and carries its own [n]. Fixed Swedish phrases connect them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np

from assistant.config import AnswerSettings, BroadSettings
from assistant.lexicon import pattern, words
from assistant.prompts import (
    BROAD_ANSWER_NOTE,
    BROAD_EXAMPLE_LINE,
    BROAD_EXAMPLES_HEADING,
    BROAD_MORE_HEADING,
    BROAD_POINTS_HEADING,
)
from assistant.retrieval.hybrid import Retrieval
from assistant.retrieval.question import ADDRESSEES, Analysis
from assistant.retrieval.topics import Sentence, TopicIndex
from assistant.text import (
    collapse,
    coverage,
    inside_quotation,
    is_fragment,
    refers_back,
    split_sentences,
    tokens,
)
from assistant.types import Answer, Chunk, Citation

# Sentences that give advice or state what works ("bör", "viktigt", "framgångsfaktor") come
# first in a broad answer, then what to expect (challenges, time, difficulty), then the rest.
_ADVICE = pattern("answering.advice")
_EXPECT = pattern("answering.expectation")
_QUOTE = re.compile(r"^[”\"“]")
# Sentences about the document itself ("Kapitlet avhandlar även vilka drivkrafter …", "Först
# följer ett bakgrundskapitel som behandlar …") name a topic without saying anything about it:
# they match a question's words and answer nothing.
META_SENTENCE = pattern("answering.meta_sentence")


@dataclass
class Point:
    """One point of a broad answer: a verbatim sentence (and its context) from one passage."""

    sentence: Sentence
    score: float
    text: str                          # what is quoted (may hold a lead sentence or a list)
    items: list[str] = field(default_factory=list)
    group: int = 2                     # 0 advice, 1 what to expect, 2 other, 3 example
    rows: list[int] = field(default_factory=list)   # sentence rows the point covers
    quotes: list[str] = field(default_factory=list)  # its sentences, each verbatim
    situation: bool = False            # about the asker's own situation (shown first)
    figure: bool = False               # a figure card's parts (shown first)

    @property
    def chunk(self) -> Chunk:
        """Return the passage the point is quoted from."""
        return self.sentence.chunk


# A short sentence inside a quotation that opens with a connective leans on the one before
# it (BroadSettings.short_in_quote_chars).
_CONNECTIVE = pattern("answering.connective")

_DEFAULT_SHAPE = BroadSettings()


def readable(topics: TopicIndex, sentence: Sentence,
             shape: BroadSettings | None = None) -> list[Sentence]:
    """Return the sentences that make a sentence read on its own: the sentence before it too
    when it opens by pointing back ("Att de ställdes in berodde …" needs what "de" are), and
    that one's own antecedent in turn.

    They are quoted as separate sentences (the source may have a paragraph break between
    them, and a citation's quote must be found in its passage to be highlighted). Back
    references are followed over at most `shape.back_steps` sentences ("Några av företagen …
    Dessa företag såg … Ett sätt att åstadkomma detta …")."""
    chain = [sentence]
    for _ in range((shape or _DEFAULT_SHAPE).back_steps):
        first = chain[0]
        if not refers_back(first.unit.text) or first.unit.position == 0:
            break
        before = next((x for x in (topics.sentences[r] for r in topics.sections[
            first.section].sentences) if x.chunk.chunk_id == first.chunk.chunk_id
            and x.unit.position == first.unit.position - 1), None)
        if before is None or before.unit.lead is not None or before.unit.lead_in:
            break
        if is_fragment(before.unit.text):
            # The end of an interviewee's quotation ("… ha förståelse för.”"): quoted alone it
            # opens the point mid-quote, without its speaker.
            break
        chain.insert(0, before)
    return chain


def _said(point: Point, exclude: frozenset[str]) -> bool:
    """Return True when the first part of the answer (or an earlier answer) already quotes
    any sentence of the point, its list or the sentence it brings along."""
    return any(collapse(x) in exclude for x in (*point.quotes, *point.items))


@dataclass
class _Signals:
    """What sentence and section scores share for one question: its content words, each
    passage's fused retrieval score (share of the best), each section's vector similarity and
    the share of the question's words in each section's headings."""

    qset: set[str]
    passage: dict[str, float]
    section_similarity: np.ndarray
    headings: list[float]
    addressed: list[float] = field(default_factory=list)   # heading names the asker's group


# A heading that speaks to a group names it after "till"/"för" ("Rekommendationer till
# offentliga aktörer och företagsfrämjare"); "Samarbete med kommuner" is about municipalities,
# not addressed to them.
_ADDRESSED = pattern("answering.addressed")


def _addressee(heading: str) -> str:
    """Return the group a heading addresses ("" when it addresses none)."""
    found = _ADDRESSED.search(heading)
    return found.group(1) if found else ""


def _clip(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else x


def _scaled(similarity: float, shape: BroadSettings) -> float:
    """Return a cosine similarity as 0..1 between the shape's floor and floor + span."""
    return _clip((similarity - shape.similarity_floor) / shape.similarity_span)


class BroadAnswerer:
    """Choose the main points of the report on a question from every section."""

    def __init__(self, settings: AnswerSettings, topics: Callable[[], TopicIndex],
                 idf: Callable[[str], float]):
        self.settings = settings
        self.topics = topics
        self.idf = idf
        self.shape = settings.broad

    def _coverage(self, qset: set[str], sentence_tokens: AbstractSet[str]) -> float:
        return coverage(qset, sentence_tokens, self.idf)

    def scores(self, question: str, retrieval: Retrieval, analysis: Analysis,
               exclude: frozenset[str] = frozenset(),
               signals: _Signals | None = None) -> tuple[TopicIndex, np.ndarray]:
        """Return the topic index and every sentence's score for the question."""
        topics = self.topics()
        s = self.shape
        n = len(topics)
        if not n or retrieval.vector is None:
            return topics, np.zeros(n, dtype=np.float32)
        sims = topics.sentence_similarity(retrieval.vector)
        signals = signals or self._signals(question, retrieval, topics)
        qset, sections, headings = signals.qset, signals.section_similarity, signals.headings
        out = np.zeros(n, dtype=np.float32)
        for sentence in topics.sentences:
            unit, chunk = sentence.unit, sentence.chunk
            if chunk.kind not in ("text", "figure") or collapse(unit.text) in exclude:
                continue
            if len(unit.text) < s.min_sentence_chars and not unit.lead_in \
                    or is_fragment(unit.text):
                continue
            if (len(unit.text) < s.short_in_quote_chars and _CONNECTIVE.match(unit.text)
                    and inside_quotation(chunk.text, unit.text)):
                continue            # "Men jag är lite kluven till det." answers nothing alone
            if unit.text.endswith(":") and not unit.items:
                continue            # announces quotes or a list it does not carry
            if META_SENTENCE.search(unit.text):
                continue            # about the document: it names a topic and says nothing
            i = sentence.row
            score = (s.w_sentence * _scaled(float(sims[i]), s)
                     + s.w_before * _scaled(float(sims[topics.previous[i]]), s)
                     + s.w_passage * signals.passage.get(chunk.chunk_id, 0.0)
                     + s.w_section * _scaled(float(sections[sentence.section]), s)
                     + s.w_words * self._coverage(qset, topics.point_tokens[i])
                     + s.w_heading * headings[sentence.section])
            if analysis.kind == "broad" and _ADVICE.search(unit.text):
                score += s.advice_bonus
            if _QUOTE.match(unit.text):
                score *= s.quote_factor   # an interviewee's words illustrate
            out[i] = score
        return topics, out

    def _signals(self, question: str, retrieval: Retrieval, topics: TopicIndex,
                 analysis: Analysis | None = None) -> _Signals:
        """Return the signals sentence and section scores share."""
        fused = {p.chunk.chunk_id: p.score for p in retrieval.candidates}
        top = max(fused.values(), default=0.0) or 1.0
        qset = set(tokens(question))
        signals = _Signals(
            qset, {cid: score / top for cid, score in fused.items()},
            topics.section_similarity(retrieval.vector) if retrieval.vector is not None
            else np.zeros(len(topics.sections), dtype=np.float32),
            [self._coverage(qset, words) for words in topics.heading_tokens])
        role = analysis.situation.role if analysis is not None else None
        if role in ADDRESSEES:
            group = set(tokens(ADDRESSEES[role]))
            signals.addressed = [float(bool(group & set(tokens(_addressee(section.heading)))))
                                 for section in topics.sections]
        return signals

    def select(self, question: str, retrieval: Retrieval, analysis: Analysis,
               exclude: frozenset[str] = frozenset()) -> list[Point]:
        """Return the answer's points: relevant, different from each other, readable alone."""
        topics, scores = self.scores(question, retrieval, analysis, exclude)
        s = self.shape
        order = [int(i) for i in np.argsort(-scores)[:s.candidates] if scores[i] > 0]
        if not order:
            return []
        best = float(scores[order[0]])
        chosen: list[Point] = []
        covered: set[int] = set()
        per_section: dict[int, int] = {}
        size = 0
        pool = list(order)
        while pool and len(chosen) < s.max_points:
            def mmr(i: int) -> float:
                redundancy = max((topics.pair_similarity(i, r) for p in chosen for r in p.rows),
                                 default=0.0)
                return float(scores[i]) - s.diversity * max(0.0, redundancy
                                                            - s.redundancy_floor)
            pick = max(pool, key=mmr)
            pool.remove(pick)
            if scores[pick] < s.min_relative * best:
                break
            sentence = topics.sentences[pick]
            if pick in covered or per_section.get(sentence.section, 0) >= s.per_section:
                continue
            if any(topics.pair_similarity(pick, r) >= s.duplicate
                   for p in chosen for r in p.rows):
                continue
            point = self._point(topics, sentence, float(scores[pick]))
            if point is None or covered & set(point.rows) or _said(point, exclude):
                continue
            length = len(point.text) + sum(len(x) + 3 for x in point.items)
            if chosen and size + length > s.max_chars:
                continue
            chosen.append(point)
            covered.update(point.rows)
            per_section[sentence.section] = per_section.get(sentence.section, 0) + 1
            size += length
        chosen.sort(key=lambda p: (p.group, -p.score))
        return chosen

    def section_scores(self, question: str, retrieval: Retrieval, topics: TopicIndex,
                       signals: _Signals | None = None) -> np.ndarray:
        """Return every section's relevance: its best passage's fused retrieval score, plus
        its own vector's similarity and the question's words in its headings.

        Measured on the persona set: the section holding a gold point is among the top three
        by this score for 59 % of the points and among the top eight for 75 %, while only 29 %
        of the points are among the six best-scored sentences of the whole report.
        """
        s = self.shape
        if retrieval.vector is None or not topics.sections:
            return np.zeros(len(topics.sections), dtype=np.float32)
        signals = signals or self._signals(question, retrieval, topics)
        out = np.zeros(len(topics.sections), dtype=np.float32)
        for i, section in enumerate(topics.sections):
            best = max((signals.passage.get(c.chunk_id, 0.0) for c in section.chunks),
                       default=0.0)
            similarity = float(signals.section_similarity[i])
            out[i] = (best + s.w_section_vector * _scaled(similarity, s)
                      + s.w_section_heading * signals.headings[i])
            if signals.addressed:
                out[i] += s.w_addressed * signals.addressed[i]
        return out

    def select_by_section(self, question: str, retrieval: Retrieval, analysis: Analysis,
                          exclude: frozenset[str] = frozenset(),
                          situation: re.Pattern[str] | None = None,
                          chapter: str | None = None) -> list[Point]:
        """Return the answer's points, section first: the best sentences of the most
        relevant sections (two from the first, one from each next), in section order.

        A broad question's answer is spread over sections; choosing the sections first and
        then their best sentences covered more of the persona set's points (0.372 with four
        sections) than choosing sentences from the whole report (0.314).
        """
        topics = self.topics()
        signals = self._signals(question, retrieval, topics, analysis)   # shared by both
        topics, scores = self.scores(question, retrieval, analysis, exclude, signals)
        s = self.shape
        section_scores = self.section_scores(question, retrieval, topics, signals)
        if chapter is not None and len(section_scores):
            # The chapter of a planning model the answer shows (a figure card names the
            # section of its document), whose sections hold the lessons and advice that go
            # with it, competes with the sections the question matches best.
            lift = s.min_section_share * float(section_scores.max())
            for i, section in enumerate(topics.sections):
                if section.path[:1] == (chapter,):
                    section_scores[i] += lift
        ranked = np.argsort(-section_scores)
        floor = s.min_section_share * float(section_scores[ranked[0]]) if len(ranked) else 0.0
        chosen: list[Point] = []
        covered: set[int] = set()
        top = [int(i) for i in ranked[: s.sections] if section_scores[i] >= floor]
        if signals.addressed:
            # A section that speaks to the asker's own group takes the last place when it is
            # relevant enough to pass the floor but not among the first ("Rekommendationer
            # till offentliga aktörer och företagsfrämjare" was fifth, 0.725 against 0.728,
            # for a municipality asking what it can do).
            missing = [int(i) for i in ranked if signals.addressed[int(i)]
                       and section_scores[i] >= floor and int(i) not in top]
            if missing and len(top) >= s.sections:
                top[-1] = missing[0]
            elif missing:
                top.append(missing[0])
            # What the documents say to the asker's own group is shown first: the length
            # budget cuts the last points, and a recommendation to public actors is what a
            # municipality asked for.
            top.sort(key=lambda i: -signals.addressed[i])
        for k, number in enumerate(top):
            section = topics.sections[number]
            room = s.first_section_points if k == 0 else s.per_section_points
            for row in sorted(section.sentences,
                              key=lambda i: -scores[i])[:s.section_candidates]:
                if room == 0 or scores[row] <= 0:
                    break
                if row in covered or any(topics.pair_similarity(row, r) >= s.duplicate
                                         for r in covered):
                    continue
                point = self._point(topics, topics.sentences[row], float(scores[row]))
                if point is None or covered & set(point.rows) or _said(point, exclude):
                    continue
                # What the documents say to the asker's own group is shown first.
                point.situation = bool(signals.addressed and signals.addressed[number])
                chosen.append(point)
                covered.update(point.rows)
                room -= 1
        if situation is not None:
            self._situation_point(topics, scores, situation, chosen, covered, exclude)
        return chosen

    def _situation_point(self, topics: TopicIndex, scores: np.ndarray,
                         situation: re.Pattern[str], chosen: list[Point],
                         covered: set[int], exclude: frozenset[str]) -> None:
        """Put the best sentence about the asker's situation (their industry, in the words the
        documents use for it) first, unless it is chosen already.

        "Vi är ett fastighetsbolag …, hur kommer vi igång?" matches the report's general
        advice; what it says about property companies ("fastighetsbolagen ligger i framkant
        …") is in other sections and scored lower. A sentence is about the industry when it
        names it among its first words; one that only lists it ("… en sammanslutning av
        handlare och fastighetsbolag") is not.
        """
        shape = self.shape

        def about(text: str) -> bool:
            found = situation.search(text)
            return (found is not None
                    and len(text[:found.start()].split()) < shape.about_words)

        rows = [s.row for s in topics.sentences
                if scores[s.row] > 0 and about(s.unit.text)]
        for row in sorted(rows, key=lambda r: -scores[r])[:shape.situation_candidates]:
            if row in covered:
                return
            point = self._point(topics, topics.sentences[row], float(scores[row]))
            if point is not None and not covered & set(point.rows) and not _said(point, exclude):
                point.situation = True
                chosen.insert(0, point)
                covered.update(point.rows)
                return

    def _point(self, topics: TopicIndex, sentence: Sentence, score: float) -> Point | None:
        """Return the sentence as a readable point: with its list, or the sentence before."""
        section = topics.sections[sentence.section]
        siblings = [topics.sentences[r] for r in section.sentences
                    if topics.sentences[r].chunk.chunk_id == sentence.chunk.chunk_id]
        by_position = {x.unit.position: x for x in siblings}
        unit = sentence.unit
        rows = [sentence.row]
        quotes = [unit.text]
        items: list[str] = []
        if unit.lead is not None and unit.lead in by_position:
            lead = by_position[unit.lead]          # a list item: quote its list whole
            quotes, items = [lead.unit.text], list(lead.unit.items)
            rows = [lead.row] + [x.row for x in siblings if x.unit.lead == unit.lead]
        elif unit.lead_in and unit.items:
            items = list(unit.items)
            rows += [x.row for x in siblings if x.unit.lead == unit.position]
        else:
            context = readable(topics, sentence, self.shape)
            quotes = [x.unit.text for x in context]
            rows = [x.row for x in context]
        length = sum(len(q) + 1 for q in quotes) + sum(len(x) + 3 for x in items)
        if length > self.shape.max_point_chars:
            if items:
                return None
            if len(unit.text) <= self.shape.max_point_chars:
                quotes, rows = [unit.text], [sentence.row]
            else:
                return None
        text = " ".join(quotes)
        group = 0 if _ADVICE.search(text) else 1 if _EXPECT.search(text) else 2
        return Point(sentence, score, text, items, group, rows, quotes)


# Words of a planning model: a figure card about planning meetings has one of them.
_PLANNING_MODEL = frozenset(tokens(" ".join(sorted(words("answering.planning_model")))))


def planning_figure(answerer: BroadAnswerer, vector: list[float] | None,
                    exclude: frozenset[str] = frozenset()) -> Point | None:
    """Return the parts of the figure card about planning meetings closest to the question,
    as a point, for a question about how to plan a meeting or workshop.

    The report's model for planning meetings (figure 5) is set as an image, and its text
    exists whole only in the figure card; its vector is no closer to "Hur bör jag lägga upp
    en workshop?" than many passages (measured: 0.38-0.39 for two such questions, while
    unrelated questions reach 0.42), so the question's intent selects it, and meaning only
    chooses among the figure cards that are about planning.
    """
    topics = answerer.topics()
    figures = {s.chunk.chunk_id: s for s in topics.sentences
               if s.chunk.kind == "figure" and s.unit.lead_in and s.unit.items
               and _PLANNING_MODEL & set(tokens(s.chunk.text))}
    if not figures:
        return None
    sims = topics.chunk_similarity(vector) if vector is not None else {}
    best = max(figures.values(), key=lambda s: sims.get(s.chunk.chunk_id, 0.0))
    point = answerer._point(topics, best, 1.0)
    if point is None or _said(point, exclude):
        return None
    point.figure = True
    return point


@dataclass
class Example:
    """A case from the catalog that matches the question by meaning."""

    name: str
    about: str
    quote: str
    chunk: Chunk
    similarity: float


def extend(base: Answer, points: list[Point], examples: list[Example],
           max_chars: int = 1600) -> Answer:
    """Return the single-passage answer followed by the points it lacks, each cited.

    The window around the best sentence stays first (it answers the core of the question,
    and on the main eval set it is what carries the facts); the points add what other
    sections say, and the examples the cases that match the asker's situation.
    """
    numbers = {c.chunk_id: c.n for c in base.citations}
    citations = list(base.citations)
    by_id = {c.chunk_id: c for c in citations}

    def cite(chunk: Chunk, quoted: list[str]) -> int:
        if chunk.chunk_id in by_id:
            citation = by_id[chunk.chunk_id]
            citation.quote = " … ".join(dict.fromkeys([*citation.quote.split(" … "), *quoted]))
            return citation.n
        n = numbers.setdefault(chunk.chunk_id, len(numbers) + 1)
        by_id[chunk.chunk_id] = Citation(n=n, chunk_id=chunk.chunk_id, source=chunk.source,
                                         title=chunk.title, section=chunk.section,
                                         page=chunk.page, quote=" … ".join(quoted))
        citations.append(by_id[chunk.chunk_id])
        return n

    lines = [base.answer]
    size = len(base.answer)
    # Room is kept for the first example: a company that names its industry should see a
    # case from it even when the points alone would fill the budget.
    example_lines = [BROAD_EXAMPLE_LINE.format(name=e.name, about=e.about, quote=e.quote)
                     for e in examples]
    reserved = len(example_lines[0]) + 8 if example_lines else 0
    fitting = []
    for point in points:
        length = len(point.text) + sum(len(x) + 5 for x in point.items) + 8
        # A planning model asked for is shown even when the window left no room for it.
        if size + length + reserved <= max_chars or point.figure:
            fitting.append(point)
            size += length
    if fitting:
        if base.answer:
            lines += ["", BROAD_MORE_HEADING]
        else:
            lines = [BROAD_POINTS_HEADING]
        # Chosen by relevance; shown as advice first, then what to expect, then the rest.
        for point in sorted(fitting, key=lambda p: (not p.figure, not p.situation, p.group)):
            n = cite(point.chunk, [*point.quotes, *point.items])
            lines.append(f"- {point.text} [{n}]")
            lines.extend(f"  - {item}" for item in point.items)
    shown: list[tuple[Example, str]] = []
    for example, line in zip(examples, example_lines, strict=True):   # in the same budget
        if size + len(line) + 8 <= max_chars or not shown and reserved:
            shown.append((example, line))
            size += len(line) + 8
    if shown:
        lines.append("")
        lines.append(BROAD_EXAMPLES_HEADING)
        for example, line in shown:
            n = cite(example.chunk, [example.quote])
            lines.append(f"- {line} [{n}]")
    return Answer(question=base.question, answer="\n".join(lines), refused=False,
                  citations=citations, contexts=base.contexts, evidence=base.evidence,
                  note=BROAD_ANSWER_NOTE if fitting or shown else base.note)


def similar_cases(topics: TopicIndex, vector: list[float] | None,
                  cases: dict[str, tuple[str, str, str]], shape: BroadSettings | None = None,
                  *, floor: float | None = None, said: frozenset[str] = frozenset()
                  ) -> list[Example]:
    """Return the catalog's cases closest to the question by meaning, best first; none whose
    quote the answer already says (`said`: a case's own guide card, a point).

    `cases` maps a case card's source to (name, about, summary quote). A case counts when its
    card's description (name, summary, industry, partners, arena …, embedded at indexing) is
    at least `floor` (else `shape.example_floor`) similar to the question and within
    `shape.example_margin` of the best case; `shape.examples` at most.
    """
    shape = shape or _DEFAULT_SHAPE
    limit, margin = shape.examples, shape.example_margin
    floor = shape.example_floor if floor is None else floor
    if vector is None or not cases:
        return []
    sims = topics.chunk_similarity(vector)
    found = sorted(((sim, topics.chunks[cid]) for cid, sim in sims.items()
                    if topics.chunks[cid].kind == "case" and topics.chunks[cid].source in cases),
                   key=lambda sc: -sc[0])
    if not found or found[0][0] < floor:
        return []
    best = found[0][0]
    out: list[Example] = []
    for sim, chunk in found:
        if sim < max(floor, best - margin) or len(out) == limit:
            break
        name, about, quote = cases[chunk.source]
        if all(collapse(s) in said for s in split_sentences(quote)):
            continue
        out.append(Example(name, about, quote, chunk, sim))
    return out
