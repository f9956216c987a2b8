"""Pipeline: the Assistant wires settings -> index, retriever and answerer; ask() and stream()."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.answering.answerability import unknown_name
from assistant.answering.base import Answerer, Rewriter, contexts_of, final_answer, refusal
from assistant.answering.broad import BroadAnswerer, extend, planning_figure, similar_cases
from assistant.answering.catalog import answer_from_catalog
from assistant.answering.extractive import ExtractiveAnswerer, answer_pieces
from assistant.answering.guide import card_part, card_sentences, lead_with_card
from assistant.cases.catalog import INDUSTRIES, CaseQuery, Catalog
from assistant.config import AnswerSettings, Settings, load_settings
from assistant.index.passage_index import Index, IndexModelMismatchError, Progress, SyncReport
from assistant.index.private import PrivateDocument, ScopedIndex
from assistant.prompts import (
    ALREADY_SAID_NOTE,
    CLARIFY_REFERENCE,
    ERR_EMPTY_QUESTION,
    ERR_INDEX_NOT_SYNCED,
    ERR_NO_WORDS,
    ERR_QUESTION_TOO_LONG,
    GUIDE_HEADING,
    GUIDE_ROLES,
    STANDALONE_NOTE,
    UNKNOWN_NAME_REASON,
)
from assistant.retrieval.followup import context as conversation_topic
from assistant.retrieval.followup import dangling, search_text, turns
from assistant.retrieval.guide import GuideEntry, GuideMatch
from assistant.retrieval.hybrid import HybridRetriever, Retrieval
from assistant.retrieval.question import Analysis, analyse
from assistant.text import collapse, split_sentences
from assistant.types import Answer, IngestError, Passage

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings


# A case card this similar to the question is an example of it when the question names no
# industry (measured: cards sit at 0.44-0.49 for questions they do not fit, such as "exempel
# på samverkan mellan ASF och andra ASF", and at 0.55 for one they fit).
EXAMPLE_FLOOR = 0.5
# Industry label -> the pattern that finds it in a question (the case catalog's vocabulary).
_INDUSTRY_IN_QUESTIONS = {label: pattern for label, (pattern, _) in INDUSTRIES.items()}


# The window before a planning model keeps at least this much of the best passage.
_MIN_WINDOW = 300
# A window this much longer than its budget (a list is quoted whole) gives way to the model.
_WINDOW_SLACK = 200

# A follow-up the previous answer already answered gets the answer's best sentences up to
# about this length.
_RECALL_CHARS = 300

WARM_UP_QUESTION = "Hur kan företag och arbetsintegrerande sociala företag göra affärer?"


class QuestionError(ValueError):
    """The question cannot be asked as it is (empty or too long); the message says why."""


class Assistant:
    """Answer questions about the indexed documents with citations."""

    def __init__(self, settings: Settings | None = None, embeddings: Embeddings | None = None,
                 answerer: Answerer | None = None):
        self.settings = settings or load_settings()
        self.index = Index(self.settings, embeddings)
        self.retriever = HybridRetriever(self.index, self.settings.retrieval)
        self._answerer = answerer
        self._catalog = Catalog()
        self._extractive: ExtractiveAnswerer | None = None
        self._card_answers: dict[tuple[int, str], Answer] = {}
        self.broad = BroadAnswerer(self.settings.answer, self.retriever.topics,
                                   lambda token: self.retriever.bm25.idf_of(token))

    def with_private(self, documents: Sequence[PrivateDocument]) -> Assistant:
        """Return this assistant as one session sees it: answering from the shared index and
        the session's private documents (uploads), which nobody else's questions see.

        The view shares the index, model and catalog; it has its own retriever (BM25 and
        vectors over the shared passages plus the private ones) and answerers built on it.
        """
        if not documents:
            return self
        view = copy.copy(self)
        view.retriever = HybridRetriever(ScopedIndex(self.index, documents),
                                         self.settings.retrieval)
        view._answerer = None
        view._extractive = None
        view._card_answers = {}
        view.broad = BroadAnswerer(self.settings.answer, view.retriever.topics,
                                   lambda token: view.retriever.bm25.idf_of(token))
        return view

    @property
    def extractive(self) -> ExtractiveAnswerer:
        """Return the extractive answerer (the default backend, and the LLM's fallback)."""
        answerer = self.answerer
        if isinstance(answerer, ExtractiveAnswerer):
            return answerer
        if self._extractive is None:         # an injected answerer of another kind
            self._extractive = ExtractiveAnswerer(self.settings.answer, self.retriever.bm25,
                                                  self.retriever.neighbour)
        return self._extractive

    @property
    def answerer(self) -> Answerer:
        """Return the configured answer backend (built on first use)."""
        if self._answerer is None:
            self._answerer = make_answerer(self.settings, self.retriever)
        return self._answerer

    @property
    def catalog(self) -> Catalog:
        """Return the case catalog: the case cards in the corpus and uploads folders."""
        self._catalog.refresh(self.index.corpus_files(), self.index.source_key)
        return self._catalog

    def guide_cards(self) -> list[GuideEntry]:
        """Return the indexed guide cards (corpus/guide/), in file order."""
        self.index.reopen_if_changed()
        return list(self.retriever.guide().entries)

    def card_answer(self, card_id: str) -> Answer | None:
        """Return a guide card as an answer of its own: its points, each cited at the passage
        that holds it (None: no such card)."""
        self.index.reopen_if_changed()
        guide = self.retriever.guide()
        key = (self.index.revision, card_id)     # answers of this index version only
        if key not in self._card_answers:
            entry = guide.by_id(card_id)
            if entry is None:
                return None
            lines, citations = card_part(entry, self.retriever.topics().chunks)
            answer = lead_with_card(entry, lines, citations, None)
            answer.question = answer.standalone_question = entry.title
            self._card_answers = {k: v for k, v in self._card_answers.items()
                                  if k[0] == key[0]} | {key: answer}
        return replace(self._card_answers[key])

    # ------------------------------------------------------------------ index
    def ensure_index(self, progress: Progress | None = None) -> SyncReport | None:
        """Build the index, or bring it up to date; return what was done (None: nothing).

        An existing index is synced with the corpus and uploads folders and the chunking
        settings like `asf ingest` does (when nothing changed this compares file hashes and
        takes a few hundredths of a second), so a changed report, case card or setting is
        indexed before any question is answered from stale passages. When that check fails,
        the existing index is used as it is and the report says why.
        """
        fresh = not self.index.exists()
        try:
            report = self.index.sync(strict=False, progress=progress)
        except IndexModelMismatchError:
            raise
        except Exception as exc:  # noqa: BLE001 - the index still answers; say what failed
            if fresh:
                raise
            message = ERR_INDEX_NOT_SYNCED.format(error=exc)
            report = SyncReport(errors=[IngestError(
                self.settings.corpus_dir, message.replace("{", "{{").replace("}", "}}"))])
        if not (fresh or report.changed or report.errors):
            return None
        self.retriever.refresh()
        return report

    def ingest(self, paths: Sequence = (), progress: Progress | None = None,
               strict: bool = True) -> SyncReport:
        """Sync the index with the corpus folder and the given files."""
        report = self.index.sync(paths, strict=strict, progress=progress)
        self.retriever.refresh()
        return report

    def load_model(self) -> None:
        """Load the embedding model with one short encode (nothing is read from the index)."""
        self.index.embeddings.embed_query(WARM_UP_QUESTION)

    def warm_up(self) -> None:
        """Load what the first question would wait for: the model, BM25, Chroma's vector
        files, the token vectors, the section index, the guide cards located in the report
        and the case catalog. No language model is called."""
        self.index.reopen_if_changed()
        if self.index.exists():
            self.retriever.search(WARM_UP_QUESTION)
            self.retriever.topics()
            # Measured: locating the cards' points and reading the case cards made the first
            # question 3.9 s slower than the next ones (0.6 s), after the rest was warm.
            self.retriever.guide()
            self.catalog  # noqa: B018 - reads the case cards

    # ------------------------------------------------------------------ questions
    def check_question(self, question: str) -> str:
        """Return the trimmed question, or raise QuestionError with a Swedish message."""
        return validate_question(question, self.settings.answer.max_question_chars)

    def standalone(self, question: str, history: Sequence[dict | str] = ()) -> str:
        """Return the question made standalone using the conversation history.

        The LLM backend rewrites with the model (and falls back to the deterministic rewrite
        when that fails); the extractive backend uses the deterministic rewrite.
        """
        from assistant.retrieval.followup import rewrite

        if not history:
            return question
        if isinstance(self.answerer, Rewriter):
            return str(self.answerer.rewrite(question, history))
        return rewrite(question, history, self.settings.answer.followup_substitution)

    def ask(self, question: str, history: Sequence[dict | str] = (),
            role: str | None = None) -> Answer:
        """Answer one question (history: earlier turns, for follow-up questions; role: the
        asker's group, company/asf/advisor, when known)."""
        return final_answer(self.stream(question, history, role))

    def stream(self, question: str, history: Sequence[dict | str] = (),
               role: str | None = None) -> Iterator[str | Answer]:
        """Yield pieces of the answer text as they are produced, then the finished Answer.

        A follow-up is answered as the standalone question it was made into, and the answer's
        note shows that question, so the asker sees how the follow-up was read.
        """
        for event in self._stream(question, history, role):
            if (isinstance(event, Answer) and event.standalone_question
                    and collapse(event.standalone_question) != collapse(event.question)):
                read_as = STANDALONE_NOTE.format(question=event.standalone_question)
                event.note = f"{event.note} {read_as}".strip()
            yield event

    def _stream(self, question: str, history: Sequence[dict | str],
                role: str | None) -> Iterator[str | Answer]:
        question = self.check_question(question)
        self.index.reopen_if_changed()     # another process may have rebuilt or synced it
        self.index.require()
        pointer = dangling(question)
        if pointer is not None and not conversation_topic(history):
            # "Hur kan man lösa det?" first in a conversation: ask back instead of guessing.
            clarify = Answer(question=question, answer=CLARIFY_REFERENCE.format(word=pointer),
                             refused=True, standalone_question=question)
            yield clarify.answer
            yield clarify
            return
        query = self.standalone(question, history)
        # List-of-cases questions are answered from the case catalog (no retrieval, no LLM).
        listed = answer_from_catalog(self.catalog, question if history else query,
                                     user_turns(history), shown_cases(self.catalog, history))
        if listed is not None:
            listed.question, listed.standalone_question = question, query
            yield from (line + "\n" for line in listed.answer.split("\n"))
            yield listed
            return
        analysis = self.analyse(question, query)
        if role in GUIDE_ROLES:
            analysis = replace(analysis, situation=replace(analysis.situation, role=role))
        retrieval = self.retriever.search(search_text(question, query))
        cards = self.cards(retrieval, analysis)
        broad = analysis.kind in self.settings.answer.broad_kinds
        name = None if broad else unknown_name(question, self.retriever.bm25.idf)
        if name is not None:
            refused = refusal(question, contexts_of(retrieval.passages), 0.0)
            refused.note = UNKNOWN_NAME_REASON.format(name=name)
            refused.standalone_question = query
            refused.related = related_titles(cards, "", self.settings.answer)
            yield refused.answer
            yield refused
            return
        # A broad follow-up asks for something new: what earlier answers quoted is left out. A
        # fact or a list is answered where it stands, earlier quotes only weighed down ("Var
        # ligger Koopus?" after a turn that said so; "Vilka samarbetar de med?" after an
        # answer that named the partner, where leaving it out quoted the wrong people).
        said = previous_sentences(history)
        exclude = said if broad else frozenset()
        if self.settings.backend == "extractive" and broad:
            answer = self.guided_answer(query, analysis, retrieval, exclude, cards)
            answer.question, answer.standalone_question = question, query
            answer.related = related_titles(cards, answer.answer, self.settings.answer)
            yield from (line + "\n" for line in answer.answer.split("\n"))
            yield answer
            return
        if isinstance(self.answerer, ExtractiveAnswerer):
            stream = answer_pieces(self.answer_anew(query, analysis, retrieval, said, history))
        else:
            stream = self.answerer.stream(query, self.context_for_model(
                query, analysis, retrieval, exclude) if broad else retrieval.passages)
        for event in stream:
            if isinstance(event, Answer):
                event.question = question
                event.standalone_question = query
                event.related = related_titles(cards, "", self.settings.answer)
            yield event

    def answer_anew(self, query: str, analysis: Analysis, retrieval: Retrieval,
                    said: frozenset[str], history: Sequence[dict | str]) -> Answer:
        """Return the extractive answer to a question that is not broad, in a conversation
        never the previous answer again.

        A question for a count, date, place, name or amount is answered where it stands
        ("Var ligger Koopus?" after a turn that said so), unless the answer would be the
        previous one word for word. Any other question weighs what was said down but may quote
        it ("Vilka samarbetar de med?" after an answer that named the partner: leaving it out
        quoted the wrong people); only when it quotes nothing new ("Gäller det även små
        företag?" after a question on companies' drivers quoted the summary again) is what was
        said left out.
        """
        extractive = self.extractive
        fact = analysis.kind == "fact"
        stands = fact and analysis.asks is not None
        candidates = retrieval.candidates[:20]
        answer = extractive.answer(query, retrieval.passages, quantities=fact,
                                   candidates=candidates, said=frozenset() if stands else said)
        if not said or answer.refused:
            return answer
        if repeats(answer.answer, history) if stands else not says_more(answer, said):
            again = extractive.answer(query, retrieval.passages, said, fact,
                                      candidates=candidates)
            if not again.refused and not repeats(again.answer, history):
                return again
            # The documents say nothing new on it ("Vem samarbetar de med?" after an answer
            # that named the partner): the sentences that answer this question, not the whole
            # previous answer again, and a note that says so.
            if repeats(answer.answer, history):
                short = extractive.answer(query, retrieval.passages, quantities=fact,
                                          candidates=candidates, budget=_RECALL_CHARS)
                if not short.refused and not repeats(short.answer, history):
                    answer = short
            answer.note = ALREADY_SAID_NOTE
        return answer

    def analyse(self, question: str, query: str) -> Analysis:
        """Return what the question asks for; the situation is read from the whole query."""
        # A follow-up rewritten into a question of its own ("Och i Vadstena?" -> "Vilka deltog
        # i träffen i Vadstena?") is analysed as that question.
        rewritten = query != question and not query.startswith(f"{question} (")
        own = analyse(query if rewritten else question, _INDUSTRY_IN_QUESTIONS)
        situation = (analyse(query, _INDUSTRY_IN_QUESTIONS).situation if query != question
                     else own.situation)
        return replace(own, situation=situation)

    def context_for_model(self, query: str, analysis: Analysis, retrieval: Retrieval,
                          exclude: frozenset[str] = frozenset()) -> list[Passage]:
        """Return the passages a language model answers a broad question from: the retrieved
        ones, then the passages of the main points of other sections (as the extractive
        answer chooses them), so the model sees what the report says across sections."""
        passages = list(retrieval.passages)
        have = {p.chunk.chunk_id for p in passages}
        limit = self.settings.answer.broad_extra_points
        for point in self.broad.select_by_section(query, retrieval, analysis, exclude):
            if limit <= 0:
                break
            if point.chunk.chunk_id not in have:
                have.add(point.chunk.chunk_id)
                passages.append(Passage(chunk=point.chunk, score=point.score,
                                        rank=len(passages) + 1))
                limit -= 1
        return passages

    def cards(self, retrieval: Retrieval, analysis: Analysis) -> list[GuideMatch]:
        """Return the guide cards closest to the question, the asker's role breaking ties."""
        settings = self.settings.answer
        if not (settings.guide or settings.related_questions):
            return []
        return self.retriever.guide().match(retrieval.vector, analysis.situation.role,
                                            settings.guide_role_bonus,
                                            settings.guide_question_top,
                                            settings.guide_point_weight,
                                            [p.chunk.chunk_id for p in retrieval.passages],
                                            settings.guide_retrieval_weight)

    def guided_answer(self, query: str, analysis: Analysis, retrieval: Retrieval,
                      exclude: frozenset[str], cards: list[GuideMatch]) -> Answer:
        """Return a broad answer: the closest guide card's points first when a card is close
        enough, then the engine's own broad answer with what the card does not say.

        A question the engine refuses (the documents do not hold its answer) stays refused:
        a card close in topic does not answer a question on, say, tax rules; the refusal
        offers the closest cards as related questions instead.
        """
        settings = self.settings.answer
        # The first card (by score: similarity, retrieval agreement, role) among those close
        # enough by similarity alone.
        best = next((c for c in cards if c.similarity >= settings.guide_min_similarity),
                    None) if settings.guide else None
        if best is None:
            return self.broad_answer(query, analysis, retrieval, exclude)
        lines, citations = card_part(best.entry, self.retriever.topics().chunks, exclude)
        if not lines:
            return self.broad_answer(query, analysis, retrieval, exclude)
        card_chars = sum(len(line) for line in lines)
        quoted = exclude | card_sentences(best.entry)
        second = self.second_card(best, cards, quoted)
        if second is not None:
            card_chars += len(second.answer)
            quoted |= card_sentences(next(c.entry for c in cards if c.entry.id == second.guide))
        rest = self.broad_answer(query, analysis, retrieval, quoted,
                                 max_chars=max(settings.broad_window_chars,
                                               settings.guide_max_chars - card_chars))
        if rest.refused:
            # Refused with the card's sentences left out: refused on its own too, or did the
            # card say all the best passage had?
            plain = self.broad_answer(query, analysis, retrieval, exclude)
            if plain.refused:
                return plain
        return lead_with_card(best.entry, lines, citations,
                              rest if settings.guide_then_engine else None, second)

    def second_card(self, best: GuideMatch, cards: list[GuideMatch],
                    exclude: frozenset[str]) -> Answer | None:
        """Return the next card's part (as an Answer whose text is its lines) when its score
        is nearly the first's, leaving out what the first card or the conversation quoted."""
        settings = self.settings.answer
        if not settings.guide_second_margin:
            return None
        near = next((c for c in cards if c.entry.id != best.entry.id
                     and c.similarity >= settings.guide_min_similarity), None)
        if near is None or best.score - near.score > settings.guide_second_margin:
            return None
        lines, citations = card_part(near.entry, self.retriever.topics().chunks, exclude)
        if len(lines) < 2:
            return None
        return Answer(question="", answer="\n".join(lines), refused=False,
                      citations=citations, guide=near.entry.id)

    def broad_answer(self, query: str, analysis: Analysis, retrieval: Retrieval,
                     exclude: frozenset[str] = frozenset(), max_chars: int | None = None
                     ) -> Answer:
        """Return the best passage's answer followed by the main points of other sections.

        A refusal stays a refusal. The points leave out what the first part (or the previous
        answer in a conversation) already quotes.
        """
        settings = self.settings.answer
        # A question about planning a meeting gets the documents' planning model first; the
        # window around the best passage makes room for it.
        figure = (planning_figure(self.broad, retrieval.vector, exclude)
                  if analysis.meeting and settings.broad_extra_points else None)
        window = settings.broad_window_chars
        if figure is not None:
            window = max(_MIN_WINDOW, window - len(figure.text)
                         - sum(len(x) + 5 for x in figure.items))
        base = self.extractive.answer(query, retrieval.passages, exclude,
                                      quantities=analysis.kind == "fact", broad=True,
                                      budget=window)
        if base.refused:
            return base
        if figure is not None and len(base.answer) > window + _WINDOW_SLACK:
            # The best passage's window is a long list: quoted whole it would leave the
            # planning model no room, so the model leads and the points follow.
            base = replace(base, answer="", citations=[])
        said = exclude | {collapse(s) for c in base.citations for s in c.quote.split(" … ")}
        industry = analysis.situation.industry
        # A buying company's industry, in the words the documents use for it (the catalog's
        # patterns), steers one point to what the report says about that sector. An ASF that
        # names its own trade asks about customers, not its trade: measured on the persona set,
        # steering for every role cost the ASF group 0.025 coverage and gained the CSR group
        # 0.017.
        steer = industry and (analysis.situation.role == "company" or analysis.kind == "examples")
        in_text = (re.compile("|".join(INDUSTRIES[label][1].pattern for label in industry),
                              re.IGNORECASE) if steer else None)
        limit = settings.broad_extra_points
        if not limit:
            points = []
        elif settings.broad_units == "sections":
            chapter = (figure.chunk.section_path[0]
                       if figure is not None and figure.chunk.section_path else None)
            points = self.broad.select_by_section(query, retrieval, analysis, said, in_text,
                                                  chapter)
        else:
            points = self.broad.select(query, retrieval, analysis, said)
        points = points[:limit]
        if figure is not None and not any(collapse(x) in said for x in figure.quotes):
            points = [figure, *[p for p in points if p.chunk.chunk_id != figure.chunk.chunk_id]]
        examples: list = []
        if analysis.customers and analysis.situation.role == "asf":
            # An ASF asking how to get customers: how the cases closest to it in meaning got
            # theirs (the catalog's "started by", each a verbatim quote of the report).
            cases = {c.source: (c.name, c.about, c.started_by[0].quote) for c in self.catalog
                     if c.started_by}
            examples = similar_cases(self.retriever.topics(), retrieval.vector, cases,
                                     floor=0.0)
        elif analysis.kind == "examples" or industry or analysis.situation.place:
            cases = {c.source: (c.name, c.about, c.summary.quote) for c in self.catalog}
            floor = EXAMPLE_FLOOR
            if industry:
                # The cards of the asker's industry, closest in meaning among them; none when
                # no card has it (similarity alone put Le Mat Jonsered first for most
                # questions, and attached cases to "exempel från textilbranschen", which the
                # report has none of).
                matching = {m.case.source for m in self.catalog.filter(
                    CaseQuery(industry=list(industry)))}
                cases = {k: v for k, v in cases.items() if k in matching}
                floor = 0.0
            examples = similar_cases(self.retriever.topics(), retrieval.vector, cases,
                                     floor=floor)
        return extend(base, points, examples,
                      settings.broad_max_chars if max_chars is None else max_chars)


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


def validate_question(question: str, limit: int) -> str:
    """Return the trimmed question, or raise QuestionError when it is empty, too long or has
    no words (only punctuation)."""
    question = (question or "").strip()
    if not question:
        raise QuestionError(ERR_EMPTY_QUESTION)
    if len(question) > limit:
        raise QuestionError(ERR_QUESTION_TOO_LONG.format(length=len(question), limit=limit))
    if not any(c.isalnum() for c in question):
        raise QuestionError(ERR_NO_WORDS)
    return question


def make_answerer(settings: Settings, retriever: HybridRetriever) -> Answerer:
    """Build the answer backend named in the settings."""
    backend = settings.backend
    if backend == "extractive":
        return ExtractiveAnswerer(settings.answer, retriever.bm25, retriever.neighbour)
    if backend == "llm":
        from assistant.answering.grounding import Grounder
        from assistant.answering.llm import LLMAnswerer

        # The grounding check embeds with the index's own model, and reuses the sentence
        # vectors the index stored, so only the model's sentences are embedded per answer.
        grounder = Grounder(retriever.index.embeddings, lambda t: retriever.bm25.idf_of(t))
        return LLMAnswerer(settings, ExtractiveAnswerer(settings.answer, retriever.bm25,
                                                        retriever.neighbour),
                           grounder=grounder, unit_vectors=retriever.index.unit_vectors)
    raise ValueError(f"Okänd svarsmotor: {backend!r}. Välj 'extractive' eller 'llm'.")
