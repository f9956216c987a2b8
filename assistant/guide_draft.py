"""App: draft guide cards for a document with the language model (`asf guide draft FILE`).

Documents users add get no guide cards unless someone writes them. With an LLM backend
configured, this proposes one card per section of a document for a person to check: the model
suggests the question, the roles, the ways of asking and the points, and only points that
stand verbatim in the section are kept (a quote the model reworded or made up is struck and
counted). A draft is written only when it is a valid card (6-10 ways of asking, 3-7 verbatim
points), to a drafts folder, never into corpus/guide/: choosing and ordering the points stays
an editor's work. Text in the document is material to quote, not instructions: whatever a
section says, nothing but its own sentences can end up as a point.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from assistant import prompts
from assistant.answering.llm import chat_model, describe_reason
from assistant.cases.guide import ASKED_RANGE, POINTS_RANGE, load_guide_card, section_texts
from assistant.config import Settings
from assistant.ingest.chunking import chunk_document
from assistant.ingest.loaders import load_document, size_over
from assistant.text import collapse, split_sentences
from assistant.types import SECTION_SEPARATOR, IngestError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

# A section shorter than this rarely holds three points worth quoting.
MIN_SECTION_CHARS = 300
# Most characters of a section sent in one prompt (about 2,000 tokens of Swedish): with the
# instructions and a reply of `llm_max_tokens` (1,024) it fits a local model's 4k context.
SECTION_MAX_CHARS = 6000
_ID_LENGTH = 60
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class DraftError(RuntimeError):
    """Drafting cannot go on; the message is Swedish and says what to do."""


@dataclass
class SectionDraft:
    """What one section gave: the draft's path, or the reason there is none."""

    section: str
    path: Path | None = None
    points: int = 0
    dropped: int = 0            # quotes the model gave that are not verbatim in the section
    reason: str = ""


@dataclass
class DraftReport:
    """Every section's outcome, in document order."""

    folder: Path
    sections: list[SectionDraft] = field(default_factory=list)

    @property
    def written(self) -> list[Path]:
        """Return the drafts written."""
        return [s.path for s in self.sections if s.path is not None]


def sections_of(path: Path, limit_mb: int | None = None) -> list[tuple[str, str]]:
    """Return the document's sections as (section, text), in order, skipping short ones.

    The text is what `asf guide --check` compares quotes with (`section_texts`), cut at a
    sentence boundary to SECTION_MAX_CHARS. A file over `limit_mb` (ASF_MAX_UPLOAD_MB, as
    for indexing) is refused before it is read.
    """
    size_mb = size_over(path, limit_mb) if limit_mb is not None else None
    if size_mb is not None:
        raise DraftError(prompts.ERR_INGEST_TOO_LARGE.format(
            name=path.name, size_mb=size_mb, limit_mb=limit_mb))
    chunks = chunk_document(load_document(path), 100_000)
    sections = []
    for section_path, text in section_texts(chunks).items():
        if len(text) < MIN_SECTION_CHARS:
            continue
        if len(text) > SECTION_MAX_CHARS:
            kept = ""
            for sentence in split_sentences(text):
                if len(kept) + len(sentence) + 1 > SECTION_MAX_CHARS:
                    break
                kept = f"{kept} {sentence}".strip()
            text = kept or text[:SECTION_MAX_CHARS]
        sections.append((SECTION_SEPARATOR.join(section_path), text))
    if not sections:
        raise DraftError(prompts.ERR_GUIDE_DRAFT_NO_SECTIONS.format(
            name=path.name, chars=MIN_SECTION_CHARS))
    return sections


def card_id(title: str, taken: set[str]) -> str:
    """Return a file name for a card (a-z, 0-9 and hyphens, from its title), not in taken."""
    ascii_title = unicodedata.normalize("NFKD", title.lower()).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-")[:_ID_LENGTH].strip("-") or "kort"
    candidate, n = slug, 2
    while candidate in taken:
        candidate, n = f"{slug}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return list(dict.fromkeys(collapse(str(v)) for v in value
                              if isinstance(v, str | int | float) and str(v).strip()))


def _proposal(reply: str) -> dict[str, Any] | None:
    found = _JSON_OBJECT.search(reply or "")
    if not found:
        return None
    try:
        data = json.loads(found.group(0))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def build_card(reply: str, section: str, text: str, taken: set[str]
               ) -> tuple[dict[str, Any] | None, SectionDraft]:
    """Return the card a model's reply proposes for a section (None with the reason when it
    is not a valid card once the points not verbatim in the section are struck)."""
    outcome = SectionDraft(section)
    data = _proposal(reply)
    if data is None:
        outcome.reason = prompts.GUIDE_DRAFT_REASON_NOT_JSON
        return None, outcome
    if data.get("skip") is True:
        outcome.reason = prompts.GUIDE_DRAFT_REASON_SKIP
        return None, outcome
    title = collapse(str(data.get("title") or ""))
    if not title:
        outcome.reason = prompts.GUIDE_DRAFT_REASON_NO_TITLE
        return None, outcome
    roles = [r for r in _strings(data.get("roles")) if r in prompts.GUIDE_ROLES] \
        or list(prompts.GUIDE_ROLES)
    asked = [a for a in _strings(data.get("asked")) if a != title][:ASKED_RANGE[1]]
    raw_points = data.get("points")
    quotes = _strings([p.get("quote") if isinstance(p, dict) else p
                       for p in (raw_points if isinstance(raw_points, list) else [])])
    kept = [q for q in quotes if q in text][:POINTS_RANGE[1]]
    outcome.dropped = len([q for q in quotes if q not in text])
    if len(kept) < POINTS_RANGE[0]:
        outcome.reason = prompts.GUIDE_DRAFT_REASON_FEW_POINTS.format(count=len(kept))
        return None, outcome
    if len(asked) < ASKED_RANGE[0]:
        outcome.reason = prompts.GUIDE_DRAFT_REASON_FEW_ASKED.format(count=len(asked))
        return None, outcome
    outcome.points = len(kept)
    card = {"id": card_id(title, taken), "title": title, "roles": roles, "asked": asked,
            "points": [{"quote": q, "section": section} for q in kept]}
    return card, outcome


def draft_cards(path: Path, settings: Settings, folder: Path | None = None,
                model: BaseChatModel | None = None,
                progress: Callable[[str], None] | None = None) -> DraftReport:
    """Ask the model for a card per section of the document and write the valid ones.

    folder: where drafts go (default data_dir/guide-drafts/<document name>); an existing
    draft or corpus card is never overwritten (ids get a number). Raises DraftError when no
    model is configured or the endpoint fails; drafts written before that are kept.
    """
    if settings.backend != "llm" and model is None:
        raise DraftError(prompts.ERR_GUIDE_DRAFT_NEEDS_LLM)
    path = Path(path)
    sections = sections_of(path, settings.max_upload_mb)
    folder = Path(folder or settings.data_dir / "guide-drafts" / path.stem)
    folder.mkdir(parents=True, exist_ok=True)
    taken = {p.stem for p in folder.glob("*.yaml")}
    taken |= {p.stem for p in (settings.corpus_dir / "guide").glob("*.yaml")}
    chain = _chain(model or chat_model(settings))
    report = DraftReport(folder)
    say = progress or (lambda _message: None)
    for n, (section, text) in enumerate(sections, start=1):
        say(prompts.MSG_GUIDE_DRAFT_SECTION.format(n=n, total=len(sections), section=section))
        try:
            reply = chain.invoke({"section": section, "text": text})
        except Exception as exc:  # noqa: BLE001 - any endpoint failure ends the run, safely
            reason, hint = describe_reason(exc, settings)
            raise DraftError(prompts.ERR_GUIDE_DRAFT_ENDPOINT.format(
                reason=reason, hint=hint, folder=folder).replace("  ", " ")) from None
        card, outcome = build_card(reply, section, text, taken)
        if card is not None:
            outcome.path = _write(card, folder, path.name, section, settings.llm_model)
            say(prompts.MSG_GUIDE_DRAFT_WRITTEN.format(
                path=outcome.path, points=outcome.points,
                dropped=prompts.MSG_GUIDE_DRAFT_DROPPED.format(count=outcome.dropped)
                if outcome.dropped else ""))
        else:
            say(prompts.MSG_GUIDE_DRAFT_SKIPPED.format(reason=outcome.reason))
        report.sections.append(outcome)
    return report


def _chain(model: BaseChatModel) -> Any:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages(
        [("system", prompts.GUIDE_DRAFT_SYSTEM_PROMPT), ("human", prompts.GUIDE_DRAFT_USER_PROMPT)])
    return prompt | model | StrOutputParser()


def _write(card: dict[str, Any], folder: Path, file: str, section: str, model: str) -> Path:
    """Write a draft under a name no other draft or card has, and read it back as a card."""
    target = folder / f"{card['id']}.yaml"
    header = prompts.GUIDE_DRAFT_HEADER.format(model=model, file=file, section=section)
    target.write_text(header + yaml.safe_dump(card, allow_unicode=True, sort_keys=False,
                                              width=100), encoding="utf-8")
    try:
        load_guide_card(target)         # what build_card checked, as the loader sees it
    except IngestError:
        target.unlink(missing_ok=True)
        raise
    return target
