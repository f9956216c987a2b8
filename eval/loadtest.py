"""Load test of `asf serve`: concurrent clients on loopback, latency percentiles and errors.

    python -m eval.loadtest [--clients 50] [--requests 500] [--url http://127.0.0.1:8000]

Without --url it starts the API in this process (uvicorn on a free loopback port) with the
configured settings (the real model; set ASF_DATA_DIR to use an existing index) but no rate
limit (every client here is one address), and waits until it is ready. The questions are
the eval set's questions, asked in turn (only their text: this measures the service, not the
answers). Writes eval/loadtest.md.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import yaml

from assistant.config import PROJECT_ROOT, Settings

REPORT = PROJECT_ROOT / "eval" / "loadtest.md"


def _questions() -> list[str]:
    items = yaml.safe_load((PROJECT_ROOT / "eval" / "questions.yaml").read_text("utf-8"))
    return [item["question"] for item in items]


def _serve() -> tuple[str, object]:
    import uvicorn

    from assistant.server import create_app

    # The rate limit guards a shared service from one client; here all clients are one
    # address on purpose, so it is lifted to measure capacity.
    settings = Settings()
    settings.api.rate_per_minute = 100_000
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    while httpx.get(f"{url}/readyz", timeout=10).status_code != 200:
        time.sleep(1)
    return url, server


def run(url: str, clients: int, requests: int) -> dict[str, float]:
    """Send `requests` questions from `clients` threads; return the figures."""
    questions = _questions()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        started = time.perf_counter()
        try:
            response = httpx.post(f"{url}/v1/ask", json={"question": questions[i % len(questions)]},
                                  timeout=600)
            ok = response.status_code == 200
            problem = "" if ok else f"{response.status_code}"
        except httpx.HTTPError as exc:
            ok, problem = False, type(exc).__name__
        with lock:
            latencies.append(time.perf_counter() - started)
            if not ok:
                errors.append(problem)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    if errors:
        print("Fel:", dict(Counter(errors)))
    return {"clients": clients, "requests": requests, "errors": len(errors),
            "p50_s": statistics.median(ordered),
            "p95_s": ordered[max(0, int(round(0.95 * len(ordered))) - 1)],
            "max_s": ordered[-1], "throughput_per_s": requests / wall, "wall_s": wall}


def main(argv: list[str] | None = None) -> int:
    """Run the load test and write eval/loadtest.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--url", help="a running `asf serve` (else one is started here)")
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    url = args.url or _serve()[0]
    figures = run(url, args.clients, args.requests)
    lines = ["# Load test of `asf serve`", "",
             f"{figures['clients']} concurrent clients, {figures['requests']} requests to "
             "`POST /v1/ask` on loopback (eval questions in turn), one machine with 2 CPU "
             "cores; answers are computed one at a time.", "",
             "| errors | p50 | p95 | max | throughput |", "| --- | --- | --- | --- | --- |",
             f"| {figures['errors']} | {figures['p50_s']:.2f} s | {figures['p95_s']:.2f} s | "
             f"{figures['max_s']:.2f} s | {figures['throughput_per_s']:.1f} requests/s |", ""]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 1 if figures["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
