"""App: plan a meeting, a network meeting or workshop plan on the report's model and lessons.

Advisors prepare meetings where ASF, companies and public actors meet. The report gives the
material: a planning model (figure 5, restored by corpus/figures/planeringsmodell.yaml: Syfte,
Resultat, Målgrupp, Metod, Uppföljning, each with a guiding question), the three meetings it
held in 2018 (each a section "Place: title" under the meetings chapter), what made them work,
why two were cancelled, the challenges and drivers worth discussing, and named cases to invite.

A plan says which of the report's meetings it draws on: the one closest to the theme (each
theme token matched to the meeting passages' tokens, late interaction; the sentences' vectors
where the model gives no token vectors) and the one held at the asked place (by name: the
meeting's heading or a case card whose place matches and whose sections include the meeting).
It follows the model's five parts; every factual line is a verbatim, cited sentence of the
indexed documents, chosen by meaning among the sections about meetings; a sentence is shown
once, and name-and-title lines or other fragments are left out. What an advisor hands out
around that (fields to fill in, an invitation, roles, a checklist, the agenda, the follow-up
and an evaluation form) is fixed Swedish phrasing (prompts.py), marked "Mall:". Nothing is
invented.

The model is needed once per new theme: the theme and the fixed topics are embedded in one
call and kept on disk (data_dir/plan-vectors.npz, per model), so a theme planned before, or
planned again, needs no model at all.

Output: Markdown, JSON (sections with their citations) and Word (.docx, python-docx: A4,
Swedish language on the styles, title and author in the properties, the agenda as a table,
page numbers in the footer).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.answering.broad import META_SENTENCE, readable
from assistant.cases.catalog import INDUSTRIES, CaseQuery
from assistant.config import PlanSettings
from assistant.index.embeddings import embed_queries
from assistant.index.late import TokenVectors
from assistant.lexicon import pattern, table
from assistant.lexicon import words as lexicon_words
from assistant.prompts import (
    ERR_PLAN_GROUPS,
    ERR_PLAN_LENGTH,
    ERR_PLAN_LENGTH_FORMAT,
    ERR_PLAN_PARTICIPANTS,
    ERR_PLAN_PARTICIPANTS_FORMAT,
    ERR_PLAN_PLACE,
    ERR_PLAN_THEME,
    MSG_PLAN_CACHED,
    MSG_PLAN_COMPOSING,
    MSG_PLAN_MATCHING,
    MSG_PLAN_MODEL,
    PLAN_AGENDA,
    PLAN_AGENDA_BREAK,
    PLAN_AGENDA_BREAK_OWNER,
    PLAN_AGENDA_COLUMNS,
    PLAN_AGENDA_HEADING,
    PLAN_AGENDA_OWNERS,
    PLAN_AUTHOR,
    PLAN_BASIS_BOTH,
    PLAN_BASIS_HEADING,
    PLAN_BASIS_NONE,
    PLAN_BASIS_PLACE,
    PLAN_BASIS_SUMMARY,
    PLAN_BASIS_SUMMARY_PLACE,
    PLAN_BASIS_SUMMARY_THEME,
    PLAN_BASIS_THEME,
    PLAN_BLANK,
    PLAN_CASES_HEADING,
    PLAN_CHECKLIST,
    PLAN_CHECKLIST_HEADING,
    PLAN_DISCUSSION_HEADING,
    PLAN_DISCUSSION_LINE,
    PLAN_EVALUATION,
    PLAN_EVALUATION_HEADING,
    PLAN_FACTS,
    PLAN_FACTS_HEADING,
    PLAN_FOLLOWUP,
    PLAN_FOLLOWUP_HEADING,
    PLAN_FOOTER_PAGE,
    PLAN_GROUPS_CHOSEN,
    PLAN_GUIDING,
    PLAN_HOST_LINE,
    PLAN_INVITATION,
    PLAN_INVITATION_HEADING,
    PLAN_LANGUAGE,
    PLAN_LESSONS_HEADING,
    PLAN_NOTE,
    PLAN_PARTS,
    PLAN_RECRUITING,
    PLAN_ROLES,
    PLAN_ROLES_HEADING,
    PLAN_ROLES_REPORT,
    PLAN_SOURCES_HEADING,
    PLAN_TARGET_GROUPS,
    PLAN_TEMPLATE_NOTE,
    PLAN_TITLE,
    PLAN_UNKNOWN_THEME,
)
from assistant.retrieval.topics import Section, Sentence, TopicIndex
from assistant.text import collapse, coverage, is_fragment, stem, strip_control, tokens, words
from assistant.types import Chunk, Citation

if TYPE_CHECKING:
    from assistant.pipeline import Assistant

Progress = Callable[[str], None]

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
ROLES_TOPIC = ("vid varje träff berättade ett ASF och dess samarbetspartner om sitt samarbete; "
               "vem som organiserade och processledde träffarna")
FIXED_TOPICS = (*PART_TOPICS.values(), LESSONS_TOPIC, DISCUSSION_TOPIC, RECRUITING_TOPIC,
                ROLES_TOPIC)
# Headings (by stem) of the sections a plan quotes: about meetings, and for the discussion
# questions about challenges and drivers.
_MEETING_STEMS = lexicon_words("planner.meeting_headings")
_DISCUSSION_STEMS = lexicon_words("planner.discussion_headings")
# Shares of the meeting's time in the draft agenda, shaped like the 2018 meetings: a short
# knowledge session, an ASF with its partner, talk in small groups, mingle.
AGENDA_SHARES = (0.07, 0.15, 0.15, 0.35, 0.10, 0.18)
MIN_MINUTES, MAX_MINUTES = 30, 600
# "2 timmar", "90 min", "2h" (lower-cased), and the parts of a day in minutes ("halvdag").
_LENGTH = pattern("planner.length")
_DAY_LENGTHS = {name: int(minutes) for name, minutes in table("planner.day_lengths").items()}
MIN_PARTICIPANTS, MAX_PARTICIPANTS = 2, 1000
# A quoted line needs this many words to read as a statement in a plan.
MIN_QUOTE_WORDS = 6
# "Peter Karlsson, tillträdande kommunalråd." / "Tomas Ek, Carbex AB.": a name and a title
# from a list of speakers, not a statement.
_NAME_TITLE = re.compile(r"^[•\-–\s]*[A-ZÅÄÖÉ][\wåäöé\-]+(?: [A-ZÅÄÖÉ][\wåäöé\-]+)+\s*[,(–-]")
_BULLET = re.compile(r"^[•\-–]\s+")
# Plan vectors kept on disk: a few hundred themes at most (each a few KB).
VECTOR_CACHE_FILE = "plan-vectors.npz"
VECTOR_CACHE_MAX = 400


def is_plan_stub(text: str) -> bool:
    """Return True for a sentence that does not read as a statement in a plan: a name with a
    title from a list of speakers, a lead-in, or too few words."""
    text = _BULLET.sub("", text.strip())
    return (len(text.split()) < MIN_QUOTE_WORDS or text.endswith(":")
            or bool(_NAME_TITLE.match(text)) and len(text.split()) <= 20)


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
    if value in _DAY_LENGTHS:
        return _DAY_LENGTHS[value]
    match = _LENGTH.fullmatch(value)
    if not match:
        raise PlanError(ERR_PLAN_LENGTH_FORMAT.format(value=strip_control(text or "")))
    number = float(match.group(1))
    if number > MAX_MINUTES:          # also a 400-digit number, which float makes infinite
        raise PlanError(ERR_PLAN_LENGTH.format(low=MIN_MINUTES, high=MAX_MINUTES // 60))
    unit = match.group(2) or ("min" if number > 12 else "h")
    return round(number if unit.startswith("m") else number * 60)


@dataclass
class PlanLine:
    """One line of a plan: fixed text, a template line, an agenda row, or a verbatim quote
    (text) with its citation number and the fixed words that frame it (lead)."""

    text: str
    n: int | None = None
    kind: str = "quote"             # quote, text, case, agenda, question, template, host, meeting
    lead: str = ""
    cells: tuple[str, ...] = ()     # an agenda row: time, item, who
    parts: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def markdown(self) -> str:
        """Return the line as Markdown: a quote in quotation marks with its [n] after it."""
        if self.n is not None:
            return f"{self.lead}”{self.text}” [{self.n}]"
        return f"{self.lead}{self.text}"


@dataclass
class PlanSection:
    """One heading of the plan with its lines (a part of the model, lessons, a template)."""

    key: str
    heading: str
    lines: list[PlanLine] = field(default_factory=list)


@dataclass(frozen=True)
class MeetingChoice:
    """A meeting of the report the plan draws on, and why (the theme, the place or both)."""

    place: str
    title: str
    section: str
    by_theme: bool
    by_place: bool
    score: float = 0.0


@dataclass
class Plan:
    """A meeting plan: its request, sections and numbered sources."""

    request: PlanRequest
    title: str
    sections: list[PlanSection]
    citations: list[Citation]
    note: str = ""
    meetings: list[MeetingChoice] = field(default_factory=list)

    def section(self, key: str) -> PlanSection:
        """Return the section with this key (KeyError when the plan has none)."""
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def basis(self) -> str:
        """Return the line that says which of the report's meetings the plan draws on."""
        named = []
        for m in self.meetings:
            reasons = [PLAN_BASIS_SUMMARY_THEME] if m.by_theme else []
            if m.by_place:
                reasons.append(PLAN_BASIS_SUMMARY_PLACE)
            named.append(f"i {m.place} ({', '.join(reasons)})")
        return PLAN_BASIS_SUMMARY.format(meetings=" och ".join(named)) if named else ""

    def to_markdown(self) -> str:
        """Return the plan as Markdown: headings, lists, the agenda as a table, sources."""
        out = [f"# {self.title}", "", self.summary(), ""]
        if basis := self.basis():
            out += [basis, ""]
        if self.note:
            out += [f"*{self.note}*", ""]
        for section in self.sections:
            out += [f"## {section.heading}", ""]
            in_table = False
            for line in section.lines:
                if line.kind == "agenda":
                    if not in_table:
                        out += ["", "| " + " | ".join(PLAN_AGENDA_COLUMNS) + " |",
                                "| " + " | ".join("---" for _ in PLAN_AGENDA_COLUMNS) + " |"]
                        in_table = True
                    out.append("| " + " | ".join(c.replace("|", "\\|") for c in line.cells)
                               + " |")
                    continue
                if in_table:
                    out.append("")
                    in_table = False
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
            "meetings": [{"place": m.place, "title": m.title, "section": m.section,
                          "by_theme": m.by_theme, "by_place": m.by_place}
                         for m in self.meetings],
            "sections": [{"key": s.key, "heading": s.heading,
                          "lines": [{"text": line.text, "n": line.n, "kind": line.kind,
                                     "lead": line.lead, **({"cells": list(line.cells)}
                                                            if line.cells else {})}
                                    for line in s.lines]} for s in self.sections],
            "citations": [{"n": c.n, "chunk_id": c.chunk_id, "source": c.source,
                           "section": c.section, "page": c.page, "quote": c.quote}
                          for c in self.citations],
        }

    def to_docx(self) -> bytes:
        """Return the plan as a Word document to hand out: A4, Swedish, real headings, bullet
        lists, the agenda as a table, numbered sources and page numbers in the footer."""
        from docx import Document
        from docx.shared import Mm

        doc = Document()
        props = doc.core_properties
        props.title = self.title
        props.author = PLAN_AUTHOR
        props.last_modified_by = PLAN_AUTHOR
        props.language = PLAN_LANGUAGE
        props.subject = self.request.theme
        for sec in doc.sections:
            sec.page_width, sec.page_height = Mm(210), Mm(297)
            sec.left_margin = sec.right_margin = Mm(25)
            sec.top_margin = sec.bottom_margin = Mm(25)
            _page_number_footer(sec)
        _set_language(doc, PLAN_LANGUAGE)
        doc.add_heading(self.title, level=0)
        doc.add_paragraph(self.summary())
        if basis := self.basis():
            doc.add_paragraph(basis)
        if self.note:
            doc.add_paragraph(self.note).runs[0].italic = True
        for section in self.sections:
            doc.add_heading(section.heading, level=1)
            rows = [line for line in section.lines if line.kind == "agenda"]
            table_done = False
            for line in section.lines:
                if line.kind == "agenda":
                    if not table_done:
                        _agenda_table(doc, rows)
                        table_done = True
                    continue
                style = None if line.kind == "text" else "List Bullet"
                paragraph = doc.add_paragraph(style=style)
                if line.lead:
                    paragraph.add_run(line.lead)
                if line.n is not None:
                    paragraph.add_run(f"”{line.text}” [{line.n}]")
                else:
                    run = paragraph.add_run(line.text)
                    run.italic = line.text.startswith("Mall:")
        doc.add_heading(PLAN_SOURCES_HEADING, level=1)
        for c in self.citations:
            doc.add_paragraph(f"[{c.n}] {c.title} – {c.section}: ”{c.quote}”",
                              style="List Number")
        buffer = io.BytesIO()
        doc.save(buffer)
        return buffer.getvalue()


def _agenda_table(doc: Any, rows: list[PlanLine]) -> None:
    """Add the agenda as a table: a header row, then time, item and who for each item."""
    table = doc.add_table(rows=1, cols=len(PLAN_AGENDA_COLUMNS))
    table.style = "Table Grid"
    for cell, label in zip(table.rows[0].cells, PLAN_AGENDA_COLUMNS, strict=True):
        cell.text = label
        cell.paragraphs[0].runs[0].bold = True
    for line in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, line.cells, strict=True):
            cell.text = value


def _set_language(doc: Any, language: str) -> None:
    """Set the language of the document defaults and of every style, so that Word checks the
    spelling in Swedish."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def mark(rpr: Any) -> None:
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        for attr in ("w:val", "w:eastAsia", "w:bidi"):
            lang.set(qn(attr), language)

    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(qn("w:rPrDefault"))
        if rpr_default is None:
            rpr_default = OxmlElement("w:rPrDefault")
            defaults.insert(0, rpr_default)
        rpr = rpr_default.find(qn("w:rPr"))
        if rpr is None:
            rpr = OxmlElement("w:rPr")
            rpr_default.append(rpr)
        mark(rpr)
    for style in doc.styles:
        if style.type in (1, 2):          # paragraph and character styles
            mark(style.element.get_or_add_rPr())


def _page_number_footer(section: Any) -> None:
    """Put "Sida <PAGE>" centred in the section's footer (a Word PAGE field)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run(PLAN_FOOTER_PAGE)
    # A complex field, each piece in a run of its own as Word writes it.
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"),
                       ("end", None)):
        run = paragraph.add_run()
        if kind is not None:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText" if text == " PAGE " else "w:t")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


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


def agenda_rows(minutes: int) -> list[tuple[str, str, str]]:
    """Return a draft agenda fitted to the length: (time "0:00–0:15", item, who) rows."""
    items = list(PLAN_AGENDA)
    owners = list(PLAN_AGENDA_OWNERS)
    shares = list(AGENDA_SHARES)
    if minutes >= 180:
        # A break after the presentations, taken from the mingle's share.
        items.insert(3, PLAN_AGENDA_BREAK)
        owners.insert(3, PLAN_AGENDA_BREAK_OWNER)
        shares.insert(3, 0.06)
        shares[-1] -= 0.06
    lengths = [max(5, int(round(minutes * share / 5)) * 5) for share in shares]
    lengths[-1] += minutes - sum(lengths)          # the mingle absorbs the rounding
    while lengths[-1] < 5:                         # … but never to nothing: take from the
        longest = max(range(len(lengths) - 1), key=lambda i: lengths[i])   # longest item
        lengths[longest] -= 5
        lengths[-1] += 5
    out, start = [], 0
    for item, owner, length in zip(items, owners, lengths, strict=True):
        out.append((f"{_clock(start)}–{_clock(start + length)}", item, owner))
        start += length
    return out


def agenda(minutes: int) -> list[str]:
    """Return a draft agenda fitted to the length, as "0:00–0:15 item" lines."""
    return [f"{time} {item}" for time, item, _ in agenda_rows(minutes)]

class PlanVectors:
    """Query vectors (and a theme's token vectors) of the planner's texts, in memory and on
    disk per model: a theme planned before needs no model."""

    def __init__(self, path: Path | None, model: str):
        self.path = path
        self.model = model
        self._memory: dict[str, tuple[np.ndarray, TokenVectors | None]] = {}
        self._loaded = False

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model}\0{text}".encode()).hexdigest()[:32]

    def _load(self) -> None:
        if self._loaded or self.path is None:
            self._loaded = True
            return
        self._loaded = True
        try:
            with np.load(self.path, allow_pickle=False) as data:
                for name in data.files:
                    if name.startswith("v_"):
                        key = name[2:]
                        ids, vecs = f"i_{key}", f"t_{key}"
                        toks = (TokenVectors(ids=data[ids], vectors=data[vecs])
                                if ids in data.files and vecs in data.files else None)
                        self._memory[key] = (data[name].astype(np.float32), toks)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            self._memory = {}            # missing or unreadable: embed again

    def get(self, text: str) -> tuple[np.ndarray, TokenVectors | None] | None:
        """Return a text's vector and token vectors when known."""
        self._load()
        return self._memory.get(self._key(text))

    def put(self, text: str, vector: np.ndarray, toks: TokenVectors | None) -> None:
        """Remember a text's vectors (saved by save())."""
        self._load()
        if len(self._memory) >= VECTOR_CACHE_MAX:
            self._memory = {}
        self._memory[self._key(text)] = (vector, toks)

    def save(self) -> None:
        """Write the vectors to disk atomically; a folder that cannot be written is skipped."""
        if self.path is None:
            return
        arrays: dict[str, np.ndarray] = {}
        for key, (vector, toks) in self._memory.items():
            arrays[f"v_{key}"] = vector
            if toks is not None:
                arrays[f"i_{key}"] = toks.ids
                arrays[f"t_{key}"] = toks.vectors
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.savez(fh, **arrays)  # type: ignore[arg-type]
                os.chmod(tmp, 0o644)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass                          # a read-only data folder: the model runs next time


@dataclass
class _Meeting:
    """One of the report's meetings: its section ("Place: title" under the meetings
    chapter) and its passages."""

    section: Section
    place: str
    title: str

    @property
    def path(self) -> str:
        return " › ".join(self.section.path)


class Planner:
    """Compose a meeting plan from the indexed documents and the case catalog."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        settings = assistant.settings
        self.settings = settings.plan
        self.vectors = PlanVectors(Path(settings.data_dir) / VECTOR_CACHE_FILE,
                                   assistant.index.model_name)

    def _embed(self, theme: str, say: Progress) -> dict[str, tuple[np.ndarray,
                                                                     TokenVectors | None]]:
        """Return the vectors of the theme and the fixed topics: those not known yet are
        embedded in one call (with the theme's token vectors where the model gives them)."""
        texts = [theme, *FIXED_TOPICS]
        missing = [t for t in dict.fromkeys(texts) if self.vectors.get(t) is None]
        if missing:
            say(MSG_PLAN_MODEL)
            index = self.assistant.index
            token_model = index.token_embeddings
            if token_model is not None:
                for text, (vector, toks) in zip(
                        missing, token_model.embed_with_tokens(missing, query=True), strict=True):
                    self.vectors.put(text, np.asarray(vector, dtype=np.float32),
                                     toks if text == theme else None)
            else:
                for text, vector in zip(missing, embed_queries(index.embeddings, missing),
                                        strict=True):
                    self.vectors.put(text, np.asarray(vector, dtype=np.float32), None)
            self.vectors.save()
        else:
            say(MSG_PLAN_CACHED)
        out = {}
        for text in texts:
            found = self.vectors.get(text)
            assert found is not None
            out[text] = found
        return out

    def plan(self, request: PlanRequest, progress: Progress | None = None) -> Plan:
        """Return the plan for a request (PlanError for inputs that cannot be used); progress
        gets a Swedish line before each step."""
        say = progress or (lambda _line: None)
        request = request.checked()
        a = self.assistant
        a.index.reopen_if_changed()
        a.index.require()
        topics = a.retriever.topics()
        vectors = self._embed(request.theme, say)
        theme, theme_tokens = vectors[request.theme]
        weight = self.settings.theme_weight

        def topic(text: str, with_theme: bool = True) -> np.ndarray:
            vector = vectors[text][0]
            if with_theme:
                vector = vector + weight * theme
            return vector / max(float(np.linalg.norm(vector)), 1e-12)

        say(MSG_PLAN_MATCHING)
        idf = a.retriever.bm25.idf_of
        meetings = report_meetings(topics)
        by_theme = self._meeting_by_theme(topics, meetings, theme, theme_tokens)
        by_place = self._meetings_by_place(meetings, request.place)
        known = known_theme(topics, request.theme, theme, idf, set(a.retriever.bm25.idf),
                            self.settings)
        if not known and by_theme is not None and float(np.max(topics.matrix @ theme)) \
                >= self.settings.known_theme:
            known = True                  # the words differ, a meeting's passages match
        if not known:
            by_theme = None

        say(MSG_PLAN_COMPOSING)
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

        used: set[int] = set()
        basis, choices = self._basis(topics, by_theme, by_place, theme, request, used, cite)
        sections: list[PlanSection] = [self._facts(request, topics, cite, _shown([basis])),
                                       basis]
        sections.append(_template_section("inbjudan", PLAN_INVITATION_HEADING, [
            line.format(theme=request.theme, place=request.place or PLAN_BLANK,
                        at_place=f" i {request.place}" if request.place else "")
            for line in PLAN_INVITATION]))
        meeting = _sections(topics, _MEETING_STEMS)
        parts = _figure_parts(topics, figure)
        for number, (key, heading) in enumerate(PLAN_PARTS.items()):
            section = PlanSection(key, f"{number + 1}. {heading}")
            guide = parts.get(key)
            if guide is not None:
                question = guide.unit.text.split(": ", 1)[-1]
                section.lines.append(PlanLine(question, cite(guide.chunk, guide.unit.text),
                                              "text", lead=PLAN_GUIDING))
            query = topic(PART_TOPICS[key])
            section.lines += _lines(topics, _best(topics, query, meeting, PART_TOPICS[key],
                                                  used, self.settings.part_lines), cite, used)
            if key == "malgrupp":
                hosts = {line.lead for line in sections[0].lines if line.kind == "host"}
                section.lines += self._groups_and_cases(request, theme, topics, cite, choices,
                                                        _shown([*sections, section]), hosts)
            if key == "metod":
                section.lines.append(PlanLine(PLAN_AGENDA_HEADING.format(
                    length=length_label(request.minutes)), None, "text"))
                section.lines += [PlanLine(f"{time} {item}", None, "agenda",
                                           cells=(time, item, who))
                                  for time, item, who in agenda_rows(request.minutes)]
                section.lines += self._discussion(request, topics, topic(DISCUSSION_TOPIC),
                                                  used, cite)
            sections.append(section)
        roles = _template_section("roller", PLAN_ROLES_HEADING, list(PLAN_ROLES))
        told = _lines(topics, _best(topics, topic(ROLES_TOPIC, False), meeting, ROLES_TOPIC,
                                    used, 2), cite, used)
        if told:
            roles.lines.append(PlanLine(PLAN_ROLES_REPORT, None, "text"))
            roles.lines += told
        sections.append(roles)
        sections.append(_template_section("checklista", PLAN_CHECKLIST_HEADING, [
            line.format(participants=request.participants) for line in PLAN_CHECKLIST]))
        sections.append(_template_section("efter", PLAN_FOLLOWUP_HEADING, list(PLAN_FOLLOWUP)))
        sections.append(_template_section("utvardering", PLAN_EVALUATION_HEADING,
                                          list(PLAN_EVALUATION)))
        lessons = PlanSection("lardomar", PLAN_LESSONS_HEADING)
        lessons.lines += _lines(topics, _best(topics, topic(LESSONS_TOPIC, False), meeting,
                                              LESSONS_TOPIC, used, self.settings.lesson_lines),
                                        cite, used)
        # Two meetings were cancelled for too few sign-ups: what the report says about finding
        # and reaching the right participants follows the lessons.
        recruiting = _lines(topics, _best(topics, topic(RECRUITING_TOPIC, False), meeting,
                                          RECRUITING_TOPIC, used, 2), cite, used)
        if recruiting:
            lessons.lines.append(PlanLine(PLAN_RECRUITING, None, "text"))
            lessons.lines += recruiting
        sections.append(lessons)
        _dedupe(sections)
        note = "" if known else PLAN_UNKNOWN_THEME.format(theme=request.theme)
        return Plan(request, PLAN_TITLE.format(theme=request.theme), sections,
                    _renumber(sections, list(citations.values())), note, choices)

    def _meeting_by_theme(self, topics: TopicIndex, meetings: list[_Meeting],
                          theme: np.ndarray, theme_tokens: TokenVectors | None
                          ) -> tuple[_Meeting, float] | None:
        """Return the meeting closest to the theme, when close enough: by the mean token match
        over its passages, or without token vectors by its three closest sentences."""
        if not meetings:
            return None
        late = self.assistant.index.late_scorer() if theme_tokens is not None else None
        scored = []
        if late is not None and len(late):
            scores = late.scores(theme_tokens) if theme_tokens is not None else {}
            for m in meetings:
                values = [scores[c.chunk_id] for c in m.section.chunks if c.chunk_id in scores]
                if values:
                    scored.append((float(np.mean(values)), m))
            threshold = self.settings.meeting_min_late
        if not scored:
            for m in meetings:
                sims = sorted((float(topics.matrix[r] @ theme) for r in m.section.sentences),
                              reverse=True)
                scored.append((float(np.mean(sims[:3])), m))
            threshold = self.settings.meeting_min_dense
        score, best = max(scored, key=lambda x: x[0])
        return (best, score) if score >= threshold else None

    def _meetings_by_place(self, meetings: list[_Meeting], place: str) -> list[_Meeting]:
        """Return the meetings held at the place, by name: the meeting's own place, or a case
        card at that place whose sections include the meeting."""
        asked = _place_words(place)
        if not asked:
            return []
        cases = [m.case for m in self.assistant.catalog.filter(CaseQuery(place=[place]))]
        out = []
        for m in meetings:
            if _place_words(m.place) & asked or any(m.path in c.sections for c in cases):
                out.append(m)
        return out

    def _facts(self, request: PlanRequest, topics: TopicIndex, cite: Any,
               shown: set[str]) -> PlanSection:
        """Return the fields to fill in, with the report's cases at the place as hosts (each
        quoted with a fact the plan does not show elsewhere)."""
        groups = ", ".join(request.groups) if request.groups else PLAN_BLANK
        section = _template_section("uppgifter", PLAN_FACTS_HEADING, [
            line.format(length=length_label(request.minutes),
                        place=request.place or PLAN_BLANK, participants=request.participants,
                        groups=groups) for line in PLAN_FACTS])
        if not request.place:
            return section
        chunks = {c.source: c for c in topics.chunks.values() if c.kind == "case"}
        for match in self.assistant.catalog.filter(CaseQuery(place=[request.place])):
            case = match.case
            chunk = chunks.get(case.source)
            quote = _fresh_fact(case, shown)
            if chunk is None or quote is None:
                continue
            section.lines.append(PlanLine(quote, cite(chunk, quote), "host",
                                          lead=PLAN_HOST_LINE.format(name=case.name,
                                                                     about=case.about),
                                          parts=tuple(_split(quote))))
        return section

    def _basis(self, topics: TopicIndex, by_theme: tuple[_Meeting, float] | None,
               by_place: list[_Meeting], theme: np.ndarray, request: PlanRequest,
               used: set[int], cite: Any) -> tuple[PlanSection, list[MeetingChoice]]:
        """Return the section naming the meetings the plan draws on, with quotes from each."""
        section = PlanSection("underlag", PLAN_BASIS_HEADING)
        chosen: list[tuple[_Meeting, bool, bool, float]] = []
        if by_theme is not None:
            chosen.append((by_theme[0], True, by_theme[0] in by_place, by_theme[1]))
        chosen += [(m, False, True, 0.0) for m in by_place
                   if by_theme is None or m is not by_theme[0]]
        if not chosen:
            section.lines.append(PlanLine(PLAN_BASIS_NONE, None, "text"))
            return section, []
        choices = []
        for m, is_theme, is_place, score in chosen:
            phrase = (PLAN_BASIS_BOTH if is_theme and is_place
                      else PLAN_BASIS_THEME if is_theme else PLAN_BASIS_PLACE)
            section.lines.append(PlanLine(phrase.format(meeting=m.place, title=m.title), None,
                                          "text"))
            section.lines += _lines(topics, _meeting_sentences(
                topics, m, theme, request.theme, used, self.settings.meeting_lines), cite, used,
                kind="meeting")
            choices.append(MeetingChoice(m.place, m.title, m.path, is_theme, is_place, score))
        return section, choices

    def _groups_and_cases(self, request: PlanRequest, theme: np.ndarray,
                          topics: TopicIndex, cite: Any, meetings: list[MeetingChoice],
                          shown: set[str], hosts: set[str]) -> list[PlanLine]:
        """Return the chosen target groups and the cases to invite or present: the cases of
        the meetings the plan draws on, of the theme's industry and of the place first."""
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
        paths = {m.section for m in meetings}
        at_meeting = {c.source for c in cases.values() if paths & set(c.sections)}
        sims = topics.chunk_similarity(theme)
        ranked = sorted((c for c in topics.chunks.values()
                         if c.kind == "case" and c.source in cases),
                        key=lambda c: (c.source not in at_meeting, c.source not in preferred,
                                       -sims.get(c.chunk_id, 0.0)))
        chosen = []
        for chunk in ranked:
            case = cases[chunk.source]
            if PLAN_HOST_LINE.format(name=case.name, about=case.about) in hosts:
                continue                  # already proposed as host
            quote = _fresh_fact(case, shown)
            if quote is not None:
                chosen.append((chunk, case, quote))
            if len(chosen) == self.settings.cases:
                break
        if chosen:
            lines.append(PlanLine(PLAN_CASES_HEADING, None, "text"))
        for chunk, case, quote in chosen:
            lines.append(PlanLine(quote, cite(chunk, quote), "case",
                                  lead=f"{case.name} ({case.about}): ",
                                  parts=tuple(_split(quote))))
        return lines

    def _discussion(self, request: PlanRequest, topics: TopicIndex, query: np.ndarray,
                    used: set[int], cite: Any) -> list[PlanLine]:
        """Return discussion questions: the report's challenges and drivers nearest the theme."""
        scope = _sections(topics, _DISCUSSION_STEMS)
        lines = [PlanLine(PLAN_DISCUSSION_HEADING, None, "text")]
        for sentence in _best(topics, query, scope, f"{DISCUSSION_TOPIC} {request.theme}",
                              used, self.settings.discussion_lines, per_section=1):
            parts = readable(topics, sentence)
            used.update(x.row for x in parts)
            quotes = [_BULLET.sub("", x.unit.text) for x in parts]
            lines.append(PlanLine(" ".join(quotes), cite(sentence.chunk, quotes), "question",
                                  lead=PLAN_DISCUSSION_LINE, parts=tuple(quotes)))
        return lines if len(lines) > 1 else []


def _shown(sections: list[PlanSection]) -> set[str]:
    """Return the quoted sentences the sections show."""
    return {collapse(p) for s in sections for line in s.lines for p in line.parts}


def _fresh_fact(case: Any, shown: set[str]) -> str | None:
    """Return the quote of a case card's first fact that reads as a statement and is not
    shown yet (a card whose summary is a speaker's name and title says more elsewhere)."""
    for _, fact in case.facts():
        parts = _split(fact.quote)
        if not is_plan_stub(fact.quote) and not {collapse(p) for p in parts} <= shown:
            return fact.quote
    return None


def _renumber(sections: list[PlanSection], citations: list[Citation]) -> list[Citation]:
    """Return the sources the lines still cite (a line _dedupe dropped may have been the
    only one citing a passage), numbered 1, 2, … in order, and renumber the lines."""
    cited = {line.n for s in sections for line in s.lines if line.n is not None}
    kept = sorted((c for c in citations if c.n in cited), key=lambda c: c.n)
    number = {c.n: i for i, c in enumerate(kept, start=1)}
    for s in sections:
        for line in s.lines:
            if line.n is not None:
                line.n = number[line.n]
    for c in kept:
        c.n = number[c.n]
    return kept


def _split(quote: str) -> list[str]:
    """Return a quote's sentences."""
    return [p for p in re.split(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ])", quote.strip()) if p]


def _template_section(key: str, heading: str, lines: list[str]) -> PlanSection:
    """Return a section the assistant writes itself, marked as a template."""
    section = PlanSection(key, heading, [PlanLine(PLAN_TEMPLATE_NOTE, None, "text")])
    section.lines += [PlanLine(line, None, "template") for line in lines]
    return section


def _place_words(text: str) -> set[str]:
    """Return a place's words, case-folded ("Västerås (nätverksträffen …)": västerås …)."""
    return {w.casefold() for w in re.findall(r"[^\W\d_][\w\-]*", text) if len(w) >= 3}


def report_meetings(topics: TopicIndex) -> list[_Meeting]:
    """Return the report's meetings: sections "Place: title" under a chapter on meetings."""
    out: dict[tuple[str, ...], _Meeting] = {}
    for section in topics.sections:
        if (":" in section.heading and section.sentences and len(section.path) > 1
                and any("nätverksträff" in stem(w) for w in words(section.path[0]))):
            place, title = (x.strip() for x in section.heading.split(":", 1))
            if place and section.path not in out:
                out[section.path] = _Meeting(section, place, title.rstrip("."))
    return list(out.values())


def _meeting_sentences(topics: TopicIndex, meeting: _Meeting, theme: np.ndarray,
                       theme_text: str, used: set[int], limit: int) -> list[Sentence]:
    """Return what a plan quotes about a meeting: its opening (when, where, the theme) and
    the sentences closest to the theme, in reading order."""
    rows = [r for r in meeting.section.sentences if r not in used]
    opening = [r for r in rows[:3] if not is_plan_stub(topics.sentences[r].unit.text)][:2]
    used.update(opening)
    rest = _best(topics, theme, [meeting.section], theme_text, used,
                 max(0, limit - len(opening)))
    return sorted([*(topics.sentences[r] for r in opening), *rest], key=lambda s: s.row)


def _lines(topics: TopicIndex, sentences: list[Sentence], cite: Any,
           used: set[int], kind: str = "quote") -> list[PlanLine]:
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
        quotes = [_BULLET.sub("", x.unit.text) for x in parts]
        lines.append(PlanLine(" ".join(quotes), cite(group[0].chunk, quotes), kind,
                              parts=tuple(quotes)))
    return lines


def _dedupe(sections: list[PlanSection]) -> None:
    """Show each quoted sentence once in a plan: a later line drops the sentences an earlier
    line showed (a line left with none goes), and stubs a line picked up go too."""
    seen: set[str] = set()
    for section in sections:
        kept = []
        for line in section.lines:
            if line.n is None or not line.parts:
                kept.append(line)
                continue
            parts = [p for p in line.parts if collapse(p) not in seen and not is_plan_stub(p)]
            seen.update(collapse(p) for p in line.parts)
            if not parts:
                continue
            line.parts = tuple(parts)
            line.text = " ".join(parts)
            kept.append(line)
        section.lines = kept


def _figure_chunk(topics: TopicIndex) -> Chunk | None:
    """Return the passage of the meeting-planning model's figure card, if indexed."""
    for chunk in topics.chunks.values():
        if chunk.kind == "figure" and f"{PLAN_PARTS['uppfoljning']}:" in chunk.text:
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


def _sections(topics: TopicIndex, stems: AbstractSet[str]) -> list[Any]:
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
        if (row in used or len(text) < 40 or is_plan_stub(text) or is_fragment(text)
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


def known_theme(topics: TopicIndex, theme: str, vector: np.ndarray, idf: Any,
                vocabulary: set[str], settings: PlanSettings) -> bool:
    """Return True when the documents speak of the theme: most of its words occur in them and
    some sentence is close to it in meaning ("Kvantfysik för nybörjare": no)."""
    words_known = coverage(set(tokens(theme)), vocabulary, idf)
    closest = float(np.max(topics.matrix @ vector)) if len(topics) else 0.0
    return words_known >= settings.known_theme_words and closest >= settings.known_theme
