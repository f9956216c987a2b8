"""Ingest: documents -> passages ("chunks") with stable ids, never spanning two sections.

Consecutive blocks of one section are packed up to a target size; a list always stays with its
lead-in sentence; an oversized block is cut at sentence (or list item) boundaries.
"""

from __future__ import annotations

import hashlib

from assistant.text import cut_long, split_sentences
from assistant.types import SECTION_SEPARATOR, Block, Chunk, SourceDocument, Unit


def _sentences(text: str, limit: int) -> list[str]:
    """Return the sentences of a text, each sentence longer than `limit` cut into pieces."""
    return [piece for sentence in split_sentences(text) for piece in cut_long(sentence, limit)]


def _split_block(block: Block, limit: int) -> list[str]:
    """Cut an oversized block into parts of at most about `limit` characters.

    A block up to 1.5 × limit stays whole unless one of its sentences (or lines) alone is
    longer than limit: such a sentence is cut at whitespace, so no part, and no sentence an
    answer quotes, exceeds the limit (a 200,000-character line once became one passage and
    a 200,004-character answer).
    """
    if len(block.text) <= limit:
        return [block.text]
    longest = max((len(s) for line in block.text.split("\n") for s in split_sentences(line)),
                  default=0)
    if len(block.text) <= limit * 1.5 and longest <= limit:
        return [block.text]
    if block.kind == "list":
        lines = block.text.split("\n")
        lead = lines[0] if not lines[0].startswith("- ") else ""
        items = [f"- {piece}" if line.startswith("- ") else piece
                 for line in (lines[1:] if lead else lines)
                 for piece in cut_long(line[2:] if line.startswith("- ") else line, limit)]
        parts: list[str] = []
        if len(lead) > limit:
            # Only the lead-in's last sentence (or piece) stays with the items.
            *before, lead = _sentences(lead, limit)
            parts += _pack(before, limit)
        # Later parts repeat (the end of) the lead-in so each part still says what it lists.
        repeat = lead if len(lead) <= 200 else (split_sentences(lead) or [lead])[-1]
        current = [lead] if lead else []
        for item in items:
            size = sum(len(x) + 1 for x in current)
            if len(current) > 1 and size + len(item) > limit:
                parts.append("\n".join(current))
                current = [repeat] if repeat else []
            current.append(item)
        if current and current != [repeat]:
            parts.append("\n".join(current))
        return parts
    return _pack(_sentences(block.text, limit), limit)


def _pack(sentences: list[str], limit: int) -> list[str]:
    """Join consecutive sentences into pieces of at most `limit` characters."""
    pieces: list[str] = []
    text = ""
    for sentence in sentences:
        if text and len(text) + len(sentence) + 1 > limit:
            pieces.append(text)
            text = sentence
        else:
            text = f"{text} {sentence}".strip()
    if text:
        pieces.append(text)
    return pieces


def chunk_document(doc: SourceDocument, chunk_size: int = 700,
                   section_in_text: bool = True) -> list[Chunk]:
    """Pack a document's blocks into chunks of about chunk_size characters."""
    groups: list[tuple[Block, list[str]]] = []     # (first block, texts) per chunk
    current: list[str] = []
    first: Block | None = None
    for block in doc.blocks:
        same_section = first is not None and block.section_path == first.section_path \
            and (block.kind == "footnote") == (first.kind == "footnote")
        for part in _split_block(block, chunk_size):
            size = sum(len(t) + 2 for t in current)
            if first is None or not same_section or size + len(part) > chunk_size:
                if current and first is not None:
                    groups.append((first, current))
                current, first = [], block
                same_section = True
            current.append(part)
    if current and first is not None:
        groups.append((first, current))

    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for block, texts in groups:
        text = "\n\n".join(texts)
        section = SECTION_SEPARATOR.join(block.section_path)
        digest = hashlib.sha1(f"{doc.source}\x00{section}\x00{text}".encode()).hexdigest()[:16]
        count = seen.get(digest, 0)
        seen[digest] = count + 1
        chunk_id = digest if count == 0 else f"{digest}-{count}"
        indexed = f"{section}\n{text}" if section_in_text else text
        chunks.append(Chunk(chunk_id=chunk_id, source=doc.source, title=doc.title,
                            section_path=block.section_path, page=block.page, text=text,
                            indexed_text=indexed,
                            kind=block.kind if block.kind in ("footnote", "figure") else "text",
                            seq=len(chunks)))
    return chunks


def split_units(text: str) -> list[Unit]:
    """Split a passage into sentences and list items, in reading order."""
    units: list[Unit] = []
    for para in text.split("\n\n"):
        lines = para.split("\n")
        if any(line.startswith("- ") for line in lines):
            head = [line for line in lines if not line.startswith("- ")]
            items = [line[2:] for line in lines if line.startswith("- ")]
            for sentence in split_sentences(" ".join(head)):
                units.append(Unit(sentence, len(units)))
            lead = None
            if units and units[-1].text.endswith(":"):
                units[-1].lead_in = True
                units[-1].items = items
                lead = units[-1].position
            for item in items:
                units.append(Unit(item, len(units), lead=lead))
        else:
            for sentence in split_sentences(para.replace("\n", " ")):
                units.append(Unit(sentence, len(units)))
    return units
