"""Measure the chat UI in a real headless Chromium: start-up, first answer, warm answers.

    .venv/bin/python -m ui.bench_ui [--data-dir DIR] [--json FILE] [--pause S]

Starts the app (`python -m ui.serve`) on a free loopback port and reports:
  health   seconds from process start until /_stcore/health answers
  page     seconds from process start until Chromium shows the page with the chat input
           (closed while the model loads)
  ready    seconds from process start until the chat input is open for typing
  first    seconds from pressing Enter to the complete first answer; asked at once when
           the input opens, or --pause S seconds later
  warm     seconds per later answer (median and max), the figure users feel
Targets (#25): ready <= 10 s, first <= 2 s, warm <= 1 s. Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ui.browser import (
    CHAT_INPUT,
    CHAT_INPUT_OPEN,
    ask,
    chromium,
    start_server,
    wait_for,
    wait_health,
)

READY_TARGET = 10.0
FIRST_TARGET = 2.0
WARM_TARGET = 1.0
FIRST_QUESTION = "Vilka mervärden ser företag i att samarbeta med ASF?"
WARM_QUESTIONS = (
    "Måste ett ASF ta marknadsmässiga priser?",
    "Behöver vi skriftliga avtal med våra kunder?",
    "Hur viktig är kommunikationen i samarbetet med ett ASF?",
    "Vad var syftet med nätverksträffarna?",
    "Hur samarbetar Volvo Cars med Clean Car Service?",
)


def bench(data_dir: Path | None, pause: float = 0.0) -> dict[str, float | list[float]]:
    """Run the app once and return the measured figures in seconds."""
    scratch = tempfile.TemporaryDirectory(prefix="asf-bench-ui-")
    # The benchmark's questions and thumbs go to a scratch folder, not the user's saved chats.
    env = {"ASF_CONVERSATIONS_DB": f"{scratch.name}/conversations.sqlite3",
           "ASF_FEEDBACK_DB": f"{scratch.name}/feedback.sqlite3",
           **({"ASF_DATA_DIR": str(data_dir)} if data_dir else {})}
    server = start_server(env)
    driver = None
    try:
        health = wait_health(server)
        with tempfile.TemporaryDirectory(prefix="asf-chromium-") as profile:
            driver = chromium(Path(profile))
            driver.get(server.url)
            wait_for(driver, CHAT_INPUT)
            page = time.perf_counter() - server.started
            wait_for(driver, CHAT_INPUT_OPEN)
            ready = time.perf_counter() - server.started
            time.sleep(pause)
            first = ask(driver, FIRST_QUESTION)
            warm = [ask(driver, q) for q in WARM_QUESTIONS]
            driver.quit()
            driver = None
    finally:
        if driver is not None:
            driver.quit()
        server.stop()
        scratch.cleanup()
    return {"health_s": round(health, 2), "page_s": round(page, 2), "ready_s": round(ready, 2),
            "first_answer_s": round(first, 2), "warm_answers_s": [round(w, 3) for w in warm],
            "warm_median_s": round(statistics.median(warm), 3),
            "warm_max_s": round(max(warm), 3)}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path,
                        help="folder with a built index (default: the settings' data_dir)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds between the page being ready and the first question")
    args = parser.parse_args(argv)
    figures = bench(args.data_dir, args.pause)
    for name, value in figures.items():
        print(f"{name:>16}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    ok = (figures["ready_s"] <= READY_TARGET and figures["first_answer_s"] <= FIRST_TARGET
          and figures["warm_median_s"] <= WARM_TARGET)
    print("targets met" if ok else f"target missed (ready <= {READY_TARGET} s, first <= "
                                   f"{FIRST_TARGET} s, warm <= {WARM_TARGET} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
