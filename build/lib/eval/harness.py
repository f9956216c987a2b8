"""Evaluate the assistant against eval/questions.yaml and write eval/report.md (+ JSON).

Metrics per configuration: retrieval hit@1, hit@5 and MRR (a retrieved passage contains the
gold evidence), answer fact recall, citation precision and coverage, refusal accuracy on
unanswerable items, false-refusal rate on answerable ones, and latency. With --ablation the
same run compares retrievers, a plain LangChain baseline, chunk sizes and section paths.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.answering.base import contexts_of
from assistant.config import Settings, load_settings, merged, read_preset
from assistant.index.embeddings import make_embeddings
from assistant.pipeline import Assistant
from assistant.text import collapse, split_sentences
from assistant.types import Answer, Citation, Passage

EVAL_DIR = Path(__file__).resolve().parent
QUESTIONS = EVAL_DIR / "questions.yaml"

# The gate the CI test enforces on the default configuration.
GATE = {"hit@5": 0.95, "fact_recall": 0.85, "citation_precision": 0.90,
        "refusal_accuracy": 0.90, "false_refusal_rate": 0.05}


@dataclass
class Item:
    """One eval question with its gold evidence and key facts."""

    id: str
    question: str
    type: str
    group: str
    lang: str
    style: str
    evidence: list[str]
    facts: list[list[str]]
    history: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        """Return True unless the report does not answer the item."""
        return self.type != "unanswerable"


def load_items(path: Path = QUESTIONS) -> list[Item]:
    """Read the eval set."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Item(id=r["id"], question=r["question"], type=r["type"], group=r["group"],
                 lang=r.get("lang", "sv"), style=r.get("style", "report"),
                 evidence=list(r.get("evidence") or []),
                 facts=[list(map(str, f)) for f in (r.get("facts") or [])],
                 history=list(r.get("history") or [])) for r in raw]


def _norm(text: str) -> str:
    return collapse(text).lower()


def _evidence_units(item: Item) -> list[str]:
    units = []
    for evidence in item.evidence:
        units.append(_norm(evidence))
        units.extend(_norm(s) for s in split_sentences(evidence) if len(s) >= 30)
    return units


def _passage_norm(text: str) -> str:
    # List items are stored as "- item" lines; the report has no bullet glyphs at all.
    return _norm(re.sub(r"(?m)^- ", "", text))


def contains_evidence(item: Item, text: str) -> bool:
    """Return True when text holds a gold evidence passage or one of its sentences."""
    haystack = _passage_norm(text)
    return any(unit in haystack for unit in _evidence_units(item))


def fact_found(alternatives: Sequence[str], text: str) -> bool:
    """Return True when any alternative of a key fact appears in the text."""
    haystack = _norm(text)
    return any(_norm(alt) in haystack for alt in alternatives)


@dataclass
class Result:
    """What one configuration did with one item."""

    item: Item
    answer: Answer
    seconds: float
    hit_rank: int | None
    facts_found: int
    citations_ok: int
    problems: list[str]


def score_item(item: Item, answer: Answer, seconds: float) -> Result:
    """Compare one answer with the item's gold."""
    hit_rank = next((c.rank for c in answer.contexts if contains_evidence(item, c.text)), None)
    text = answer.answer
    facts_found = sum(fact_found(f, text) for f in item.facts)
    citations_ok = sum(_citation_supports(item, c, answer) for c in answer.citations)
    problems: list[str] = []
    if item.answerable:
        if answer.refused:
            problems.append("vägrade svara fast rapporten svarar")
        if hit_rank is None or hit_rank > 5:
            problems.append("guldbeläggen saknas bland de 5 första avsnitten")
        missing = [f[0] for f in item.facts if not fact_found(f, text)]
        if missing and not answer.refused:
            problems.append("saknade fakta: " + ", ".join(missing))
        if not answer.refused and citations_ok < len(answer.citations):
            problems.append(f"{len(answer.citations) - citations_ok} av "
                            f"{len(answer.citations)} källhänvisningar stöder inget guldfaktum")
    elif not answer.refused:
        problems.append("svarade fast rapporten inte besvarar frågan")
    return Result(item, answer, seconds, hit_rank, facts_found, citations_ok, problems)


def _citation_supports(item: Item, citation: Citation, answer: Answer) -> bool:
    passage = next((c.text for c in answer.contexts if c.chunk_id == citation.chunk_id),
                   citation.quote)
    if contains_evidence(item, passage):
        return True
    return any(fact_found(f, citation.quote) for f in item.facts)


def summarize(results: list[Result]) -> dict[str, float]:
    """Return the metrics over a list of results."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    answered = [r for r in answerable if not r.answer.refused]
    cited = [c for r in answered for c in r.answer.citations]

    def share(values: list[bool]) -> float:
        return round(sum(values) / len(values), 4) if values else 0.0

    latencies = sorted(r.seconds for r in results)
    return {
        "items": len(results),
        "hit@1": share([r.hit_rank == 1 for r in answerable]),
        "hit@5": share([r.hit_rank is not None and r.hit_rank <= 5 for r in answerable]),
        "mrr": round(statistics.mean(1 / r.hit_rank if r.hit_rank else 0 for r in answerable), 4)
        if answerable else 0.0,
        "fact_recall": round(statistics.mean(
            r.facts_found / len(r.item.facts) if r.item.facts else 1.0 for r in answerable), 4)
        if answerable else 0.0,
        "citation_precision": round(sum(r.citations_ok for r in answered) / len(cited), 4)
        if cited else 0.0,
        "citation_coverage": share([r.citations_ok > 0 for r in answerable]),
        "refusal_accuracy": share([r.answer.refused for r in unanswerable]),
        "false_refusal_rate": share([r.answer.refused for r in answerable]),
        "latency_p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else 0.0,
        "latency_p95_ms": round(1000 * latencies[min(len(latencies) - 1,
                                                     int(0.95 * len(latencies)))], 1)
        if latencies else 0.0,
    }


# ---------------------------------------------------------------------- running configurations

Runner = Callable[[Item], Answer]


def assistant_runner(assistant: Assistant) -> Runner:
    """Return a runner that asks the full pipeline."""
    def run(item: Item) -> Answer:
        history = [{"role": "user", "content": h} for h in item.history]
        return assistant.ask(item.question, history)
    return run


def baseline_runner(assistant: Assistant, k: int = 6) -> Runner:
    """Return the plain LangChain baseline: Chroma similarity_search, answer = top passage."""
    def run(item: Item) -> Answer:
        docs = assistant.index.store.similarity_search(item.question, k=k)
        passages = []
        for rank, doc in enumerate(docs, start=1):
            chunk = assistant.retriever.chunk(str(doc.id))
            if chunk is not None:
                passages.append(Passage(chunk=chunk, score=1.0 / rank, rank=rank))
        contexts = contexts_of(passages)
        if not passages:
            return Answer(item.question, "", True, contexts=contexts)
        top = passages[0].chunk
        citation = Citation(1, top.chunk_id, top.source, top.title, top.section, top.page,
                            top.text)
        return Answer(item.question, f"{top.text} [1]", False, [citation], contexts)
    return run


def run_items(items: list[Item], runner: Runner) -> list[Result]:
    """Ask every item and score it."""
    results = []
    for item in items:
        start = time.perf_counter()
        answer = runner(item)
        results.append(score_item(item, answer, time.perf_counter() - start))
    return results


@dataclass
class Variant:
    """One configuration of the ablation: a named settings preset (assistant/presets/)."""

    name: str                       # the label in the report (the preset's description)
    preset: str
    baseline: bool = False          # answer with the LangChain baseline instead

    @classmethod
    def of(cls, preset: str, baseline: bool = False, name: str = "") -> Variant:
        """Return the variant of a preset, labelled with its description."""
        return cls(name or read_preset(preset)[0], preset, baseline)

    @property
    def overrides(self) -> dict[str, Any]:
        """Return the preset's settings: group -> field overrides, or field -> value."""
        return read_preset(self.preset)[1]


DEFAULT = Variant.of("standard")
ABLATION = [
    Variant.of("bm25"),
    Variant.of("dense"),
    Variant.of("standard", baseline=True,
               name="LangChain-baslinje (similarity_search, toppavsnittet)"),
    *(Variant.of(name) for name in (
        "rrf", "bm25-weight-2", "dense-weight-2", "no-late", "late-weight-3", "three-passages",
        "no-sentence-dense", "no-feedback", "no-neighbours", "english-full-bm25", "chunk-400",
        "chunk-700", "no-section-path", "fp32")),
]


def settings_for(base: Settings, variant: Variant, data_root: Path) -> Settings:
    """Return base settings with a variant's preset and its own index folder."""
    data = merged(base.model_dump(), variant.overrides)
    chunking = data["chunking"]
    data["data_dir"] = data_root / (f"c{chunking['chunk_size']}-s{int(chunking['section_in_text'])}"
                                    + ("" if data["embedding_quantize"] else "-fp32"))
    return Settings(**data)


def evaluate(items: list[Item], variants: list[Variant], base: Settings | None = None,
             embeddings=None, data_root: Path | None = None,
             log: Callable[[str], None] = print,
             with_cases: bool = True) -> dict[str, dict[str, Any]]:
    """Run every variant on the items; return metrics and results per variant name."""
    base = base or Settings()
    embeddings = embeddings or make_embeddings(base)
    own_tmp = None
    if data_root is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="asf-eval-")
        data_root = Path(own_tmp.name)
    out: dict[str, dict[str, Any]] = {}
    try:
        for variant in variants:
            settings = settings_for(base, variant, data_root)
            # A variant with another numeric mode needs its own model (and has its own index).
            own = (make_embeddings(settings)
                   if settings.embedding_quantize != base.embedding_quantize else embeddings)
            assistant = Assistant(settings, embeddings=own)
            start = time.perf_counter()
            built = assistant.ensure_index()
            build_s = time.perf_counter() - start
            if built is not None:
                log(f"  index byggt för {variant.name}: {built.chunks} avsnitt på {build_s:.1f} s")
            runner = baseline_runner(assistant) if variant.baseline else assistant_runner(assistant)
            runner(items[0])     # warm-up, not timed
            results = run_items(items, runner)
            metrics = summarize(results)
            log(f"  {variant.name}: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))
            out[variant.name] = {"metrics": metrics, "results": results,
                                 "chunks": len(assistant.index.chunks())}
            if variant is DEFAULT and with_cases:
                from eval.cases_eval import run_case_eval

                out[variant.name]["cases"] = run_case_eval(assistant)
                log("  fallfrågor: " + ", ".join(
                    f"{k}={v}" for k, v in out[variant.name]["cases"]["metrics"].items()))
    finally:
        if own_tmp is not None:
            own_tmp.cleanup()
    return out


# ---------------------------------------------------------------------- report

def _table(rows: list[tuple[str, dict[str, Any]]], columns: list[str]) -> list[str]:
    lines = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, metrics in rows:
        lines.append(f"| {name} | " + " | ".join(str(metrics.get(c, "")) for c in columns) + " |")
    return lines


MAIN_COLUMNS = ["items", "hit@1", "hit@5", "mrr", "fact_recall", "citation_precision",
                "citation_coverage", "refusal_accuracy", "false_refusal_rate",
                "latency_p50_ms", "latency_p95_ms"]


def write_report(runs: dict[str, dict[str, Any]], default_name: str, path: Path) -> None:
    """Write the Markdown and JSON report."""
    default = runs[default_name]
    results: list[Result] = default["results"]
    lines = ["# Utvärdering av ASF-assistenten", "",
             f"Körd {time.strftime('%Y-%m-%d %H:%M')} på {len(results)} frågor ur "
             "`eval/questions.yaml`. Skapad av `asf eval`; ändra inte för hand.", "",
             "## Totalt (standardkonfigurationen)", ""]
    lines += _table([(default_name, default["metrics"])], MAIN_COLUMNS)
    gate_lines = []
    for key, limit in GATE.items():
        value = default["metrics"][key]
        ok = value <= limit if key == "false_refusal_rate" else value >= limit
        gate_lines.append(f"- {key}: {value} ({'≤' if key == 'false_refusal_rate' else '≥'} "
                          f"{limit}) {'OK' if ok else 'UNDER GRÄNSEN'}")
    lines += ["", "Grind i CI:", "", *gate_lines, ""]
    for label, key in (("typ", "type"), ("användargrupp", "group"), ("språk", "lang"),
                       ("formulering", "style")):
        groups: dict[str, list[Result]] = defaultdict(list)
        for r in results:
            groups[getattr(r.item, key)].append(r)
        lines += [f"## Per {label}", ""]
        lines += _table([(k, summarize(v)) for k, v in sorted(groups.items())], MAIN_COLUMNS[:-2])
        lines.append("")
    if "cases" in default:
        from eval.cases_eval import report_lines

        lines += report_lines(default["cases"])
    if len(runs) > 1:
        lines += ["## Ablation", "", "Alla varianter i samma körning, på samma maskin.", ""]
        rows = [(f"{name} ({run['chunks']} avsnitt)", run["metrics"]) for name, run in runs.items()]
        lines += _table(rows, MAIN_COLUMNS)
        lines.append("")
    failing = [r for r in results if r.problems]
    lines += [f"## Frågor med problem ({len(failing)})", ""]
    for r in failing:
        lines.append(f"- **{r.item.id}** ({r.item.type}, {r.item.group}) {r.item.question} — "
                     + "; ".join(r.problems))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    payload = {name: {"metrics": run["metrics"], "chunks": run["chunks"],
                      "items": [{"id": r.item.id, "refused": r.answer.refused,
                                 "hit_rank": r.hit_rank, "facts_found": r.facts_found,
                                 "facts": len(r.item.facts), "citations": len(r.answer.citations),
                                 "citations_ok": r.citations_ok,
                                 "evidence": round(r.answer.evidence, 4),
                                 "ms": round(1000 * r.seconds, 1), "problems": r.problems}
                                for r in run["results"]]}
               for name, run in runs.items()}
    path.with_suffix(".json").write_text(json.dumps(payload, ensure_ascii=False, indent=1),
                                         encoding="utf-8")


def gate_failures(metrics: dict[str, float]) -> list[str]:
    """Return the gate metrics that are below their limits."""
    failures = []
    for key, limit in GATE.items():
        value = metrics[key]
        if (value > limit) if key == "false_refusal_rate" else (value < limit):
            failures.append(f"{key}={value} (gräns {limit})")
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the eval from the command line."""
    parser = argparse.ArgumentParser(prog="asf eval")
    parser.add_argument("--backend", choices=["extractive", "llm"])
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--report", type=Path, default=EVAL_DIR / "report.md")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="keep the variants' indexes here between runs (default: temporary)")
    parser.add_argument("--settings", default=None, help="inställningsprofil (assistant/presets/)")
    args = parser.parse_args(argv)
    base = load_settings(args.settings)
    if args.backend:
        base.backend = args.backend
    items = load_items()
    if args.limit:
        items = items[: args.limit]
    variants = [DEFAULT, *(ABLATION if args.ablation else [])]
    print(f"Utvärderar {len(items)} frågor i {len(variants)} konfiguration(er) …", file=sys.stderr)
    runs = evaluate(items, variants, base, data_root=args.data_root,
                    log=lambda m: print(m, file=sys.stderr))
    write_report(runs, DEFAULT.name, args.report)
    print(f"Rapporten skrevs till {args.report}")
    failures = gate_failures(runs[DEFAULT.name]["metrics"])
    if failures:
        print("Under gränsen: " + ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
