"""App: plan a meeting, a network meeting or workshop plan on the report's model and lessons.

Advisors prepare meetings where ASF, companies and public actors meet. The report gives the
material: a planning model (figure 5, restored by corpus/figures/planeringsmodell.yaml: Syfte,
Resultat, Målgrupp, Metod, Uppföljning, each with a guiding question), what made the 2018
meetings work, why two were cancelled, the challenges and drivers worth discussing, and named
cases to invite. A plan follows the model's five parts; every factual line is a verbatim,
cited sentence of the indexed documents, chosen by meaning (the part's topic and the meeting's
theme) among the sections about meetings; the connecting text and the draft agenda are fixed
Swedish phrasing (prompts.py). Nothing is invented.

Output: Markdown, JSON (sections with their citations) and Word (.docx, python-docx).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.answering.broad import META_SENTENCE, readable
from assistant.cases.catalog import INDUSTRIES, CaseQuery
from assistant.prompts import (
    ERR_PLAN_GROUPS,
    ERR_PLAN_LENGTH,
    ERR_PLAN_LENGTH_FORMAT,
    ERR_PLAN_PARTICIPANTS,
    ERR_PLAN_PARTICIPANTS_FORMAT,
    ERR_PLAN_PLACE,
    ERR_PLAN_THEME,
    PLAN_AGENDA,
    PLAN_AGENDA_BREAK,
    PLAN_AGENDA_HEADING,
    PLAN_CASES_HEADING,
    PLAN_DISCUSSION_HEADING,
    PLAN_DISCUSSION_LINE,
    PLAN_GROUPS_CHOSEN,
    PLAN_GUIDING,
    PLAN_LESSONS_HEADING,
    PLAN_MEETING_LINE,
    PLAN_NOTE,
    PLAN_PARTS,
    PLAN_RECRUITING,
    PLAN_SOURCES_HEADING,
    PLAN_TARGET_GROUPS,
    PLAN_TITLE,
    PLAN_UNKNOWN_THEME,
)
from assistant.retrieval.topics import Sentence, TopicIndex
from assistant.text import coverage, is_fragment, stem, strip_control, tokens, words
from assistant.types import Chunk, Citation

if TYPE_CHECKING:
    from assistant.pipeline import Assistant

# What each part of the model is about: searched, with the theme, among the meeting sections.
PART_TOPICS = {
    "syfte": "syftet med nätverksträffen och mötet, sprida kunskap och erbjuda en arena",
    "resultat": "vad deltagarna ska ha med sig när de lämnar träffen, nya kontakter och kunskap",
    "malgrupp": "rätt målgrupp, variation av medverkande aktörer och deltagande organisationer",
    "metod": "val av metod, tid för dialog, kort kunskapspass, mingel och samtal i mindre "
             "grupper",
    "uppfoljning": "nöjda deltagare, nya kontakter, fortsatta kontakter och nya nätverk efter "
                   "träffen",
}
LESSONS_TOPIC = ("nätverksträffar som genomfördes och ställdes in, tidsbrist och för få "
                 "anmälda, reflektioner efter träffarna")
DISCUSSION_TOPIC = "utmaningar och drivkrafter för affärer mellan ASF och företag"
RECRUITING_TOPIC = ("mobilisera rätt målgrupp, intervjua några ur den förväntade målgruppen, "
                    "hitta eldsjälarna, bjuda in")
# Headings (by stem) of the sections a plan quotes: about meetings, and for the discussion
# questions about challenges and drivers.
_MEETING_STEMS = ("nätverksträff", "målgrupp", "arbetsmodell", "reflektion")
_DISCUSSION_STEMS = ("utmaning", "drivkraft")
# Sentences per part, lessons and discussion questions.
PART_LINES = 2
LESSON_LINES = 4
DISCUSSION_LINES = 4
CASES = 3
# A theme no sentence comes this close to in meaning is one the documents do not treat
# (measured on the report: its meeting themes and topics such as "Hållbar upphandling i
# kommunen" reach 0.45-0.62 with some sentence; "Kvantfysik för nybörjare" and "Bakning av
# surdegsbröd" stay under 0.40 and most of their words occur nowhere).
KNOWN_THEME = 0.40
# Shares of the meeting's time in the draft agenda, shaped like the 2018 meetings: a short
# knowledge session, an ASF with its partner, talk in small groups, mingle.
AGENDA_SHARES = (0.07, 0.15, 0.15, 0.35, 0.10, 0.18)
MIN_MINUTES, MAX_MINUTES = 30, 600
MIN_PARTICIPANTS, MAX_PARTICIPANTS = 2, 1000


class PlanError(ValueError):
    """The plan's inputs cannot be used; the message says why in Swedish."""


@dataclass(frozen=True)
class PlanRequest:
    """What the advisor tells the planner."""

    theme: str
    place: str = ""
    groups: tuple[str, ...] = ()
    participants: int = 25
    minutes: int = 180

    def checked(self) -> PlanRequest:
        """Return the request with trimmed text, or raise PlanError."""
        # Control characters would reach a terminal and make the Word document fail.
        theme, place = strip_control(self.theme or ""), strip_control(self.place or "")
        if not theme or len(theme) > 200:
            raise PlanError(ERR_PLAN_THEME)
        if len(place) > 100:
            raise PlanError(ERR_PLAN_PLACE)
        if not MIN_PARTICIPANTS <= self.participants <= MAX_PARTICIPANTS:
            raise PlanError(ERR_PLAN_PARTICIPANTS.format(low=MIN_PARTICIPANTS,
                                                         high=MAX_PARTICIPANTS))
        if not MIN_MINUTES <= self.minutes <= MAX_MINUTES:
            raise PlanError(ERR_PLAN_LENGTH.format(low=MIN_MINUTES, high=MAX_MINUTES // 60))
        unknown = [g for g in self.groups if g not in PLAN_TARGET_GROUPS]
        if unknown:
            raise PlanError(ERR_PLAN_GROUPS.format(groups=", ".join(unknown),
                                                   known=", ".join(PLAN_TARGET_GROUPS)))
        return PlanRequest(theme, place, tuple(dict.fromkeys(self.groups)),
                           self.participants, self.minutes)


def parse_participants(text: str) -> int:
    """Return a number of participants from "25" (PlanError with a Swedish message)."""
    value = strip_control(str(text))
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if not value.isdecimal():
        raise PlanError(ERR_PLAN_PARTICIPANTS_FORMAT.format(value=value))
    if len(value) > len(str(MAX_PARTICIPANTS)) + 1:
        raise PlanError(ERR_PLAN_PARTICIPANTS.format(low=MIN_PARTICIPANTS, high=MAX_PARTICIPANTS))
    return int(value)


def parse_length(text: str) -> int:
    """Return a meeting length in minutes from "2 timmar", "90 min", "2h", "halvdag"."""
    value = strip_control(text or "").lower().replace(",", ".")
    named = {"halvdag": 210, "halv dag": 210, "heldag": 420, "hel dag": 420}
    if value in named:
        return named[value]
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(h|tim|timme|timmar|t|min|minuter|m)?", value)
    if not match:
        raise PlanError(ERR_PLAN_LENGTH_FORMAT.format(value=strip_control(text or "")))
    number = float(match.group(1))
    if number > MAX_MINUTES:          # also a 400-digit number, which float makes infinite
        raise PlanError(ERR_PLAN_LENGTH.format(low=MIN_MINUTES, high=MAX_MINUTES // 60))
    unit = match.group(2) or ("min" if number > 12 else "h")
    return round(number if unit.startswith("m") else number * 60)


@dataclass
class PlanLine:
    """One line of a plan: fixed text, or a quote with its citation number."""

    text: str
    n: int | None = None
    kind: str = "quote"             # quote, text, case, agenda, question

    def markdown(self) -> str:
        """Return the line as Markdown (its [n] after it)."""
        return f"{self.text} [{self.n}]" if self.n is not None else self.text


@dataclass
class PlanSection:
    """One heading of the plan with its lines (a part of the model, or lessons)."""

    key: str
    heading: str
    lines: list[PlanLine] = field(default_factory=list)


@dataclass
class Plan:
    """A meeting plan: its request, sections and numbered sources."""

    request: PlanRequest
    title: str
    sections: list[PlanSection]
    citations: list[Citation]
    note: str = ""

    def to_markdown(self) -> str:
        """Return the plan as Markdown: headings, lists and a numbered source list."""
        out = [f"# {self.title}", "", self.summary(), ""]
        if self.note:
            out += [f"*{self.note}*", ""]
        for section in self.sections:
            out += [f"## {section.heading}", ""]
            for line in section.lines:
                if line.kind == "text":
                    out += ["", line.markdown(), ""]
                else:
                    out.append(f"- {line.markdown()}")
            out.append("")
        out += [f"## {PLAN_SOURCES_HEADING}", ""]
        out += [f"{c.n}. {c.title} – {c.section}: ”{c.quote}”" for c in self.citations]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"

    def summary(self) -> str:
        """Return the line that says what the plan is for."""
        r = self.request
        groups = ", ".join(r.groups) if r.groups else "–"
        return PLAN_NOTE.format(place=r.place or "–", groups=groups,
                                participants=r.participants, length=length_label(r.minutes))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of `asf plan --format json`."""
        r = self.request
        return {
            "title": self.title,
            "request": {"theme": r.theme, "place": r.place, "groups": list(r.groups),
                        "participants": r.participants, "minutes": r.minutes},
            "note": self.note,
            "sections": [{"key": s.key, "heading": s.heading,
                          "lines": [{"text": line.text, "n": line.n, "kind": line.kind}
                                    for line in s.lines]} for s in self.sections],
            "citations": [{"n": c.n, "chunk_id": c.chunk_id, "source": c.source,
                           "section": c.section, "page": c.page, "quote": c.quote}
                          for c in self.citations],
        }

    def to_docx(self) -> bytes:
        """Return the plan as a Word document: real headings, bullet lists, numbered sources."""
        from docx import Document

        doc = Document()
        doc.core_properties.title = self.title
        doc.add_heading(self.title, level=0)
        doc.add_paragraph(self.summary())
        if self.note:
            doc.add_paragraph(self.note).runs[0].italic = True
        for section in self.sections:
            doc.add_heading(section.heading, level=1)
            for line in section.lines:
                style = None if line.kind == "text" else "List Bullet"
                doc.add_paragraph(line.markdown(), style=style)
        doc.add_heading(PLAN_SOURCES_HEADING, level=1)
        for c in self.citations:
            doc.add_paragraph(f"[{c.n}] {c.title} – {c.section}: ”{c.quote}”",
                              style="List Number")
        buffer = io.BytesIO()
        doc.save(buffer)
        return buffer.getvalue()


def length_label(minutes: int) -> str:
    """Return a length in Swedish ("2 timmar", "1 timme 30 minuter", "45 minuter")."""
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} timme" if hours == 1 else f"{hours} timmar")
    if rest:
        parts.append(f"{rest} minuter")
    return " ".join(parts)


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def agenda(minutes: int) -> list[str]:
    """Return a draft agenda fitted to the length, as "0:00–0:15 item" lines."""
    items = list(PLAN_AGENDA)
    shares = list(AGENDA_SHARES)
    if minutes >= 180:
        # A break after the presentations, taken from the mingle's share.
        items.insert(3, PLAN_AGENDA_BREAK)
        shares.insert(3, 0.06)
        shares[-1] -= 0.06
    lengths = [max(5, int(round(minutes * share / 5)) * 5) for share in shares]
    lengths[-1] += minutes - sum(lengths)          # the mingle absorbs the rounding
    while lengths[-1] < 5:                         # … but never to nothing: take from the
        longest = max(range(len(lengths) - 1), key=lambda i: lengths[i])   # longest item
        lengths[longest] -= 5
        lengths[-1] += 5
    out, start = [], 0
    for item, length in zip(items, lengths, strict=True):
        out.append(f"{_clock(start)}–{_clock(start + length)} {item}")
        start += length
    return out


class Planner:
    """Compose a meeting plan from the indexed documents and the case catalog."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self._vectors: dict[str, np.ndarray] = {}

    def _vector(self, text: str) -> np.ndarray:
        """Return a query vector; the fixed topics of the parts are embedded once."""
        if text not in self._vectors:
            if len(self._vectors) > 64:
                self._vectors.clear()
            vector = self.assistant.index.embeddings.embed_query(text)
            self._vectors[text] = np.asarray(vector, dtype=np.float32)
        return self._vectors[text]

    def plan(self, request: PlanRequest) -> Plan:
        """Return the plan for a request (PlanError for inputs that cannot be used)."""
        request = request.checked()
        a = self.assistant
        a.index.reopen_if_changed()
        a.index.require()
        topics = a.retriever.topics()
        figure = _figure_chunk(topics)
        citations: dict[str, Citation] = {}

        def cite(chunk: Chunk, quotes: str | list[str]) -> int:
            """Number a passage on first use; its quote lists each quoted sentence once."""
            new = [quotes] if isinstance(quotes, str) else quotes
            found = citations.get(chunk.chunk_id)
            if found is None:
                found = Citation(n=len(citations) + 1, chunk_id=chunk.chunk_id,
                                 source=chunk.source, title=chunk.title, section=chunk.section,
                                 page=chunk.page, quote="")
                citations[chunk.chunk_id] = found
            have = found.quote.split(" … ") if found.quote else []
            found.quote = " … ".join(dict.fromkeys([*have, *new]))
            return found.n

        theme = self._vector(request.theme)
        meeting = _sections(topics, _MEETING_STEMS)
        used: set[int] = set()
        sections: list[PlanSection] = []
        parts = _figure_parts(topics, figure)
        for number, (key, heading) in enumerate(PLAN_PARTS.items()):
            section = PlanSection(key, f"{number + 1}. {heading}")
            guide = parts.get(key)
            if guide is not None:
                question = guide.unit.text.split(": ", 1)[-1]
                section.lines.append(PlanLine(PLAN_GUIDING.format(question=question),
                                              cite(guide.chunk, guide.unit.text), "text"))
            query = self._vector(f"{PART_TOPICS[key]}. {request.theme}")
            section.lines += _lines(topics, _best(topics, query, meeting, PART_TOPICS[key],
                                                  used, PART_LINES), cite, used)
            if key == "malgrupp":
                section.lines += self._groups_and_cases(request, theme, topics, cite)
            if key == "metod":
                section.lines.append(PlanLine(PLAN_AGENDA_HEADING.format(
                    length=length_label(request.minutes)), None, "text"))
                section.lines += [PlanLine(line, None, "agenda")
                                  for line in agenda(request.minutes)]
                section.lines += self._discussion(request, topics, used, cite)
            sections.append(section)
        lessons = PlanSection("lardomar", PLAN_LESSONS_HEADING)
        query = self._vector(LESSONS_TOPIC)
        lessons.lines += _lines(topics, _best(topics, query, meeting, LESSONS_TOPIC, used,
                                              LESSON_LINES), cite, used)
        # Two meetings were cancelled for too few sign-ups: what the report says about finding
        # and reaching the right participants follows the lessons.
        query = self._vector(RECRUITING_TOPIC)
        recruiting = _lines(topics, _best(topics, query, meeting, RECRUITING_TOPIC, used, 2),
                            cite, used)
        if recruiting:
            lessons.lines.append(PlanLine(PLAN_RECRUITING, None, "text"))
            lessons.lines += recruiting
        idf = a.retriever.bm25.idf_of
        closest = _closest_meeting(topics, request.theme, theme, idf)
        if closest is not None:
            lessons.lines.append(PlanLine(PLAN_MEETING_LINE.format(
                meeting=closest.heading.split(":")[0]), None, "text"))
            lessons.lines += _lines(topics, _best(topics, theme, [closest], request.theme,
                                                  used, 3), cite, used)
        sections.append(lessons)
        note = ""
        if not known_theme(topics, request.theme, theme, idf, set(a.retriever.bm25.idf)):
            note = PLAN_UNKNOWN_THEME.format(theme=request.theme)
        return Plan(request, PLAN_TITLE.format(theme=request.theme), sections,
                    sorted(citations.values(), key=lambda c: c.n), note)

    def _groups_and_cases(self, request: PlanRequest, theme: np.ndarray,
                          topics: TopicIndex, cite: Any) -> list[PlanLine]:
        """Return the chosen target groups and the cases to invite or present."""
        lines: list[PlanLine] = []
        if request.groups:
            lines.append(PlanLine(PLAN_GROUPS_CHOSEN.format(groups=", ".join(request.groups)),
                                  None, "text"))
        catalog = self.assistant.catalog
        cases = {c.source: c for c in catalog}
        text = f"{request.theme} {request.place}"
        industries = [label for label, (pattern, _) in INDUSTRIES.items()
                      if pattern.search(text)]
        preferred = set()
        if industries:
            preferred |= {m.case.source for m in catalog.filter(CaseQuery(industry=industries))}
        if request.place:
            preferred |= {m.case.source for m in catalog.filter(
                CaseQuery(place=[request.place]))}
        sims = topics.chunk_similarity(theme)
        ranked = sorted((c for c in topics.chunks.values()
                         if c.kind == "case" and c.source in cases),
                        key=lambda c: (c.source not in preferred, -sims.get(c.chunk_id, 0.0)))
        chosen = ranked[:CASES]
        if chosen:
            lines.append(PlanLine(PLAN_CASES_HEADING, None, "text"))
        for chunk in chosen:
            case = cases[chunk.source]
            quote = case.summary.quote
            lines.append(PlanLine(f"{case.name} ({case.about}): {quote}", cite(chunk, quote),
                                  "case"))
        return lines

    def _discussion(self, request: PlanRequest, topics: TopicIndex, used: set[int],
                    cite: Any) -> list[PlanLine]:
        """Return discussion questions: the report's challenges and drivers nearest the theme."""
        scope = _sections(topics, _DISCUSSION_STEMS)
        query = self._vector(f"{DISCUSSION_TOPIC}. {request.theme}")
        lines = [PlanLine(PLAN_DISCUSSION_HEADING, None, "text")]
        for sentence in _best(topics, query, scope, f"{DISCUSSION_TOPIC} {request.theme}",
                              used, DISCUSSION_LINES, per_section=1):
            parts = readable(topics, sentence)
            used.update(x.row for x in parts)
            quotes = [x.unit.text for x in parts]
            lines.append(PlanLine(PLAN_DISCUSSION_LINE.format(quote=" ".join(quotes)),
                                  cite(sentence.chunk, quotes), "question"))
        return lines if len(lines) > 1 else []


def _lines(topics: TopicIndex, sentences: list[Sentence], cite: Any,
           used: set[int]) -> list[PlanLine]:
    """Return quoted lines: consecutive sentences of one passage as one line, and a line that
    opens by pointing back with the sentence before it."""
    groups: list[list[Sentence]] = []
    for sentence in sentences:
        last = groups[-1][-1] if groups else None
        if (last is not None and last.chunk.chunk_id == sentence.chunk.chunk_id
                and last.unit.position == sentence.unit.position - 1):
            groups[-1].append(sentence)
        else:
            groups.append([sentence])
    lines = []
    for group in groups:
        parts = [*readable(topics, group[0]), *group[1:]]
        used.update(x.row for x in parts)
        quotes = [x.unit.text for x in parts]
        lines.append(PlanLine(" ".join(quotes), cite(group[0].chunk, quotes)))
    return lines


def _figure_chunk(topics: TopicIndex) -> Chunk | None:
    """Return the passage of the meeting-planning model's figure card, if indexed."""
    for chunk in topics.chunks.values():
        if chunk.kind == "figure" and "Uppföljning:" in chunk.text:
            return chunk
    return None


def _figure_parts(topics: TopicIndex, figure: Chunk | None) -> dict[str, Sentence]:
    """Return the figure card's part sentences by part key ("syfte" … "uppfoljning")."""
    if figure is None:
        return {}
    out: dict[str, Sentence] = {}
    for sentence in topics.sentences:
        if sentence.chunk.chunk_id != figure.chunk_id or sentence.unit.lead is None:
            continue
        label = sentence.unit.text.split(":", 1)[0].split()[0].lower()
        for key, heading in PLAN_PARTS.items():
            if label == heading.lower():
                out[key] = sentence
    return out


def _sections(topics: TopicIndex, stems: tuple[str, ...]) -> list[Any]:
    """Return the sections whose path names one of the stems."""
    return [s for s in topics.sections
            if any(st in w for w in (stem(x) for x in words(" ".join(s.path)))
                   for st in stems)]


def _best(topics: TopicIndex, query: np.ndarray, sections: list[Any], words_of: str,
          used: set[int], limit: int, per_section: int = 0) -> list[Sentence]:
    """Return the sentences of the sections closest to the query (meaning and words), in
    reading order, leaving out ones already used and near-duplicates of them."""
    qset = set(tokens(words_of))
    rows = [r for s in sections for r in s.sentences]
    scored = []
    for row in rows:
        sentence = topics.sentences[row]
        text = sentence.unit.text
        if (row in used or len(text) < 40 or text.endswith(":") or is_fragment(text)
                or META_SENTENCE.search(text)):
            continue
        if sentence.chunk.kind == "figure":
            continue                      # the figure's parts are the guiding questions
        overlap = len(qset & set(tokens(text))) / (len(qset) or 1)
        scored.append((float(topics.matrix[row] @ query) + 0.5 * overlap, row))
    chosen: list[int] = []
    count: dict[int, int] = {}
    for _, row in sorted(scored, reverse=True):
        if len(chosen) >= limit:
            break
        section = topics.sentences[row].section
        if per_section and count.get(section, 0) >= per_section:
            continue
        if any(topics.pair_similarity(row, r) > 0.86 for r in [*chosen, *used]):
            continue
        chosen.append(row)
        count[section] = count.get(section, 0) + 1
    used.update(chosen)
    return [topics.sentences[r] for r in sorted(chosen)]


def _closest_meeting(topics: TopicIndex, theme: str, vector: np.ndarray,
                     idf: Any) -> Any:
    """Return the report's meeting section (a heading with its theme after ":") nearest the
    theme, or None when no meeting shares its words or its meaning.

    Measured on the report: the meetings' own themes cover their section's words fully
    (coverage 1.0) while their sentence similarities stay under 0.45, so the words decide and
    the meaning breaks ties.
    """
    meetings = [s for s in topics.sections
                if ":" in s.heading and s.sentences and s.path[0] != s.heading
                and any("nätverksträff" in stem(w) for w in words(s.path[0]))]
    best, best_score = None, 0.0
    for section in meetings:
        text = " ".join([*section.path, *(c.text for c in section.chunks)])
        shared = coverage(set(tokens(theme)), set(tokens(text)), idf)
        similarity = max(float(topics.matrix[r] @ vector) for r in section.sentences)
        score = shared + similarity
        if (shared > 0 or similarity >= 0.45) and score > best_score:
            best, best_score = section, score
    return best


def known_theme(topics: TopicIndex, theme: str, vector: np.ndarray, idf: Any,
                vocabulary: set[str]) -> bool:
    """Return True when the documents speak of the theme: most of its words occur in them and
    some sentence is close to it in meaning ("Kvantfysik för nybörjare": no)."""
    words_known = coverage(set(tokens(theme)), vocabulary, idf)
    closest = float(np.max(topics.matrix @ vector)) if len(topics) else 0.0
    return words_known >= 0.5 and closest >= KNOWN_THEME
