"""Which guide card leads the answer to questions written for a known card (card_questions.yaml).

The questions were written by a helper that saw only the cards' titles, roles and points, so
unlike `eval.guide_match` (the cards' own ways of asking left out in turn) they do not share
the ways of asking's wording. Each is asked as a first question, in its group's role and
without a role, and counted when its card leads the answer, when it ranks first among the
cards (whether or not the question's kind gets a card) and in the first three; "no card"
counts answers that lead with none.

    python -m eval.card_choice [-v]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

QUESTIONS = Path(__file__).with_name("card_questions.yaml")


def load_questions(path: Path = QUESTIONS) -> list[dict[str, str]]:
    """Read the questions: card, role and question each."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def measure(assistant: Any, items: list[dict[str, str]], verbose: bool = False
            ) -> dict[str, dict[str, int]]:
    """Return, per reading (in the group's role, without one), how many questions' cards
    lead, rank first and rank in the first three, and how many answers lead with no card."""
    from assistant.answering.routes import Request

    out = {"role": dict.fromkeys(("leads", "first", "top3", "none"), 0),
           "plain": dict.fromkeys(("leads", "first", "top3", "none"), 0)}
    for item in items:
        for reading, role in (("role", item["role"]), ("plain", None)):
            answer = assistant.ask(item["question"], [], role)
            request = Request(item["question"], [], role, assistant, assistant.settings.answer)
            ids = [m.entry.id for m in request.cards]
            rank = ids.index(item["card"]) + 1 if item["card"] in ids else len(ids) + 1
            counts = out[reading]
            counts["leads"] += answer.guide == item["card"]
            counts["first"] += rank == 1
            counts["top3"] += rank <= 3
            counts["none"] += not answer.guide
            if verbose and reading == "role":
                mark = "ok" if answer.guide == item["card"] else (answer.guide or "-")
                print(f"{mark:<36} rank {rank:>2} {item['card']:<36} {item['question'][:70]}")
    return out


def main() -> int:
    from assistant.pipeline import Assistant

    parser = argparse.ArgumentParser(description="Vilket vägledningskort leder svaret")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args()
    assistant = Assistant()
    assistant.ensure_index()
    items = load_questions()
    for reading, counts in measure(assistant, items, args.verbose).items():
        print(f"{reading}: " + ", ".join(f"{k} {v}/{len(items)}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
