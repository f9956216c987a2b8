"""A scripted OpenAI-compatible chat server on loopback, for tests of the LLM backend.

Real HTTP on 127.0.0.1 with an ephemeral port. POST /v1/chat/completions answers with the next
queued reply, as one JSON body or, when the request says "stream": true, as server-sent events.
Queue replies with enqueue(), as simonw/llm's MockModel does; every request is recorded.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted reply: the text, or an HTTP error status.

    delay: seconds before anything is sent; stall: seconds of silence halfway through a stream.
    gate: halfway through a stream, wait (up to stall seconds, else 10) until the test sets
    it; `gate_opened` then says whether the client opened it in time, which proves what the
    client had shown before the rest of the stream was sent, without measuring time.
    """

    content: str = ""
    status: int = 200
    delay: float = 0.0
    stall: float = 0.0
    gate: threading.Event | None = None
    gate_opened: bool | None = None


@dataclass
class Request:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        """Return the text of all messages of the request."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


_ERRORS = {
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    404: ("The model does not exist.", "invalid_request_error", "model_not_found"),
    429: ("Rate limit reached.", "rate_limit_error", "rate_limit_exceeded"),
    500: ("The server had an error.", "server_error", None),
}


class FakeOpenAI:
    """A local OpenAI-compatible server that replies with queued answers."""

    def __init__(self, default: str | Reply | None = None):
        self.default = Reply(default) if isinstance(default, str) else default
        self.requests: list[Request] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control
    def enqueue(self, *replies: str | Reply) -> FakeOpenAI:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self._queue.extend(Reply(r) if isinstance(r, str) else r for r in replies)
        return self

    def _next(self) -> Reply | None:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    @property
    def base_url(self) -> str:
        """Return the OpenAI base URL of the running server."""
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        """Listen on an ephemeral loopback port in a background thread."""
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wake any reply that is still sleeping."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _pieces(text: str) -> list[str]:
    """Split text into small token-like pieces, keeping every character."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the log
        pass

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        fake = self.server_fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake.requests.append(Request(self.path, headers, body))
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"No route {self.path}", "type": "not_found"}})
            return
        reply = fake._next()
        if reply is None:
            self._json(500, {"error": {"message": "No scripted reply queued.",
                                       "type": "server_error"}})
            return
        if reply.delay and fake._stopping.wait(reply.delay):
            return
        try:
            if reply.status != 200:
                message, kind, code = _ERRORS.get(reply.status, ("Error.", "server_error", None))
                self._json(reply.status, {"error": {"message": message, "type": kind,
                                                    "param": None, "code": code}})
            elif body.get("stream"):
                self._stream(reply, body)
            else:
                self._complete(reply, body)
        except (BrokenPipeError, ConnectionResetError):
            pass    # the client gave up (a timeout test); nothing to answer

    def _complete(self, reply: Reply, body: dict[str, Any]) -> None:
        self._json(200, {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": reply.content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(_pieces(reply.content)),
                      "total_tokens": 10 + len(_pieces(reply.content))},
        })

    def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model", "fake")}

        def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            event = json.dumps({**base, "choices": choices, **extra})
            self.wfile.write(f"data: {event}\n\n".encode())
            self.wfile.flush()

        send([{"index": 0, "delta": {"role": "assistant", "content": ""},
               "finish_reason": None}])
        pieces = _pieces(reply.content)
        for i, piece in enumerate(pieces):
            if reply.gate is not None and i == len(pieces) // 2:
                reply.gate_opened = reply.gate.wait(reply.stall or 10)
            elif reply.stall and i == len(pieces) // 2 and self.server_fake._stopping.wait(
                    reply.stall):
                return
            send([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        send([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if (body.get("stream_options") or {}).get("include_usage"):
            send([], usage={"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def loopback_only(monkeypatch: Any) -> None:
    """Keep a test's requests to an OpenAI-compatible server on loopback: no proxies, no
    OpenAI endpoint or key, no tracing from the developer's environment."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE",
                "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_GATEWAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
