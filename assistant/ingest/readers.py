"""Ingest: files -> structured blocks (.txt, .md, .pdf), with section paths and page numbers.

The report arrives as PDF-extracted plain text: headings are short lines without a full stop,
bullet items lost their bullet glyph and begin with a space, a new page begins with a line
indented by one space, page numbers stand alone, and footnotes sit under a long blank rule at
the foot of a page. This module turns that into ordered :class:`Block` objects that know their
section path ("Utmaningar › Kommunikation") so every citation can name where it comes from.
"""

from __future__ import annotations

import codecs
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.lexicon import pattern, words
from assistant.prompts import (
    ERR_EMPTY_FILE,
    ERR_ENCRYPTED_PDF,
    ERR_NO_TEXT_LAYER,
    ERR_NOT_TEXT,
    ERR_PDF_AS_TEXT,
    ERR_PDF_TOO_LARGE_INSIDE,
    ERR_READ_FAILED,
    FOOTNOTE_SECTION,
    PAGE_SECTION,
    PDF_REASON_NOT_PDF,
    PDF_REASON_TRUNCATED,
    PDF_REASON_UNKNOWN,
)
from assistant.types import Block, IngestError

# --------------------------------------------------------------------------- line model

@dataclass
class _Line:
    text: str
    page: int | None
    page_start: bool = False      # first line of a new page
    item: bool = False            # a bullet item begins on this line


_PAGE_NUMBER = re.compile(r"^\s*\d{1,3}\s*$")
_FOOTNOTE_RULE = re.compile(r"^\s{20,}$")
_FOOTNOTE_START = re.compile(r"^(\d{1,2}) (\S.*)$")
_CAPTION = pattern("ingest.caption")
_BULLET_GLYPH = re.compile(r"^\s*[•▪◦●\-–\u2022\uf0b7]\s+")
# A bullet no sentence starts with: a line it opens is an item even right after a lead-in
# (" • Några deltagare …" directly under "… följande:" was read as a new page's paragraph,
# kept its "•" and left the list). A dash may open a page's first line, so it is not here.
_ITEM_GLYPH = re.compile(r"^\s*[•▪◦●\u2022\uf0b7]\s+")
_TERMINAL = (".", "!", "?", ":", "”", ";")


def _clean_lines(raw: list[tuple[str, int | None]]) -> tuple[list[_Line | None], dict[str, str]]:
    """Drop page numbers and footnotes, mark page starts and bullet items.

    Returns the lines (None stands for a blank line) and the footnotes by number.
    """
    out: list[_Line | None] = []
    footnotes: dict[str, str] = {}
    in_notes = False
    after_break = True          # the document itself starts a page
    prev_blank = True
    last_page = raw[0][1] if raw else None
    for text, page in raw:
        text = text.replace("\t", " ").rstrip("\r\n")
        if page != last_page:
            after_break, last_page, in_notes = True, page, False
        if _FOOTNOTE_RULE.match(text):
            in_notes = True
            continue
        if in_notes:
            if not text.strip():
                continue
            if text.startswith(" ") or _PAGE_NUMBER.match(text):
                in_notes = False          # the footnotes end where the next page begins
                after_break = True
            else:
                match = _FOOTNOTE_START.match(text.strip())
                if match:
                    footnotes[match.group(1)] = match.group(2).strip()
                elif footnotes:
                    key = list(footnotes)[-1]
                    footnotes[key] += " " + text.strip()
                continue
        if _PAGE_NUMBER.match(text) and prev_blank:
            after_break = True
            continue
        if not text.strip():
            out.append(None)
            prev_blank = True
            continue
        line = _Line(text=text, page=page)
        if after_break:
            line.page_start = True
            after_break = False
            stripped = text.lstrip()
            if text.startswith("  ") or _BULLET_GLYPH.match(text):
                line.item = True
        elif text.startswith("  ") and text.strip():
            line.item = True
        elif _ITEM_GLYPH.match(text):
            line.item = True
        elif text.startswith(" "):
            # One leading space: a bullet item after a blank line, else a new page.
            if prev_blank:
                line.item = True
            else:
                line.page_start = True
        elif _BULLET_GLYPH.match(text):
            line.item = True
        if line.item:
            stripped = _BULLET_GLYPH.sub("", text).strip()
        else:
            stripped = text.strip()
        line.text = stripped
        out.append(line)
        prev_blank = False
    return out, footnotes


@dataclass
class _Para:
    lines: list[_Line]
    item: bool
    page_start: bool
    blank_after: bool = False

    @property
    def text(self) -> str:
        return _join([line.text for line in self.lines])

    @property
    def page(self) -> int | None:
        return self.lines[0].page


def _join(lines: list[str]) -> str:
    """Join wrapped lines, keeping hyphenated compounds ("IT-\\nsystem" -> "IT-system")."""
    text = ""
    for line in lines:
        if text.endswith("-") and len(text) > 1 and text[-2].isalpha():
            text += line
        else:
            text = f"{text} {line}" if text else line
    return re.sub(r"\s+", " ", text).strip()


def _paragraphs(lines: list[_Line | None]) -> list[_Para]:
    """Group lines into paragraphs; a page break inside a sentence does not split it."""
    paras: list[_Para] = []
    current: list[_Line] = []

    def close(blank_after: bool) -> None:
        if current:
            paras.append(_Para(list(current), current[0].item, current[0].page_start,
                               blank_after))
            current.clear()

    for line in lines:
        if line is None:
            if current:
                close(True)
            elif paras:
                paras[-1].blank_after = True
            continue
        if current and line.item:
            close(False)
        if line.page_start and not line.item:
            previous = current[-1] if current else (paras[-1].lines[-1] if paras else None)
            runs_on = previous is not None and (
                line.text[:1].islower()
                or (len(previous.text) > 40 and not previous.text.endswith(_TERMINAL)))
            if runs_on and not current:
                # The sentence runs on across the page break (and its footnotes).
                paras[-1].lines.append(line)
                paras[-1].blank_after = False
                continue
            if current and not runs_on:
                close(False)
        current.append(line)
    close(True)
    return paras


# --------------------------------------------------------------------------- headings

_UPPER_START = re.compile(r"^[”\"'(]?[A-ZÅÄÖÉ0-9]")


# Words a line does not end on: "Samarbete mellan ASF och" goes on in the next line, and
# "… med syfte att" in the list below it.
_OPEN_ENDINGS = words("ingest.open_endings")


def _breaks_off(text: str) -> bool:
    """Return True when a line or paragraph ends on a word the text goes on after."""
    return text.split()[-1].lower() in _OPEN_ENDINGS


def _heading_like(text: str) -> bool:
    """Return True when a line reads like a heading: short, capitalised, not a sentence."""
    if not 2 <= len(text) <= 100 or len(text.split()) > 12:
        return False
    if _breaks_off(text):
        return False
    if not _UPPER_START.match(text) or _CAPTION.match(text) or text[0].isdigit():
        return False
    if text.endswith((",", ";", ":", "”", "\"")):
        return False
    if text.endswith("."):
        # "Västerås: Samtal om lönsamhet." or "Varierande verksamhet? Det är frågan."
        head = text[:30]
        return ": " in head or "?" in text[:-1]
    return True


def _split_heading(para: _Para) -> tuple[str | None, _Para | None]:
    """Split a leading heading (one or two lines) off a paragraph."""
    lines = para.lines
    first = lines[0].text
    if para.item:
        return None, para
    for n in (1, 2):
        if len(lines) < n:
            break
        candidate = _join([line.text for line in lines[:n]])
        if n == 2:
            if len(lines[0].text) > 75 or len(lines[1].text) > 50 or first.endswith(_TERMINAL):
                break
        if not _heading_like(candidate):
            continue
        rest = lines[n:]
        if rest and (not _UPPER_START.match(rest[0].text) or rest[0].text.startswith("(")
                     or len(re.findall(r"\w+", candidate)) > 6 + 2 * n):
            continue          # the "heading" is the start of a wrapped sentence
        if not rest and not para.blank_after and n < len(lines):
            continue
        remainder = _Para(rest, False, False, para.blank_after) if rest else None
        return candidate, remainder
    return None, para


def _parallel_heading(para: _Para, headings: list[str]) -> str | None:
    """Return a one-line lead-in read as a heading when it repeats an earlier heading's form.

    "Rekommendationer till offentliga aktörer och företagsfrämjare:" stands alone with a
    colon, so it read as the lead-in of the list under it, and that list was filed under the
    previous heading, "Rekommendationer till ASF": four guide cards cited the public actors'
    recommendations as ASF's. A lone line that begins with an earlier heading's first two
    words is a sibling of it; "Följande aktörer medverkade:" begins no heading and stays a
    lead-in.
    """
    text = para.text
    if para.item or len(para.lines) != 1 or not text.endswith(":") or not para.blank_after:
        return None
    text = text[:-1].rstrip()
    if not _heading_like(text):
        return None
    opening = text.casefold().split()[:2]
    if len(opening) < 2 or not any(h.casefold().split()[:2] == opening for h in headings):
        return None
    return text


def _is_figure_text(paras: list[_Para]) -> list[bool]:
    """Mark runs of short fragments (labels inside figures) that are not prose."""
    def short(p: _Para) -> bool:
        return all(len(line.text) < 32 for line in p.lines)

    marks = [short(p) and len(p.lines) >= 2 for p in paras]
    changed = True
    while changed:
        changed = False
        for i, p in enumerate(paras):
            if marks[i] or not short(p) or len(p.lines) != 1:
                continue
            if (i > 0 and marks[i - 1]) or (i + 1 < len(paras) and marks[i + 1]):
                marks[i] = changed = True
    return marks


def _strip_footnote_marks(text: str, numbers: set[str]) -> str:
    """Remove footnote numbers glued to words ("dimensioner4." -> "dimensioner.")."""
    if not numbers:
        return text
    pattern = "|".join(sorted(numbers, key=len, reverse=True))
    return re.sub(rf"(?<=[A-Za-zÅÄÖåäö”.)])(?:{pattern})(?=[\s.,;:)]|$)", "", text)


def parse_lines(raw: list[tuple[str, int | None]], title: str) -> list[Block]:
    """Turn raw lines (with page numbers, or None) into blocks with section paths."""
    lines, footnotes = _clean_lines(raw)
    paras = _paragraphs(lines)
    figure = _is_figure_text(paras)
    # Pass 1: split headings off paragraphs.
    seq: list[tuple[str, Any]] = []        # ("heading", (text, para, alone)) | ("para", para)
    headings: list[str] = []
    for para, is_fig in zip(paras, figure, strict=True):
        if is_fig:
            continue
        if _CAPTION.match(para.lines[0].text) and len(para.lines) <= 2:
            continue
        heading, rest = _split_heading(para)
        if heading is None and (sibling := _parallel_heading(para, headings)):
            heading, rest = sibling, None
        if heading is not None:
            headings.append(heading)
            seq.append(("heading", (heading, para, rest is None)))
        if rest is not None:
            seq.append(("para", rest))
    # Pass 2: assign heading levels (chapter / section / subsection).
    path: list[str] = []
    deep = False
    blocks: list[Block] = []
    pending_list: list[_Para] = []
    lead_in: _Para | None = None
    numbers = set(footnotes)

    def flush() -> None:
        nonlocal pending_list, lead_in
        if pending_list:
            items = [_strip_footnote_marks(p.text, numbers) for p in pending_list]
            head = _strip_footnote_marks(lead_in.text, numbers) if lead_in else ""
            body = "\n".join(f"- {item}" for item in items)
            text = f"{head}\n{body}" if head else body
            page = (lead_in or pending_list[0]).page
            blocks.append(Block(text, tuple(path) or (title,), page, "list"))
        elif lead_in is not None:
            blocks.append(Block(_strip_footnote_marks(lead_in.text, numbers),
                                tuple(path) or (title,), lead_in.page, "paragraph"))
        pending_list, lead_in = [], None

    for i, (kind, value) in enumerate(seq):
        if kind == "heading":
            flush()
            text, para, alone = value
            nxt = seq[i + 1] if i + 1 < len(seq) else None
            next_is_heading = nxt is not None and nxt[0] == "heading"
            next_is_item = nxt is not None and nxt[0] == "para" and nxt[1].item
            if para.page_start and alone and para.blank_after and not next_is_item:
                path, deep = [text], False
            elif next_is_heading and alone and para.blank_after:
                path = path[:1] + [text]
                deep = True
            elif deep:
                path = path[:2] + [text]
            else:
                path = path[:1] + [text]
            continue
        para = value
        if para.item:
            pending_list.append(para)
            continue
        flush()
        text = para.text
        nxt = seq[i + 1] if i + 1 < len(seq) else None
        open_lead = (nxt is not None and nxt[0] == "para" and nxt[1].item
                     and _breaks_off(text))
        if text.endswith(":") or open_lead:
            lead_in = para
            continue
        kind_name = "quote" if text.startswith(("”", "\"")) else "paragraph"
        blocks.append(Block(_strip_footnote_marks(text, numbers), tuple(path) or (title,),
                            para.page, kind_name))
    flush()
    # Footnotes become blocks of their own, each a subsection ("… › Fotnot 2") of the section
    # where it was first cited: the label says where the text stands, and stays out of the
    # text, so an answer quoting a footnote starts with its sentence, not with "Fotnot 2:".
    for number, note in footnotes.items():
        section = _section_citing(blocks, number, raw) or (title,)
        label = FOOTNOTE_SECTION.format(number=number)
        blocks.append(Block(note, (*section, label), None, "footnote"))
    return blocks


def _section_citing(blocks: list[Block], number: str,
                    raw: list[tuple[str, int | None]]) -> tuple[str, ...] | None:
    """Return the section of the first block whose raw text cites footnote `number`."""
    marker = re.compile(rf"[A-Za-zÅÄÖåäö”.)]{number}(?=[\s.,;:)]|$)")
    raw_text = "\n".join(text for text, _ in raw)
    match = marker.search(raw_text)
    if not match:
        return None
    context = re.sub(r"\s+", " ", raw_text[max(0, match.start() - 60):match.start() + 1]).strip()
    probe = context.split(" ")[-3:]
    needle = " ".join(probe)
    for block in blocks:
        if needle and needle in block.text:
            return block.section_path
    return None


# --------------------------------------------------------------------------- file readers

# Signatures of file formats that are often renamed to .txt by mistake, and the suffix the
# message asks for (None: the format cannot be read; save the text as .txt or .pdf).
_BINARY_SIGNATURES: tuple[tuple[bytes, str | None], ...] = (
    (b"%PDF-", ".pdf"),
    (b"PK\x03\x04", None),               # docx, xlsx, odt, zip
    (b"\xd0\xcf\x11\xe0", None),          # doc, xls (OLE2)
    (b"{\\rtf", None),
    (b"\x89PNG", None),
    (b"\xff\xd8\xff", None),              # JPEG
    (b"GIF8", None),
)
# Control characters other than tab, newline, carriage return and form feed. The report has
# none in 90,000 characters; 20 KB of random bytes decoded as cp1252 has about 11 %.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
MAX_CONTROL_SHARE = 0.01


def _check_signature(path: Path, data: bytes) -> None:
    """Raise IngestError when a text file is really a PDF, an Office file or an image."""
    head = data[:1024].lstrip()
    for signature, suffix in _BINARY_SIGNATURES:
        if head.startswith(signature):
            if suffix == ".pdf":
                raise IngestError(path, ERR_PDF_AS_TEXT)
            raise IngestError(path, ERR_NOT_TEXT)


def decode_text(path: Path, data: bytes) -> str:
    """Decode a text file's bytes (UTF-8, UTF-16 with a byte-order mark, else cp1252).

    Raise IngestError when the bytes are not text: a known binary signature, or more than
    MAX_CONTROL_SHARE control characters (random bytes, a binary file renamed .txt).
    """
    _check_signature(path, data)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise IngestError(path, ERR_NOT_TEXT) from exc
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    if text and len(_CONTROL.findall(text)) > MAX_CONTROL_SHARE * len(text):
        raise IngestError(path, ERR_NOT_TEXT)
    return text


def _read_text_file(path: Path) -> str:
    return decode_text(path, path.read_bytes()).replace("\f", "\n")


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def parse_markdown(text: str, title: str) -> list[Block]:
    """Parse Markdown with '#' headings; fall back to the plain-text rules without them."""
    if not any(_MD_HEADING.match(line) for line in text.splitlines()):
        return parse_lines([(line, None) for line in text.splitlines()], title)
    blocks: list[Block] = []
    path: list[str] = []
    chunk: list[str] = []

    def flush() -> None:
        body = "\n".join(chunk).strip()
        if body:
            for part in re.split(r"\n\s*\n", body):
                part = part.strip()
                if part:
                    is_list = part.lstrip().startswith(("- ", "* ", "• "))
                    blocks.append(Block(part if is_list else re.sub(r"\s+", " ", part),
                                        tuple(path) or (title,), None,
                                        "list" if is_list else "paragraph"))
        chunk.clear()

    for line in text.splitlines():
        match = _MD_HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path = path[: level - 1] + [match.group(2)]
            continue
        chunk.append(line)
    flush()
    return blocks


# pypdf logs what it repairs ("EOF marker not found", "incorrect startxref pointer") in
# English on the root logger's stderr; the user gets one Swedish IngestError instead.
_pypdf_quiet_lock = threading.Lock()
_pypdf_quiet_depth = 0
_pypdf_level = logging.NOTSET


@contextmanager
def quiet_pypdf() -> Iterator[None]:
    """Silence the pypdf logger while the block runs (nesting and threads are safe)."""
    global _pypdf_quiet_depth, _pypdf_level
    logger = logging.getLogger("pypdf")
    with _pypdf_quiet_lock:
        if _pypdf_quiet_depth == 0:
            _pypdf_level = logger.level
            logger.setLevel(logging.CRITICAL + 1)
        _pypdf_quiet_depth += 1
    try:
        yield
    finally:
        with _pypdf_quiet_lock:
            _pypdf_quiet_depth -= 1
            if _pypdf_quiet_depth == 0:
                logger.setLevel(_pypdf_level)


# pypdf's English error messages -> the Swedish reason shown in ERR_READ_FAILED.
_PDF_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("ended unexpectedly", "eof marker", "startxref", "truncated", "xref"), PDF_REASON_TRUNCATED),
    (("header",), PDF_REASON_NOT_PDF),
)


def pdf_reason(exc: BaseException) -> str:
    """Return a Swedish reason for a pypdf read error."""
    message = str(exc).lower()
    for needles, reason in _PDF_REASONS:
        if any(needle in message for needle in needles):
            return reason
    return PDF_REASON_UNKNOWN


def _read_pdf(path: Path) -> list[tuple[str, int | None]]:
    """Return the PDF's text lines with 1-based page numbers, or raise IngestError."""
    with quiet_pypdf():
        raw = _read_pdf_lines(path)
    if not any(text.strip() for text, _ in raw):
        raise IngestError(path, ERR_NO_TEXT_LAYER)
    return raw


def _read_pdf_lines(path: Path) -> list[tuple[str, int | None]]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    with path.open("rb") as handle:
        if b"%PDF-" not in handle.read(1024):
            raise IngestError(path, ERR_READ_FAILED.replace("{reason}", PDF_REASON_NOT_PDF))
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            ok: object
            try:
                ok = reader.decrypt("")
            except Exception:  # noqa: BLE001 - pypdf raises several types here
                ok = 0
            if not ok:
                raise IngestError(path, ERR_ENCRYPTED_PDF)
        raw: list[tuple[str, int | None]] = []
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            for line in text.splitlines():
                raw.append((line, number))
            raw.append(("", number))
    except IngestError:
        raise
    except LimitReachedError as exc:
        # pypdf stops on purpose: a stream that inflates past its output limit (75 MB from a
        # 100 KB file), or a cycle in the page tree. The file is refused; the others go on.
        if "decompress" not in str(exc).lower():
            raise IngestError(path, ERR_READ_FAILED.replace("{reason}", PDF_REASON_UNKNOWN)
                              ) from exc
        raise IngestError(path, ERR_PDF_TOO_LARGE_INSIDE) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AssertionError, IndexError,
            AttributeError, ZeroDivisionError, RecursionError) as exc:
        # pypdf raises these (not only its own PdfReadError) on malformed objects.
        raise IngestError(path, ERR_READ_FAILED.replace("{reason}", pdf_reason(exc))) from exc
    return raw


def _pdf_blocks(raw: list[tuple[str, int | None]], title: str) -> list[Block]:
    """Parse PDF lines; pages without a detected heading are named by their page."""
    # pypdf gives no blank lines: treat a line ending a sentence, followed by a capital, as
    # a paragraph end so the plain-text rules can find headings and lists.
    spaced: list[tuple[str, int | None]] = []
    for i, (text, page) in enumerate(raw):
        spaced.append((text.rstrip(), page))
        nxt = raw[i + 1][0].strip() if i + 1 < len(raw) else ""
        if text.rstrip().endswith((".", ":", "?", "”")) and _UPPER_START.match(nxt):
            spaced.append(("", page))
    blocks = parse_lines(spaced, title)
    return [
        b if b.section_path != (title,) else Block(b.text, (PAGE_SECTION.format(page=b.page),),
                                                   b.page, b.kind)
        for b in blocks
    ]


def read_pdf_blocks(path: Path, title: str) -> list[Block]:
    """Read a PDF's text layer into blocks (raises IngestError for encrypted or broken files)."""
    return _pdf_blocks(_read_pdf(path), title)


def read_markdown_blocks(path: Path, title: str) -> list[Block]:
    """Read a Markdown file into blocks; its headings become the section path."""
    return parse_markdown(_nonempty_text(path), title)


def read_text_blocks(path: Path, title: str) -> list[Block]:
    """Read a plain-text file (such as PDF-extracted text) into blocks."""
    return parse_lines([(line, None) for line in _nonempty_text(path).splitlines()], title)


def _nonempty_text(path: Path) -> str:
    text = _read_text_file(path)
    if not text.strip():
        raise IngestError(path, ERR_EMPTY_FILE)
    return text
