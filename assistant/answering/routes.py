"""Answering: the routes a question can take, tried in order, each with the same call.

A route gets one Request (the question, its standalone form and analysis, the retrieval
result, what was said before, the length budget) and either answers it or passes
(`stream` returns None). The pipeline holds the ordered list and only wires the stages:

    clarify -> catalog -> unknown name -> outside subject -> guide card -> broad -> factual
                                                                                (extractive)
    clarify -> catalog -> unknown name -> outside subject -> model             (llm)

What a Request holds is worked out when a route first asks for it: the clarify route answers
before the question is rewritten or searched (the LLM backend's rewrite calls the model), and
the catalog answers before any retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

from assistant.answering.answerability import outside_subject, unknown_name
from assistant.answering.base import Answerer, contexts_of, final_answer, refusal
from assistant.answering.broad import BroadAnswerer, extend, planning_figure, similar_cases
from assistant.answering.catalog import answer_from_catalog
from assistant.answering.extractive import ExtractiveAnswerer, answer_pieces
from assistant.answering.guide import card_part, card_sentences, lead_with_card
from assistant.cases.catalog import INDUSTRIES, CaseQuery, Catalog
from assistant.config import AnswerSettings
from assistant.prompts import (
    ALREADY_SAID_NOTE,
    CLARIFY_REFERENCE,
    GUIDE_AGAIN_NOTE,
    GUIDE_HEADING,
    OUTSIDE_SUBJECT_REASON,
    ROLES,
    UNKNOWN_NAME_REASON,
)
from assistant.retrieval.followup import (
    asking_sentence,
    asks_own_aspect,
    dangling,
    elaborates,
    extends,
    in_role,
    needs_context,
    turns,
)
from assistant.retrieval.followup import context as conversation_topic
from assistant.retrieval.guide import GuideEntry, GuideMatch, titled
from assistant.retrieval.hybrid import Retrieval
from assistant.retrieval.question import Analysis
from assistant.retrieval.topics import TopicIndex
from assistant.text import collapse, said_in, split_sentences
from assistant.types import Answer, Citation, Passage


class Stages(Protocol):
    """What a Request asks the pipeline for, each at most once."""

    def standalone(self, question: str, history: Sequence[dict | str]) -> str: ...

    def closest_card(self, retrieval: Retrieval) -> float: ...

    def requoted(self, said: frozenset[str], question: str, top: int) -> frozenset[str]: ...

    def analyse(self, question: str, query: str, role: str | None) -> Analysis: ...

    def search(self, question: str, query: str) -> Retrieval: ...

    def cards(self, retrieval: Retrieval, analysis: Analysis,
              focus: Retrieval | None = None, question: str = "",
              in_role: bool = False, words: str = "") -> list[GuideMatch]: ...


class Request:
    """One question on its way through the routes; each part is worked out on first use."""

    def __init__(self, question: str, history: Sequence[dict | str], role: str | None,
                 stages: Stages, settings: AnswerSettings):
        self.question = question
        self.history = history
        self.role = role
        self.budget = settings.broad_max_chars      # the length of a broad answer
        self._stages = stages
        self.settings = settings
        self._broad_kinds = settings.broad_kinds
        self._min_card = settings.role_min_card
        self._focus_weight = settings.guide_focus_weight
        self._own: Retrieval | None = None     # the question's own retrieval, when kept

    @cached_property
    def query(self) -> str:
        """The question made standalone with the conversation, or read in the asker's role
        when it says too little on its own (itself when neither applies)."""
        query = self._stages.standalone(self.question, self.history)
        if self.role not in ROLES or self.history or query != self.question:
            return query
        return self._in_role(str(ROLES[self.role]["context"]))

    def _in_role(self, context: str) -> str:
        """Return a short first question asked in a role ("Hur kommer vi igång?"), read in
        that role when it is close to a question users ask about these documents (a guide
        card's way of asking at least `role_min_card` similar); any other as it stands.

        A question of several sentences is not read in the role: it says who asks and what
        about, and its asking sentence is matched to the cards on its own (the question as a
        whole when that sentence says too little). Read whole in the role (its "och"
        and pronouns counted as leaning on context), the role's words outweighed the asking
        sentence. Persona set asked in its groups' roles: 0.568 -> 0.644 (eight items up,
        two down); eval/followups.yaml in roles 0.659 -> 0.652 (one follow-up 1.0 -> 0.83);
        asked without a role, both unchanged.

        Measured on 37 short questions written for this (not eval items): the 17 on the
        documents' topics had a closest card at 0.461-0.701, the 20 off them 0.318-0.486 (three
        at 0.46 or more: "Vilka aktier köper vi?", "Hur lagar vi mat?", "Vilken bil köper
        vi?"). The question's own evidence separated worse: five of twelve off-topic questions
        ("Hur spelar vi golf?") passed 0.28 and were answered in the role. Reading questions
        that would be refused as they stand in the role answered "Hur byter man olja på en
        Volvo?"; only short questions are read in it.
        """
        if len(split_sentences(self.question)) > 1 or not needs_context(self.question):
            return self.question
        own = self._stages.search(self.question, self.question)
        if self._stages.closest_card(own) < self._min_card:
            self._own = own
            return self.question
        return in_role(self.question, context)

    def without(self, words: str) -> Request | None:
        """Return the question with `words` left out wherever they stand as words (a name or
        subject the documents never mention), asked in the same role but on its own (a
        follow-up's rewrite may call a language model); None when no word is left."""
        question = re.sub(rf"(?<!\w){re.escape(words)}(?!\w)", " ", self.question)
        question = re.sub(r"\s+(?=[?!.,;:])", "", collapse(question))
        if len(re.findall(r"\w+", question)) < 2:
            return None
        return Request(question, (), self.role, self._stages, self.settings)

    @cached_property
    def analysis(self) -> Analysis:
        """What the question asks for and who asks (the role, when the asker said it).

        A follow-up with no word that says what it asks ("Och vad sa de i Västerås då?" after
        "Vad kom fram på träffen i Rinkeby?") asks it as the previous question did: its kind
        is the previous question's when that one's was said. One that asks whether the topic
        extends to something ("Gäller det även små företag?") asks for that one thing.
        """
        analysis = self._stages.analyse(self.question, self.query, self.role)
        if self.pointed:
            # "Kan du utveckla den där om integration?": more of what was said, across sections.
            return replace(analysis, kind="broad", asks=None, guessed=False)
        previous = user_turns(self.history)[-1:]
        if analysis.guessed and previous and not extends(self.question):
            before = self._stages.analyse(previous[0], previous[0], self.role)
            if not before.guessed and before.kind != analysis.kind:
                analysis = replace(analysis, kind=before.kind, asks=before.asks)
        return analysis

    @cached_property
    def retrieval(self) -> Retrieval:
        """The passages retrieved for the question (its own search, when the role reading
        already made it and kept the question as it stands)."""
        query = self.query
        return self._own if self._own is not None else self._stages.search(self.question, query)

    @cached_property
    def cards(self) -> list[GuideMatch]:
        """The guide cards closest to the question, best first.

        A first question of several sentences is matched with its asking sentence's own
        search too, and a follow-up that asks about an aspect of its own with the follow-up's
        own search: what is asked now weighs as much as the situation or the topic carried in
        (see `AnswerSettings.guide_focus_weight`).

        An asking sentence that says too little to be searched alone ("… Hur gör vi?") is not
        read in the asker's role: the question is matched as a whole. Read in the role ("Hur
        gör vi? (som företag som vill köpa av arbetsintegrerande sociala företag)"), the
        role's words pulled such questions to the cards written in its words. Measured on the
        same index: eval.card_choice's 66 independent questions, right card leading in the
        group's role / without one 20 / 22 -> 24 / 24, first 27 / 31 -> 34 / 34, in the top
        three 44 / 48 -> 52 / 50; persona set in roles 0.644 -> 0.666 (four items up, none
        down), without a role unchanged; eval/followups.yaml 0.635 -> 0.621, where a first
        answer that now leads with the right case card leaves its follow-up less to say.
        """
        if not self.query.startswith(f"{self.question} ("):
            # A first question, or a follow-up made one (in the previous question's frame,
            # its pronoun replaced by a name, or rewritten by a language model).
            asking = asking_sentence(self.query)
        else:
            own = bool(self.history) and asks_own_aspect(self.question, self.query)
            # A follow-up asking to hear more is matched with the sentence it points at:
            # its own words ("utveckla") found the cards on developing an ASF's business.
            asking = self.pointed or (self.question if own else None)
        focus = None
        if asking and self._focus_weight:
            if "retrieval" in self.__dict__:
                focus = self._stages.search(asking, asking)
            else:
                # Both searches at once: the model's forward pass and numpy's products let go
                # of the interpreter lock, so one search's Python work runs during the other's.
                with ThreadPoolExecutor(max_workers=1) as pool:
                    pending = pool.submit(self._stages.search, asking, asking)
                    self.retrieval  # noqa: B018 - cached; searched here meanwhile
                    focus = pending.result()
        in_role = not self.history and self.query != self.question
        # The words matched to the cards' are the sentence asked in, as for the vector: the
        # situation's words (a company, a town) would favour cards that name such things.
        words = asking or self.query
        return self._stages.cards(self.retrieval, self.analysis, focus, self.question, in_role,
                                  words)

    @property
    def asks_a_card(self) -> bool:
        """True when the question is the closest guide card's title word for word (a related
        question clicked), or nearly one of its ways of asking (`guide_near_copy`) and says
        in no word what it asks for (its kind is guessed): the card answers it.

        Measured: of the 64 titles asked, 26 answers led with their card; the rest asked for
        a fact or a name and got the factual route's few sentences. A question only close to
        a card's way of asking keeps its stated kind's route: "Berätta om Yalla Rinkeby." led
        by the card quoted the partner, and "Vilka samarbetar de med?" then found other
        people. One whose kind is only guessed ("Varför är företagare så misstänksamma mot
        sociala företag?", 0.86 from a way of asking) got the factual route's few sentences:
        with the card, eval.card_choice 18 -> 20 of 66 led by their card (in the group's
        role), persona set 0.652 -> 0.663, standard set fact recall 0.872 -> 0.880, citation
        precision 0.439 -> 0.425.
        """
        cards = self.cards
        if not cards:
            return False
        return titled(cards[0].entry, self.question) or (
            self.analysis.guessed and cards[0].near_copy)

    @property
    def broad(self) -> bool:
        """True when the question asks for main points across sections (advice, examples)."""
        return self.analysis.kind in self._broad_kinds

    @cached_property
    def said(self) -> frozenset[str]:
        """The sentences earlier answers in the conversation quoted."""
        return previous_sentences(self.history)

    @cached_property
    def pointed(self) -> str | None:
        """The sentence of the last answer a follow-up asks to hear more of ("Kan du utveckla
        den där om integration?"), carried in its standalone form; None for any other."""
        if self.history and elaborates(self.question) \
                and self.query.startswith(f"{self.question} ("):
            return self.query[len(self.question) + 2:-1]
        return None

    @cached_property
    def exclude(self) -> frozenset[str]:
        """What a broad follow-up leaves out: what was said, but the few sentences said that
        are closest to what it asks (`AnswerSettings.followup_requote`).

        A fact or a list is answered where it stands, earlier quotes only weighed down ("Var
        ligger Koopus?" after a turn that said so; "Vilka samarbetar de med?" after an answer
        that named the partner, where leaving it out quoted the wrong people). A broad
        follow-up on the same topic ("Och vad kan bli problemen då?" after the advantages of
        working with an ASF in manufacturing) often asks for what one sentence already said
        answers: the card on the topic holds one point on the problems among five on the
        advantages. Measured on 24 conversations written for this (eval/followups.yaml):
        leaving out everything said covered 0.41 of the follow-ups' key points, with 19 % of
        an answer's sentences said before; leaving out nothing covered 0.70 and repeated 49 %
        (12 of 24 answers more than half).
        """
        if not (self.broad and self.said):
            return frozenset()
        if self.pointed:
            # Asked to hear more of a sentence said: the passage around it may come again.
            around = {collapse(s) for p in self.retrieval.passages
                      if self.pointed in collapse(p.chunk.text)
                      for s in split_sentences(p.chunk.text)}
            return self.said - around
        return self.said - self._stages.requoted(self.said, self.question,
                                                 self.settings.followup_requote)


def _lines(answer: Answer) -> Iterator[str | Answer]:
    yield from (line + "\n" for line in answer.answer.split("\n"))
    yield answer


def _whole(answer: Answer) -> Iterator[str | Answer]:
    yield answer.answer
    yield answer


class Route:
    """One way of answering. `answer` returns None when the question is not this route's."""

    # Whether the answer offers the closest guide cards' titles as follow-up questions.
    offers_related = True
    # How a finished answer is streamed: line by line, whole, or sentence group by group.
    pieces: Callable[[Answer], Iterator[str | Answer]] = staticmethod(_lines)

    def answer(self, request: Request) -> Answer | None:
        """Return the finished answer, or None to let the next route answer."""
        raise NotImplementedError

    def stream(self, request: Request) -> Iterator[str | Answer] | None:
        """Return the answer's text pieces then the Answer, or None to pass."""
        answer = self.answer(request)
        return None if answer is None else self.pieces(answer)


class Clarify(Route):
    """"Hur kan man lösa det?" first in a conversation: ask back instead of guessing."""

    offers_related = False
    pieces = staticmethod(_whole)

    def answer(self, request: Request) -> Answer | None:
        pointer = dangling(request.question)
        if pointer is None or conversation_topic(request.history):
            return None
        return Answer(question=request.question, answer=CLARIFY_REFERENCE.format(word=pointer),
                      refused=True, standalone_question=request.question)


class FromCatalog(Route):
    """List-of-cases questions, answered from the case catalog (no retrieval, no model)."""

    offers_related = False

    def __init__(self, catalog: Callable[[], Catalog]):
        self._catalog = catalog

    def answer(self, request: Request) -> Answer | None:
        catalog = self._catalog()
        history = request.history
        return answer_from_catalog(catalog, request.question,
                                   user_turns(history), shown_cases(catalog, history))


def _refused(request: Request, note: str, missing: str) -> Answer:
    """Return the refusal of a question the documents do not cover, saying why in its note,
    with the closest passages to read on and, as related questions, the guide cards closest
    to the question without the `missing` name or subject.

    Without it, since the name pulls the question away from every card: "Vilka ASF finns i
    Umeå?" had no card at 0.45 or more (related questions need 0.5); without "Umeå" it is 0.55
    from "Hur kommer vi igång med att köpa av ett ASF?".
    """
    refused = refusal(request.question, contexts_of(request.retrieval.passages), 0.0)
    refused.note = note
    rest = request.without(missing)
    if rest is not None:
        refused.related = related_titles(rest.cards, refused.answer, request.settings)
    return refused


class UnknownName(Route):
    """A narrow question about a name the documents never mention: said so, not guessed."""

    offers_related = False      # offered by the refusal itself, see _refused
    pieces = staticmethod(_whole)

    def __init__(self, vocabulary: Callable[[], Container[str]]):
        self._vocabulary = vocabulary

    def answer(self, request: Request) -> Answer | None:
        if request.broad:
            return None
        name = unknown_name(request.question, self._vocabulary())
        if name is None:
            return None
        return _refused(request, UNKNOWN_NAME_REASON.format(name=name), name)


class OutsideSubject(Route):
    """A question about a subject no document discusses (a tax, a law, a country), broad or
    narrow: said so with the subject named, not answered with a neighbouring topic."""

    offers_related = False      # offered by the refusal itself, see _refused
    pieces = staticmethod(_whole)

    def __init__(self, covered: Callable[[], Container[str]]):
        self._covered = covered

    def answer(self, request: Request) -> Answer | None:
        # The user's own words: a rewritten follow-up carries the conversation's subjects too.
        subject = outside_subject(request.question, self._covered())
        if subject is None:
            return None
        return _refused(request, OUTSIDE_SUBJECT_REASON.format(subject=subject), subject)


class Broad(Route):
    """Broad questions: the best passage's answer, then the main points of other sections,
    a planning model for a meeting question, and the cases closest to the asker."""

    def __init__(self, settings: AnswerSettings, extractive: Callable[[], ExtractiveAnswerer],
                 broad: BroadAnswerer, topics: Callable[[], TopicIndex],
                 catalog: Callable[[], Catalog]):
        self.settings = settings
        self._extractive = extractive
        self._broad = broad
        self._topics = topics
        self._catalog = catalog

    def answer(self, request: Request) -> Answer | None:
        if not request.broad:
            return None
        return self.build(request, request.exclude)

    def build(self, request: Request, exclude: frozenset[str], max_chars: int | None = None,
              shown: frozenset[str] = frozenset()) -> Answer:
        """Return the best passage's answer followed by the main points of other sections.

        A refusal stays a refusal. The points leave out what the first part (or the previous
        answer in a conversation) already quotes, and what is `shown` above them (a guide
        card's points), which is never quoted again.
        """
        settings, analysis, retrieval = self.settings, request.analysis, request.retrieval
        query = request.query
        # A question about planning a meeting gets the documents' planning model first; the
        # window around the best passage makes room for it.
        figure = (planning_figure(self._broad, retrieval.vector, exclude | shown)
                  if analysis.meeting and settings.broad_extra_points else None)
        window = settings.broad_window_chars
        if figure is not None:
            window = max(settings.broad.min_window_chars, window - len(figure.text)
                         - sum(len(x) + 5 for x in figure.items))
        base = self._extractive().answer(query, retrieval.passages, exclude,
                                         expects=analysis.expects,
                                         quantities=analysis.kind == "fact", broad=True,
                                         budget=window, shown=shown)
        if base.refused:
            return base
        if (figure is not None
                and len(base.answer) > window + settings.broad.window_slack_chars):
            # The best passage's window is a long list: quoted whole it would leave the
            # planning model no room, so the model leads and the points follow.
            base = replace(base, answer="", citations=[])
        said = exclude | shown | {collapse(s) for c in base.citations
                                  for s in c.quote.split(" … ")}
        points = self._points(request, said, figure)
        if figure is not None and not any(collapse(x) in said for x in figure.quotes):
            points = [figure, *[p for p in points if p.chunk.chunk_id != figure.chunk.chunk_id]]
        # No sentence twice: an example whose quote is said above (its case's guide card) is
        # left out; a point that quotes the first example's sentence gives way to it, as the
        # example names its case.
        examples = self._examples(request, said)
        named = {collapse(s) for e in examples[:1] for s in split_sentences(e.quote)}
        points = [p for p in points
                  if p.figure or not any(said_in(q, named) for q in p.quotes)]
        said |= {collapse(s) for p in points for q in [*p.quotes, *p.items]
                 for s in split_sentences(q)}
        examples = examples[:1] + [e for e in examples[1:] if not all(
            collapse(s) in said for s in split_sentences(e.quote))]
        return extend(base, points, examples,
                      request.budget if max_chars is None else max_chars)

    def _points(self, request: Request, said: frozenset[str], figure) -> list:
        settings, analysis = self.settings, request.analysis
        limit = settings.broad_extra_points
        if not limit:
            return []
        if settings.broad_units != "sections":
            return self._broad.select(request.query, request.retrieval, analysis, said)[:limit]
        industry = analysis.situation.industry
        # A buying company's industry, in the words the documents use for it (the catalog's
        # patterns), steers one point to what the report says about that sector. An ASF that
        # names its own trade asks about customers, not its trade: measured on the persona set,
        # steering for every role cost the ASF group 0.025 coverage and gained the CSR group
        # 0.017.
        steer = industry and (analysis.situation.role == "company" or analysis.kind == "examples")
        in_text = (re.compile("|".join(INDUSTRIES[label][1].pattern for label in industry),
                              re.IGNORECASE) if steer else None)
        chapter = (figure.chunk.section_path[0]
                   if figure is not None and figure.chunk.section_path else None)
        return self._broad.select_by_section(request.query, request.retrieval, analysis, said,
                                             in_text, chapter)[:limit]

    def _examples(self, request: Request, said: frozenset[str]) -> list:
        """Return the cases to show as examples, none whose quote is `said` above."""
        analysis, vector = request.analysis, request.retrieval.vector
        industry = analysis.situation.industry
        if analysis.customers and analysis.situation.role == "asf":
            # An ASF asking how to get customers: how the cases closest to it in meaning got
            # theirs (the catalog's "started by", each a verbatim quote of the report).
            cases = {c.source: (c.name, c.about, c.started_by[0].quote) for c in self._catalog()
                     if c.started_by}
            return similar_cases(self._topics(), vector, cases, self.settings.broad, floor=0.0,
                                 said=said)
        if not (analysis.kind == "examples" or industry or analysis.situation.place):
            return []
        if not industry:
            cases = {c.source: (c.name, c.about, c.summary.quote) for c in self._catalog()}
            return similar_cases(self._topics(), vector, cases, self.settings.broad,
                                 floor=self.settings.broad.example_floor, said=said)
        # The cards of the asker's industry, closest in meaning among them; none when no
        # card has it (similarity alone put Le Mat Jonsered first for most questions, and
        # attached cases to "exempel från textilbranschen", which the report has none of).
        # Each shows the sentence that makes it one: Stickans Bokföring och event, found
        # for "städning", was shown by its summary (bookkeeping and events) and read as
        # padding; the sentence naming its cleaning says why it is there.
        matching = self._catalog().filter(CaseQuery(industry=list(industry)))
        cases = {m.case.source: (m.case.name, m.case.about, m.quotes(1)[0])
                 for m in matching}
        return similar_cases(self._topics(), vector, cases, self.settings.broad, floor=0.0,
                             said=said)


class GuideCard(Route):
    """Broad questions close to a guide card: the card's points first (a second card's when
    it is nearly as close), then the broad answer with what the cards do not say.

    A question the engine refuses (the documents do not hold its answer) stays refused: a
    card close in topic does not answer a question on, say, tax rules; the refusal offers the
    closest cards as related questions instead.
    """

    def __init__(self, settings: AnswerSettings, broad: Broad, topics: Callable[[], TopicIndex]):
        self.settings = settings
        self._broad = broad
        self._topics = topics

    def answer(self, request: Request) -> Answer | None:
        settings = self.settings
        if not (settings.guide and (request.broad or request.asks_a_card)):
            return None
        cards, exclude = request.cards, request.exclude
        first = self.first_card(cards, exclude, request.question)
        if first is None:
            return None
        best, lines, citations = first
        again = all(said_in(q, request.said) for q, _ in best.entry.points)
        card_chars = sum(len(line) for line in lines)
        shown = card_sentences(best.entry, self._topics().chunks)
        second = self.second_card(best, cards, exclude | shown)
        if second is not None:
            card_chars += len(second.answer)
            shown |= card_sentences(next(c.entry for c in cards if c.entry.id == second.guide),
                                    self._topics().chunks)
        rest = self._broad.build(request, exclude,
                                 max_chars=max(settings.guide_min_engine_chars,
                                               settings.guide_max_chars - card_chars),
                                 shown=shown)
        if rest.refused:
            # Refused with the card's sentences left out: refused on its own too, or did the
            # card say all the best passage had?
            plain = self._broad.build(request, exclude)
            if plain.refused:
                return plain
        answer = lead_with_card(best.entry, lines, citations,
                                rest if settings.guide_then_engine else None, second)
        if again:
            answer.note = f"{answer.note} {GUIDE_AGAIN_NOTE}".strip()
        return answer

    def first_card(self, cards: list[GuideMatch], exclude: frozenset[str], question: str
                   ) -> tuple[GuideMatch, list[str], list[Citation]] | None:
        """Return the first card (by score: similarity, retrieval agreement, role) among those
        close enough by similarity alone that the conversation has not already mostly quoted,
        with its part's lines and citations; None when there is none.

        A card the question nearly copies a way of asking of (or its title) answers it even
        when an earlier answer quoted its points: they are quoted again, as what answers the
        question now ("Ska vi berätta att vi är ett socialt företag?" after an answer on
        marketing that quoted most of that card). So does a card that `stands_out`, closer to
        the question than any other by `guide_requote_lead`: "Hur har de fått tag på sina
        kunder?" after the answer that led with Le Mat Jonsered's card is what that card
        says. Skipped, the next card (at 0.42, far from the question) or the engine's leftovers
        answered. Measured on the same index: eval/followups.yaml 0.621 -> 0.646, a second
        development set of 36 conversations (eval/followups_dev2.yaml) 0.663 -> 0.697,
        followups_heldout2.yaml 0.509 -> 0.531; the persona set unchanged. Quoting only the
        card's points among the said sentences closest to the question (`followup_requote`)
        gave 0.646, 0.663 and 0.520. Such a card is quoted whole also when some of its points
        are still unsaid: "Varför funkar deras samarbete med industrin så bra?" after "Vad är
        Koopus?" got the two points left of four, not the two that answer it (dev2 0.697 ->
        0.725, no other set changed).
        """
        settings = self.settings
        for card in cards:
            if card.similarity < settings.guide_min_similarity:
                continue
            near_copy = settings.guide_near_copy and (card.similarity >= settings.guide_near_copy
                                                      or titled(card.entry, question))
            if near_copy or stands_out(card, cards, settings.guide_requote_lead):
                lines, citations = card_part(card.entry, self._topics().chunks)
                return (card, lines, citations) if lines else None
            lines, citations = card_part(card.entry, self._topics().chunks, exclude)
            if fresh_enough(lines, card.entry):
                return card, lines, citations
        return None

    def second_card(self, best: GuideMatch, cards: list[GuideMatch],
                    exclude: frozenset[str]) -> Answer | None:
        """Return the next card's part (as an Answer whose text is its lines) when its score
        is nearly the first's, leaving out what the first card or the conversation quoted."""
        settings = self.settings
        if not settings.guide_second_margin:
            return None
        near = next((c for c in cards if c.entry.id != best.entry.id
                     and c.similarity >= settings.guide_second_min_similarity), None)
        if near is None or best.score - near.score > settings.guide_second_margin:
            return None
        lines, citations = card_part(near.entry, self._topics().chunks, exclude)
        if len(lines) < 2:
            return None
        return Answer(question="", answer="\n".join(lines), refused=False,
                      citations=citations, guide=near.entry.id)


def stands_out(card: GuideMatch, cards: list[GuideMatch], lead: float) -> bool:
    """Return True when a card is closer to the question than any other by at least `lead` in
    similarity (0: never)."""
    others = [c.similarity for c in cards if c.entry.id != card.entry.id]
    return bool(lead) and card.similarity - max(others, default=0.0) >= lead


def fresh_enough(lines: list[str], entry: GuideEntry) -> bool:
    """Return True when a card's part (`card_part`'s lines) still holds at least half of the
    card's points: a follow-up after the card's answer ("Och vad kan bli problemen då?" after
    the card on manufacturing) is led by the next card, not by the first one's leftovers."""
    points = sum(line.startswith("- ") for line in lines)
    return bool(points) and 2 * points >= len(entry.points)


class Factual(Route):
    """Any other question, quoted where the documents answer it; in a conversation never the
    previous answer again."""

    pieces = staticmethod(answer_pieces)

    def __init__(self, extractive: Callable[[], ExtractiveAnswerer]):
        self._extractive = extractive

    def answer(self, request: Request) -> Answer | None:
        """A question for a count, date, place, name or amount is answered where it stands
        ("Var ligger Koopus?" after a turn that said so), unless the answer would be the
        previous one word for word. Any other question weighs what was said down but may quote
        it ("Vilka samarbetar de med?" after an answer that named the partner: leaving it out
        quoted the wrong people); only when it quotes nothing new ("Gäller det även små
        företag?" after a question on companies' drivers quoted the summary again) is what was
        said left out.
        """
        extractive, query = self._extractive(), request.query
        passages, history, said = request.retrieval.passages, request.history, request.said
        fact = request.analysis.kind == "fact"
        stands = fact and request.analysis.asks is not None
        candidates = request.retrieval.candidates[:extractive.tuning.count_candidates]
        expects = request.analysis.expects
        answer = extractive.answer(query, passages, quantities=fact, candidates=candidates,
                                   expects=expects,
                                   said=frozenset() if stands else said)
        if not said or answer.refused:
            return answer
        if not (repeats(answer.answer, history) if stands else not says_more(answer, said)):
            return answer
        again = extractive.answer(query, passages, said, fact, candidates=candidates,
                                  expects=expects)
        if not again.refused and not repeats(again.answer, history):
            return again
        # The documents say nothing new on it ("Vem samarbetar de med?" after an answer that
        # named the partner): the sentences that answer this question, not the whole previous
        # answer again, and a note that says so.
        if repeats(answer.answer, history):
            short = extractive.answer(query, passages, quantities=fact, candidates=candidates,
                                      expects=expects,
                                      budget=extractive.tuning.recall_chars)
            if not short.refused and not repeats(short.answer, history):
                answer = short
        answer.note = ALREADY_SAID_NOTE
        return answer


class Model(Route):
    """A language model writes the answer from the passages (checked against them by its
    backend); a broad question also gets the main points of other sections as passages."""

    def __init__(self, answerer: Callable[[], Answerer], settings: AnswerSettings,
                 broad: BroadAnswerer):
        self._answerer = answerer
        self.settings = settings
        self._broad = broad

    def answer(self, request: Request) -> Answer | None:
        return final_answer(self.stream(request))

    def stream(self, request: Request) -> Iterator[str | Answer]:
        passages = (self.context(request) if request.broad
                    else request.retrieval.passages)
        return self._answerer().stream(request.query, passages)

    def context(self, request: Request) -> list[Passage]:
        """Return the passages a language model answers a broad question from: the retrieved
        ones, then the passages of the main points of other sections (as the extractive
        answer chooses them), so the model sees what the report says across sections."""
        retrieval = request.retrieval
        passages = list(retrieval.passages)
        have = {p.chunk.chunk_id for p in passages}
        limit = self.settings.broad_extra_points
        for point in self._broad.select_by_section(request.query, retrieval, request.analysis,
                                                    request.exclude):
            if limit <= 0:
                break
            if point.chunk.chunk_id not in have:
                have.add(point.chunk.chunk_id)
                passages.append(Passage(chunk=point.chunk, score=point.score,
                                        rank=len(passages) + 1))
                limit -= 1
        return passages


def related_titles(cards: list[GuideMatch], answer: str, settings: AnswerSettings) -> list[str]:
    """Return other cards' titles worth offering as follow-ups (closest first): not a card
    the answer leads with (its heading is in the answer)."""
    return [m.entry.title for m in cards
            if GUIDE_HEADING.format(title=m.entry.title) not in answer
            and m.similarity >= settings.related_min_similarity][:settings.related_questions]


def user_turns(history: Sequence[dict | str]) -> list[str]:
    """Return the user's earlier questions (a plain string in history is one)."""
    return [text for role, text in turns(history) if role == "user"]


def shown_cases(catalog: Catalog, history: Sequence[dict | str]) -> frozenset[str]:
    """Return the names of the catalog's cases that earlier answers named."""
    said = " ".join(text for role, text in turns(history) if role == "assistant")
    return frozenset(c.name for c in catalog if c.name in said) if said else frozenset()


def previous_sentences(history: Sequence[dict | str]) -> frozenset[str]:
    """Return the sentences of the assistant's earlier answers, so a follow-up asks for (and
    gets) something new instead of the same quotes again."""
    said: set[str] = set()
    for turn in history:
        if isinstance(turn, dict) and turn.get("role") == "assistant":
            text = re.sub(r"\s*\[\d+\]", "", str(turn.get("content", "")))
            lines = [re.sub(r"^\s*-\s+", "", line) for line in text.split("\n")]
            said.update(collapse(s) for line in lines for s in split_sentences(line)
                        if s.strip())
    return frozenset(said)


def repeats(answer: str, history: Sequence[dict | str]) -> bool:
    """Return True when an answer is the assistant's previous answer word for word."""
    last = next((str(turn.get("content", "")) for turn in reversed(history)
                 if isinstance(turn, dict) and turn.get("role") == "assistant"), None)
    return last is not None and collapse(last) == collapse(answer)


def says_more(answer: Answer, said: frozenset[str]) -> bool:
    """Return True when an answer quotes a sentence that is not among those said before."""
    return any(collapse(quote) not in said for citation in answer.citations
               for quote in citation.quote.split(" … "))


@dataclass(frozen=True)
class Parts:
    """What the routes are built from (the pipeline's stages, built on first use)."""

    settings: AnswerSettings
    extractive: Callable[[], ExtractiveAnswerer]
    broad: BroadAnswerer
    topics: Callable[[], TopicIndex]
    catalog: Callable[[], Catalog]
    vocabulary: Callable[[], Container[str]]         # the indexed words (stems)
    subjects: Callable[[], Container[str]]           # the subject families they name
    model: Callable[[], Answerer] | None = None     # a language model backend, if chosen


def routes(parts: Parts) -> list[Route]:
    """Return the routes in the order they are tried: the extractive ones, or, when a model
    backend is chosen, the model after the clarify, catalog, unknown-name and outside-subject
    routes."""
    first: list[Route] = [Clarify(), FromCatalog(parts.catalog), UnknownName(parts.vocabulary),
                          OutsideSubject(parts.subjects)]
    if parts.model is not None:
        return [*first, Model(parts.model, parts.settings, parts.broad)]
    broad = Broad(parts.settings, parts.extractive, parts.broad, parts.topics, parts.catalog)
    return [*first, GuideCard(parts.settings, broad, parts.topics), broad,
            Factual(parts.extractive)]
