"""How well a question finds its guide card, measured on the cards' own ways of asking.

Leave one out: each way of asking of each card is matched, as a user's question would be,
against the cards with that one way of asking removed. This needs no eval item, so it can set
the matching settings (`answer.guide_*`) without fitting the eval sets. It prints the share of
questions whose own card comes first for several scorings, and for thresholds from 0.35 to
0.80 how many would lead with their own card, another or none (the first card by score, held
to the threshold on its similarity). With retrieval agreement each question is also searched,
so by default every fourth question is used (`--every`).

`--situation` asks each Swedish way of asking behind a sentence on who asks (one per role,
written for this, the same for every card), as users put their situation first, and counts
the own card first when the question is matched as a whole and when its asking sentence is
matched too (`answer.guide_focus_weight`).

`--followup` asks each Swedish way of asking as a follow-up of another card's title, made
standalone as the deterministic rewrite does ("<question> (<previous question>)"), and counts
the own card first when the standalone question is matched as it stands and when the
follow-up's own search is matched too.

    python -m eval.guide_match [--every 4] [--situation | --followup]
"""

from __future__ import annotations

import argparse
from typing import Any

from assistant.config import AnswerSettings
from assistant.pipeline import Assistant
from assistant.retrieval.followup import asking_sentence, asks_own_aspect, search_text
from assistant.retrieval.guide import GuideIndex, mix
from assistant.retrieval.hybrid import Retrieval, point_vectors

# Who asks, put before a card's way of asking (by the card's first role).
SITUATIONS = {
    "company": "Vi är ett medelstort logistikföretag i Jönköping och funderar på att köpa "
               "tjänster av ett arbetsintegrerande socialt företag.",
    "asf": "Jag driver ett litet ASF i Västerbotten med tolv anställda som gör snickeri, tvätt "
           "och lokalvård.",
    "advisor": "Jag arbetar på näringslivskontoret i en mellanstor kommun och vill att fler "
               "företag gör affärer med sociala företag.",
}
SWEDISH = set("åäöÅÄÖ")

SHIPPED = "inställt (+ överensstämmelse med sökningen och gemensamma ord)"
THRESHOLDS = [round(0.35 + 0.025 * i, 3) for i in range(19)]


def nearby() -> dict[str, float]:
    """Return the near-copy scorings measured: name -> threshold."""
    return {f"inställt, en nästan likadan fråga (≥ {t:.2f}) leder": t
            for t in (0.75, 0.8, 0.85, 0.9)}


def leave_one_out(assistant: Assistant, every: int) -> dict[str, list[tuple[str, str, float]]]:
    """Return, per scoring, (own card, first card, its similarity) for the questions left out."""
    settings = assistant.settings.answer
    guide = assistant.retriever.guide()
    vectors = assistant.index.guide_vectors()
    points = point_vectors(assistant.retriever.topics(), guide.entries)
    texts = assistant.index.guide_questions()
    by_chunk = {e.chunk.chunk_id: e.id for e in guide.entries}
    scorings = {"bästa frågan": (1, 0.0, 0.0), "tre bästa frågorna": (3, 0.0, 0.0),
                "tre bästa + bästa citerade mening": (3, settings.guide_point_weight, 0.0),
                SHIPPED: (
                    settings.guide_question_top, settings.guide_point_weight,
                    settings.guide_retrieval_weight)}
    near = nearby()
    scorings.update({name: scorings[SHIPPED]
                     for name in near})
    out: dict[str, list[tuple[str, str, float]]] = {name: [] for name in scorings}
    for k, (chunk_id, position, vector) in enumerate(vectors):
        if k % every:
            continue
        others = without(guide, vectors, points, texts, k)
        text = texts[(chunk_id, position)]
        retrieved = [p.chunk.chunk_id for p in assistant.retriever.search(text).passages]
        for name, (top, weight, agreement) in scorings.items():
            shipped = name == SHIPPED or name in near
            best = others.match(vector, top=top, point_weight=weight, retrieved=retrieved,
                                retrieval_weight=agreement, near_copy=near.get(name, 0.0),
                                words=text if shipped else "",
                                lexical_weight=settings.guide_lexical_weight)[0]
            out[name].append((by_chunk[chunk_id], best.entry.id, best.similarity))
    return out


def situated(assistant: Assistant, every: int) -> dict[str, tuple[int, int]]:
    """Return, per way of matching, (own card first, questions) for the Swedish ways of asking
    put behind a situation sentence (and, as a baseline, asked alone), each left out in turn."""
    settings = assistant.settings.answer
    guide = assistant.retriever.guide()
    vectors = assistant.index.guide_vectors()
    points = point_vectors(assistant.retriever.topics(), guide.entries)
    texts = assistant.index.guide_questions()
    by_chunk = {e.chunk.chunk_id: e for e in guide.entries}
    rows = [(k, by_chunk[cid], texts[(cid, position)], vector)
            for k, (cid, position, vector) in enumerate(vectors)
            if not k % every and SWEDISH & set(texts[(cid, position)])]
    asked = [f"{SITUATIONS.get(e.roles[0] if e.roles else '', SITUATIONS['company'])} {text}"
             for _, e, text, _ in rows]
    whole = [assistant.index.embeddings.embed_query(q) for q in asked]   # one at a time, as asked
    counts = {"ensam fråga": 0, "efter en mening om vem som frågar, hela frågan": 0,
              "efter en mening om vem som frågar, med frågemeningen (inställt)": 0}

    for (k, entry, text, vector), question, vector_of_whole in zip(rows, asked, whole,
                                                                    strict=True):
        others = without(guide, vectors, points, texts, k)
        alone = assistant.retriever.search(text)
        together = assistant.retriever.search(question)
        counts["ensam fråga"] += first_card(settings, others, vector, ids(alone),
                                            text) == entry.id
        whole_first = first_card(settings, others, vector_of_whole, ids(together), question)
        counts["efter en mening om vem som frågar, hela frågan"] += whole_first == entry.id
        focused = asking_sentence(question) == text and settings.guide_focus_weight
        tuned = (first_card(settings, others,
                            mix(vector_of_whole, vector, settings.guide_focus_weight),
                            ids(alone), text) if focused else whole_first)
        counts["efter en mening om vem som frågar, med frågemeningen (inställt)"] += (
            tuned == entry.id)
    return {name: (value, len(rows)) for name, value in counts.items()}


def followed(assistant: Assistant, every: int) -> dict[str, tuple[int, int]]:
    """Return, per way of matching, (own card first, questions) for the Swedish ways of asking
    asked as a follow-up of another card's title (the card seven places on), each left out."""
    settings = assistant.settings.answer
    guide = assistant.retriever.guide()
    vectors = assistant.index.guide_vectors()
    points = point_vectors(assistant.retriever.topics(), guide.entries)
    texts = assistant.index.guide_questions()
    by_chunk = {e.chunk.chunk_id: i for i, e in enumerate(guide.entries)}
    counts = {"ensam fråga": 0, "som följdfråga, den fristående frågan": 0,
              "som följdfråga, med följdfrågans egen sökning (inställt)": 0}
    n = 0

    for k, (cid, position, vector) in enumerate(vectors):
        text = texts[(cid, position)]
        if k % every or not SWEDISH & set(text):
            continue
        own = guide.entries[by_chunk[cid]]
        previous = guide.entries[(by_chunk[cid] + 7) % len(guide.entries)].title
        standalone = f"{text} ({previous})"
        others = without(guide, vectors, points, texts, k)
        alone = assistant.retriever.search(text)
        together = assistant.retriever.search(search_text(text, standalone))
        n += 1
        counts["ensam fråga"] += first_card(settings, others, vector, ids(alone),
                                            text) == own.id
        whole = first_card(settings, others, together.vector or vector, ids(together),
                           standalone)
        counts["som följdfråga, den fristående frågan"] += whole == own.id
        tuned = (first_card(settings, others, mix(together.vector or vector, vector,
                                   settings.guide_focus_weight), ids(alone), text)
                 if asks_own_aspect(text, standalone) and settings.guide_focus_weight else whole)
        counts["som följdfråga, med följdfrågans egen sökning (inställt)"] += tuned == own.id
    return {name: (value, n) for name, value in counts.items()}


def without(guide: GuideIndex, vectors: list[tuple[str, int, list[float]]],
            points: list[tuple[int, Any]], texts: dict[tuple[str, int], str],
            k: int) -> GuideIndex:
    """Return the cards with way of asking number k left out (its vector and its words)."""
    chunk_id, position, _ = vectors[k]
    return GuideIndex(guide.entries, vectors[:k] + vectors[k + 1:], points,
                      {key: text for key, text in texts.items() if key != (chunk_id, position)})


def first_card(settings: AnswerSettings, others: GuideIndex, vector: list[float],
               retrieved: list[str], words: str = "") -> str:
    """Return the id of the card the settings put first for a vector, a search's ids and the
    words matched to the cards'."""
    return others.match(vector, top=settings.guide_question_top,
                        point_weight=settings.guide_point_weight, retrieved=retrieved,
                        retrieval_weight=settings.guide_retrieval_weight,
                        near_copy=settings.guide_near_copy, words=words,
                        lexical_weight=settings.guide_lexical_weight)[0].entry.id


def ids(retrieval: Retrieval) -> list[str]:
    """Return the ids of a search's passages, best first."""
    return [p.chunk.chunk_id for p in retrieval.passages]


def main() -> int:
    parser = argparse.ArgumentParser(description="Vägledningskortens matchning, lämna-en-ute")
    parser.add_argument("--every", type=int, default=4, help="var N:te fråga (1: alla)")
    parser.add_argument("--situation", action="store_true",
                        help="frågorna efter en mening om vem som frågar")
    parser.add_argument("--followup", action="store_true",
                        help="frågorna som följdfrågor till ett annat korts rubrik")
    args = parser.parse_args()
    assistant = Assistant()
    assistant.ensure_index()
    if args.situation or args.followup:
        measure = situated if args.situation else followed
        for name, (right, n) in measure(assistant, max(1, args.every)).items():
            print(f"{name}: {n} frågor, rätt kort först {right / n:.3f}")
        return 0
    runs = leave_one_out(assistant, max(1, args.every))
    near = nearby()
    for name, rows in runs.items():
        right = sum(own == first for own, first, _ in rows)
        print(f"{name}: {len(rows)} frågor, rätt kort först {right / len(rows):.3f}")
    for name, t in near.items():
        fired = [(own, first) for own, first, s in runs[name] if s >= t]
        if fired:
            print(f"  {name}: gäller {len(fired)} frågor, rätt kort i "
                  f"{sum(o == f for o, f in fired) / len(fired):.3f}")
    rows = runs[SHIPPED]
    n = len(rows)
    print("\n| tröskel | eget kort | annat kort | inget kort |")
    print("|---|---|---|---|")
    for t in THRESHOLDS:
        own = sum(o == f and s >= t for o, f, s in rows) / n
        other = sum(o != f and s >= t for o, f, s in rows) / n
        print(f"| {t:.3f} | {own:.3f} | {other:.3f} | {1 - own - other:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
