"""App: HTTP API (`asf serve`), the Assistant over FastAPI with an OpenAI-compatible endpoint.

Interface stage, like cli.py and ui/: it wires requests to one process-wide Assistant and
adds what a shared service needs: API keys, a per-key rate limit, a request size limit,
JSON errors with Swedish messages and the right status, readiness while the model loads.

Concurrency: answers are computed one at a time under a lock. The embedding model uses both
CPU cores for one question, so running two at once only slows both; the lock also keeps the
retriever's caches consistent. Requests wait for the lock in FastAPI's thread pool.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.answering.base import source_lines
from assistant.config import Settings
from assistant.pipeline import Assistant, QuestionError, validate_question
from assistant.prompts import (
    API_ERR_BAD_REQUEST,
    API_ERR_INTERNAL,
    API_ERR_LOAD_FAILED,
    API_ERR_NO_USER_MESSAGE,
    API_ERR_NOT_READY,
    API_ERR_RATE_LIMIT,
    API_ERR_TOO_LARGE,
    API_ERR_UNAUTHORIZED,
    MSG_CHAT_CHECKED,
)
from assistant.text import collapse
from assistant.types import Answer

MODEL_ID = "asf-assistenten"
# A case filter in the query string, repeatable: ?industry=fastighet&industry=bygg
Filter = Annotated[list[str] | None, Query()]
LOOPBACK = ("127.0.0.1", "::1", "localhost")


# ---------------------------------------------------------------------- request bodies
class Turn(BaseModel):
    """One earlier turn of a conversation."""

    role: str = Field(pattern="^(user|assistant)$")
    content: str


class AskRequest(BaseModel):
    """POST /v1/ask and /v1/ask/stream."""

    question: str
    history: list[Turn] = Field(default_factory=list)


class ChatMessage(BaseModel):
    """An OpenAI chat message; content may be a string or a list of text parts."""

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """Return the message's text (text parts joined)."""
        if isinstance(self.content, list):
            return "\n".join(str(p.get("text", "")) for p in self.content
                             if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """POST /v1/chat/completions (fields the assistant does not use are accepted and ignored)."""

    model: str = MODEL_ID
    messages: list[ChatMessage]
    stream: bool = False


# ---------------------------------------------------------------------- errors
class ApiError(Exception):
    """An error answered as JSON {"error": {"message", "type", "code"}} with its status."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        """Return the error as the JSON response clients (OpenAI's included) understand."""
        return JSONResponse({"error": {"message": self.message, "type": self.kind,
                                       "code": self.status}},
                            status_code=self.status, headers=self.headers)


class BodyLimit:
    """Refuse request bodies over a size (declared or streamed) with 413, before parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = ApiError(413, API_ERR_TOO_LARGE.format(kb=self.max_bytes // 1024),
                             "request_too_large")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await too_large.response()(scope, receive, send)
            return
        # Read the whole body first (it is small by definition), so a chunked upload that
        # outgrows the limit is refused before any parsing, then hand it on unchanged.
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await too_large.response()(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)




class _PathOnly(logging.Filter):
    """Keep query strings (case filters, anything a client puts there) out of access logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


_PATH_ONLY = _PathOnly()


# ---------------------------------------------------------------------- state
class RateLimiter:
    """A token bucket per client identity: `per_minute` requests, refilled continuously."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, identity: str) -> float:
        """Take one request; return 0, or the seconds to wait when the bucket is empty."""
        now = time.monotonic()
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(identity, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[identity] = (tokens, now)
                return (1 - tokens) / rate
            self._buckets[identity] = (tokens - 1, now)
            return 0.0


@dataclass
class ServerState:
    """The process-wide Assistant (loaded in the background) and what guards it."""

    settings: Settings
    assistant: Assistant | None = None
    error: str = ""
    ready: threading.Event = field(default_factory=threading.Event)
    answering: threading.Lock = field(default_factory=threading.Lock)

    def load(self, assistant: Assistant | None = None) -> None:
        """Build the Assistant, bring the index up to date and warm the model up."""
        try:
            assistant = assistant or Assistant(self.settings)
            assistant.ensure_index()
            assistant.warm_up()
            self.assistant = assistant
            self.ready.set()
        except Exception as exc:  # noqa: BLE001 - /readyz reports it; the process stays up
            # The reason (which may name server paths) goes to the log, not to clients.
            logging.getLogger(__name__).error("Assistenten kunde inte starta: %s", exc)
            self.error = API_ERR_LOAD_FAILED

    def require(self) -> Assistant:
        """Return the Assistant, or raise 503 while it loads (or when loading failed)."""
        if not self.ready.is_set() or self.assistant is None:
            raise ApiError(503, self.error or API_ERR_NOT_READY, "service_unavailable",
                           {"Retry-After": "5"})
        return self.assistant


def api_keys(settings: Settings) -> list[str]:
    """Return the configured API keys (ASF_API_KEYS, comma-separated)."""
    return [k.strip() for k in settings.api_keys.get_secret_value().split(",") if k.strip()]


# ---------------------------------------------------------------------- app
def create_app(settings: Settings, assistant: Assistant | None = None,
               background: bool = True, load: bool = True) -> FastAPI:
    """Return the API app; the Assistant loads in a background thread (or now, or never:
    load=False gives an app that only answers /healthz, for reading its routes)."""
    state = ServerState(settings)
    keys = api_keys(settings)
    limiter = RateLimiter(settings.api.rate_per_minute)
    app = FastAPI(title="ASF-assistenten", version="1.0",
                  description="Frågor och svar med källhänvisningar om affärer mellan "
                              "arbetsintegrerande sociala företag och näringslivet.")
    app.state.asf = state
    access = logging.getLogger("uvicorn.access")
    if _PATH_ONLY not in access.filters:
        access.addFilter(_PATH_ONLY)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_request_kb * 1024)
    if load and background:
        threading.Thread(target=state.load, args=(assistant,), name="asf-load",
                         daemon=True).start()
    elif load:
        state.load(assistant)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = ", ".join(".".join(str(p) for p in e.get("loc", ()) if p != "body")
                          for e in exc.errors()[:3])
        return ApiError(400, API_ERR_BAD_REQUEST.format(fields=where or "innehållet")).response()

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        # Never the exception's text: it may hold paths or a provider's message.
        return ApiError(500, API_ERR_INTERNAL, "internal_error").response()

    def client(request: Request) -> str:
        """Check the API key and the rate limit; return the client's identity."""
        identity = request.client.host if request.client else "okänd"
        if keys:
            header = request.headers.get("authorization", "")
            given = header[7:].strip() if header.lower().startswith("bearer ") else \
                request.headers.get("x-api-key", "")
            match = next((k for k in keys if hmac.compare_digest(k.encode(), given.encode())),
                         None)
            if match is None:
                raise ApiError(401, API_ERR_UNAUTHORIZED, "authentication_error",
                               {"WWW-Authenticate": "Bearer"})
            identity = "key:" + str(keys.index(match))
        wait = limiter.take(identity)
        if wait:
            raise ApiError(429, API_ERR_RATE_LIMIT.format(seconds=max(1, round(wait))),
                           "rate_limit_exceeded", {"Retry-After": str(max(1, round(wait)))})
        return identity

    def checked(question: str) -> str:
        try:
            return validate_question(question, settings.answer.max_question_chars)
        except QuestionError as exc:
            raise ApiError(400, str(exc)) from exc

    @app.get("/healthz", tags=["drift"])
    def healthz() -> dict[str, str]:
        """The process is up (the model may still be loading)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["drift"])
    def readyz() -> dict[str, Any]:
        """The model and the index are loaded and questions are answered."""
        assistant = state.require()
        return {"status": "ready", "chunks": len(assistant.index.chunks())}

    @app.post("/v1/ask", tags=["frågor"])
    def ask(body: AskRequest, _: str = Depends(client)) -> dict[str, Any]:
        """Answer one question; the same JSON as `asf ask --json`."""
        question = checked(body.question)
        assistant = state.require()
        with state.answering:
            answer = assistant.ask(question, [t.model_dump() for t in body.history])
        return answer.to_dict()

    @app.post("/v1/ask/stream", tags=["frågor"])
    def ask_stream(body: AskRequest, _: str = Depends(client)) -> StreamingResponse:
        """Answer one question as server-sent events: `delta` pieces, then `answer`."""
        question = checked(body.question)
        assistant = state.require()
        history = [t.model_dump() for t in body.history]

        def events() -> Iterator[str]:
            with state.answering:
                try:
                    for event in assistant.stream(question, history):
                        if isinstance(event, Answer):
                            yield _sse("answer", event.to_dict())
                        else:
                            yield _sse("delta", {"text": event})
                except Exception:  # noqa: BLE001 - the stream has begun: say so in it
                    yield _sse("error", {"message": API_ERR_INTERNAL})

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/v1/models", tags=["OpenAI"])
    def models(_: str = Depends(client)) -> dict[str, Any]:
        """The one model this server offers (for OpenAI clients and Open WebUI)."""
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model",
                                            "created": 0, "owned_by": "asf-assistenten"}]}

    @app.post("/v1/chat/completions", tags=["OpenAI"], response_model=None)
    def chat(body: ChatRequest, _: str = Depends(client)) -> dict[str, Any] | StreamingResponse:
        """OpenAI-compatible chat: the last user message is the question, earlier turns its
        history; the answer (with [n]) and its sources are the content, the citations an
        extra field."""
        question, history = _conversation(body.messages)
        question = checked(question)
        assistant = state.require()
        if body.stream:
            return StreamingResponse(_chat_stream(state, assistant, question, history),
                                     media_type="text/event-stream")
        with state.answering:
            answer = assistant.ask(question, history)
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
                "created": int(time.time()), "model": MODEL_ID,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": chat_content(answer)}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "citations": answer.to_dict()["citations"]}

    @app.get("/v1/cases", tags=["fallexempel"])
    def cases(industry: Filter = None, arena: Filter = None, started_by: Filter = None,
              place: Filter = None, kind: Filter = None, text: str = "",
              _: str = Depends(client)) -> list[dict[str, Any]]:
        """The report's named examples, filtered as `asf cases` filters them (a filter given
        several times means or; different filters combine with and)."""
        from assistant.cases.catalog import query_from_options

        assistant = state.require()
        try:
            query = query_from_options(industry or [], arena or [], started_by or [],
                                       place or [], kind or [], text)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from exc
        return [m.case.to_dict() for m in assistant.catalog.filter(query)]

    return app


# ---------------------------------------------------------------------- helpers
def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _conversation(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """Return the question (the last user message) and the turns before it."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, API_ERR_NO_USER_MESSAGE)
    history = [{"role": m.role, "content": m.text()} for m in turns[:-1]]
    return turns[-1].text(), history


def chat_content(answer: Answer) -> str:
    """Return the chat message of an answer: note, text with [n] markers, then its sources."""
    parts = [answer.note] if answer.note else []
    parts += [answer.answer, "\n".join(source_lines(answer))]
    return "\n\n".join(parts)


def _chunk(completion_id: str, delta: dict[str, Any], finish: str | None = None,
           **extra: Any) -> str:
    body = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": MODEL_ID, "choices": [{"index": 0, "delta": delta,
                                            "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _chat_stream(state: ServerState, assistant: Assistant, question: str,
                 history: list[dict[str, str]]) -> Iterator[str]:
    """Yield OpenAI chat.completion.chunk events, then the sources, then [DONE]."""
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    yield _chunk(completion_id, {"role": "assistant", "content": ""})
    streamed: list[str] = []
    with state.answering:
        try:
            for event in assistant.stream(question, history):
                if isinstance(event, Answer):
                    tail = []
                    if event.note:
                        tail.append(event.note)
                    if collapse("".join(streamed)) != collapse(event.answer):
                        tail.append(f"{MSG_CHAT_CHECKED}\n{event.answer}")
                    tail.append("\n".join(source_lines(event)))
                    yield _chunk(completion_id, {"content": "\n\n" + "\n\n".join(tail)})
                    yield _chunk(completion_id, {}, "stop",
                                 citations=event.to_dict()["citations"])
                else:
                    streamed.append(event)
                    yield _chunk(completion_id, {"content": event})
        except Exception:  # noqa: BLE001 - the stream has begun: end it with the reason
            yield _chunk(completion_id, {"content": API_ERR_INTERNAL}, "stop")
    yield "data: [DONE]\n\n"


def check_bind(settings: Settings, host: str) -> str | None:
    """Return a Swedish refusal when `host` is not loopback and no API key is set."""
    from assistant.prompts import API_ERR_OPEN_WITHOUT_KEYS

    if host not in LOOPBACK and not api_keys(settings):
        return API_ERR_OPEN_WITHOUT_KEYS.format(host=host)
    return None
