"""Pipeline: the Assistant wires settings -> index, retriever and answerer; ask() and stream()."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.answering.base import Answerer, Rewriter, final_answer
from assistant.answering.broad import BroadAnswerer
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.guide import card_part, lead_with_card
from assistant.answering.routes import Parts, Request, Route, related_titles, routes
from assistant.cases.catalog import INDUSTRIES, Catalog
from assistant.config import Settings, load_settings
from assistant.index.passage_index import Index, IndexModelMismatchError, Progress, SyncReport
from assistant.index.private import PrivateDocument, ScopedIndex
from assistant.prompts import (
    ENGLISH_NOTE,
    ERR_EMPTY_QUESTION,
    ERR_INDEX_NOT_SYNCED,
    ERR_NO_WORDS,
    ERR_QUESTION_TOO_LONG,
    GUIDE_ROLES,
    ROLE_READ_NOTE,
    STANDALONE_NOTE,
)
from assistant.retrieval.followup import search_text
from assistant.retrieval.guide import GuideEntry, GuideMatch, mix
from assistant.retrieval.hybrid import HybridRetriever, Retrieval
from assistant.retrieval.question import Analysis, analyse
from assistant.text import collapse, is_english
from assistant.types import Answer, IngestError

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings


# Industry label -> the pattern that finds it in a question (the case catalog's vocabulary).
_INDUSTRY_IN_QUESTIONS = {label: pattern for label, (pattern, _) in INDUSTRIES.items()}

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
        self._injected = answerer is not None     # a backend given by the caller (tests)
        self._catalog = Catalog()
        self._extractive: ExtractiveAnswerer | None = None
        self._card_answers: dict[tuple[int, str], Answer] = {}
        self._routes: list[Route] | None = None
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
        view._injected = False
        view._extractive = None
        view._card_answers = {}
        view._routes = None
        view.broad = BroadAnswerer(self.settings.answer, view.retriever.topics,
                                   lambda token: view.retriever.bm25.idf_of(token))
        return view

    @property
    def extractive(self) -> ExtractiveAnswerer:
        """Return the extractive answerer (the default backend, and the LLM's fallback)."""
        if self._extractive is None:
            self._extractive = ExtractiveAnswerer(self.settings.answer, self.retriever.bm25,
                                                  self.retriever.neighbour)
        return self._extractive

    @property
    def answerer(self) -> Answerer:
        """Return the configured answer backend (built on first use)."""
        if self._answerer is None:
            self._answerer = (self.extractive if self.settings.backend == "extractive"
                              else make_answerer(self.settings, self.retriever))
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
            # What needs no model first: it is done by the time a model loading beside it
            # (the chat UI's child process) is ready, and only the search below waits for it.
            self.retriever.topics()
            # Measured: locating the cards' points and reading the case cards made the first
            # question 3.9 s slower than the next ones (0.6 s), after the rest was warm.
            self.retriever.guide()
            self.retriever.subjects()   # the taxes, laws, places the documents name
            self.catalog  # noqa: B018 - reads the case cards
            self.retriever.search(WARM_UP_QUESTION)

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
        return rewrite(question, history, self.settings.answer.followup_substitution,
                       [case.name for case in self.catalog])

    def requoted(self, said: frozenset[str], question: str, top: int) -> frozenset[str]:
        """Return the `top` sentences of those said before that are closest to the question
        (its own words, embedded as a query)."""
        if not said or top <= 0:
            return frozenset()
        vector = self.index.embeddings.embed_query(question)
        return frozenset(self.retriever.topics().closest_sentences(sorted(said), vector, top))

    def closest_card(self, retrieval: Retrieval) -> float:
        """Return how similar the question is to the closest guide card's way of asking (0 when
        there are no cards)."""
        matches = self.retriever.guide().match(retrieval.vector)
        return matches[0].similarity if matches else 0.0

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
                note = STANDALONE_NOTE if history else ROLE_READ_NOTE
                read_as = note.format(question=event.standalone_question)
                event.note = f"{event.note} {read_as}".strip()
            if isinstance(event, Answer) and is_english(question):
                event.note = f"{ENGLISH_NOTE} {event.note}".strip()
            yield event

    def _stream(self, question: str, history: Sequence[dict | str],
                role: str | None) -> Iterator[str | Answer]:
        question = self.check_question(question)
        self.index.reopen_if_changed()     # another process may have rebuilt or synced it
        self.index.require()
        request = Request(question, history, role, self, self.settings.answer)
        for route in self.routes:
            events = route.stream(request)
            if events is None:
                continue
            for event in events:
                if isinstance(event, Answer):
                    event.question = question
                    event.standalone_question = event.standalone_question or request.query
                    if route.offers_related:
                        event.related = related_titles(request.cards, event.answer,
                                                       self.settings.answer)
                yield event
            return
        raise RuntimeError("no route answered")      # the last route answers every question

    @property
    def routes(self) -> list[Route]:
        """Return the answer routes in the order they are tried (built on first use)."""
        if self._routes is None:
            model = (None if self.settings.backend == "extractive" and not self._injected
                     else (lambda: self.answerer))
            self._routes = routes(Parts(
                self.settings.answer, lambda: self.extractive, self.broad,
                self.retriever.topics, lambda: self.catalog,
                lambda: self.retriever.bm25.idf, lambda: self.retriever.subjects(), model))
        return self._routes

    def analyse(self, question: str, query: str, role: str | None = None) -> Analysis:
        """Return what the question asks for; the situation is read from the whole query, the
        role is the asker's when they said it (company, asf, advisor)."""
        # A follow-up rewritten into a question of its own ("Och i Vadstena?" -> "Vilka deltog
        # i träffen i Vadstena?") is analysed as that question.
        rewritten = query != question and not query.startswith(f"{question} (")
        own = analyse(query if rewritten else question, _INDUSTRY_IN_QUESTIONS)
        # The situation is read from the whole query; a rewritten question's analysis already is.
        situation = (analyse(query, _INDUSTRY_IN_QUESTIONS).situation
                     if query != question and not rewritten else own.situation)
        if role in GUIDE_ROLES:
            situation = replace(situation, role=role)
        return replace(own, situation=situation)

    def search(self, question: str, query: str) -> Retrieval:
        """Return the passages retrieved for a question and its standalone form."""
        return self.retriever.search(search_text(question, query))

    def cards(self, retrieval: Retrieval, analysis: Analysis,
              focus: Retrieval | None = None, question: str = "",
              in_role: bool = False, words: str = "") -> list[GuideMatch]:
        """Return the guide cards closest to the question, the asker's role breaking ties.

        focus: the search of the sentence a question of several sentences asks in (or of a
        follow-up's own words); its vector is mixed into the question's and its passages give
        the retrieval agreement. question: the user's text, for a card's title asked word for
        word. in_role: the question was read in the asker's role (it said too little alone);
        a card written for that role alone gains `guide_own_role_bonus`. words: the text whose
        words the cards' are matched to (`guide_lexical_weight`).
        """
        settings = self.settings.answer
        if not (settings.guide or settings.related_questions):
            return []
        vector, agreeing = retrieval.vector, retrieval
        if focus is not None and vector is not None and focus.vector is not None:
            vector = mix(vector, focus.vector, settings.guide_focus_weight)
            agreeing = focus
        return self.retriever.guide().match(vector, analysis.situation.role,
                                            settings.guide_role_bonus,
                                            settings.guide_question_top,
                                            settings.guide_point_weight,
                                            [p.chunk.chunk_id for p in agreeing.passages],
                                            settings.guide_retrieval_weight,
                                            settings.guide_near_copy, question,
                                            settings.guide_own_role_bonus if in_role else 0.0,
                                            words, settings.guide_lexical_weight,
                                            settings.guide_similarity_lead)


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
        grounder = Grounder(retriever.index.embeddings, lambda t: retriever.bm25.idf_of(t),
                            limits=settings.answer.grounding)
        return LLMAnswerer(settings, ExtractiveAnswerer(settings.answer, retriever.bm25,
                                                        retriever.neighbour),
                           grounder=grounder, unit_vectors=retriever.index.unit_vectors)
    raise ValueError(f"Okänd svarsmotor: {backend!r}. Välj 'extractive' eller 'llm'.")
