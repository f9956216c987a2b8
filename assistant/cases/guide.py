"""Cases: guide cards (vägledningskort), curated answers to the questions users ask most.

A guide card is a YAML file in corpus/guide/ (format: corpus/guide/TEMPLATE.md): a question
as its title, the roles it is for, 6-10 ways users ask it and 3-7 points, each a verbatim
quote of a corpus document with the section it stands in. A card is indexed as one passage of
kind "guide" whose text is its quotes (so nothing but source text is ever quoted from it);
the index embeds its ways of asking in a collection of their own, so a user's question is
matched question to question (assistant/retrieval/guide.py), and answering cites each point
at the document passage that holds it.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import yaml

from assistant.ingest.figures import yaml_with_key
from assistant.ingest.loaders import file_sha256
from assistant.prompts import (
    ERR_GUIDE_FIELD,
    ERR_GUIDE_QUOTE_NOT_FOUND,
    ERR_GUIDE_SECTION_NOT_FOUND,
    ERR_GUIDE_UNKNOWN_FIELD,
    ERR_GUIDE_YAML,
    GUIDE_ROLES,
)
from assistant.text import collapse, split_sentences
from assistant.types import SECTION_SEPARATOR, Block, Chunk, IngestError, SourceDocument

# Bump when a card turns into a different passage, so indexed cards are replaced.
GUIDE_FORMAT = "1"
FIELDS = ("id", "title", "roles", "asked", "points")
ASKED_RANGE = (6, 10)
POINTS_RANGE = (3, 7)
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Passage kinds a card's quotes stand in (a document's text and the figure cards).
QUOTABLE = ("text", "figure")


@dataclass(frozen=True)
class GuidePoint:
    """One point of a card: a verbatim quote and the section it stands in."""

    quote: str
    section: str

    @property
    def section_path(self) -> tuple[str, ...]:
        """Return the section as a path."""
        return tuple(self.section.split(SECTION_SEPARATOR))


@dataclass(frozen=True)
class GuideCard:
    """A curated answer: the question, who asks it, how they ask, and the quoted points."""

    id: str
    title: str
    roles: tuple[str, ...]
    asked: tuple[str, ...]
    points: tuple[GuidePoint, ...]
    path: Path

    @property
    def questions(self) -> list[str]:
        """Return the texts a user's question is matched against: the title and each way of
        asking it."""
        return list(dict.fromkeys([self.title, *self.asked]))

    @property
    def text(self) -> str:
        """Return the card's quotes (the indexed passage's text), one point a paragraph."""
        return "\n\n".join(p.quote for p in self.points)


def is_guide_file(path: Path) -> bool:
    """Return True for a guide card: a YAML file with a top-level `asked:` key."""
    return yaml_with_key(path, "asked")


def _error(path: Path, template: str, **values: object) -> IngestError:
    safe = {k: str(v).replace("{", "(").replace("}", ")") for k, v in values.items()}
    return IngestError(path, template.format(name="{name}", **safe))


def _text(path: Path, value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _error(path, ERR_GUIDE_FIELD, field=field)
    return collapse(value)


def _texts(path: Path, value: object, field: str, count: tuple[int, int]) -> list[object]:
    if not isinstance(value, list) or not count[0] <= len(value) <= count[1]:
        raise _error(path, ERR_GUIDE_FIELD, field=field)
    return value


def load_guide_card(path: Path) -> GuideCard:
    """Read a guide card, raising IngestError that names the file and the field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _error(path, ERR_GUIDE_YAML, reason=(str(exc).splitlines() or [""])[0]) from exc
    except OSError as exc:
        raise _error(path, ERR_GUIDE_YAML, reason=type(exc).__name__) from exc
    if not isinstance(data, dict):
        raise _error(path, ERR_GUIDE_FIELD, field="id")
    unknown = [k for k in data if k not in FIELDS]
    if unknown:
        raise _error(path, ERR_GUIDE_UNKNOWN_FIELD, field=unknown[0], allowed=", ".join(FIELDS))
    card_id = _text(path, data.get("id"), "id")
    if not _ID.match(card_id) or card_id != path.stem:
        raise _error(path, ERR_GUIDE_FIELD, field="id")
    roles = data.get("roles")
    if (not isinstance(roles, list) or not roles
            or any(r not in GUIDE_ROLES for r in roles)):
        raise _error(path, ERR_GUIDE_FIELD, field="roles")
    asked = [_text(path, a, f"asked[{i}]") for i, a in enumerate(
        _texts(path, data.get("asked"), "asked", ASKED_RANGE), start=1)]
    points = []
    for i, raw in enumerate(_texts(path, data.get("points"), "points", POINTS_RANGE), start=1):
        if not isinstance(raw, dict) or set(raw) - {"quote", "section"}:
            raise _error(path, ERR_GUIDE_FIELD, field=f"points[{i}]")
        points.append(GuidePoint(_text(path, raw.get("quote"), f"points[{i}].quote"),
                                 _text(path, raw.get("section"), f"points[{i}].section")))
    return GuideCard(id=card_id, title=_text(path, data.get("title"), "title"),
                     roles=tuple(dict.fromkeys(str(r) for r in roles)), asked=tuple(asked),
                     points=tuple(points), path=path)


def check_guide_quotes(card: GuideCard, sections: dict[tuple[str, ...], str]
                       ) -> list[IngestError]:
    """Return an error (Swedish, naming the file) for every point its section lacks.

    `sections` maps each section path of the corpus documents to its text (see
    `section_texts`). Whitespace is collapsed on both sides, so line breaks and double spaces
    do not matter.
    """
    problems = []
    for i, point in enumerate(card.points, start=1):
        text = sections.get(point.section_path)
        if text is None:
            problems.append(_error(card.path, ERR_GUIDE_SECTION_NOT_FOUND, point=i,
                                   section=point.section))
        elif collapse(point.quote) not in text:
            problems.append(_error(card.path, ERR_GUIDE_QUOTE_NOT_FOUND, point=i,
                                   section=point.section, quote=point.quote[:120]))
    return problems


def section_texts(chunks: Iterable[Chunk]) -> dict[tuple[str, ...], str]:
    """Return each section's text (its passages in order, whitespace collapsed)."""
    parts: dict[tuple[str, ...], list[Chunk]] = {}
    for chunk in chunks:
        if chunk.kind in QUOTABLE:
            parts.setdefault(chunk.section_path, []).append(chunk)
    return {path: collapse(" ".join(c.text for c in sorted(cs, key=lambda c: (c.source, c.seq))))
            for path, cs in parts.items()}


def card_of_record(chunk: Chunk, meta: dict[str, object], path: Path) -> GuideCard:
    """Rebuild a card's points, roles and id from its indexed passage and metadata."""
    quotes = [q for q in chunk.text.split("\n\n") if q.strip()]
    sections = str(meta.get("guide_sections", "")).split("\n")
    roles = tuple(r for r in str(meta.get("guide_roles", "")).split(",") if r)
    return GuideCard(id=str(meta.get("guide_id", chunk.chunk_id)), title=chunk.title,
                     roles=roles, asked=(),
                     points=tuple(GuidePoint(q, s) for q, s in zip(quotes, sections,
                                                                    strict=False)),
                     path=path)


def locate(quote: str, section: tuple[str, ...], chunks: Iterable[Chunk]) -> Chunk | None:
    """Return the document passage that holds a card's quote: in the card's section first,
    then anywhere; a quote split over two passages is found by its first sentence."""
    wanted = collapse(quote)
    first = collapse((split_sentences(quote) or [quote])[0])
    candidates = [c for c in chunks if c.kind in QUOTABLE]
    for needle in (wanted, first):
        holding = [c for c in candidates if needle in _collapsed(c.text)]
        if holding:
            return next((c for c in holding if c.section_path == section), holding[0])
    return None


@functools.lru_cache(maxsize=4096)
def _collapsed(text: str) -> str:
    # Every point of every card is looked for in every passage: collapsing each passage
    # once instead of once per point took locating 400 points from 2.6 s to a few ms.
    return collapse(text)


def guide_chunk(card: GuideCard, source: str) -> Chunk:
    """Return the card as one indexed passage of kind "guide".

    text is the card's quotes, indexed_text its title; the ways of asking are embedded
    separately (Index), so the card never competes with the document passages it quotes.
    """
    digest = hashlib.sha1(f"{source}\x00guide{GUIDE_FORMAT}\x00{card.title}\x00"
                          f"{card.text}\x00{chr(0).join(card.asked)}\x00{','.join(card.roles)}"
                          .encode()).hexdigest()[:16]
    return Chunk(chunk_id=digest, source=source, title=card.title, section_path=(card.title,),
                 page=None, text=card.text, indexed_text=card.title, kind="guide", seq=0)


@dataclass
class GuideDocument(SourceDocument):
    """A guide card as an indexable document: one passage, matched by its questions."""

    card: GuideCard | None = None
    parser_version: ClassVar[str] = f"guide{GUIDE_FORMAT}"

    def chunks(self) -> list[Chunk]:
        """Return the card's one passage."""
        assert self.card is not None
        return [guide_chunk(self.card, self.source)]

    @property
    def questions(self) -> list[str]:
        """Return the card's ways of asking, embedded as questions."""
        assert self.card is not None
        return self.card.questions

    @property
    def extra_metadata(self) -> dict[str, str]:
        """Return what answering needs from the card, stored with its passage."""
        assert self.card is not None
        return {"guide_id": self.card.id, "guide_roles": ",".join(self.card.roles),
                "guide_sections": "\n".join(p.section for p in self.card.points)}


def load_guide_document(path: Path, source: str | None = None,
                        title: str | None = None) -> GuideDocument:
    """Read a guide card as a document (raising IngestError naming the file and field)."""
    path = Path(path)
    card = load_guide_card(path)
    return GuideDocument(source=source or path.name, title=card.title, path=path,
                         sha256=file_sha256(path),
                         blocks=[Block(card.text, (card.title,), None, "guide")], card=card)
