"""A conversation as a file to keep: Markdown (readable as plain text) and Word (.docx).

Both take the chat's messages as kept in the session (or restored from elsewhere):
{"role": "user"|"assistant", "content": str, "answer": Answer | dict | None,
"error": str | None}. Nothing here imports Streamlit.

The Markdown escapes only what would change how a Markdown viewer shows the text (emphasis,
code, HTML, links, line-start markers), not every punctuation mark: a reader of the file sees
"Fotnot 2: IOP (idéburet offentligt partnerskap) [1]", not "Fotnot 2\\: IOP \\(…\\) \\[1\\]".
The Streamlit-specific escaping of render.escape_markdown is for the page only.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ui import texts
from ui.render import location, quote_parts

# Emphasis, code, HTML and backslash anywhere; links only where a bracket pair is followed
# by a link target; strikethrough only doubled.
_INLINE = re.compile(r"[\\`*<]|(?<!\w)_|_(?!\w)|~~|\](?=[(\[])|!(?=\[)")
_ENTITY = re.compile(r"&(?=#?\w+;)")
# Markers that only mean something at the start of a line (a "- " bullet stays a bullet).
_LINE_START = re.compile(r"^([ \t]*)(#|>|\+(?=\s)|=|-(?=-|[ \t]*$))", re.MULTILINE)
_ORDERED = re.compile(r"^([ \t]*\d+)([.)])(?=\s)", re.MULTILINE)
_LINK_DEFINITION = re.compile(r"^([ \t]*)\[(?=[^\]\n]*\]:)", re.MULTILINE)


def escape_export(text: str) -> str:
    """Return text that a Markdown viewer shows as written (bullets stay bullets)."""
    text = text.replace("\r\n", "\n")
    # A nested bullet keeps two spaces (a sub-list); other indentation would be a code block.
    text = re.sub(r"(?m)^[ \t]+- ", "  - ", text)
    text = re.sub(r"(?m)^[ \t]+(?![ \t]|- )", "", text)
    text = _INLINE.sub(lambda m: "".join("\\" + c for c in m.group(0)), text)
    text = _ENTITY.sub(r"\\&", text)
    text = _LINK_DEFINITION.sub(lambda m: m.group(1) + "\\[", text)
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    text = _ORDERED.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    # A single newline is a hard line break in the source texts (list items, verse).
    return re.sub(r"(?<!\n)\n(?!\n)", "  \n", text)


def _field(item: Any, name: str, default: Any = None) -> Any:
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


# ---------------------------------------------------------------------- the turns
@dataclass
class Source:
    """A cited (or, for a refusal, a nearby) passage: its heading and quoted text."""

    label: str
    heading: str
    quote: str


@dataclass
class Turn:
    """One question and its answer, as both formats show them."""

    n: int
    question: str
    answer: str = ""
    error: str = ""
    refused: bool = False
    note: str = ""
    sources: list[Source] = field(default_factory=list)


def turns(messages: Sequence[Mapping[str, Any]]) -> list[Turn]:
    """Return the conversation as numbered question-answer turns."""
    out: list[Turn] = []
    for message in messages:
        if message.get("role") == "user":
            out.append(Turn(len(out) + 1, str(message.get("content", ""))))
            continue
        if not out:
            out.append(Turn(1, ""))
        turn = out[-1]
        if message.get("error"):
            turn.error = str(message["error"])
            continue
        answer = message.get("answer")
        if answer is None:
            turn.answer = str(message.get("content", ""))
            continue
        turn.answer = str(_field(answer, "answer", ""))
        turn.note = str(_field(answer, "note", "") or "")
        turn.refused = bool(_field(answer, "refused", False))
        if turn.refused:
            turn.sources = [_source("", ctx, str(_field(ctx, "text", "")))
                            for ctx in list(_field(answer, "contexts", []) or [])[:3]]
        else:
            turn.sources = [_source(f"[{_field(c, 'n')}]", c,
                                    " … ".join(quote_parts(str(_field(c, "quote", "")))))
                            for c in _field(answer, "citations", []) or []]
    return out


def _source(label: str, item: Any, quote: str) -> Source:
    heading = f"{_field(item, 'title')} – " + location(str(_field(item, "section", "")),
                                                       _field(item, "page"))
    return Source(label, heading, quote)


def _meta(role: str, when: datetime) -> str:
    return texts.EXPORT_META.format(when=when.strftime("%Y-%m-%d %H:%M"), role=role or "–")


# ---------------------------------------------------------------------- Markdown
def conversation_markdown(messages: Sequence[Mapping[str, Any]], role: str = "",
                          when: datetime | None = None) -> str:
    """Return the conversation as a Markdown document with citations, quotes and notes."""
    when = when or datetime.now()
    lines = [f"# {texts.EXPORT_TITLE}", "", escape_export(_meta(role, when)), ""]
    all_turns = turns(messages)
    if not all_turns:
        lines += [texts.EXPORT_EMPTY, ""]
    for turn in all_turns:
        lines += [f"## {texts.EXPORT_QUESTION.format(n=turn.n)}", "",
                  escape_export(turn.question), "", f"### {texts.EXPORT_ANSWER}", ""]
        if turn.error:
            lines += [f"**{texts.EXPORT_ERROR}:** {escape_export(turn.error)}", ""]
            continue
        lines += [escape_export(turn.answer), ""]
        if turn.sources:
            heading = texts.EXPORT_CLOSEST if turn.refused else texts.EXPORT_SOURCES
            lines += [f"**{heading}**", ""]
        for source in turn.sources:
            prefix = f"{source.label} " if source.label else "- "
            lines += [prefix + escape_export(source.heading), ""]
            lines += ["> " + line if line.strip() else ">"
                      for line in escape_export(source.quote).split("\n")]
            lines.append("")
        if turn.note:
            lines += [f"*{escape_export(turn.note)}*", ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------- Word
def conversation_docx(messages: Sequence[Mapping[str, Any]], role: str = "",
                      when: datetime | None = None) -> bytes:
    """Return the conversation as a Word document: A4, Swedish spell-check language,
    a heading per question, the answer's points as bullets, each source with its quote."""
    from docx import Document
    from docx.shared import Mm

    when = when or datetime.now()
    doc = Document()
    _swedish_a4(doc)
    doc.core_properties.title = texts.EXPORT_TITLE
    doc.core_properties.author = texts.APP_TITLE
    doc.core_properties.language = texts.EXPORT_LANGUAGE
    doc.add_heading(texts.EXPORT_TITLE, level=0)
    doc.add_paragraph(_meta(role, when))
    all_turns = turns(messages)
    if not all_turns:
        doc.add_paragraph(texts.EXPORT_EMPTY)
    for turn in all_turns:
        doc.add_heading(texts.EXPORT_QUESTION.format(n=turn.n), level=1)
        doc.add_paragraph(turn.question)
        doc.add_heading(texts.EXPORT_ANSWER, level=2)
        if turn.error:
            doc.add_paragraph(f"{texts.EXPORT_ERROR}: {turn.error}")
            continue
        _add_text(doc, turn.answer)
        if turn.sources:
            heading = texts.EXPORT_CLOSEST if turn.refused else texts.EXPORT_SOURCES
            doc.add_heading(heading, level=3)
        for source in turn.sources:
            head = doc.add_paragraph()
            head.add_run(f"{source.label} " if source.label else "").bold = True
            head.add_run(source.heading)
            head.paragraph_format.space_after = Mm(0)
            quote = doc.add_paragraph(f"”{source.quote}”", style="Quote")
            quote.paragraph_format.left_indent = Mm(8)
        if turn.note:
            doc.add_paragraph().add_run(turn.note).italic = True
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _add_text(doc: Any, text: str) -> None:
    """Add an answer's text: a "- " line is a bullet (an indented one a nested bullet)."""
    for block in re.split(r"\n\s*\n", text.strip()):
        paragraph_lines: list[str] = []
        for line in block.split("\n"):
            bullet = re.match(r"^(\s*)- (.*)", line)
            if bullet:
                if paragraph_lines:
                    doc.add_paragraph("\n".join(paragraph_lines))
                    paragraph_lines = []
                style = "List Bullet 2" if bullet.group(1) else "List Bullet"
                doc.add_paragraph(bullet.group(2), style=style)
            else:
                paragraph_lines.append(line.strip())
        if paragraph_lines:
            doc.add_paragraph("\n".join(paragraph_lines))


def _swedish_a4(doc: Any) -> None:
    """Set A4 pages and Swedish as the language of every style (so spell-check is Swedish)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm

    for section in doc.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
    for style in doc.styles:
        element = getattr(style, "element", None)
        if element is None or style.type not in (1, 2):     # paragraph and character styles
            continue
        rpr = element.get_or_add_rPr()
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:val"), texts.EXPORT_LANGUAGE)
