"""Count false refusals of the outside-subject rule on the report's own words.

Every section heading and every 10th sentence of the report becomes a question ("Vad säger
rapporten om <heading>?"), and every guide card's title and example questions are asked as
they stand; none should name a subject family the report does not name.
Run: PYTHONPATH=. python scripts/outside_subjects_check.py
"""

from __future__ import annotations

from pathlib import Path

import yaml

from assistant.answering.answerability import outside_subject
from assistant.ingest.loaders import load_document
from assistant.retrieval.question import subjects
from assistant.text import split_sentences

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
REPORT = CORPUS / "sweco-asf-samverkan-naringslivet.txt"


def card_questions() -> list[str]:
    """Return every guide card's title and example questions."""
    out: list[str] = []
    for path in sorted((CORPUS / "guide").glob("*.yaml")):
        card = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out += [str(card.get("title", "")), *(str(q) for q in card.get("asked") or [])]
    return [q for q in out if q]


def main() -> None:
    doc = load_document(REPORT)
    covered = frozenset(family for b in doc.blocks for family, _ in subjects(b.text))
    headings = sorted({h for b in doc.blocks for h in b.section_path})
    sentences = [s for b in doc.blocks for s in split_sentences(b.text) if s.strip()]
    questions = ([f"Vad säger rapporten om {h}?" for h in headings if h]
                 + [f"Vad säger rapporten om att {s.rstrip('.').strip()}?"
                    for s in sentences[::10]])
    cards = card_questions()
    questions += cards
    refused = [(q, s) for q in questions if (s := outside_subject(q, covered)) is not None]
    print(f"families the report names: {', '.join(sorted(covered))}")
    print(f"questions: {len(questions)} ({len(headings)} headings, {len(sentences[::10])} "
          f"sentences of {len(sentences)}, {len(cards)} guide-card questions); "
          f"naming a subject: {sum(bool(subjects(q)) for q in questions)}; "
          f"refused: {len(refused)}")
    for question, subject in refused:
        print(f"  {subject!r}: {question}")


if __name__ == "__main__":
    main()
