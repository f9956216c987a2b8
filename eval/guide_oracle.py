"""Upper bounds for guide cards on the persona set: is matching or card content the limit?

For every answerable first-turn persona item this scores the key-point coverage of
  - the card the assistant matched (its points alone),
  - the best card for the item (the oracle: whichever card's points cover most),
  - the assistant's whole answer (card and engine),
  - the oracle card's points plus the assistant's answer.
With `--followups` it scores the answerable follow-ups of the persona set's conversations the
same way, and beside them the previous answer (was the point said already?) and the follow-up
asked with no conversation at all.
It reads the gold key points only to score, as eval/persona.py does; nothing it finds goes
back into the cards or the settings.

    python -m eval.guide_oracle [--followups]
"""

from __future__ import annotations

import argparse
import statistics

from assistant.pipeline import Assistant
from eval.persona import load_persona, point_found


def coverage(points: list[list[str]], text: str) -> float:
    """Return the share of key points the text holds."""
    return sum(point_found(p, text) for p in points) / len(points) if points else 0.0


def followups(assistant: Assistant, cards: dict[str, str]) -> int:
    """Print the follow-up upper bounds (see the module's docstring)."""
    rows = []
    for item in load_persona():
        if not item.answerable or not item.history:
            continue
        history: list[dict[str, str]] = []
        for turn in item.history:
            earlier = assistant.ask(turn, list(history))
            history += [{"role": "user", "content": turn},
                        {"role": "assistant", "content": earlier.answer}]
        answer = assistant.ask(item.question, history)
        alone = assistant.ask(item.question)
        oracle = max(cards.values(), key=lambda text: coverage(item.points, text))
        said = history[-1]["content"]
        text = "" if answer.refused else answer.answer
        rows.append((coverage(item.points, text), coverage(item.points, said),
                     coverage(item.points, "" if alone.refused else alone.answer),
                     coverage(item.points, oracle),
                     coverage(item.points, f"{oracle}\n{text}"),
                     coverage(item.points, f"{said}\n{text}")))
    print(f"{len(rows)} svarbara följdfrågor ur persona-setets samtal")
    print("| mått | täckning |")
    print("|---|---|")
    for label, k in (("svaret på följdfrågan", 0), ("föregående svar", 1),
                     ("följdfrågan ställd utan samtal", 2), ("bästa kort (orakel)", 3),
                     ("orakelkort + svaret", 4), ("föregående svar + svaret", 5)):
        print(f"| {label} | {statistics.mean(r[k] for r in rows):.3f} |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Övre gränser för vägledningskorten")
    parser.add_argument("--followups", action="store_true", help="samtalens följdfrågor")
    args = parser.parse_args()
    assistant = Assistant()
    assistant.ensure_index()
    cards = {c.id: "\n".join(q for q, _ in c.points) for c in assistant.guide_cards()}
    if args.followups:
        return followups(assistant, cards)
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
