"""Evaluate list and case questions (eval/case_questions.yaml) on which named cases come up.

Each question lists the cases an answer must bring up (expected) and cases the report ties to
it more loosely (also_ok). A case is brought up when the answer cites its case card, or names
it in the answer text (so the normal pipeline, which cites report passages, is scored the same
way). Metrics: case recall (mean over questions with expected cases), case precision (cases
brought up that are expected or also_ok, over all brought up), negatives correct (questions
with no named case where none was brought up) and how many answers came from the catalog.

    python -m eval.cases_eval [--data-root DIR] [--report eval/cases_report.md] [--no-catalog]

For `asf eval`: call run_case_eval(assistant) on the default configuration's Assistant and add
report_lines(result) to the report (see the functions' docstrings).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.cases.catalog import Catalog
from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.prompts import CASES_ANSWER_NOTE
from assistant.types import Answer

EVAL_DIR = Path(__file__).resolve().parent
CASE_QUESTIONS = EVAL_DIR / "case_questions.yaml"


@dataclass
class CaseItem:
    """One list or case question with the cases its answer should bring up."""

    id: str
    question: str
    lang: str
    expected: list[str]
    also_ok: list[str] = field(default_factory=list)
    note: str = ""


def load_case_items(path: Path = CASE_QUESTIONS) -> list[CaseItem]:
    """Read the case-question set."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [CaseItem(id=r["id"], question=r["question"], lang=r.get("lang", "sv"),
                     expected=list(r.get("expected") or []), also_ok=list(r.get("also_ok") or []),
                     note=str(r.get("note") or "")) for r in raw]


def _aliases(name: str) -> list[str]:
    """Return the ways an answer may name a case ("Gotlands skog och miljö (GSM)" -> 3)."""
    out = [name]
    short = re.match(r"^(.*?) \((.+)\)$", name)
    if short:
        out += [short.group(1), short.group(2)]
    return out


def cases_in_answer(answer: Answer, names: Sequence[str], catalog: Catalog) -> set[str]:
    """Return the case names an answer brings up: cited case cards, and names in its text."""
    by_source = {c.source: c.name for c in catalog}
    found = {by_source[c.source] for c in answer.citations if c.source in by_source}
    if not answer.refused:
        for name in names:
            if any(re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", answer.answer)
                   for alias in _aliases(name)):
                found.add(name)
    return found


@dataclass
class CaseResult:
    """What the assistant did with one case question."""

    item: CaseItem
    found: set[str]
    from_catalog: bool
    refused: bool
    seconds: float

    @property
    def recall(self) -> float | None:
        """Return the share of expected cases brought up (None when none are expected)."""
        if not self.item.expected:
            return None
        return len(self.found & set(self.item.expected)) / len(self.item.expected)

    @property
    def correct(self) -> int:
        """Return how many cases brought up are expected or also_ok."""
        return len(self.found & (set(self.item.expected) | set(self.item.also_ok)))

    @property
    def problems(self) -> list[str]:
        """Return what went wrong, in Swedish."""
        out = []
        missing = sorted(set(self.item.expected) - self.found)
        extra = sorted(self.found - set(self.item.expected) - set(self.item.also_ok))
        if missing:
            out.append("saknade: " + ", ".join(missing))
        if extra:
            out.append("felaktigt med: " + ", ".join(extra))
        return out


def run_case_eval(assistant: Assistant, items: list[CaseItem] | None = None) -> dict[str, Any]:
    """Ask every case question; return {"metrics": {...}, "results": [CaseResult, ...]}.

    The lead's hook into `asf eval`: after evaluate() has built the default configuration's
    Assistant, call run_case_eval(assistant) and extend the report with report_lines(result).
    """
    items = items if items is not None else load_case_items()
    catalog = assistant.catalog
    names = sorted({n for i in items for n in (*i.expected, *i.also_ok)}
                   | {c.name for c in catalog})
    results = []
    for item in items:
        start = time.perf_counter()
        answer = assistant.ask(item.question)
        seconds = time.perf_counter() - start
        results.append(CaseResult(item, cases_in_answer(answer, names, catalog),
                                  answer.note == CASES_ANSWER_NOTE, answer.refused, seconds))
    return {"metrics": summarize(results), "results": results}


def summarize(results: list[CaseResult]) -> dict[str, float]:
    """Return case recall, precision, negatives correct and the share answered by the catalog."""
    positive = [r for r in results if r.item.expected]
    negative = [r for r in results if not r.item.expected]
    brought = sum(len(r.found) for r in results)
    return {
        "items": len(results),
        "case_recall": round(statistics.mean(r.recall or 0.0 for r in positive), 4)
        if positive else 0.0,
        "full_recall": round(sum(r.recall == 1.0 for r in positive) / len(positive), 4)
        if positive else 0.0,
        "case_precision": round(sum(r.correct for r in results) / brought, 4) if brought else 0.0,
        "negatives_correct": round(sum(not r.found for r in negative) / len(negative), 4)
        if negative else 0.0,
        "from_catalog": round(sum(r.from_catalog for r in results) / len(results), 4)
        if results else 0.0,
        "refused": round(sum(r.refused for r in results) / len(results), 4) if results else 0.0,
    }


COLUMNS = ["items", "case_recall", "full_recall", "case_precision", "negatives_correct",
           "from_catalog", "refused"]


def report_lines(run: dict[str, Any], title: str = "Fallexempel (listfrågor)") -> list[str]:
    """Return the Markdown section of a case-eval run (for eval/report.md or its own file)."""
    metrics, results = run["metrics"], run["results"]
    lines = [f"## {title}", "",
             f"{metrics['items']} frågor ur `eval/case_questions.yaml`, poängsatta på vilka "
             "namngivna fall svaret tar upp (citerat fallkort eller namnet i svaret).", "",
             "| | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|",
             "| totalt | " + " | ".join(str(metrics[c]) for c in COLUMNS) + " |", ""]
    failing = [r for r in results if r.problems]
    lines += [f"### Frågor med problem ({len(failing)})", ""]
    lines += [f"- **{r.item.id}** {r.item.question} — " + "; ".join(r.problems)
              for r in failing]
    return lines + [""]


def _corpus_without_cases(settings: Settings, root: Path) -> Path:
    """Copy the corpus without its case cards (the baseline before the catalog)."""
    target = root / "corpus-utan-fall"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(settings.corpus_dir, target, ignore=shutil.ignore_patterns("cases"))
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Run the case eval from the command line."""
    parser = argparse.ArgumentParser(prog="python -m eval.cases_eval")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="keep the index here between runs (default: temporary)")
    parser.add_argument("--report", type=Path, default=EVAL_DIR / "cases_report.md")
    parser.add_argument("--no-catalog", action="store_true",
                        help="baseline: index the corpus without case cards (no catalog)")
    args = parser.parse_args(argv)
    own_tmp = None
    root = args.data_root
    if root is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="asf-cases-eval-")
        root = Path(own_tmp.name)
    try:
        base = Settings()
        data = base.model_dump()
        if args.no_catalog:
            data["corpus_dir"] = _corpus_without_cases(base, root)
            data["data_dir"] = root / "utan-fall"
        else:
            data["data_dir"] = root / f"c{base.chunking.chunk_size}-s" \
                                      f"{int(base.chunking.section_in_text)}"
        settings = Settings(**data)
        assistant = Assistant(settings)
        assistant.ensure_index()
        run = run_case_eval(assistant)
    finally:
        if own_tmp is not None:
            own_tmp.cleanup()
    title = "Fallexempel (listfrågor)" + (" – utan fallkatalog" if args.no_catalog else "")
    args.report.write_text("# Utvärdering av fallexempel\n\n" + "\n".join(report_lines(run, title)),
                           encoding="utf-8")
    args.report.with_suffix(".json").write_text(json.dumps(
        {"metrics": run["metrics"],
         "items": [{"id": r.item.id, "found": sorted(r.found), "recall": r.recall,
                    "from_catalog": r.from_catalog, "problems": r.problems}
                   for r in run["results"]]}, ensure_ascii=False, indent=1), encoding="utf-8")
    print("  " + ", ".join(f"{k}={v}" for k, v in run["metrics"].items()), file=sys.stderr)
    print(f"Rapporten skrevs till {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
