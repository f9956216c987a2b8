"""Oracle for the persona set: how much could the best choice of six points cover?

For each answerable persona item the gold key points are matched against the quotable points
(a sentence with its list, or with the sentence it refers back to, as broad answers quote them)
of three pools:

- retrieved: the sections of the six passages retrieval returns;
- answer sections: the sections the broad answerer draws its points from (the most relevant
  sections by section score, as many as it uses);
- report: every section of every indexed document.

The best selection of at most six points from a pool is found greedily (each next point the one
covering most gold points not yet covered; greedy max coverage is within 1 - 1/e of the optimum
and in practice at it for sets this small). The same is done with a length budget of 1,500
characters of quoted text. Comparing the pools with the measured coverage separates what
retrieval misses (the pool lacks the points) from what selection misses (the pool has them, the
answer does not). Gold points are used here only to measure; nothing of this reaches answers.

Run: `python -m eval.persona_oracle` (ASF_DATA_DIR picks the index).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from assistant.pipeline import Assistant
from assistant.retrieval.topics import TopicIndex
from eval.persona import PersonaItem, load_persona, normalise

MAX_POINTS = 6
BUDGET = 1500


@dataclass
class Unit:
    """A quotable point: its text (sentence, list, or sentence with its lead) and section."""

    text: str
    section: int


def quotable_units(assistant: Assistant) -> tuple[TopicIndex, list[Unit]]:
    """Return the topic index and every sentence as the point a broad answer would quote."""
    topics = assistant.retriever.topics()
    units: list[Unit] = []
    for sentence in topics.sentences:
        point = assistant.broad._point(topics, sentence, 0.0)
        if point is None:
            text = sentence.unit.text
        else:
            text = " ".join([point.text, *point.items])
        units.append(Unit(text, sentence.section))
    return topics, units


def best_cover(points: list[list[str]], units: list[Unit], budget: int | None = None
               ) -> float:
    """Return the share of gold points the best (greedy) choice of ≤6 units covers."""
    if not points:
        return 0.0
    norms = [normalise(u.text) for u in units]
    gold = [[normalise(a) for a in p] for p in points]
    covers = [frozenset(i for i, alts in enumerate(gold) if any(a in n for a in alts))
              for n in norms]
    left = set(range(len(points)))
    size = 0
    for _ in range(MAX_POINTS):
        best, gain = None, 0
        for k, c in enumerate(covers):
            if budget is not None and size + len(units[k].text) > budget:
                continue
            g = len(c & left)
            if g > gain or (g == gain and g and best is not None
                            and len(units[k].text) < len(units[best].text)):
                best, gain = k, g
        if best is None or not gain:
            break
        left -= covers[best]
        size += len(units[best].text)
    return 1 - len(left) / len(points)


def standalone(assistant: Assistant, item: PersonaItem) -> str:
    """Return the item's question made standalone, its earlier turns asked first."""
    history: list[dict[str, str]] = []
    for turn in item.history:
        earlier = assistant.ask(turn, list(history))
        history += [{"role": "user", "content": turn},
                    {"role": "assistant", "content": earlier.answer}]
    return assistant.standalone(item.question, history)


def main() -> int:
    """Print the oracle table: per pool, mean coverage and share of items half covered."""
    import argparse

    parser = argparse.ArgumentParser(description="Orakel för personasetet")
    parser.add_argument("--only", default="", help="kommaseparerade id:n")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args()
    items = [i for i in load_persona() if i.answerable]
    if args.only:
        keep = set(args.only.split(","))
        items = [i for i in items if i.id in keep]
    assistant = Assistant()
    assistant.ensure_index()
    topics, units = quotable_units(assistant)
    section_of = {c.chunk_id: s for s, sec in enumerate(topics.sections) for c in sec.chunks}
    shape = assistant.broad.shape
    rows: dict[str, list[float]] = {}
    for item in items:
        query = standalone(assistant, item)
        retrieval = assistant.retriever.search(query)
        retrieved = {section_of[p.chunk.chunk_id] for p in retrieval.passages
                     if p.chunk.chunk_id in section_of}
        scores = assistant.broad.section_scores(query, retrieval, topics)
        ranked = [int(i) for i in scores.argsort()[::-1]]
        answer_sections = set(ranked[:shape.sections])
        wider = set(ranked[:8])
        pools = {"retrieved sections": retrieved,
                 f"top {shape.sections} sections (answer's)": answer_sections,
                 "top 8 sections": wider,
                 "whole report": None}
        for name, pool in pools.items():
            chosen = [u for u in units if pool is None or u.section in pool]
            for budget in (None, BUDGET):
                label = f"{name}, {'≤6 points' if budget is None else f'≤6 points ≤{BUDGET} chars'}"
                rows.setdefault(label, []).append(best_cover(item.points, chosen, budget))
        if args.verbose:
            print(item.id, {k: round(v[-1], 2) for k, v in rows.items() if "chars" not in k})
    print(f"{len(items)} besvarbara frågor ur eval/persona.yaml\n")
    print("| urval (orakel) | täckning | minst hälften |")
    print("|---|---|---|")
    for label, values in rows.items():
        half = sum(v >= 0.5 for v in values) / len(values)
        print(f"| {label} | {statistics.mean(values):.3f} | {half:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
