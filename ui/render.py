"""Pure helpers of the UI: safe Markdown from document text, highlighting, export, grouping.

Nothing here imports Streamlit, so all of it is unit-tested directly. Every string that comes
from a document or an answer goes through `escape_markdown` before Streamlit renders it: text
from documents must show as text, never as HTML, a script, a link or Streamlit's own markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.ingest.loaders import SUPPORTED_SUFFIXES
from assistant.prompts import ERR_TOO_LARGE, ERR_UNSUPPORTED_TYPE
from ui import texts

# Characters with a meaning in (GitHub-flavoured) Markdown or in Streamlit's extensions
# (:color[...], :material/icon:, $math$). Any ASCII punctuation may be backslash-escaped.
_INLINE_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#|~$:&!^\"])")
# Markers that only mean something at the start of a line (lists, quotes, headings, rules).
_LINE_START = re.compile(r"^([-+=>])|^(\d+)([.)])", re.MULTILINE)
# List items of the source texts ("- item") show as bullets but stay plain text.
_BULLET = re.compile(r"^- ", re.MULTILINE)
# GFM turns bare URLs and e-mail addresses into links, even with escaped punctuation; an
# invisible word joiner breaks the pattern while the text reads the same.
_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)")
MARKER = re.compile(r"\[(\d+)\]")
HIGHLIGHT = ":orange-background[{text}]"
BADGE = ":blue-badge[{n}]"


def escape_markdown(text: str) -> str:
    """Return text that Streamlit's Markdown shows verbatim: no HTML, links or markup."""
    return _escape(_dedent(text))


def _dedent(text: str) -> str:
    # A nested list item (a list quoted inside a point of a broad answer) keeps its level as
    # an indented hollow bullet; other indented lines would turn into code blocks.
    text = re.sub(r"(?m)^[ \t]+- ", "\u2003◦ ", text.replace("\r\n", "\n"))
    return re.sub(r"(?m)^[ \t]+", "", text)


def _escape(text: str) -> str:
    text = _BULLET.sub("• ", text)
    text = _AUTOLINK.sub(_WORD_JOINER, text)
    text = _INLINE_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: f"\\{m.group(1)}" if m.group(1)
                           else f"{m.group(2)}\\{m.group(3)}", text)
    # A single newline is a hard line break in the source texts (list items, verse).
    return text.replace("\n", "  \n")


def answer_markdown(text: str, numbers: Iterable[int] | None = None,
                    badge: str = BADGE) -> str:
    """Return an answer's text as safe Markdown with its [n] markers shown as badges.

    numbers: the citation numbers that exist; other bracketed numbers stay plain text.
    """
    known = set(numbers) if numbers is not None else None
    text = _dedent(text)
    parts: list[str] = []
    last = 0
    for match in MARKER.finditer(text):
        n = int(match.group(1))
        if known is not None and n not in known:
            continue
        parts.append(_escape(text[last:match.start()]))
        parts.append(badge.format(n=n))
        last = match.end()
    parts.append(_escape(text[last:]))
    return "".join(parts)


def quote_parts(quote: str) -> list[str]:
    """Return the sentences of a citation's quote (joined by " … " in the Citation)."""
    return [q.strip().removeprefix("- ").strip() for q in quote.split(" … ") if q.strip()]


def highlight(text: str, quotes: Iterable[str]) -> str:
    """Return text as safe Markdown with every occurrence of the quoted sentences marked."""
    text = _dedent(text)
    spans: list[tuple[int, int]] = []
    for quote in (_dedent(q) for q in quotes):
        if not quote:
            continue
        start = text.find(quote)
        while start >= 0:
            spans.append((start, start + len(quote)))
            start = text.find(quote, start + len(quote))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        # Neighbouring quoted sentences form one marked stretch.
        if merged and not text[merged[-1][1]:start].strip():
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    last = 0
    for start, end in merged:
        out.append(_escape(text[last:start]))
        # Mark line by line: the highlight markup cannot span a line break.
        lines = [_escape(line) for line in text[start:end].split("\n")]
        out.append("  \n".join(HIGHLIGHT.format(text=line) if line.strip() else line
                               for line in lines))
        last = end
    out.append(_escape(text[last:]))
    return "".join(out)


def location(section: str, page: int | None) -> str:
    """Return "section, sida N" (the page only when known)."""
    return section + (", " + texts.PAGE_LABEL.format(page=page) if page else "")


def citation_label(n: int, title: str, section: str, page: int | None) -> str:
    """Return the safe Markdown label of a citation's expander."""
    return escape_markdown(f"[{n}] {title} – {location(section, page)}")


def short_title(title: str, limit: int = 60) -> str:
    """Return a conversation's title for a one-line button: cut at a word, escaped."""
    title = " ".join(title.split())
    if len(title) > limit:
        cut = title.rfind(" ", 0, limit)
        title = title[:cut if cut > limit // 2 else limit].rstrip(" ,.;:") + " …"
    return escape_markdown(title)


def local_time(stamp: str) -> str:
    """Return a stored UTC time (ISO 8601) as local date and time, minutes."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


# ---------------------------------------------------------------------- sources
@dataclass
class SectionGroup:
    """The passages of one section of a document, in reading order."""

    section: str
    chunks: list[Any] = field(default_factory=list)

    @property
    def page(self) -> int | None:
        """Return the page the section starts on, when known."""
        return next((c.page for c in self.chunks if c.page), None)

    @property
    def text(self) -> str:
        """Return the section's text, passage after passage."""
        return "\n\n".join(c.text for c in self.chunks)


CARD_SUFFIXES = (".yaml", ".yml")


def document_order(sources: Iterable[str], titles: dict[str, str]) -> list[str]:
    """Return sources in the order a reader wants them: the documents (the report) first,
    then uploaded documents, then the curated cards (case and figure cards), each by title."""
    def rank(source: str) -> tuple[int, str]:
        if source.lower().endswith(CARD_SUFFIXES):
            return 2, titles.get(source, source).lower()
        return (1 if source.startswith("uploads/") else 0), titles.get(source, source).lower()

    return sorted(sources, key=rank)


def group_sections(chunks: Iterable[Any]) -> dict[str, list[SectionGroup]]:
    """Return source -> its sections in reading order, each with its chunks by seq."""
    by_source: dict[str, list[Any]] = {}
    for chunk in chunks:
        by_source.setdefault(chunk.source, []).append(chunk)
    out: dict[str, list[SectionGroup]] = {}
    for source, items in by_source.items():
        groups: dict[str, SectionGroup] = {}
        for chunk in sorted(items, key=lambda c: c.seq):
            groups.setdefault(chunk.section, SectionGroup(chunk.section)).chunks.append(chunk)
        out[source] = list(groups.values())
    return out


# ---------------------------------------------------------------------- uploads
def check_upload(name: str, size: int, limit_mb: int) -> str | None:
    """Return why an uploaded file is refused (type or size), or None when it is acceptable."""
    name = Path(name).name
    if not name or name.startswith(".") or Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return ERR_UNSUPPORTED_TYPE.format(name=name or "?")
    if size > limit_mb * 1024 * 1024:
        return ERR_TOO_LARGE.format(name=name, size_mb=size / 1024 / 1024, limit_mb=limit_mb)
    return None
