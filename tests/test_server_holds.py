"""`asf serve` holds under the clients a shared service meets (issue #24): clients that drop a
stream or give up while queued, many at once with streams among them, a stuck answer, and a
SIGTERM while requests are in flight.

Everything runs over real uvicorn servers on loopback. The Assistant is the real pipeline
with the tests' fake embedder; where an answer must be slow (a client leaves while it is being
computed) the LLM backend talks to the scripted OpenAI server of tests/fake_openai.py, whose
reply is delayed, as a remote model's can be. Timeouts here only detect hangs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.server import create_app
from tests.conftest import FakeEmbeddings, use_embedder
from tests.fake_openai import FakeOpenAI, Reply

QUESTION = "Hur många intervjuer genomfördes inom ramen för undersökningen?"
LLM_ANSWER = "Totalt genomfördes 45 intervjuer inom ramen för undersökningen [1]."
WORKER = Path(__file__).resolve().parent / "fault_worker.py"
# Every client of these tests is one address: lift the per-client limit they would measure.
OPEN = {"rate_per_minute": 100_000}
HANG = 90          # seconds after which a request that has not been answered is a hang


def _serve(app) -> tuple[str, object, threading.Thread]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", server, thread


@pytest.fixture
def serve() -> Iterator:
    """Start apps on real loopback servers; stop them after the test."""
    running = []

    def start(app) -> str:
        url, server, thread = _serve(app)
        running.append((server, thread))
        return url

    yield start
    for server, thread in running:
        server.should_exit = True       # type: ignore[attr-defined]
        thread.join(timeout=15)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _open_stream(port: int, path: str = "/v1/ask/stream",
                 question: str = QUESTION) -> socket.socket:
    """Send a streaming question on a raw socket and wait for the response headers."""
    body = json.dumps({"question": question}).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=HANG)
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (path.encode(), len(body), body))
    return sock


def _read(sock: socket.socket, until: bytes = b"\r\n\r\n", at_least: int = 0) -> bytes:
    got = b""
    while until not in got or len(got) < at_least:
        piece = sock.recv(4096)
        if not piece:
            break
        got += piece
    return got


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a client that crashes or is killed does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _send_ask(port: int, question: str = QUESTION) -> socket.socket:
    body = json.dumps({"question": question}).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=HANG)
    sock.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                 b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    return sock


@pytest.fixture
def slow_llm(monkeypatch, isolated_dirs) -> Iterator[FakeOpenAI]:
    """The LLM backend against a scripted model whose every reply comes after 2 s."""
    with FakeOpenAI(Reply(LLM_ANSWER, delay=2)) as fake:
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                    "all_proxy", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.setenv("ASF_BACKEND", "llm")
        monkeypatch.setenv("ASF_LLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("ASF_LLM_MODEL", "fake-model")
        monkeypatch.setenv("ASF_LLM_TIMEOUT", "20")
        use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
        yield fake


# ---------------------------------------------------------------------- item 1
def test_a_dropped_stream_leaves_the_server_answering(slow_llm, serve):
    assistant = Assistant(Settings())
    assistant.ensure_index()
    url = serve(create_app(Settings(api=OPEN), assistant, background=False))
    sock = _open_stream(_port(url))
    assert b" 200 " in _read(sock)           # the stream has begun; its answer is on the way
    _reset(sock)
    later = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=HANG)
    assert later.status_code == 200 and later.json()["answer"]
    assert httpx.get(f"{url}/readyz", timeout=HANG).status_code == 200


def test_sigterm_after_a_dropped_stream_stops_the_server(slow_llm, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "ASF_API__RATE_PER_MINUTE": "100000"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, str(WORKER), "serve", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            threading.Event().wait(0.2)
        sock = _open_stream(port)
        assert b" 200 " in _read(sock)
        _reset(sock)
        waiting = [_send_ask(port) for _ in range(3)]     # in flight when SIGTERM comes
        threading.Event().wait(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=HANG) is not None
        for sock in waiting:
            sock.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


# ---------------------------------------------------------------------- item 2
def test_fifty_clients_with_ten_streams_are_all_answered(assistant, serve):
    url = serve(create_app(Settings(api=OPEN), assistant, background=False))

    def one(i: int) -> tuple[int, str]:
        if i % 5 == 0:
            with httpx.stream("POST", f"{url}/v1/ask/stream", json={"question": QUESTION},
                              timeout=HANG) as response:
                text = "".join(response.iter_text())
            return response.status_code, "answer" if "event: answer" in text else text[-200:]
        response = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=HANG)
        return response.status_code, "answer" if response.json().get("answer") else ""

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(50)))
    assert results == [(200, "answer")] * 50


# ---------------------------------------------------------------------- item 12
def test_requests_abandoned_while_queued_are_not_computed(assistant, serve):
    started = threading.Event()
    release = threading.Event()
    questions: list[str] = []
    original = assistant.stream

    def counted(question, history=(), role=None):
        questions.append(question)
        if len(questions) == 1:         # the first answer holds the worker until released
            started.set()
            release.wait(HANG)
        yield from original(question, history)

    assistant.stream = counted  # type: ignore[method-assign]
    url = serve(create_app(Settings(api={**OPEN, "workers": 1}), assistant, background=False))
    first = threading.Thread(target=httpx.post, args=(f"{url}/v1/ask",),
                             kwargs={"json": {"question": QUESTION}, "timeout": HANG})
    first.start()
    assert started.wait(HANG)
    abandoned = [_send_ask(_port(url), f"Fråga nummer {n} om intervjuer?") for n in range(5)]
    threading.Event().wait(1)           # they are read and wait for the worker ...
    for sock in abandoned:              # ... when their clients leave
        _reset(sock)
    threading.Event().wait(1)
    release.set()
    first.join(HANG)
    fresh = httpx.post(f"{url}/v1/ask", json={"question": "Vad är ett IOP?"}, timeout=HANG)
    assert fresh.status_code == 200
    assert questions == [QUESTION, "Vad är ett IOP?"]


# ---------------------------------------------------------------------- wedged worker
def test_readyz_reports_a_stuck_answer_in_swedish(assistant, serve):
    release = threading.Event()
    original = assistant.stream

    def stuck(question, history=(), role=None):
        release.wait(HANG)
        yield from original(question, history)

    assistant.stream = stuck  # type: ignore[method-assign]
    url = serve(create_app(Settings(api={**OPEN, "workers": 1, "stuck_after_s": 1}),
                           assistant, background=False))
    assert httpx.get(f"{url}/readyz", timeout=HANG).status_code == 200
    asking = threading.Thread(target=httpx.post, args=(f"{url}/v1/ask",),
                              kwargs={"json": {"question": QUESTION}, "timeout": HANG})
    asking.start()
    statuses = []
    for _ in range(100):
        response = httpx.get(f"{url}/readyz", timeout=HANG)
        statuses.append(response.status_code)
        if response.status_code == 503:
            break
        threading.Event().wait(0.2)
    assert statuses[-1] == 503
    assert "fastnat" in response.json()["error"]["message"]
    release.set()
    asking.join(HANG)
    assert httpx.get(f"{url}/readyz", timeout=HANG).status_code == 200
