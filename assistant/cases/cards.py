"""Cases: case cards, the report's named examples as YAML files with verbatim quotes (fallexempel).

A card is a YAML file in the corpus (corpus/cases/*.yaml; the format is documented in
corpus/cases/TEMPLATE.md). Every fact on a card is a `value` (a short summary) plus the
verbatim source text it rests on (`quote`); where the source says nothing the field is empty.

A card is indexed as one passage whose quoted text is made of the card's quotes only, so any
sentence an answer quotes from it is still report text; it is found by its description (name,
summary and field values), and its fields become chunk metadata. This module also completes
ingest's loader table with the YAML cards (case and figure cards): `CORPUS_LOADERS`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from assistant.cases.guide import is_guide_file, load_guide_document
from assistant.ingest.figures import figure_document, is_figure_file
from assistant.ingest.loaders import DOCUMENT_LOADERS, LoaderTable, file_sha256
from assistant.prompts import (
    CASE_FIELD_LABELS,
    CASE_KIND_LABELS,
    CASE_TITLE,
    ERR_CASE_BAD_VALUE,
    ERR_CASE_EMPTY,
    ERR_CASE_FACT,
    ERR_CASE_MISSING,
    ERR_CASE_NOT_LIST,
    ERR_CASE_NOT_MAPPING,
    ERR_CASE_NOT_TEXT,
    ERR_CASE_QUOTE_NOT_FOUND,
    ERR_CASE_UNKNOWN_FIELD,
    ERR_CASE_YAML,
    ERR_NOT_FOUND,
)
from assistant.text import collapse
from assistant.types import SECTION_SEPARATOR, Block, Chunk, IngestError, SourceDocument

# Bump when a card turns into a different passage, so indexed cards are replaced.
CASE_FORMAT = "2"
# Case cards and figure cards (assistant/ingest/figures.py) are YAML files.
CASE_SUFFIXES = (".yaml", ".yml")
KINDS = tuple(CASE_KIND_LABELS)                       # ASF, company, network, public body
# The report's four arenas (Kartläggningens analysmodell).
ARENAS = ("näringslivet", "näringslivsnätverk", "kommuner och myndigheter", "andra ASF")
# How the business started: the report's list under "Hur uppstår affärssamarbetet?", plus local
# demand ("behov och efterfrågan i närområdet"), the report's reason for Le Mat Jonsered.
STARTED_BY = ("direktförsäljning", "upphandling", "rekommendation",
              "styrelse- och nätverkskontakter", "tidigare branschkontakt", "behov i närområdet")
SINGLE_FACTS = ("summary", "place", "industry")
LIST_FACTS = ("partners", "arena", "started_by", "partner_values")
FIELDS = ("name", "kind", *SINGLE_FACTS, *LIST_FACTS, "section")
REQUIRED = ("name", "kind", "summary", "section")
ALLOWED_VALUES = {"arena": ARENAS, "started_by": STARTED_BY}
SECTIONS_JOIN = "; "
ANY = "*"          # started_by filter: any recorded way of starting


@dataclass(frozen=True)
class Fact:
    """One statement of a card: a short summary and the verbatim source text behind it."""

    value: str
    quote: str


@dataclass(frozen=True)
class Case:
    """One named case or partnership of the report."""

    name: str
    kind: str
    summary: Fact
    sections: tuple[str, ...]
    path: Path
    source: str = ""
    place: Fact | None = None
    industry: Fact | None = None
    partners: tuple[Fact, ...] = ()
    arena: tuple[Fact, ...] = ()
    started_by: tuple[Fact, ...] = ()
    partner_values: tuple[Fact, ...] = ()

    @property
    def slug(self) -> str:
        """Return the card's file stem, a stable id for links ("koopus")."""
        return self.path.stem

    @property
    def kind_label(self) -> str:
        """Return the kind in Swedish."""
        return CASE_KIND_LABELS.get(self.kind, self.kind)

    @property
    def section(self) -> str:
        """Return the card's report section(s) as one readable string."""
        return SECTIONS_JOIN.join(self.sections)

    @property
    def title(self) -> str:
        """Return the title its citations carry ("Fallexempel: Koopus")."""
        return CASE_TITLE.format(name=self.name)

    @property
    def about(self) -> str:
        """Return kind and place, for a list line ("ASF, Dalarna")."""
        place = name_part(self.place.value) if self.place else ""
        return ", ".join(x for x in (self.kind_label, place) if x)

    def facts(self) -> list[tuple[str, Fact]]:
        """Return every fact with its field name, in card order."""
        out: list[tuple[str, Fact]] = [("summary", self.summary)]
        out += [(name, f) for name in ("place", "industry")
                if (f := getattr(self, name)) is not None]
        for name in LIST_FACTS:
            out += [(name, f) for f in getattr(self, name)]
        return out

    def values(self, name: str) -> list[str]:
        """Return the values of one field (empty when the source says nothing)."""
        value = getattr(self, name)
        if isinstance(value, Fact):
            return [value.value]
        if isinstance(value, tuple):
            return [f.value for f in value]
        return []

    def quotes(self) -> list[str]:
        """Return the card's distinct quotes; a quote inside a longer one is dropped."""
        return distinct_quotes([f.quote for _, f in self.facts()])

    @property
    def text(self) -> str:
        """Return the card's passage: its quotes, verbatim source text only."""
        return "\n\n".join(self.quotes())

    def header(self) -> str:
        """Return the line that introduces the card in the index ("Fallexempel: Koopus (...)")."""
        industry = self.industry.value if self.industry else ""
        details = ", ".join(x for x in (self.kind_label, name_part(self.place.value)
                                        if self.place else "", industry) if x)
        return f"{self.title} ({details})"

    def to_dict(self) -> dict[str, Any]:
        """Return the card as JSON-ready data (the shape of `asf cases --json`)."""
        def fact(f: Fact | None) -> dict[str, str] | None:
            return {"value": f.value, "quote": f.quote} if f else None

        return {
            "name": self.name, "slug": self.slug, "kind": self.kind, "source": self.source,
            "summary": fact(self.summary), "place": fact(self.place),
            "industry": fact(self.industry),
            **{name: [fact(f) for f in getattr(self, name)] for name in LIST_FACTS},
            "section": list(self.sections),
        }


def name_part(value: str) -> str:
    """Return the name part of a value ("Västerås (nätverksträffen)" -> "Västerås")."""
    return re.split(r" \(| – |, ", value, maxsplit=1)[0].strip()


def distinct_quotes(quotes: Iterable[str]) -> list[str]:
    """Return the quotes without repeats or quotes contained in another, in order."""
    texts = list(dict.fromkeys(collapse(q) for q in quotes if q.strip()))
    return [q for q in texts if not any(q != other and q in other for other in texts)]


# --------------------------------------------------------------------------- loading

def _error(path: Path, template: str, **values: object) -> IngestError:
    """Return an IngestError; values are filled in first, so braces in them are safe."""
    escaped = {k: str(v).replace("{", "{{").replace("}", "}}") for k, v in values.items()}
    return IngestError(path, template.replace("{name}", "\x00").format(**escaped)
                       .replace("\x00", "{name}"))


def _text(path: Path, data: dict, name: str, label: str | None = None) -> str:
    value = data.get(name)
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _error(path, ERR_CASE_NOT_TEXT, field=label or name)
    return str(value).strip()


def _fact(path: Path, raw: object, label: str) -> Fact:
    if not isinstance(raw, dict) or not raw.get("value") or not raw.get("quote"):
        raise _error(path, ERR_CASE_FACT, field=label)
    value = _text(path, raw, "value", f"{label} → value")
    quote = _text(path, raw, "quote", f"{label} → quote")
    if not value or not quote:
        raise _error(path, ERR_CASE_FACT, field=label)
    return Fact(value, collapse(quote))


def load_case(path: Path, source: str = "") -> Case:
    """Read one case card, or raise IngestError naming the file and the field."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, ERR_NOT_FOUND)
    raw_text = path.read_bytes().decode("utf-8-sig", errors="replace")
    try:
        data = yaml.safe_load(raw_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"rad {mark.line + 1}" if mark is not None else ""
        problem = str(getattr(exc, "problem", "") or exc).strip()
        raise _error(path, ERR_CASE_YAML, reason=", ".join(x for x in (where, problem) if x)) \
            from exc
    if data is None:
        raise IngestError(path, ERR_CASE_EMPTY)
    if not isinstance(data, dict):
        raise IngestError(path, ERR_CASE_NOT_MAPPING)
    for key in data:
        if key not in FIELDS:
            raise _error(path, ERR_CASE_UNKNOWN_FIELD, field=key, allowed=", ".join(FIELDS))
    for key in REQUIRED:
        if data.get(key) in (None, "", []):
            raise _error(path, ERR_CASE_MISSING, field=key)
    name = _text(path, data, "name")
    kind = _text(path, data, "kind")
    if kind not in KINDS:
        raise _error(path, ERR_CASE_BAD_VALUE, field="kind", value=kind, allowed=", ".join(KINDS))
    sections_raw = data["section"]
    sections_list = sections_raw if isinstance(sections_raw, list) else [sections_raw]
    sections = []
    for i, s in enumerate(sections_list, start=1):
        if not isinstance(s, str) or not s.strip():
            raise _error(path, ERR_CASE_NOT_TEXT,
                         field="section" if len(sections_list) == 1 else f"section (post {i})")
        sections.append(collapse(s))
    single = {key: _fact(path, data[key], key) if data.get(key) not in (None, "", {}) else None
              for key in SINGLE_FACTS}
    lists: dict[str, tuple[Fact, ...]] = {}
    for key in LIST_FACTS:
        items = data.get(key) or []
        if not isinstance(items, list):
            raise _error(path, ERR_CASE_NOT_LIST, field=key)
        facts = tuple(_fact(path, item, f"{key} (post {i})") for i, item in enumerate(items, 1))
        allowed = ALLOWED_VALUES.get(key)
        for i, f in enumerate(facts, 1):
            if allowed and f.value not in allowed:
                raise _error(path, ERR_CASE_BAD_VALUE, field=f"{key} (post {i})", value=f.value,
                             allowed=", ".join(allowed))
        lists[key] = facts
    assert single["summary"] is not None
    return Case(name=name, kind=kind, summary=single["summary"], sections=tuple(sections),
                path=path, source=source or path.name, place=single["place"],
                industry=single["industry"], **lists)


def is_case_file(path: Path) -> bool:
    """Return True for a case card file (a YAML file that is neither a figure nor a guide
    card)."""
    path = Path(path)
    return (path.suffix.lower() in CASE_SUFFIXES and not is_figure_file(path)
            and not is_guide_file(path))


def check_quotes(case: Case, source_text: str) -> list[str]:
    """Return a Swedish message for every quote of the card that the source text lacks.

    Whitespace is collapsed on both sides, so line breaks and double spaces do not matter.
    """
    haystack = collapse(source_text)
    missing = []
    for name, f in case.facts():
        if collapse(f.quote) not in haystack:
            missing.append(_error(case.path, ERR_CASE_QUOTE_NOT_FOUND, field=name,
                                  quote=f.quote[:120]).args[0])
    return missing


# --------------------------------------------------------------------------- indexing

def case_chunk(case: Case) -> Chunk:
    """Return the card as one indexed passage.

    text (what is quoted) holds only the card's verbatim quotes. indexed_text (what is
    matched) is the card's description: a header, its summary and its field values, so
    "fastighetsbranschen" or "rekommendation" find it. The quotes are deliberately not
    matched again: they are the report's own sentences, already indexed in the report's
    passages, and a second copy would compete with the original (measured: it made the main
    eval's citation precision and fact recall worse). section_path is the card's report
    section(s), so a citation names where its text stands.
    """
    lines = [case.header(), f"{name_label('summary')}: {case.summary.value}"]
    for name in ("industry", "partners", "arena", "started_by", "partner_values"):
        values = case.values(name)
        if values:
            lines.append(f"{name_label(name)}: {'; '.join(values)}")
    indexed = "\n".join(lines)
    digest = hashlib.sha1(f"{case.source}\x00case\x00{indexed}\x00{case.text}".encode()
                          ).hexdigest()[:16]
    return Chunk(chunk_id=digest, source=case.source, title=case.title,
                 section_path=tuple(case.section.split(SECTION_SEPARATOR)), page=None,
                 text=case.text, indexed_text=indexed, kind="case", seq=0)


def name_label(name: str) -> str:
    """Return a field's Swedish label."""
    return CASE_FIELD_LABELS.get(name, name)


def case_metadata(case: Case) -> dict[str, str]:
    """Return the card's fields as Chroma metadata (str values; lists joined with "; ")."""
    return {
        "case_name": case.name, "case_slug": case.slug, "case_kind": case.kind,
        "case_place": "; ".join(case.values("place")),
        "case_industry": "; ".join(case.values("industry")),
        "case_partners": "; ".join(case.values("partners")),
        "case_arena": "; ".join(case.values("arena")),
        "case_started_by": "; ".join(case.values("started_by")),
        "case_partner_values": "; ".join(case.values("partner_values")),
        "case_section": case.section,
    }


@dataclass
class CaseDocument(SourceDocument):
    """A case card as an indexable document: one block, one chunk."""

    case: Case | None = None
    parser_version: ClassVar[str] = f"case{CASE_FORMAT}"

    def chunks(self) -> list[Chunk]:
        """Return the card's one passage."""
        assert self.case is not None
        return [case_chunk(self.case)]

    @property
    def extra_metadata(self) -> dict[str, str]:
        """Return the card's fields, stored with its chunk."""
        assert self.case is not None
        return case_metadata(self.case)


def load_case_document(path: Path, source: str | None = None) -> CaseDocument:
    """Read a case card as a document (raising IngestError naming the file and field)."""
    path = Path(path)
    case = load_case(path, source or path.name)
    block = Block(case.text, tuple(case.section.split(SECTION_SEPARATOR)), None, "case")
    return CaseDocument(source=case.source, title=case.title, path=path,
                        sha256=file_sha256(path), blocks=[block], case=case)


# --------------------------------------------------------------------------- the catalog



def case_slug_of(source: str) -> str | None:
    """Return the slug of the case card a citation's source names, or None for other sources."""
    path = Path(source)
    return path.stem if path.suffix.lower() in CASE_SUFFIXES else None



def document_text(path: Path) -> str:
    """Return a source document's text for quote checks: a PDF's extracted text; for text
    files the raw text and, after it, the text as indexed.

    The indexed text has footnote marks taken off the words they are glued to ("Skogsröjet10
    i Rejmyre" is "Skogsröjet i Rejmyre"), so a card can quote the sentence that names a
    partner rather than only the footnote that explains the name.
    """
    from assistant.ingest.loaders import load_document

    blocks = "\n".join(b.text for b in load_document(path).blocks)
    if path.suffix.lower() in (".txt", ".md"):
        return path.read_bytes().decode("utf-8-sig", errors="replace") + "\n\n" + blocks
    return blocks


def load_card(path: Path, source: str | None = None, title: str | None = None) -> SourceDocument:
    """Read a YAML card: a figure card if it has a `figure` key, a guide card if it has an
    `asked` key, else a case card."""
    if is_figure_file(path):
        return figure_document(path, source=source)
    if is_guide_file(path):
        return load_guide_document(path, source=source)
    return load_case_document(path, source=source)


# Every file type the corpus indexes: ingest's documents plus the YAML cards.
CORPUS_LOADERS: LoaderTable = DOCUMENT_LOADERS.extended(
    dict.fromkeys(CASE_SUFFIXES, load_card))


def load_corpus_document(path: Path, source: str | None = None,
                         title: str | None = None) -> SourceDocument:
    """Read any corpus file (document or card), or raise IngestError naming the file."""
    return CORPUS_LOADERS.load(path, source, title)


def is_corpus_file(path: Path) -> bool:
    """Return True for files the corpus indexes (a supported type, not documentation)."""
    return CORPUS_LOADERS.reads(path)
