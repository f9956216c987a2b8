"""Answering: passages -> a cited Swedish answer quoted from them (the default backend).

The default answerer is extractive: it picks the sentences of the retrieved passages that best
cover the question, so every sentence of an answer is a verbatim sentence of a cited passage.
When the evidence is too weak it refuses with one fixed phrase and shows the closest passages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from assistant import lexicon
from assistant.answering.answerability import missing_answer_type
from assistant.answering.base import by_match, contexts_of, refusal
from assistant.config import AnswerSettings, ExtractiveSettings
from assistant.ingest.chunking import split_units
from assistant.lexicon import words
from assistant.retrieval.hybrid import BM25
from assistant.retrieval.question import Expected
from assistant.text import (
    NAME_WORD,
    collapse,
    coverage,
    inside_quotation,
    is_english,
    is_fragment,
    refers_back,
    said_in,
    stem,
    tokens,
)
from assistant.types import Answer, Chunk, Citation, Context, Passage


@dataclass
class _Unit:
    """A unit of a retrieved passage, as a candidate sentence for the answer."""

    text: str
    passage: Passage
    position: int
    lead_in: bool = False
    items: list[str] = field(default_factory=list)
    lead: int | None = None         # a list item's lead-in (its position), if it has one


def _units(passage: Passage) -> list[_Unit]:
    return [_Unit(u.text, passage, u.position, u.lead_in, u.items, u.lead)
            for u in split_units(passage.chunk.text)]


class ExtractiveAnswerer:
    """Compose answers from the best-matching sentences of the retrieved passages."""

    def __init__(self, settings: AnswerSettings, bm25: BM25 | None = None,
                 neighbour: Callable[[Chunk, int], Chunk | None] | None = None):
        self.settings = settings
        self.tuning = settings.extractive
        self.bm25 = bm25
        self.neighbour = neighbour      # (chunk, ±1) -> the next/previous chunk of its section

    def _idf(self, token: str) -> float:
        return self.bm25.idf_of(token) if self.bm25 else 1.0

    def _coverage(self, qset: set[str], text_tokens: set[str]) -> float:
        return coverage(qset, text_tokens, self._idf)

    def evidence(self, question: str, passages: list[Passage], broad: bool = False) -> float:
        """Return how well the passages support an answer (0..1).

        A broad or situational question is judged by meaning alone, as an English one is: it
        describes the asker's situation in words a single passage rarely shares ("Vi har fått
        en förfrågan om ett stort uppdrag som vi inte hinner med"), so its word coverage of the
        best passage stayed under 0.15 for answerable questions, and 9 of 60 answerable persona
        questions were refused.
        """
        if not passages:
            return 0.0
        t = self.tuning
        top = by_match(passages)[:t.evidence_passages]
        dense_values = [p.dense for p in top if p.dense is not None]
        # Cosine similarities of this model sit roughly in 0.2 (unrelated) .. 0.7 (on topic).
        dense = (min(1.0, max(0.0, (max(dense_values) - t.evidence_dense_floor)
                              / t.evidence_dense_span)) if dense_values else None)
        qset = set(tokens(question))
        if is_english(question) and _names_found(question, top):
            # A name is the same in both languages: "What is Koop M?" is as well supported as
            # "Vad är Koop M?", though the English words match nothing (it was refused).
            return max(dense or 0.0, self.settings.min_evidence)
        if is_english(question) or not qset or (broad and dense is not None):
            return dense if dense is not None else 0.0
        lexical = max(self._coverage(qset, set(tokens(p.chunk.indexed_text))) for p in top)
        share = t.evidence_dense_share
        return lexical if dense is None else (1 - share) * lexical + share * dense

    def _score_units(self, question: str, passages: list[Passage],
                     exclude: frozenset[str] = frozenset(),
                     said: frozenset[str] = frozenset()) -> list[tuple[float, _Unit]]:
        qset = set(tokens(question))
        t = self.tuning
        scored: list[tuple[float, _Unit]] = []
        for order, p in enumerate(by_match(passages)[: self.settings.candidate_passages]):
            prior = 1.0 / (1.0 + self.settings.rank_decay * order)
            for unit in _units(p):
                if exclude and _quoted(unit, exclude):
                    # Said in the previous answer (or the guide card above): something new.
                    scored.append((0.0, unit))
                    continue
                overlap = self._coverage(qset, set(tokens(unit.text))) if qset else 0.0
                # Early sentences of a passage carry its topic; later ones need the words.
                position = t.position_weight / (1 + unit.position)
                sim = p.unit_dense.get(unit.position)
                dense = (min(1.0, max(0.0, (sim - t.unit_dense_floor) / t.unit_dense_span))
                         if sim is not None else 0.0)
                score = (t.unit_base + overlap + position
                         + self.settings.sentence_dense_weight * dense) * prior
                if len(unit.text) < t.short_unit_chars and not unit.lead_in:
                    score *= t.short_unit_factor
                if said and collapse(unit.text) in said:
                    # Said earlier in the conversation, for a question that is not broad: a
                    # new sentence wins unless the said one is clearly the better answer.
                    score *= t.said_factor
                scored.append((score, unit))
        scored.sort(key=lambda su: -su[0])
        return scored

    def select(self, question: str, passages: list[Passage],
               exclude: frozenset[str] = frozenset(),
               candidates: list[Passage] | None = None,
               budget: int | None = None,
               said: frozenset[str] = frozenset(),
               shown: frozenset[str] = frozenset()) -> list[_Unit]:
        """Return the units that best answer the question, in reading order; what is `shown`
        above the answer is left out, a list's shown items too.

        The best sentence anchors the answer and brings the sentences that follow it (the
        report often states a point and then explains it), plus other strong sentences of the
        same passage. A second passage contributes only when its best sentence is nearly as
        good, so citations stay few and relevant.
        """
        scored = self._score_units(question, passages, exclude, said)
        if not scored or scored[0][0] <= 0:
            return []
        t = self.tuning
        best_score, best = scored[0]
        anchor = best.passage
        # The anchor's units were split and scored above; reuse them in reading order.
        units = sorted((u for _, u in scored if u.passage is anchor), key=lambda u: u.position)
        budget = budget or self.settings.max_chars
        chosen = [best]
        size = len(best.text)
        window = units[best.position + 1:]
        if not window and not best.lead_in:
            follow = self._adjacent(anchor, 1)
            if follow is not None:
                window = _units(follow)[:t.follow_units]
        skip = exclude | said
        for unit in window[: self.settings.max_sentences - 1]:
            if collapse(unit.text) in skip or exclude and _quoted(unit, exclude):
                continue                    # said in the previous answer
            if size + len(unit.text) > budget:
                break
            chosen.append(unit)
            size += len(unit.text)
        for sc, unit in scored:
            if (unit.passage is anchor and sc >= t.same_passage_share * best_score and sc > 0
                    and all(unit.position != c.position or c.passage is not anchor
                            for c in chosen)
                    and size + len(unit.text) <= budget):
                chosen.append(unit)
                size += len(unit.text)
        # A quote that opens with a pronoun refers back: quote the sentence it refers to, and
        # that one's antecedent in turn ("Några av företagen … Dessa företag såg … Ett sätt
        # att åstadkomma detta … Genom att de köper …"), a few sentences at most.
        first = min((u for u in chosen if u.passage is anchor), key=lambda u: u.position)
        # At the passage's start the antecedent closes the section's previous passage ("… är
        # Le Mat Jonsered." before "De är ett nystartat ASF …").
        previous = self._adjacent(anchor, -1) if first.position < t.back_steps else None
        line = [*(_units(previous) if previous is not None else []), *units]
        at = line.index(first)
        for _ in range(t.back_steps):
            if at == 0 or not refers_back(line[at].text):
                break
            before = line[at - 1]
            # (A quotation's end within the anchor is read back to its opening below; one
            # that the previous passage ends with is not.)
            if before.lead_in or before.lead is not None or (
                    before.passage is not anchor and is_fragment(before.text)):
                break
            if exclude and _quoted(before, exclude):
                break       # shown above (a card's point) or left out: not again
            chosen.append(before)
            at -= 1
        first = min((u for u in chosen if u.passage is anchor), key=lambda u: u.position)
        chosen += _quotation_opening(first, units, anchor, t)
        for sc, unit in scored:
            # A sentence of another passage is quoted alone, so it must read alone: "Detta kan
            # kanske uppfattas som bristande kvalitet …" opened an answer on price.
            if (unit.passage is not anchor and sc >= t.other_passage_share * best_score
                    and not refers_back(unit.text)):
                chosen.append(unit)
                # A sentence that announces a list ("there are several reasons") brings it.
                after = next((u for _, u in scored if u.passage is unit.passage
                              and u.position == unit.position + 1), None)
                if after is not None and after.lead_in and after.items:
                    chosen.append(after)
                break
        chosen += _lead_ins(chosen, [u for _, u in scored])
        chosen += _announced_figure(chosen, anchor, passages)
        chosen = _with_announced(chosen, [u for _, u in scored], t)
        chosen = _whole_quotations(chosen, [u for _, u in scored], skip, t)
        order = {id(p): i for i, p in enumerate(by_match(passages))}
        chosen.sort(key=lambda u: (order.get(id(u.passage), order[id(anchor)]),
                                   u.passage.chunk.seq, u.position))
        self._complete_lists(chosen)
        total = _total_count(question, candidates or passages)
        # Only what is left out stops the total: a count follow-up is answered by a total
        # said before (`said` weighs sentences down, it does not leave them out).
        if (total is not None and not (exclude and _quoted(total, exclude))
                and all(collapse(total.text) != collapse(u.text) for u in chosen)):
            chosen.insert(0, total)
        return _without(chosen, shown) if shown else chosen

    def _complete_lists(self, chosen: list[_Unit]) -> None:
        """Add the parts of quoted lists that passage boundaries cut off, in place.

        Chunking cuts a long list into parts and repeats its lead-in above each later part.
        A list answer without the other parts is incomplete, so when a quoted list runs to
        the end of its passage the next passage's part follows it, and when it opens its
        passage under a repeated lead-in the previous passage's part comes first. Each part
        is quoted from, and cited to, its own passage.
        """
        covered: set[tuple[str, str]] = set()   # (passage, lead-in) of list parts placed
        for lead in [u for u in chosen if u.lead_in and u.items and u.text]:
            passage = lead.passage
            if (passage.chunk.chunk_id, lead.text) in covered:
                chosen[:] = [u for u in chosen if u is not lead]     # its part is quoted
                continue
            units = split_units(passage.chunk.text)
            after = self._list_parts(passage, lead.text, 1) if units[-1].lead == lead.position \
                else []
            # The sentences that open the passage up to the lead-in repeat the previous part's.
            repeated = split_units(passage.chunk.text.split("\n\n", 1)[0])[: lead.position + 1]
            before = (self._list_parts(passage, lead.text, -1)
                      if repeated and repeated[-1].position == lead.position else [])
            covered.update((u.passage.chunk.chunk_id, lead.text) for u in [lead, *before, *after])
            at = next(i for i, u in enumerate(chosen) if u is lead)
            if before:
                # Quote the lead-in once, above the first part; this passage's items go on.
                before[0].text = " ".join(u.text for u in repeated)
                head = [u for u in chosen[:at] if u.passage is not passage
                        or u.position > lead.position]
                here = _Unit("", passage, lead.position, lead_in=True, items=lead.items)
                chosen[:] = head + before + [here] + after + chosen[at + 1:]
            else:
                chosen[at + 1:at + 1] = after

    def _list_parts(self, passage: Passage, lead: str, step: int) -> list[_Unit]:
        """Return the parts of a list that go on in the next (step 1) or previous (-1)
        passages, in reading order, as units without text of their own."""
        parts: list[_Unit] = []
        near: Passage | None = passage
        for _ in range(self.tuning.list_parts):
            near = self._adjacent(near, step) if near is not None else None
            items = _list_part(near, lead, opening=step > 0) if near is not None else None
            if near is None or not items:
                break
            parts.append(_Unit("", near, -1, lead_in=True, items=items))
            if "\n\n" in near.chunk.text:
                break               # the list starts (or ends) inside this passage
        return parts if step > 0 else parts[::-1]

    def _adjacent(self, anchor: Passage, step: int) -> Passage | None:
        """Return the next (step 1) or previous (step -1) passage of the anchor's section."""
        near = self.neighbour(anchor.chunk, step) if self.neighbour is not None else None
        return (Passage(chunk=near, score=anchor.score, rank=anchor.rank)
                if near is not None else None)

    def answer(self, question: str, passages: list[Passage],
               exclude: frozenset[str] = frozenset(), quantities: bool = True,
               broad: bool = False, candidates: list[Passage] | None = None,
               budget: int | None = None, said: frozenset[str] = frozenset(),
               expects: Expected | None = None, shown: frozenset[str] = frozenset()
               ) -> Answer:
        """Return a cited answer, or a refusal when the evidence is weak.

        `exclude` holds the sentences of the previous answer in a conversation: they are not
        quoted again unless nothing else is left. `said` holds them too, but only weighs them
        down: a follow-up whose answer was already said ("Vilka samarbetar de med?" after an
        answer that named the partner) still gets it. `shown` holds what this answer shows
        above (a guide card's points): never quoted again; with nothing else left the answer
        is empty.
        """
        contexts = contexts_of(passages)
        evidence = self.evidence(question, passages, broad)
        if evidence < self.settings.min_evidence or not passages:
            return refusal(question, contexts, evidence)
        units = (self.select(question, passages, exclude | shown, candidates, budget, said,
                             shown)
                 or self.select(question, passages, shown, candidates=candidates,
                                budget=budget, shown=shown))
        result = compose(question, units, contexts, evidence, self.tuning)
        cited = " ".join(p.chunk.text
                         for p in by_match(passages)[:self.tuning.type_check_passages])
        reason = missing_answer_type(question, result.answer, cited, quantities, expects)
        if reason:
            refused = refusal(question, contexts, evidence)
            refused.note = reason
            return refused
        return result

    def stream(self, question: str, passages: list[Passage],
               exclude: frozenset[str] = frozenset(), quantities: bool = True,
               candidates: list[Passage] | None = None,
               said: frozenset[str] = frozenset()) -> Iterator[str | Answer]:
        """Yield the answer text piece by piece, then the finished Answer."""
        yield from answer_pieces(self.answer(question, passages, exclude, quantities,
                                             candidates=candidates, said=said))


def answer_pieces(result: Answer) -> Iterator[str | Answer]:
    """Yield a finished answer's text sentence group by group (at each citation marker), as a
    stream would, then the Answer."""
    for piece in re.split(r"(?<=\]) ", result.answer):
        yield piece + " "
    yield result


# Capitalised words of English questions that are no names, and the study's own names.
_NOT_NAMES = words("generic_names") | words("study_names") | words("extractive.not_names")


def _names_found(question: str, passages: list[Passage]) -> bool:
    """Return True when the question names something and every name occurs in a passage."""
    found = [w for w in NAME_WORD.findall(question) if w not in _NOT_NAMES]
    return bool(found) and any(all(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", p.chunk.text)
                                   for w in found) for p in passages)


_DEFAULT_TUNING = ExtractiveSettings()


def _quotation_opening(first: _Unit, units: list[_Unit], anchor: Passage,
                       t: ExtractiveSettings) -> list[_Unit]:
    """Return the sentences before the first quoted one back to the opening quotation mark
    (over at most `t.quotation_back` sentences), when it stands inside an interviewee's
    quotation ("Det är längre ledtider vilket vi måste beakta.”" opened an answer mid-quote,
    with a closing mark and no speaker)."""
    text = anchor.chunk.text
    if not (inside_quotation(text, first.text) or is_fragment(first.text)
            and first.text.rstrip().endswith(("”", '"'))):
        return []
    back: list[_Unit] = []
    for unit in reversed(units[max(0, first.position - t.quotation_back):first.position]):
        if unit.lead_in or unit.lead is not None:
            return []
        back.append(unit)
        if is_fragment(unit.text):          # the sentence that opens the quotation
            return back
    return []



def _quotations(units: list[_Unit]) -> dict[int, tuple[list[_Unit], bool]]:
    """Map the position of every sentence of a multi-sentence quotation in one passage to the
    quotation's sentences and whether both its opening and its closing mark are in the passage.

    Swedish opens and closes a quotation with the same mark (”), so a sentence with an odd
    number of marks opens a quotation unless one is open, or it ends with the mark.
    """
    spans: dict[int, tuple[list[_Unit], bool]] = {}

    def record(quotation: list[_Unit], whole: bool) -> None:
        for u in quotation:
            spans[u.position] = (quotation, whole)

    current: list[_Unit] | None = None
    for unit in sorted(units, key=lambda u: u.position):
        if current is not None and (unit.position != current[-1].position + 1
                                    or unit.lead is not None):
            record(current, False)
            current = None
        odd = is_fragment(unit.text)
        if current is not None:
            current.append(unit)
            if odd:
                record(current, True)
                current = None
        elif odd and unit.text.rstrip().rstrip(".").endswith(("”", '"')):
            record([unit], False)            # closes a quotation opened before the passage
        elif odd:
            current = [unit]
    if current is not None:
        record(current, False)
    return spans


def _whole_quotations(chosen: list[_Unit], candidates: list[_Unit],
                      skip: frozenset[str], t: ExtractiveSettings) -> list[_Unit]:
    """Return the units with every quotation they quote a part of quoted whole, or left out.

    A sentence of a quotation read alone opened an answer with '”ASF kan anpassa sig till våra
    behov …' and no closing mark; in a follow-up the quotation's said first sentence was
    skipped and its last ('Matchning mellan vad de kan och vi behöver.”') was glued to the
    quotation before it. A quotation that runs past its passage, is long (over
    `t.quotation_max_chars`), or was said before is left out whole, with the sentence that
    announces it.
    """
    by_passage: dict[int, list[_Unit]] = {}
    for unit in candidates:
        by_passage.setdefault(id(unit.passage), []).append(unit)
    spans = {pid: _quotations(units) for pid, units in by_passage.items()}
    by_place = {(id(u.passage), u.position): u for u in candidates}
    have = {(id(u.passage), u.position) for u in chosen}
    out: list[_Unit] = []
    left_out: set[tuple[int, int]] = set()      # (passage, position) of quotations' ends
    unannounced: set[tuple[int, int]] = set()   # announcers of quotations left out

    def speaker_of(quotation: list[_Unit]) -> _Unit | None:
        """The sentence that announces a quotation ("… menar till exempel att:"), if any."""
        before = by_place.get((id(quotation[0].passage), quotation[0].position - 1))
        return (before if before is not None and not before.items
                and before.text.rstrip().endswith(":") else None)

    for unit in sorted(chosen, key=lambda u: u.position):
        span = spans.get(id(unit.passage), {}).get(unit.position)
        if span is None:
            # "Detta kan kanske uppfattas …" after a quotation left out points at nothing.
            if not ((id(unit.passage), unit.position - 1) in left_out
                    and refers_back(unit.text)):
                out.append(unit)
            continue
        quotation, closed = span
        speaker = speaker_of(quotation)
        if (not closed or sum(len(u.text) for u in quotation) > t.quotation_max_chars
                or any(collapse(u.text) in skip for u in quotation)):
            left_out.add((id(unit.passage), quotation[-1].position))
            if speaker is not None:
                # Else "… menar till exempel att:" announces whatever follows it in the answer
                # (a follow-up that had said the quotation's first sentence did so).
                unannounced.add((id(speaker.passage), speaker.position))
            continue
        out.append(unit)
        # The sentence that announces the quotation ("En företrädare … menar till exempel
        # att:") says whose words they are.
        for part in [*([speaker] if speaker is not None else []), *quotation]:
            if (id(part.passage), part.position) not in have:
                have.add((id(part.passage), part.position))
                out.append(part)
    return [u for u in out if (id(u.passage), u.position) not in unannounced]


def _lead_ins(chosen: list[_Unit], candidates: list[_Unit]) -> list[_Unit]:
    """Return the lead-ins of quoted list items whose lead-in is not quoted yet.

    A list item read without the sentence that introduces it does not say what it is an item
    of; with its lead-in the whole list is quoted.
    """
    by_place = {(id(u.passage), u.position): u for u in candidates}
    have = {(id(u.passage), u.position) for u in chosen}
    extra: list[_Unit] = []
    for unit in chosen:
        place = (id(unit.passage), unit.lead)
        if unit.lead is not None and place not in have and place in by_place:
            have.add(place)
            extra.append(by_place[place])
    return extra


def _with_announced(chosen: list[_Unit], candidates: list[_Unit],
                    t: ExtractiveSettings) -> list[_Unit]:
    """Return the units with what each colon sentence announces, or without the sentence.

    What a colon sentence announces (an interviewee's quotation) is quoted with it up to
    `t.announced_max_chars`; a longer one, or one the passage does not hold, drops the
    sentence.

    "En företrädare för ett ASF menar till exempel att:" followed in the answer by a sentence
    other than the quotation it announces attributed that sentence to the interviewee; at the
    end of an answer it announced nothing. A list lead-in is left alone (its items come
    with it).
    """
    by_place = {(id(u.passage), u.position): u for u in candidates}
    have = {(id(u.passage), u.position) for u in chosen}
    out = list(chosen)
    for unit in chosen:
        if not unit.text.rstrip().endswith(":") or unit.items:
            continue
        follow = by_place.get((id(unit.passage), unit.position + 1))
        # What a colon announces is an interviewee's quotation; a sentence without quotation
        # marks after "… menade t.ex. att:" is the authors' own (the quotation is missing from
        # the text), and quoting the two together put the authors' words in a company's mouth.
        if follow is None or not follow.text.lstrip().startswith(("”", '"', "“")):
            out.remove(unit)
            continue
        if (id(follow.passage), follow.position) in have:
            continue
        added = [follow]
        # A quotation split into sentences runs to its closing mark.
        while is_fragment(" ".join(u.text for u in added)) and len(added) < t.quotation_back:
            more = by_place.get((id(unit.passage), added[-1].position + 1))
            if more is None:
                break
            added.append(more)
        if sum(len(u.text) for u in added) > t.announced_max_chars or follow.lead is not None:
            out.remove(unit)
            continue
        out += added
        have.update((id(u.passage), u.position) for u in added)
    return out


# A sentence that points at a model or figure it does not carry ("Sweco brukar använda
# följande modell vid planering av möten."): the figure is set as an image, so its text
# lives in a figure card or list passage of the same section.
_ANNOUNCES_FIGURE = lexicon.pattern("answering.announces_figure")


def _announced_figure(chosen: list[_Unit], anchor: Passage, passages: list[Passage]
                      ) -> list[_Unit]:
    """Return the list of the figure a quoted sentence announces, from a retrieved figure
    passage (a figure card) of the anchor's section, when the answer holds no list."""
    announcing = [u for u in chosen if u.passage is anchor and _ANNOUNCES_FIGURE.search(u.text)]
    if not announcing or any(u.lead_in and u.items for u in chosen):
        return []
    section = anchor.chunk.section_path
    for passage in by_match(passages):
        if passage is anchor or passage.chunk.section_path != section:
            continue
        if passage.chunk.kind == "figure":
            listed = [u for u in _units(passage) if u.lead_in and u.items]
            if listed:
                return listed[:1]
    return []


def _list_part(passage: Passage, lead: str, *, opening: bool) -> list[str] | None:
    """Return the items of a list part under `lead` that opens (or closes) a passage."""
    paragraphs = passage.chunk.text.split("\n\n")
    paragraph = paragraphs[0] if opening else paragraphs[-1]
    found = next((u for u in split_units(paragraph) if u.lead_in and u.text == lead), None)
    return found.items if found is not None and found.items else None


_HOW_MANY = lexicon.pattern("answering.count_noun")
_NUMBER = lexicon.pattern("answering.count_number").pattern     # a piece of the count patterns


def _total_count(question: str, passages: list[Passage]) -> _Unit | None:
    """Return the sentence that gives the asked-for count in its complete form, if a part of it
    would otherwise lead ("45 intervjuer genomfördes" before "20 sonderande intervjuer").

    A count question's noun ("hur många intervjuer") found right after a number, with no word
    between them that narrows it to a part, states a whole; when the passages also count a
    part ("20 sonderande intervjuer"), the largest whole among the candidate passages (the
    fused candidates, not only the six shown) leads the answer: a total is at least any part.
    """
    match = _HOW_MANY.search(question)
    if match is None or not passages:
        return None
    noun = stem(match.group(1).lower())
    if len(noun) < 3:
        return None
    # A year ("Under 2019 intervjuades …") is not a count.
    number = rf"(?<![\d.,])(?!(?:19|20)\d\d\b)({_NUMBER})"
    whole = re.compile(rf"\b{number}\s+{re.escape(noun)}\w*", re.IGNORECASE)
    part = re.compile(rf"\b{number}\s+\w+\s+{re.escape(noun)}\w*", re.IGNORECASE)
    best: tuple[int, _Unit] | None = None
    has_part = False
    for passage in passages:
        for unit in _units(passage):
            found = whole.search(unit.text)
            if found is None:
                has_part = has_part or bool(part.search(unit.text))
                continue
            value = int(found.group(1)) if found.group(1).isdigit() else 0
            if best is None or value > best[0]:
                best = (value, unit)
    return best[1] if best is not None and has_part else None


def _without(chosen: list[_Unit], shown: frozenset[str]) -> list[_Unit]:
    """Return the units not shown above, a list with only its items not shown (the card above
    lists the others): "Mer ur källorna" quoted the whole list of recommendations again after
    a card that quoted six of its ten items."""
    kept: list[_Unit] = []
    for unit in chosen:
        if unit.lead_in and unit.items:
            items = [item for item in unit.items if not said_in(item, shown)]
            if items:
                kept.append(_Unit(unit.text, unit.passage, unit.position, True, items,
                                  unit.lead))
        elif not _quoted(unit, shown):
            kept.append(unit)
    return kept


def _quoted(unit: _Unit, said: frozenset[str]) -> bool:
    """Return True when a unit was said already: its sentence, or for a list (which is quoted
    whole, never with a gap) any sentence of its items. A guide card quotes single items of
    the report's lists; the list after it repeated them ("Mer ur källorna" listed three of the
    card's points again). A list item of several sentences is said when one of them is: a card
    quotes a sentence of it."""
    return any(said_in(text, said) for text in (unit.text, *unit.items))


def compose(question: str, units: list[_Unit], contexts: list[Context],
            evidence: float, tuning: ExtractiveSettings | None = None) -> Answer:
    """Number the cited passages and write the answer with [n] after each passage's text
    (a list quotes at most `tuning.list_items` items)."""
    most = (tuning or _DEFAULT_TUNING).list_items
    numbers: dict[str, int] = {}
    quotes: dict[str, list[str]] = {}
    parts: list[str] = []
    included: set[str] = set()
    room = most                             # items the current list may still quote
    for unit in units:
        listed = unit.lead_in and bool(unit.items)
        if unit.text:
            if unit.text in included:
                continue
            room = most if listed else room
        elif not room or set(unit.items) <= included:
            continue            # a list part (no lead-in of its own) past the limit, or quoted
        included.add(unit.text)
        chunk = unit.passage.chunk
        text = unit.text
        if listed:
            # A list is quoted whole, even when one of its items was quoted on its own before
            # (from another passage): a list with a gap misstates what it lists.
            items = unit.items[:room]
            room -= len(items)
            included.update(items)
            text = "\n".join(([text] if text else [""]) + [f"- {item}" for item in items])
        n = numbers.setdefault(chunk.chunk_id, len(numbers) + 1)
        quotes.setdefault(chunk.chunk_id, []).extend(
            ([unit.text] if unit.text else []) + (items if listed else []))
        parts.append(f"{text} [{n}]")
    citations = []
    by_id = {u.passage.chunk.chunk_id: u.passage.chunk for u in units}
    for chunk_id, n in numbers.items():
        chunk = by_id[chunk_id]
        citations.append(Citation(n=n, chunk_id=chunk_id, source=chunk.source, title=chunk.title,
                                  section=chunk.section, page=chunk.page,
                                  quote=" … ".join(dict.fromkeys(quotes[chunk_id]))))
    answer = _merge_markers(_join(parts))
    return Answer(question=question, answer=answer, refused=False, citations=citations,
                  contexts=contexts, evidence=evidence)


def _join(parts: list[str]) -> str:
    """Join answer parts: text after a list starts a paragraph, a list's continuation goes on."""
    pieces: list[str] = []
    for i, part in enumerate(parts):
        if i:
            pieces.append("" if part.startswith("\n") else
                          "\n\n" if "\n- " in parts[i - 1] else " ")
        pieces.append(part)
    return "".join(pieces)


def _merge_markers(text: str) -> str:
    """Write "A [1] B [1]" as "A B [1]" when consecutive sentences cite the same passage.

    B may hold brackets that are not markers ("Vi skriver samma som vi gör med […]")."""
    return re.sub(r" \[(\d+)\](\s+)(?=(?:(?!\[\d+\]).)*? \[\1\](?:\s|$))", r"\2", text,
                  flags=re.DOTALL)
