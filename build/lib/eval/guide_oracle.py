"""Upper bounds for guide cards on the persona set: is matching or card content the limit?

For every answerable first-turn persona item this scores the key-point coverage of
  - the card the assistant matched (its points alone),
  - the best card for the item (the oracle: whichever card's points cover most),
  - the assistant's whole answer (card and engine),
  - the oracle card's points plus the assistant's answer.
It reads the gold key points only to score, as eval/persona.py does; nothing it finds goes
back into the cards or the settings.

    python -m eval.guide_oracle
"""

from __future__ import annotations

import statistics

from assistant.pipeline import Assistant
from eval.persona import load_persona, point_found


def coverage(points: list[list[str]], text: str) -> float:
    """Return the share of key points the text holds."""
    return sum(point_found(p, text) for p in points) / len(points) if points else 0.0


def main() -> int:
    assistant = Assistant()
    assistant.ensure_index()
    cards = {c.id: "\n".join(q for q, _ in c.points) for c in assistant.guide_cards()}
    rows = []
    for item in load_persona():
        if not item.answerable or item.history:
            continue
        answer = assistant.ask(item.question)
        matched = cards.get(answer.guide, "")
        oracle_id, oracle = max(cards.items(), key=lambda kv: coverage(item.points, kv[1]))
        rows.append((coverage(item.points, matched), coverage(item.points, oracle),
                     coverage(item.points, "" if answer.refused else answer.answer),
                     coverage(item.points, f"{oracle}\n{answer.answer}"),
                     answer.guide == oracle_id, bool(answer.guide)))
    n = len(rows)
    print(f"{n} svarbara förstafrågor ur persona-setet")
    print("| mått | täckning |")
    print("|---|---|")
    for label, k in (("matchat kort (bara punkterna)", 0), ("bästa kort (orakel)", 1),
                     ("hela svaret", 2), ("orakelkort + hela svaret", 3)):
        print(f"| {label} | {statistics.mean(r[k] for r in rows):.3f} |")
    print(f"| svar som inleds med ett kort | {sum(r[5] for r in rows) / n:.3f} |")
    print(f"| matchat kort = orakelkort | {sum(r[4] for r in rows) / n:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
