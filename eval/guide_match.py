"""How well a question finds its guide card, measured on the cards' own ways of asking.

Leave one out: each way of asking of each card is matched, as a user's question would be,
against the cards with that one way of asking removed. This needs no eval item, so it can set
the matching settings (`answer.guide_*`) without fitting the eval sets. It prints the share
of questions whose own card comes first, for the default scoring and for questions alone, and
for thresholds from 0.50 to 0.80 how many would lead with their own card, another or none.

    python -m eval.guide_match
"""

from __future__ import annotations

from assistant.pipeline import Assistant
from assistant.retrieval.guide import GuideIndex
from assistant.retrieval.hybrid import point_vectors

THRESHOLDS = [round(0.5 + 0.025 * i, 3) for i in range(13)]


def leave_one_out(assistant: Assistant, top: int, point_weight: float
                  ) -> list[tuple[str, str, float]]:
    """Return (own card, first card, its score) for every way of asking, left out in turn."""
    guide = assistant.retriever.guide()
    vectors = assistant.index.guide_vectors()
    points = point_vectors(assistant.retriever.topics(), guide.entries)
    by_chunk = {e.chunk.chunk_id: e.id for e in guide.entries}
    out = []
    for k, (chunk_id, _, vector) in enumerate(vectors):
        others = GuideIndex(guide.entries, vectors[:k] + vectors[k + 1:], points)
        best = others.match(vector, top=top, point_weight=point_weight)[0]
        out.append((by_chunk[chunk_id], best.entry.id, best.similarity))
    return out


def main() -> int:
    assistant = Assistant()
    assistant.ensure_index()
    settings = assistant.settings.answer
    variants = {"frågor: bästa": (1, 0.0), "frågor: bästa tre": (3, 0.0),
                "inställt": (settings.guide_question_top, settings.guide_point_weight)}
    for name, (top, weight) in variants.items():
        rows = leave_one_out(assistant, top, weight)
        n = len(rows)
        right = sum(own == first for own, first, _ in rows)
        print(f"{name} (top={top}, punktvikt={weight}): {n} frågor, "
              f"rätt kort först {right / n:.3f}")
    print("\n| tröskel | eget kort | annat kort | inget kort |")
    print("|---|---|---|---|")
    for t in THRESHOLDS:
        own = sum(o == f and s >= t for o, f, s in rows) / n
        other = sum(o != f and s >= t for o, f, s in rows) / n
        print(f"| {t:.3f} | {own:.3f} | {other:.3f} | {1 - own - other:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
