"""Answering: a cited Swedish answer written by a language model, checked before it is shown.

Any OpenAI-compatible endpoint works (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp server,
LM Studio) through LangChain's ChatOpenAI, imported only when this backend is chosen. The chain
is LCEL: prompt | chat model | StrOutputParser. The passages reach the model as quoted data
between <avsnitt> delimiters, under a rule that instructions inside them are not followed.
Every [n] of the reply is checked against the passages that were given: unknown numbers are
removed, sentences left without a valid citation are dropped, sentences the cited passage does
not support (assistant.grounding) are dropped, and the rest are renumbered 1..k. Only checked
sentences are ever yielded, as each one is finished; the reply is capped in tokens and
characters. Quotes always come verbatim from the passages. When nothing passes, or the
endpoint fails, the extractive answer is returned with a visible note instead.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from assistant import prompts
from assistant.answering.base import contexts_of, final_answer, refusal
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.grounding import CITATION_MARKER, Grounder
from assistant.config import Settings
from assistant.ingest.chunking import split_units
from assistant.lexicon import pattern, words
from assistant.retrieval.followup import rewrite as rewrite_deterministic
from assistant.text import collapse, split_sentences, tokens
from assistant.types import Answer, Citation, Passage

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

log = logging.getLogger(__name__)

# Markers after the full stop ("… text. [1]") belong to the sentence before them.
_TRAILING_MARKERS = re.compile(r"([.!?])((?:\s*" + CITATION_MARKER.pattern + r")+)",
                               re.IGNORECASE)
_THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_BULLET = re.compile(r"^(\s*(?:[-*•]|\d{1,2}[.)])\s+)")
# Anything in a passage that looks like the prompt's own delimiters ("</avsnitt>").
_DELIMITER = re.compile(r"<\s*/?\s*avsnitt\b[^<>]*>?", re.IGNORECASE)
# "Fristående fråga: …": a label the model puts before a rewritten question.
_REWRITE_LABEL = pattern("answering.rewrite_label")
_MAX_QUOTES_PER_CITATION = 3
# How long a failed follow-up rewrite stands in for the answer call that comes right after it.
_FAILURE_MEMORY_S = 30.0


class LLMFailure(Exception):
    """The language model gave no usable answer; the message is a Swedish note for the user."""


# ---------------------------------------------------------------------- errors -> notes

def _safe_url(url: str) -> str:
    """Return the URL without user info, query or fragment (they may hold secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "(ogiltig adress)"


def fallback_note(reason: str, hint: str = "") -> str:
    """Return the note shown above an extractive answer that replaced the model's."""
    note = prompts.LLM_FALLBACK_NOTE.format(reason=reason)
    return f"{note} {hint}" if hint else note


def describe_error(exc: BaseException, settings: Settings) -> str:
    """Return a Swedish note for an endpoint error, never including the error's own text.

    Provider messages can echo parts of the API key ("Incorrect API key provided: sk-…"), so
    only the kind of error and the non-secret settings are ever shown.
    """
    return fallback_note(*describe_reason(exc, settings))


def describe_reason(exc: BaseException, settings: Settings) -> tuple[str, str]:
    """Return why an endpoint call failed and what to do (Swedish, the hint may be empty),
    from the kind of error and the non-secret settings only (see describe_error)."""
    from langchain_core import exceptions as lc

    url, model = _safe_url(settings.llm_base_url), settings.llm_model
    status = getattr(exc, "status_code", None)
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, lc.ModelAuthenticationError) or status == 401:
        return (prompts.LLM_REASON_AUTH, prompts.LLM_HINT_AUTH)
    if isinstance(exc, lc.ModelPermissionDeniedError) or status == 403:
        return (prompts.LLM_REASON_FORBIDDEN,
                prompts.LLM_HINT_FORBIDDEN.format(model=model))
    if isinstance(exc, lc.ModelTimeoutError | TimeoutError) or any("Timeout" in k for k in kinds):
        return (prompts.LLM_REASON_TIMEOUT.format(seconds=settings.llm_timeout),
                prompts.LLM_HINT_TIMEOUT)
    if isinstance(exc, lc.ModelConnectionError | ConnectionError) or kinds & words(
            "messages.connection_errors"):
        return (prompts.LLM_REASON_CONNECTION,
                prompts.LLM_HINT_CONNECTION.format(url=url))
    if isinstance(exc, lc.ModelNotFoundError) or status == 404:
        return (prompts.LLM_REASON_NOT_FOUND,
                prompts.LLM_HINT_NOT_FOUND.format(model=model, url=url))
    if isinstance(exc, lc.ModelRateLimitError) or status == 429:
        return (prompts.LLM_REASON_RATE_LIMIT, "")
    if isinstance(exc, lc.ContextOverflowError):
        return (prompts.LLM_REASON_CONTEXT, "")
    if isinstance(status, int):
        return (prompts.LLM_REASON_STATUS.format(status=status), "")
    if isinstance(exc, ImportError):
        return (prompts.LLM_REASON_NOT_INSTALLED, prompts.LLM_HINT_NOT_INSTALLED)
    return (prompts.LLM_REASON_UNEXPECTED.format(kind=type(exc).__name__), "")


def chat_model(settings: Settings) -> BaseChatModel:
    """Return the OpenAI-compatible chat model the settings name (langchain-openai is imported
    here, only when a model is used)."""
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    s = settings
    # Local servers (Ollama, llama.cpp, LM Studio) take any key, but the client needs one.
    key = s.llm_api_key.get_secret_value() or "ingen-nyckel"
    return ChatOpenAI(model=s.llm_model, base_url=s.llm_base_url, api_key=SecretStr(key),
                      timeout=s.llm_timeout, max_retries=0, temperature=s.llm_temperature,
                      max_completion_tokens=s.llm_max_tokens, streaming=True,
                      use_responses_api=False)


# ---------------------------------------------------------------------- citation check

@dataclass
class CheckedSentence:
    """A sentence of the model's answer with the passages (0-based) it validly cites."""

    text: str
    cited: list[int]
    prefix: str = ""          # the line's list bullet, written before its first kept sentence
    line: int = 0             # which line of the answer it came from


@dataclass
class CheckResult:
    """The model's answer after the citation check."""

    sentences: list[CheckedSentence] = field(default_factory=list)
    dropped: int = 0
    removed_markers: int = 0
    unsupported: int = 0      # cited sentences the cited passages do not support

    @property
    def ok(self) -> bool:
        """Return True when at least one sentence keeps a valid citation."""
        return any(s.cited for s in self.sentences)


def _numbers(group: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", group)]


def check_citations(text: str, passage_count: int) -> CheckResult:
    """Keep the sentences that cite a given passage; drop unknown numbers and uncited claims.

    Lines are kept apart (lists stay lists). A lead-in ending in ":" stays when a cited
    sentence follows it; short fragments without a claim (headings) vanish without counting.
    """
    result = CheckResult()
    pending: list[CheckedSentence] = []
    for line_no, raw_line in enumerate(text.replace("\r", "").split("\n")):
        line = raw_line.strip()
        if not line:
            continue
        bullet = _BULLET.match(line)
        prefix = "- " if bullet else ""
        body = line[bullet.end():] if bullet else line
        body = _TRAILING_MARKERS.sub(lambda m: m.group(2) + m.group(1), body)
        for sentence in split_sentences(body):
            cited: list[int] = []
            for match in CITATION_MARKER.finditer(sentence):
                for n in _numbers(match.group(1)):
                    if 1 <= n <= passage_count:
                        if n - 1 not in cited:
                            cited.append(n - 1)
                    else:
                        result.removed_markers += 1
            checked = CheckedSentence(sentence, cited, prefix, line_no)
            plain = CITATION_MARKER.sub("", sentence).strip(" *_#")
            if cited:
                result.sentences.extend(pending)
                pending = []
                result.sentences.append(checked)
            elif plain.endswith(":"):
                pending.append(checked)
            elif len(plain.split()) >= 4:
                result.dropped += 1
    return result


def ground(result: CheckResult, supported: Callable[[str, list[int]], bool]) -> CheckResult:
    """Keep the cited sentences their passages support, and the lead-ins of kept sentences.

    A lead-in ("Rapporten nämner tre steg:") carries no citation of its own: it must be
    supported by the passages cited by the sentence it leads into. A sentence said before in
    the same reply is left out.
    """
    kept: list[CheckedSentence] = []
    unsupported = 0
    pending: list[CheckedSentence] = []
    said: set[str] = set()
    for s in result.sentences:
        if not s.cited:
            pending.append(s)
            continue
        # A model caught in a loop repeats itself; the repeat adds nothing to show.
        claim = collapse(CITATION_MARKER.sub("", s.text)).lower()
        if claim in said:
            continue
        said.add(claim)
        if not supported(s.text, s.cited):
            unsupported += 1
            continue
        for lead in pending:
            if supported(lead.text, s.cited):
                kept.append(lead)
            elif len(CITATION_MARKER.sub("", lead.text).split()) >= 4:
                unsupported += 1
        pending = []
        kept.append(s)
    return CheckResult(sentences=kept, dropped=result.dropped,
                       removed_markers=result.removed_markers,
                       unsupported=result.unsupported + unsupported)


def complete_part(text: str) -> str:
    """Return the part of a growing reply whose sentences are finished.

    A line is finished at its newline; inside the last line a sentence is finished when the
    next one has begun (markers after its full stop, "… text. [1]", still belong to it).
    """
    text = _THINKING.sub("", text.replace("\r", ""))
    cut = text.rfind("\n")
    head, tail = text[:cut + 1], text[cut + 1:]
    tail = _TRAILING_MARKERS.sub(lambda m: m.group(2) + m.group(1), tail)
    done = split_sentences(tail)[:-1]
    return head + " ".join(done)


def _render(result: CheckResult) -> tuple[str, list[int]]:
    """Write the kept sentences with citations renumbered 1..k by first appearance.

    Returns the text and the passage index behind each new number.
    """
    order: list[int] = []
    for s in result.sentences:
        for i in s.cited:
            if i not in order:
                order.append(i)
    new_number = {i: k + 1 for k, i in enumerate(order)}

    def renumber(match: re.Match[str]) -> str:
        kept = []
        for n in _numbers(match.group(1)):
            k = new_number.get(n - 1)
            if k is not None and k not in kept:
                kept.append(k)
        return "".join(f"[{k}]" for k in kept)

    lines: list[str] = []
    last_line = None
    for s in result.sentences:
        text = CITATION_MARKER.sub(renumber, s.text)
        text = re.sub(r"(\])\s*(?=\[)", r"\1", text)           # "[1] [2]" -> "[1][2]"
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)             # no space before punctuation
        text = re.sub(r"(?<=[^\s\[\]])\[", " [", text)            # one space before a marker
        text = collapse(text)
        if s.line == last_line and lines:
            lines[-1] += " " + text
        else:
            lines.append(s.prefix + text)
        last_line = s.line
    return "\n".join(lines), order


def _passage_units(passage: Passage) -> list[str]:
    """Return the passage's sentences and list items that occur verbatim in its text."""
    text = passage.chunk.text
    return [u.text for u in split_units(text) if u.text and u.text in text]


def best_quotes(claims: Sequence[str], passage: Passage, idf: Any = None) -> str:
    """Return the passage sentence(s) that best match the claims, verbatim, by token overlap.

    Without any overlap the passage's first sentences are the quote.
    """
    units = _passage_units(passage)
    if not units:
        return passage.chunk.text[:300]
    weight = idf or (lambda t: 1.0)
    unit_tokens = [set(tokens(u)) for u in units]
    chosen: list[int] = []
    for claim in claims:
        claim_tokens = set(tokens(CITATION_MARKER.sub("", claim)))
        best, best_score = None, 0.0
        for i, ut in enumerate(unit_tokens):
            shared = sum(weight(t) for t in claim_tokens & ut)
            if not shared:
                continue
            size = sum(weight(t) for t in claim_tokens) + sum(weight(t) for t in ut)
            score = 2 * shared / size
            if score > best_score:
                best, best_score = i, score
        if best is not None and best not in chosen:
            chosen.append(best)
    if not chosen:
        first = [0]
        if len(units) > 1 and len(units[0]) < 80:
            first.append(1)
        chosen = first
    chosen = sorted(chosen)[:_MAX_QUOTES_PER_CITATION]
    return " … ".join(units[i] for i in chosen)


def is_refusal(text: str) -> bool:
    """Return True when the model used the fixed phrase for "the passages do not answer"."""
    return prompts.CANNOT_ANSWER_PHRASE.lower() in collapse(text).lower()


def _is_claim(sentence: str) -> bool:
    """Return False for a cited sentence that only says the passages do not answer."""
    if not is_refusal(sentence):
        return True
    rest = collapse(CITATION_MARKER.sub("", sentence)).lower().replace(
        prompts.CANNOT_ANSWER_PHRASE.lower(), "")
    return len(re.findall(r"\w+", rest)) > 3


# ---------------------------------------------------------------------- the answerer

def quoted(text: str) -> str:
    """Return document text safe to place between the prompt's <avsnitt> delimiters.

    Delimiter-like text inside a passage ("</avsnitt>") gets angle quotes instead of angle
    brackets, so a document cannot end its own passage and speak outside it.
    """
    return _DELIMITER.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


def format_passages(passages: Sequence[Passage]) -> str:
    """Return the passages as the prompt shows them: numbered, delimited, quoted data."""
    blocks = []
    for n, p in enumerate(passages, start=1):
        page = prompts.LLM_PASSAGE_PAGE.format(page=p.chunk.page) if p.chunk.page else ""
        blocks.append(prompts.LLM_PASSAGE.format(
            n=n, title=_attribute(p.chunk.title), section=_attribute(p.chunk.section),
            page=page, text=quoted(p.chunk.text.strip())))
    return "\n\n".join(blocks)


def _attribute(text: str) -> str:
    """Return text safe inside a delimiter's quoted attribute (one line, no straight quotes)."""
    return collapse(quoted(text)).replace('"', "”").replace(">", "›").replace("<", "‹")


def format_history(history: Sequence[dict | str], max_turns: int = 6,
                   max_chars: int = 400) -> str:
    """Return the last turns of a conversation as lines for the rewrite prompt."""
    lines = []
    for turn in list(history)[-max_turns:]:
        if isinstance(turn, str):
            role, content = "user", turn
        else:
            role, content = str(turn.get("role", "user")), str(turn.get("content", ""))
        content = collapse(re.sub(r"\s*" + CITATION_MARKER.pattern, "", content,
                                  flags=re.IGNORECASE))
        if not content:
            continue
        if len(content) > max_chars:
            content = content[:max_chars].rsplit(" ", 1)[0] + " …"
        template = prompts.LLM_HISTORY_USER if role == "user" else prompts.LLM_HISTORY_ASSISTANT
        lines.append(template.format(text=content))
    return "\n".join(lines)


class LLMAnswerer:
    """Answer with a chat model at an OpenAI-compatible endpoint, checked against the passages.

    `fallback` answers when the model cannot; `model` may be injected (tests pass fakes).
    """

    def __init__(self, settings: Settings, fallback: ExtractiveAnswerer,
                 model: BaseChatModel | None = None, grounder: Grounder | None = None,
                 unit_vectors: Callable[[list[str]], list[tuple[str, int, list[float]]]]
                 | None = None):
        self.settings = settings
        self.fallback = fallback
        self._model = model
        # Without the assistant's embedder only the number and lexical checks can run.
        self.grounder = grounder or Grounder(None, self._idf)
        self.unit_vectors = unit_vectors        # the index's stored sentence vectors
        self._lock = threading.Lock()
        # Endpoint failures seen while rewriting a follow-up, by the query handed on to stream():
        # the same endpoint is not asked again for that answer (no second wait for a timeout).
        self._failed_rewrites: dict[str, tuple[float, str]] = {}

    def _idf(self, token: str) -> float:
        return self.fallback.bm25.idf_of(token) if self.fallback.bm25 is not None else 1.0

    def __repr__(self) -> str:
        return (f"LLMAnswerer(base_url={_safe_url(self.settings.llm_base_url)!r}, "
                f"model={self.settings.llm_model!r})")

    # ------------------------------------------------------------------ model and chains
    @property
    def model(self) -> BaseChatModel:
        """Return the chat model (built on first use; langchain-openai is imported here)."""
        with self._lock:
            if self._model is None:
                self._model = chat_model(self.settings)
            return self._model


    def answer_chain(self) -> Runnable:
        """Return the answer chain: prompt | chat model | StrOutputParser."""
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [("system", prompts.LLM_SYSTEM_PROMPT), ("human", prompts.LLM_USER_PROMPT)]
        ).partial(cannot_answer=prompts.CANNOT_ANSWER_PHRASE)
        return prompt | self.model | StrOutputParser()

    def rewrite_chain(self) -> Runnable:
        """Return the follow-up chain: prompt | chat model | StrOutputParser."""
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [("system", prompts.LLM_REWRITE_SYSTEM_PROMPT),
             ("human", prompts.LLM_REWRITE_USER_PROMPT)])
        return prompt | self.model | StrOutputParser()

    # ------------------------------------------------------------------ follow-ups
    def rewrite(self, question: str, history: Sequence[dict | str]) -> str:
        """Return the question made standalone by the model, or by the deterministic rewrite."""
        fallback = rewrite_deterministic(question, history)
        if not history:
            return question
        try:
            raw = self.rewrite_chain().invoke(
                {"history": format_history(history), "question": question})
        except Exception as exc:  # noqa: BLE001 - any endpoint failure falls back
            log.info("Omskrivning med språkmodellen misslyckades: %s", type(exc).__name__)
            with self._lock:
                self._failed_rewrites[fallback] = (time.monotonic(),
                                                   describe_error(exc, self.settings))
            return fallback
        standalone = self._clean_rewrite(raw)
        if not standalone or len(standalone) > max(4 * len(question) + 300,
                                                   self.settings.answer.max_question_chars):
            return fallback
        return standalone

    @staticmethod
    def _clean_rewrite(raw: str) -> str:
        lines = [line.strip() for line in (raw or "").strip().splitlines() if line.strip()]
        if not lines:
            return ""
        line = _REWRITE_LABEL.sub("", lines[0])
        line = line.strip(" \"'”“»«*")
        return "" if is_refusal(line) else line

    # ------------------------------------------------------------------ answers
    def answer(self, question: str, passages: list[Passage]) -> Answer:
        """Return the checked answer (or the extractive one, with a note, when it fails)."""
        return final_answer(self.stream(question, passages))

    def stream(self, question: str, passages: list[Passage]) -> Iterator[str | Answer]:
        """Yield the checked answer sentence by sentence as the model writes, then the Answer.

        Nothing the model wrote is yielded before it has passed the citation and grounding
        checks; the final Answer is authoritative.
        """
        with self._lock:
            seen, earlier_failure = self._failed_rewrites.pop(question, (0.0, ""))
            now = time.monotonic()
            self._failed_rewrites = {q: v for q, v in self._failed_rewrites.items()
                                     if now - v[0] < _FAILURE_MEMORY_S}
        if now - seen >= _FAILURE_MEMORY_S:
            earlier_failure = ""
        if not passages:
            yield refusal(question, [], 0.0)
            return
        if earlier_failure:
            yield from self._fall_back(question, passages, earlier_failure, streamed=False)
            return
        cache: dict[tuple[str, tuple[int, ...]], bool] = {}
        raw, shown, finished_length, truncated = "", "", 0, False
        try:
            self._prime(passages)
            for chunk in self.answer_chain().stream(
                    {"passages": format_passages(passages), "question": quoted(question)}):
                room = self.settings.llm_max_chars - len(raw)
                raw += chunk[:room]
                if len(chunk) > room:
                    truncated = True        # stop reading: the rest is never shown
                    break
                finished = complete_part(raw)
                if len(finished) == finished_length:
                    continue
                finished_length = len(finished)
                text, _ = _render(self._checked(finished, passages, cache))
                if text.startswith(shown) and len(text) > len(shown):
                    yield text[len(shown):]
                    shown = text
        except Exception as exc:  # noqa: BLE001 - the user gets the extractive answer instead
            log.info("Språkmodellen gav inget svar: %s", type(exc).__name__)
            yield from self._fall_back(question, passages, describe_error(exc, self.settings),
                                       streamed=bool(shown))
            return
        try:
            answer = self.check(complete_part(raw) if truncated else raw, question, passages,
                                truncated=truncated, cache=cache)
        except LLMFailure as failure:
            yield from self._fall_back(question, passages, str(failure), streamed=bool(shown))
            return
        if answer.answer.startswith(shown) and len(answer.answer) > len(shown):
            yield answer.answer[len(shown):]
        yield answer

    def _prime(self, passages: list[Passage]) -> None:
        """Hand the index's stored sentence vectors of the passages to the grounder."""
        if self.unit_vectors is None:
            return
        by_id = {p.chunk.chunk_id: p.chunk for p in passages}
        units = {cid: {u.position: u.text for u in split_units(c.text)}
                 for cid, c in by_id.items()}
        stored = self.unit_vectors(list(by_id))
        self.grounder.prime((units[cid][pos], vector) for cid, pos, vector in stored
                            if pos in units.get(cid, {}))

    def _checked(self, text: str, passages: list[Passage],
                 cache: dict[tuple[str, tuple[int, ...]], bool]) -> CheckResult:
        """Return the text's citation check with unsupported sentences removed."""
        def supported(sentence: str, cited: list[int]) -> bool:
            key = (sentence, tuple(cited))
            if key not in cache:
                cache[key] = self.grounder.supported(
                    CITATION_MARKER.sub(" ", sentence), [passages[i].chunk.text for i in cited])
            return cache[key]

        return ground(check_citations(text, len(passages)), supported)

    def check(self, text: str, question: str, passages: list[Passage], *,
              truncated: bool = False,
              cache: dict[tuple[str, tuple[int, ...]], bool] | None = None) -> Answer:
        """Return the model's text as a checked, renumbered Answer; raise LLMFailure if none."""
        contexts = contexts_of(passages)
        evidence = self.fallback.evidence(question, passages)
        cut = prompts.LLM_TRUNCATED_NOTE.format(limit=self.settings.llm_max_chars)
        # Reasoning models served through Ollama or vLLM may put their thinking in the text.
        text = _THINKING.sub("", text)
        if not text.strip():
            raise LLMFailure(_join_notes(fallback_note(prompts.LLM_REASON_EMPTY),
                                         cut if truncated else ""))
        cited = check_citations(text, len(passages))
        checked = self._checked(text, passages, {} if cache is None else cache)
        if is_refusal(text) and not any(_is_claim(s.text) for s in cited.sentences):
            return refusal(question, contexts, evidence)
        if not checked.ok:
            reason = (prompts.LLM_REASON_UNSUPPORTED if cited.ok
                      else prompts.LLM_REASON_NO_CITATIONS)
            raise LLMFailure(_join_notes(fallback_note(reason), cut if truncated else ""))
        answer_text, order = _render(checked)
        idf = self.fallback.bm25.idf_of if self.fallback.bm25 is not None else None
        citations = []
        for k, index in enumerate(order, start=1):
            passage = passages[index]
            claims = [s.text for s in checked.sentences if index in s.cited]
            chunk = passage.chunk
            citations.append(Citation(n=k, chunk_id=chunk.chunk_id, source=chunk.source,
                                      title=chunk.title, section=chunk.section, page=chunk.page,
                                      quote=best_quotes(claims, passage, idf)))
        note = _join_notes(
            prompts.LLM_UNSUPPORTED_NOTE.format(count=checked.unsupported)
            if checked.unsupported else "",
            prompts.LLM_DROPPED_NOTE.format(count=checked.dropped) if checked.dropped else "",
            cut if truncated else "")
        return Answer(question=question, answer=answer_text, refused=False, citations=citations,
                      contexts=contexts, evidence=evidence, note=note)

    def _fall_back(self, question: str, passages: list[Passage], note: str,
                   streamed: bool) -> Iterator[str | Answer]:
        """Yield the extractive answer with the note; its text streams only if nothing did."""
        result: Answer | None = None
        for event in self.fallback.stream(question, passages):
            if isinstance(event, Answer):
                result = event
            elif not streamed:
                yield event
        assert result is not None
        result.note = f"{note} {_sentence(result.note)}".strip() if result.note else note
        yield result


def _join_notes(*notes: str) -> str:
    """Return the non-empty notes as one paragraph."""
    return " ".join(n for n in notes if n)


def _sentence(fragment: str) -> str:
    """Return a lower-case note fragment as a sentence."""
    fragment = fragment.strip()
    if not fragment:
        return ""
    fragment = fragment[0].upper() + fragment[1:]
    return fragment if fragment.endswith((".", "!", "?")) else fragment + "."
