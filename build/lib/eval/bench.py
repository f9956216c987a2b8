"""Benchmark: index build from scratch, warm ask latency (p50/p95) and peak memory.

A script that measures, not a test: `make bench` or `python -m eval.bench`. Figures vary with
the machine's load; compare runs made on the same machine in one sitting.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from assistant.config import Settings
from assistant.pipeline import Assistant
from eval.harness import load_items


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    """Measure and print the figures (and write them as JSON)."""
    parser = argparse.ArgumentParser(prog="python -m eval.bench")
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--output", type=Path, default=Path("eval/bench.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="asf-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        start = time.perf_counter()
        assistant = Assistant(settings)
        assistant.index.embeddings.embed_query("uppvärmning")
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        report = assistant.ensure_index()
        build_s = time.perf_counter() - start
        questions = [i.question for i in load_items()][: args.questions]
        assistant.ask(questions[0])
        latencies = []
        for question in questions:
            t = time.perf_counter()
            assistant.ask(question)
            latencies.append(1000 * (time.perf_counter() - t))
        latencies.sort()
        figures = {
            "model_load_s": round(load_s, 2),
            "index_build_s": round(build_s, 2),
            "chunks": report.chunks if report else None,
            "questions": len(latencies),
            "ask_p50_ms": round(statistics.median(latencies), 1),
            "ask_p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1),
            "ask_max_ms": round(latencies[-1], 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    print(json.dumps(figures, indent=1))
    args.output.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
