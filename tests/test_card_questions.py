"""The card-choice questions (eval/card_questions.yaml): each names a guide card that exists and
is written for the question's group, so `python -m eval.card_choice` measures what it says.

Uses only yaml + pathlib, as tests/test_followup_sets.py does.
"""
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_every_question_names_a_card_written_for_its_group() -> None:
    cards = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
             for path in (ROOT / "corpus" / "guide").glob("*.yaml")}
    items = yaml.safe_load((ROOT / "eval" / "card_questions.yaml").read_text(encoding="utf-8"))
    wrong = [it for it in items
             if it["card"] not in cards or it["role"] not in cards[it["card"]]["roles"]]
    assert wrong == []
    questions = [it["question"] for it in items]
    assert len(questions) == len(set(questions))
    assert Counter(it["role"] for it in items) == {"company": 22, "asf": 22, "advisor": 22}
    # Not a card's own wording: no question is one of the cards' titles or ways of asking.
    own = {q for card in cards.values() for q in [card["title"], *card["asked"]]}
    assert not own & set(questions)
