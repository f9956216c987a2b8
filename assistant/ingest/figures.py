"""Ingest: figure cards, the text of a figure that extraction scrambles, as verbatim quotes.

The report's figure 5 (the model for planning network meetings: Syfte, Resultat, Målgrupp,
Metod, Uppföljning, each with a guiding question) comes out of the extraction as fragments in
the wrong order, so no passage holds it. A figure card (corpus/figures/*.yaml, any YAML file
with a `figure:` key) restores it: the caption, the sentence that introduces the figure, and
each part's label and text, every one a verbatim quote of the source (whitespace and the
figure's bullet characters aside; tests/test_figures.py checks them against the report).
The card is indexed as a passage in the figure's section: the lead-in, then the caption
introducing the parts as a list, so answers quote the figure whole.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from assistant.ingest.loaders import file_sha256
from assistant.prompts import ERR_FIGURE_FIELD, ERR_FIGURE_YAML
from assistant.text import collapse
from assistant.types import SECTION_SEPARATOR, Block, IngestError, SourceDocument

# Bump when a card turns into a different passage, so indexed cards are replaced.
FIGURE_FORMAT = "2"
# The figure's own bullet characters, which a quote may leave out.
_BULLETS = re.compile(r"[•\uf0b7]")


@dataclass(frozen=True)
class FigurePart:
    """One labelled part of a figure."""

    label: str
    text: str


@dataclass(frozen=True)
class Figure:
    """A figure card: caption, section, lead-in sentence and labelled parts."""

    path: Path
    caption: str
    section: str
    lead: str
    parts: tuple[FigurePart, ...]

    def quotes(self) -> list[tuple[str, str]]:
        """Return (field, quote) for every quoted field of the card."""
        out = [("figure", self.caption), ("lead", self.lead)]
        for i, part in enumerate(self.parts, start=1):
            out += [(f"parts[{i}].label", part.label), (f"parts[{i}].text", part.text)]
        return [(name, quote) for name, quote in out if quote]

    def text(self) -> str:
        """Return the card as passage text: the caption introducing the parts as a list.

        The lead-in sentence stays in the report's own passage (and in the indexed text, so
        the card is found by it): quoted twice, the two passages competed for the same
        questions and the report's passage, without the figure, won.
        """
        items = "\n".join(f"- {p.label}: {p.text}" for p in self.parts)
        return f"{self.caption}:\n{items}"


def is_figure_file(path: Path) -> bool:
    """Return True for a figure card: a YAML file with a top-level `figure:` key."""
    return yaml_with_key(path, "figure")


# (path, key) -> (file version, found), the version being inode, mtime, ctime and size:
# every question asks which corpus files are case cards (the catalog follows the folder), and
# reading every YAML file again took 12 of the 21 ms that check cost per question.
_KEYS_SEEN: dict[tuple[str, str], tuple[tuple[int, int, int, int], bool]] = {}


def yaml_with_key(path: Path, key: str) -> bool:
    """Return True for a readable YAML file that has `key` (a card field) as a top-level key
    (read again only when the file's time or size changed)."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        return False
    try:
        status = path.stat()
    except OSError:
        return False
    if not stat.S_ISREG(status.st_mode):
        return False
    version = (status.st_ino, status.st_mtime_ns, status.st_ctime_ns, status.st_size)
    seen = _KEYS_SEEN.get((str(path), key))
    if seen is not None and seen[0] == version:
        return seen[1]
    found = re.compile(rf"^{re.escape(key)}\s*:", re.MULTILINE)
    try:
        result = bool(found.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False
    if len(_KEYS_SEEN) > 10_000:
        _KEYS_SEEN.clear()
    _KEYS_SEEN[(str(path), key)] = (version, result)
    return result


def load_figure(path: Path, data: object = None) -> Figure:
    """Read a figure card, raising IngestError that names the file and the field."""
    path = Path(path)
    if data is None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            reason = (str(exc).splitlines() or [""])[0].replace("{", "(").replace("}", ")")
            raise IngestError(path, ERR_FIGURE_YAML.replace("{reason}", reason)) from exc

    def text(value: object, name: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise IngestError(path, ERR_FIGURE_FIELD.replace("{field}", name))
        return collapse(value)

    if not isinstance(data, dict):
        raise IngestError(path, ERR_FIGURE_FIELD.replace("{field}", "figure"))
    raw_parts = data.get("parts")
    if not isinstance(raw_parts, list) or not raw_parts:
        raise IngestError(path, ERR_FIGURE_FIELD.replace("{field}", "parts"))
    parts = []
    for i, raw in enumerate(raw_parts, start=1):
        if not isinstance(raw, dict):
            raise IngestError(path, ERR_FIGURE_FIELD.replace("{field}", f"parts[{i}]"))
        parts.append(FigurePart(text(raw.get("label"), f"parts[{i}].label"),
                                text(raw.get("text"), f"parts[{i}].text")))
    lead = data.get("lead") or ""
    return Figure(path=path, caption=text(data.get("figure"), "figure"),
                  section=text(data.get("section"), "section"),
                  lead=text(lead, "lead") if lead else "", parts=tuple(parts))


def check_figure_quotes(figure: Figure, source_text: str) -> list[str]:
    """Return the card's fields whose quote does not occur in the source text."""
    haystack = collapse(_BULLETS.sub(" ", source_text))
    return [name for name, quote in figure.quotes() if collapse(quote) not in haystack]


def figure_document(path: Path, source: str | None = None) -> SourceDocument:
    """Return a figure card as an indexable document: one list block in its section."""
    figure = load_figure(path)
    section = tuple(figure.section.split(SECTION_SEPARATOR))
    block = Block(figure.text(), section, None, "figure")
    title = figure.caption
    return SourceDocument(source=source or path.name, title=title, path=path,
                          sha256=file_sha256(path), blocks=[block])
