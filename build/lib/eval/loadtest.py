"""Load test of `asf serve`: concurrent plain and streaming clients, some of which drop their
connection mid-stream, on loopback; throughput, latency percentiles, errors and hangs.

    python -m eval.loadtest [--clients 50] [--streams 10] [--drops 5] [--seconds 60]
                            [--url http://127.0.0.1:8000]

Without --url it starts `asf serve` as a separate process on a free loopback port with the
configured settings (the real model; set ASF_DATA_DIR to use an existing index) and no rate
limit (every client here is one address), and waits until it is ready. First one client asks
alone for a while (the single-client rate), then all clients run for --seconds: plain clients
ask `/v1/ask` again and again, streaming clients read `/v1/ask/stream` to its end, and the
dropping ones read the first piece of a stream and close with a TCP reset. Afterwards a fresh
question shows that the server still answers. The questions are the eval set's, in turn (only
their text: this measures the service, not the answers). Writes eval/loadtest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import yaml

from assistant.config import PROJECT_ROOT

REPORT = PROJECT_ROOT / "eval" / "loadtest.md"
HANG_S = 120        # a request unanswered this long counts as a hang
ALONE_S = 20        # how long the single client asks alone


def _questions() -> list[str]:
    items = yaml.safe_load((PROJECT_ROOT / "eval" / "questions.yaml").read_text("utf-8"))
    return [item["question"] for item in items]


def _serve() -> tuple[str, subprocess.Popen]:
    """Start `asf serve` on a free loopback port in its own process; return URL and process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The rate limit guards a shared service from one client; here all clients are one
    # address on purpose, so it is lifted to measure capacity.
    env = {**os.environ, "ASF_API__RATE_PER_MINUTE": "100000"}
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
                            env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{url}/readyz", timeout=10).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("asf serve avslutades innan den blev klar")
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("asf serve blev inte klar")


def _drop_mid_stream(url: str, question: str) -> bool:
    """Ask for a stream, read its first piece, close with a reset; return True if it began."""
    host, port = url.split("//", 1)[1].split(":")
    body = json.dumps({"question": question}).encode()
    with socket.create_connection((host, int(port)), timeout=HANG_S) as sock:
        sock.sendall(b"POST /v1/ask/stream HTTP/1.1\r\nHost: %s\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (host.encode(), len(body), body))
        got = b""
        while b"event: " not in got:
            piece = sock.recv(4096)
            if not piece:
                break
            got += piece
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return got.startswith(b"HTTP/1.1 200") and b"event: " in got


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[max(0, int(round(share * len(ordered))) - 1)] if ordered else 0.0


def alone(url: str, seconds: float) -> dict[str, float]:
    """Ask from one client for `seconds`; return its rate and median latency."""
    questions = _questions()
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    with httpx.Client(timeout=HANG_S) as client:
        while time.perf_counter() < end:
            started = time.perf_counter()
            response = client.post(f"{url}/v1/ask",
                                   json={"question": questions[len(latencies) % len(questions)]})
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)
    return {"answers": len(latencies), "per_s": len(latencies) / sum(latencies),
            "p50_s": statistics.median(latencies)}


def run(url: str, clients: int, streams: int, drops: int, seconds: float) -> dict:
    """Run the mixed load for `seconds`; return the figures."""
    questions = _questions()
    lock = threading.Lock()
    latencies: dict[str, list[float]] = {"plain": [], "stream": []}
    dropped = [0]
    errors: Counter[str] = Counter()
    end = time.perf_counter() + seconds

    def client(n: int) -> None:
        kind = "drop" if n < drops else "stream" if n < streams else "plain"
        i = n
        with httpx.Client(timeout=HANG_S) as http:
            while time.perf_counter() < end:
                question = questions[i % len(questions)]
                i += clients
                started = time.perf_counter()
                try:
                    if kind == "drop":
                        ok, problem = _drop_mid_stream(url, question), "stream began not"
                    elif kind == "stream":
                        with http.stream("POST", f"{url}/v1/ask/stream",
                                         json={"question": question}) as response:
                            text = "".join(response.iter_text())
                        ok = response.status_code == 200 and "event: answer" in text
                        problem = f"stream {response.status_code}"
                    else:
                        response = http.post(f"{url}/v1/ask", json={"question": question})
                        ok, problem = response.status_code == 200, f"ask {response.status_code}"
                except httpx.TimeoutException:
                    ok, problem = False, "hang"
                except (httpx.HTTPError, OSError) as exc:
                    ok, problem = False, type(exc).__name__
                with lock:
                    if not ok:
                        errors[problem] += 1
                    elif kind == "drop":
                        dropped[0] += 1
                    else:
                        latencies[kind].append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    every = sorted(latencies["plain"] + latencies["stream"])
    fresh_started = time.perf_counter()
    fresh = httpx.post(f"{url}/v1/ask", json={"question": "Vad är ett IOP?"}, timeout=HANG_S)
    fresh_s = time.perf_counter() - fresh_started
    return {"clients": clients, "streams": streams, "drops": drops, "seconds": seconds,
            "answers": len(every), "plain": len(latencies["plain"]),
            "streamed": len(latencies["stream"]), "dropped": dropped[0],
            "errors": sum(v for k, v in errors.items() if k != "hang"),
            "hangs": errors["hang"], "error_kinds": dict(errors),
            "p50_s": statistics.median(every) if every else 0.0,
            "p95_s": _percentile(every, 0.95), "max_s": every[-1] if every else 0.0,
            "per_s": len(every) / wall, "wall_s": wall,
            "fresh_status": fresh.status_code, "fresh_s": fresh_s,
            "load": os.getloadavg()[0]}


def report(single: dict, figures: dict) -> str:
    """Return eval/loadtest.md."""
    f = figures
    return "\n".join([
        "# Load test of `asf serve`", "",
        f"`python -m eval.loadtest`: {f['clients']} concurrent clients for {f['seconds']:.0f} s "
        f"on loopback, one machine with 2 CPU cores, the real model and index, default "
        f"settings (one worker; the rate limit lifted, since every client is one address). "
        f"{f['clients'] - f['streams']} clients ask `POST /v1/ask` again and again; "
        f"{f['streams'] - f['drops']} read `POST /v1/ask/stream` to its end; {f['drops']} read "
        "the first piece of a stream and close the connection with a TCP reset. Questions: the "
        "eval set's, in turn. Latency counts from sending to the whole answer.", "",
        "| | answers | errors | hangs | p50 | p95 | max | throughput |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| one client alone ({ALONE_S} s) | {single['answers']} | 0 | 0 | "
        f"{single['p50_s']:.2f} s | | | {single['per_s']:.1f} answers/s |",
        f"| {f['clients']} clients ({f['plain']} plain, {f['streamed']} streamed answers, "
        f"{f['dropped']} streams dropped) | {f['answers']} | {f['errors']} | {f['hangs']} | "
        f"{f['p50_s']:.2f} s | {f['p95_s']:.2f} s | {f['max_s']:.2f} s | "
        f"{f['per_s']:.1f} answers/s |", "",
        f"Afterwards a fresh question was answered {f['fresh_status']} in {f['fresh_s']:.2f} s. "
        f"The machine's load average (1 min) at the end was {f['load']:.1f}."
        + (f" Errors by kind: {f['error_kinds']}." if f["error_kinds"] else ""), "",
        "Latency under load is queueing: answers are computed one at a time (the model uses "
        "both cores for one), so a client waits behind the others; dropped streams are "
        "cancelled and cost at most the piece being computed.", ""])


def main(argv: list[str] | None = None) -> int:
    """Run the load test and write eval/loadtest.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--streams", type=int, default=10, help="of them streaming")
    parser.add_argument("--drops", type=int, default=5,
                        help="of the streaming ones, dropping the connection mid-stream")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--url", help="a running `asf serve` (else one is started here)")
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    proc = None
    url = args.url
    if not url:
        url, proc = _serve()
    try:
        single = alone(url, ALONE_S)
        figures = run(url, args.clients, args.streams, args.drops, args.seconds)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
    text = report(single, figures)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 1 if figures["errors"] or figures["hangs"] or figures["fresh_status"] != 200 else 0


if __name__ == "__main__":
    raise SystemExit(main())
