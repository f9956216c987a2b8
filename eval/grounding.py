"""Grounding check evaluation: false-accept and false-reject rates on a labelled set.

`python -m eval.grounding` scores every sentence of eval/grounding.yaml against the passage
it cites with the real embedding model, reports the rates of the thresholds in use
(assistant.grounding.Thresholds), searches the thresholds that would do best on the set, and
checks that choice by cross-validation over passages (fit on the other passages' sentences,
count errors on the held-out ones). Writes eval/grounding_report.md.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from assistant.answering.grounding import Grounder, Support, Thresholds
from assistant.config import PROJECT_ROOT, Settings
from assistant.index.embeddings import make_embeddings
from assistant.text import tokens

EVAL_DIR = Path(__file__).resolve().parent
SET = EVAL_DIR / "grounding.yaml"
REPORT = PROJECT_ROOT / "corpus" / "sweco-asf-samverkan-naringslivet.txt"
# A false accept shows the user an unsupported claim; a false reject only shortens an answer.
FALSE_ACCEPT_COST = 2.0


@dataclass
class Item:
    """One labelled sentence and the passage it cites."""

    sentence: str
    passage: str
    supported: bool
    kind: str


@dataclass
class Scored:
    """An item with its grounding signals."""

    item: Item
    support: Support


def load_set(path: Path = SET) -> tuple[dict[str, str], list[Item]]:
    """Return the passages by name and the labelled items."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = [Item(i["sentence"], i["passage"], i["label"] == "supported", i["kind"])
             for i in data["items"]]
    return dict(data["passages"]), items


def report_idf() -> Callable[[str], float]:
    """Return the idf of the report's chunks, as the assistant's BM25 computes it."""
    from assistant.ingest.chunking import chunk_document
    from assistant.ingest.loaders import load_document
    from assistant.retrieval.hybrid import BM25

    settings = Settings()
    chunks = chunk_document(load_document(REPORT), settings.chunking.chunk_size,
                            settings.chunking.section_in_text)
    return BM25([tokens(c.indexed_text) for c in chunks]).idf_of


def score(grounder: Grounder, passages: dict[str, str], items: Sequence[Item]) -> list[Scored]:
    """Return every item's grounding signals (all of them, even for early failures)."""
    return [Scored(i, grounder.support(i.sentence, [passages[i.passage]], every_signal=True))
            for i in items]


@dataclass
class Rates:
    """False-accept and false-reject rates of one threshold setting."""

    false_accept: float
    false_reject: float
    accepted_unsupported: int
    unsupported: int
    rejected_supported: int
    supported: int

    @property
    def cost(self) -> float:
        """Return the weighted error the threshold search minimises."""
        return FALSE_ACCEPT_COST * self.false_accept + self.false_reject


def rates(scored: Sequence[Scored], limits: Thresholds) -> Rates:
    """Return the error rates of the thresholds on the scored items."""
    sup = [s for s in scored if s.item.supported]
    uns = [s for s in scored if not s.item.supported]
    fa = sum(s.support.passes(limits) for s in uns)
    fr = sum(not s.support.passes(limits) for s in sup)
    return Rates(fa / len(uns) if uns else 0.0, fr / len(sup) if sup else 0.0,
                 fa, len(uns), fr, len(sup))


def without_contradiction_checks(scored: Sequence[Scored]) -> list[Scored]:
    """Return the items as the check judged them before the negation and number-role checks
    (issue #24): the same signals, with those two always passing."""
    return [Scored(s.item, replace(s.support, negation_ok=True, swapped_numbers=()))
            for s in scored]


def grid() -> list[Thresholds]:
    """Return the threshold settings the search tries."""
    steps = [round(0.30 + 0.05 * i, 2) for i in range(13)]          # 0.30 .. 0.90
    return [Thresholds(min_tokens=m, lexical=lex, semantic=sem)
            for m, lex, sem in itertools.product((2, 3), steps, steps)]


def fit(scored: Sequence[Scored]) -> Thresholds:
    """Return the setting with the lowest weighted error; ties go to the middle one."""
    results = [(rates(scored, t).cost, t) for t in grid()]
    best = min(cost for cost, _ in results)
    tied = [t for cost, t in results if cost == best]
    return tied[len(tied) // 2]


def cross_validate(scored: Sequence[Scored], folds: int = 5) -> Rates:
    """Return the pooled held-out rates of thresholds fitted on the other passages."""
    names = sorted({s.item.passage for s in scored})
    held: list[tuple[Scored, Thresholds]] = []
    for k in range(folds):
        out = set(names[k::folds])
        limits = fit([s for s in scored if s.item.passage not in out])
        held += [(s, limits) for s in scored if s.item.passage in out]
    sup = [(s, t) for s, t in held if s.item.supported]
    uns = [(s, t) for s, t in held if not s.item.supported]
    fa = sum(s.support.passes(t) for s, t in uns)
    fr = sum(not s.support.passes(t) for s, t in sup)
    return Rates(fa / len(uns), fr / len(sup), fa, len(uns), fr, len(sup))


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _rate_line(name: str, r: Rates) -> str:
    return (f"| {name} | {_pct(r.false_accept)} ({r.accepted_unsupported}/{r.unsupported}) | "
            f"{_pct(r.false_reject)} ({r.rejected_supported}/{r.supported}) |")


def write_report(path: Path, scored: Sequence[Scored], limits: Thresholds,
                 fitted: Thresholds, held_out: Rates, model: str) -> str:
    """Write the Markdown report and return its text."""
    current = rates(scored, limits)
    lines = [
        "# Grounding check: measured error rates", "",
        f"Labelled set: `eval/grounding.yaml`, {len(scored)} sentences "
        f"({current.supported} supported, {current.unsupported} unsupported). "
        f"Embedding model: `{model}`. Written by `python -m eval.grounding`.", "",
        "A false accept is an unsupported sentence the check lets through; a false reject is "
        "a supported sentence it drops.", "",
        "| Thresholds | False accepts | False rejects |", "|---|---|---|",
        _rate_line(f"in use: {_limits(limits)}", current),
        _rate_line("in use, without the negation and number-role checks",
                   rates(without_contradiction_checks(scored), limits)),
        _rate_line(f"best on this set: {_limits(fitted)}", rates(scored, fitted)),
        _rate_line("held out (5-fold over passages, refitted per fold)", held_out), "",
        "## By kind of sentence (thresholds in use)", "",
        "| Kind | Label | Sentences | Wrongly judged |", "|---|---|---|---|"]
    kinds = sorted({(s.item.kind, s.item.supported) for s in scored})
    for kind, sup in kinds:
        group = [s for s in scored if s.item.kind == kind and s.item.supported == sup]
        wrong = sum(s.support.passes(limits) != sup for s in group)
        lines.append(f"| {kind} | {'supported' if sup else 'unsupported'} | {len(group)} | "
                     f"{wrong} |")
    lines += ["", "## Wrongly judged sentences (thresholds in use)", "",
              "| Label | Passage | Sentence | Tokens | Numbers | Negation | Lexical | Semantic |",
              "|---|---|---|---|---|---|---|---|"]
    for s in scored:
        if s.support.passes(limits) != s.item.supported:
            sp = s.support
            numbers = ("ok" if sp.numbers_ok and not sp.swapped_numbers else
                       ", ".join([*sp.missing_numbers,
                                  *(f"{n} swapped" for n in sp.swapped_numbers)]))
            lines.append(f"| {'supported' if s.item.supported else 'unsupported'} | "
                         f"{s.item.passage} | {s.item.sentence} | {sp.tokens} | "
                         f"{numbers} | {'ok' if sp.negation_ok else 'differs'} | "
                         f"{sp.lexical:.2f} | {sp.semantic:.2f} |")
    lines += ["", "## Signal ranges", ""]
    for sup in (True, False):
        group = [s.support for s in scored if s.item.supported == sup]
        lex = sorted(g.lexical for g in group)
        sem = sorted(g.semantic for g in group)
        lines.append(f"- {'supported' if sup else 'unsupported'}: lexical median "
                     f"{statistics.median(lex):.2f} (min {lex[0]:.2f}), semantic median "
                     f"{statistics.median(sem):.2f} (min {sem[0]:.2f}, max {sem[-1]:.2f})")
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def _limits(t: Thresholds) -> str:
    return (f"min_tokens={t.min_tokens}, lexical≥{t.lexical:.2f}, "
            f"semantic≥{t.semantic:.2f}")


def measure(embeddings: Any, limits: Thresholds | None = None) -> tuple[list[Scored], Rates]:
    """Score the labelled set with an embedder; return the items and the rates of limits."""
    passages, items = load_set()
    grounder = Grounder(embeddings, report_idf(), limits)
    scored = score(grounder, passages, items)
    return scored, rates(scored, grounder.thresholds)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the summary and write the report."""
    parser = argparse.ArgumentParser(prog="python -m eval.grounding")
    parser.add_argument("--output", type=Path, default=EVAL_DIR / "grounding_report.md")
    args = parser.parse_args(argv)
    settings = Settings()
    embeddings = make_embeddings(settings)
    scored, current = measure(embeddings)
    fitted = fit(scored)
    held_out = cross_validate(scored)
    model = str(getattr(embeddings, "name", settings.embedding_model))
    write_report(args.output, scored, Thresholds(), fitted, held_out, model)
    print(f"In use {_limits(Thresholds())}: false accepts {_pct(current.false_accept)}, "
          f"false rejects {_pct(current.false_reject)}")
    before = rates(without_contradiction_checks(scored), Thresholds())
    print(f"Without the negation and number-role checks: false accepts "
          f"{_pct(before.false_accept)}, false rejects {_pct(before.false_reject)}")
    print(f"Best on the set {_limits(fitted)}: {rates(scored, fitted)}")
    print(f"Held out: false accepts {_pct(held_out.false_accept)}, "
          f"false rejects {_pct(held_out.false_reject)}")
    print(f"Rapporten skrevs till {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
