"""App: HTTP API (`asf serve`), the Assistant over FastAPI with an OpenAI-compatible endpoint.

Interface stage, like cli.py and ui/: it wires requests to one process-wide Assistant and
adds what a shared service needs: API keys (and a limit on wrong ones), a per-key rate
limit, a request size limit, JSON errors with Swedish messages and the right status,
readiness while the model loads, and documentation pages served without a CDN.
`create_app` adds the route groups (operations, questions, OpenAI, cases, docs) and the
exception handlers; the checks they share (keys, rate limits) are one `Access` object whose
methods are the routes' dependencies.

Concurrency: answers are computed by a small pool of worker threads (ASF_API__WORKERS, one by
default: the embedding model already uses every core for one question) fed from one bounded
queue. A request only awaits its job's events on the event loop, so no thread and no lock is
held while a client reads slowly or waits its turn; a plain request and a stream are the same
kind of job. A client that leaves cancels its job: a queued one is skipped, a running one
stops at its next piece. /readyz answers 503 while a job has run longer than
ASF_API__STUCK_AFTER_S, so a wedged worker is seen by the probes.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.answering.base import source_markdown
from assistant.config import Settings
from assistant.pipeline import Assistant, QuestionError, validate_question
from assistant.prompts import (
    API_DESCRIPTION,
    API_DOCS_OFFLINE,
    API_ERR_BAD_BODY,
    API_ERR_BAD_REQUEST,
    API_ERR_BAD_TEXT,
    API_ERR_BUSY,
    API_ERR_HTTP,
    API_ERR_INTERNAL,
    API_ERR_KEY_ATTEMPTS,
    API_ERR_LOAD_FAILED,
    API_ERR_MAX_TOKENS,
    API_ERR_METHOD,
    API_ERR_MODEL_NOT_FOUND,
    API_ERR_N,
    API_ERR_NO_USER_MESSAGE,
    API_ERR_NOT_FOUND,
    API_ERR_NOT_READY,
    API_ERR_RATE_LIMIT,
    API_ERR_STUCK,
    API_ERR_TOO_LARGE,
    API_ERR_UNAUTHORIZED,
    API_MODEL_DOCS,
    API_OPENAPI_TEXTS,
    API_ROUTE_DOCS,
    API_TITLE,
    ERR_BAD_ROLE,
    GUIDE_ROLE_LABELS,
    MSG_CHAT_CHECKED,
    ROLE_ALIASES,
)
from assistant.text import collapse
from assistant.types import Answer

MODEL_ID = "asf-assistenten"
# Token counts of /v1/chat/completions are estimated as characters / 4 (no tokenizer is
# loaded for it); max_tokens is measured the same way.
CHARS_PER_TOKEN = 4
# A case filter in the query string, repeatable: ?industry=fastighet&industry=bygg
Filter = Annotated[list[str] | None, Query()]
LOOPBACK = ("127.0.0.1", "::1", "localhost")
# How often a request waiting for its answer looks whether its client is still there.
DISCONNECT_POLL_S = 0.25
DOCS_ASSETS = "/docs-assets"
log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- request bodies
def _invalid_text(data: Any) -> str | None:
    """Return where in parsed JSON a string holds a lone surrogate (not UTF-8), or None.

    JSON may spell one ("\\ud800") although no UTF-8 text holds it; it would fail only when
    the answer is written. Walked without recursion: the body may be nested deeply.
    """
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            stack += [(f"{where}.{k}".lstrip("."), v) for k, v in value.items()]
            stack += [(where or "innehållet", k) for k in value]
        elif isinstance(value, list):
            stack += [(f"{where}.{i}".lstrip("."), v) for i, v in enumerate(value)]
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return where or "innehållet"
    return None


class ApiModel(BaseModel):
    """A request body: its text must be valid Unicode."""

    @model_validator(mode="before")
    @classmethod
    def _unicode(cls, data: Any) -> Any:
        where = _invalid_text(data)
        if where is not None:
            raise PydanticCustomError("invalid_unicode", "{where}", {"where": where})
        return data


class Turn(BaseModel):
    """One earlier turn of a conversation."""

    role: str = Field(pattern="^(user|assistant)$")
    content: str


def _role(value: str | None) -> str | None:
    """Return the role a request names (Swedish or internal name), or raise ApiError."""
    if value is None or not value.strip():
        return None
    role = ROLE_ALIASES.get(value.strip().lower())
    if role is None:
        raise ApiError(400, ERR_BAD_ROLE.format(
            value=value[:40], allowed=", ".join(GUIDE_ROLE_LABELS.values())))
    return role


class AskRequest(ApiModel):
    """POST /v1/ask and /v1/ask/stream."""

    question: str
    history: list[Turn] = Field(default_factory=list)
    role: str | None = Field(default=None, description="Frågeställarens roll: företag, asf "
                                                       "eller rådgivare (styr vad som kommer "
                                                       "först i svaret).")


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


class ChatRequest(ApiModel):
    """POST /v1/chat/completions (fields the assistant does not use are accepted and ignored)."""

    model: str = MODEL_ID
    messages: list[ChatMessage]
    stream: bool = False
    max_tokens: int | None = Field(default=None, description="Högsta antal token i svaret "
                                                             "(uppskattat som tecken/4).")
    max_completion_tokens: int | None = Field(default=None, description="Som max_tokens.")
    n: int = Field(default=1, description="Antal svar; bara 1 stöds.")
    stream_options: dict[str, Any] | None = None
    role: str | None = Field(default=None, description="Frågeställarens roll (företag, asf, "
                                                       "rådgivare); även OpenAI:s fält user "
                                                       "med ett av de värdena.")
    user: str | None = None

    def asker_role(self) -> str | None:
        """Return the asker's role: the `role` field, else `user` when it names a role."""
        if self.role:
            return _role(self.role)
        return ROLE_ALIASES.get((self.user or "").strip().lower())


# ---------------------------------------------------------------------- errors
class ApiError(Exception):
    """An error answered as JSON {"error": {"message", "type", "code"}} with its status."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 headers: dict[str, str] | None = None, code: str | None = None,
                 param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind
        self.headers = headers or {}
        # OpenAI names some errors by a code ("model_not_found") and the field at fault.
        self.code, self.param = code, param

    def response(self) -> JSONResponse:
        """Return the error as the JSON response clients (OpenAI's included) understand."""
        error: dict[str, Any] = {"message": self.message, "type": self.kind,
                                 "code": self.code or self.status}
        if self.param is not None:
            error["param"] = self.param
        return SafeJSONResponse({"error": error}, status_code=self.status,
                                headers=self.headers)


class SafeJSONResponse(JSONResponse):
    """JSON whose rendering never fails on text that is not UTF-8 (it is replaced)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8", "replace")


class ClientGone(Exception):
    """The client closed its connection before its answer was ready."""


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

    def _tokens(self, identity: str, now: float) -> float:
        tokens, last = self._buckets.get(identity, (float(self.per_minute), now))
        return min(float(self.per_minute), tokens + (now - last) * self.per_minute / 60.0)

    def take(self, identity: str) -> float:
        """Take one request; return 0, or the seconds to wait when the bucket is empty."""
        now = time.monotonic()
        with self._lock:
            tokens = self._tokens(identity, now)
            if tokens < 1:
                self._buckets[identity] = (tokens, now)
                return (1 - tokens) * 60.0 / self.per_minute
            self._buckets[identity] = (tokens - 1, now)
            return 0.0

    def waiting(self, identity: str) -> float:
        """Return the seconds until the identity may take one again (0: it may now)."""
        with self._lock:
            tokens = self._tokens(identity, time.monotonic())
        return 0.0 if tokens >= 1 else (1 - tokens) * 60.0 / self.per_minute


_DONE = object()


@dataclass(eq=False)
class Job:
    """One question for the workers; its events reach the request through `events`.

    The worker thread hands every event to the request's event loop; `cancelled` is set by
    the request when its client leaves (or its wait ends), and the worker stops there.
    """

    produce: Callable[[], Iterator[str | Answer]]
    loop: asyncio.AbstractEventLoop
    answer_only: bool = False
    events: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def put(self, item: Any) -> None:
        """Hand an event (or the end, or a failure) to the waiting request."""
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, item)
        except RuntimeError:        # the event loop has closed: the server is stopping
            self.cancelled.set()


class WorkerPool:
    """Worker threads computing answers from one bounded queue, in order.

    The threads are daemons: a stopping server does not wait for an answer stuck in a
    remote call, it leaves it behind after its grace period.
    """

    def __init__(self, workers: int, queue_size: int):
        self.workers = workers
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._running: dict[Job, float] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def submit(self, produce: Callable[[], Iterator[str | Answer]],
               answer_only: bool = False) -> Job:
        """Queue a job (from the event loop); raise 503 when the queue is full."""
        job = Job(produce, asyncio.get_running_loop(), answer_only)
        with self._lock:
            if not self._threads:   # started on first use: an app only read for its routes
                self._threads = [threading.Thread(target=self._work, name=f"asf-svar-{n}",
                                                  daemon=True) for n in range(self.workers)]
                for thread in self._threads:
                    thread.start()
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise ApiError(503, API_ERR_BUSY.format(queued=self._queue.qsize()),
                           "service_unavailable", {"Retry-After": "5"}) from None
        return job

    def longest_running(self) -> float:
        """Return how many seconds the oldest job still running has run (0: none runs)."""
        with self._lock:
            starts = list(self._running.values())
        return time.monotonic() - min(starts) if starts else 0.0

    def close(self) -> None:
        """Drop the queued jobs and let the idle workers end."""
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.cancelled.set()
                job.put(_DONE)
        for _ in self._threads:
            self._queue.put(None)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if job.cancelled.is_set():      # its client left while it waited: not computed
                continue
            with self._lock:
                self._running[job] = time.monotonic()
            try:
                self._run(job)
            finally:
                with self._lock:
                    del self._running[job]
                job.put(_DONE)

    @staticmethod
    def _run(job: Job) -> None:
        try:
            events = job.produce()
            try:
                for event in events:
                    if not (job.answer_only and isinstance(event, str)):
                        job.put(event)
                    if job.cancelled.is_set():
                        break
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()
        except Exception as exc:  # noqa: BLE001 - the request answers it (500 or an event)
            log.error("Ett svar kunde inte beräknas", exc_info=exc)
            job.put(exc)


async def job_events(job: Job, request: Request) -> AsyncGenerator[str | Answer, None]:
    """Yield a job's events as its worker produces them; raise ClientGone when the client
    leaves. However this ends (the last event, the client gone, the task cancelled by a
    disconnect or a stopping server), the job is cancelled, so no worker computes for no one.
    """
    try:
        while True:
            try:
                item = await asyncio.wait_for(job.events.get(), DISCONNECT_POLL_S)
            except TimeoutError:
                if await request.is_disconnected():
                    raise ClientGone from None
                continue
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        job.cancelled.set()


async def job_answer(job: Job, request: Request) -> Answer:
    """Return the finished Answer of a job (raise ClientGone when the client leaves)."""
    result = None
    async for event in job_events(job, request):
        if isinstance(event, Answer):
            result = event
    if result is None:
        raise RuntimeError("answer stream ended without an Answer")
    return result


@dataclass
class ServerState:
    """The process-wide Assistant (loaded in the background) and the workers that use it."""

    settings: Settings
    assistant: Assistant | None = None
    error: str = ""
    ready: threading.Event = field(default_factory=threading.Event)
    pool: WorkerPool = field(init=False)

    def __post_init__(self) -> None:
        self.pool = WorkerPool(self.settings.api.workers, self.settings.api.queue_size)

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
            log.error("Assistenten kunde inte starta: %s", exc)
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


def given_key(request: Request) -> str:
    """Return the key a request carries: `Authorization: Bearer KEY`, `X-API-Key: KEY`, or
    HTTP Basic with the key as password (what a browser sends for /docs after asking)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(
                ":")[2]
        except (ValueError, UnicodeDecodeError):
            return ""
    return request.headers.get("x-api-key", "")


def seconds_sv(seconds: float) -> str:
    """Return a wait in whole seconds in Swedish: "1 sekund", "5 sekunder"."""
    whole = max(1, round(seconds))
    return "1 sekund" if whole == 1 else f"{whole} sekunder"


def public_source(source: str) -> str:
    """Return a source as clients may see it: corpus-relative keys as they are, a file
    indexed from outside the corpus by its file name (never a path on the server)."""
    if PurePosixPath(source).is_absolute() or PureWindowsPath(source).is_absolute():
        return PureWindowsPath(source).name      # splits on / and \ alike
    return source


def public_answer(answer: Answer) -> dict[str, Any]:
    """Return the JSON of an answer (that of `asf ask --json`) with public source names."""
    data = answer.to_dict()
    for item in data["citations"] + data["contexts"]:
        item["source"] = public_source(item["source"])
    return data


def _docs_assets() -> Any:
    """Return the folder of the Swagger UI and ReDoc files, or None when not installed."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    from importlib.resources import files

    return files(fastapi_offline) / "static"


# ---------------------------------------------------------------------- access
class Access:
    """The access checks every route group shares: API keys, a limit on wrong keys per
    address and a rate limit per key (per address when no keys are set).

    `client` (the API's routes) and `reader` (the documentation) are FastAPI dependencies.
    """

    def __init__(self, settings: Settings):
        self.keys = api_keys(settings)
        self.limiter = RateLimiter(settings.api.rate_per_minute)
        self.failures = RateLimiter(settings.api.failed_keys_per_minute)

    def authenticate(self, request: Request, challenge: str = "Bearer") -> str | None:
        """Check the API key; return the key's identity (None when no keys are set).

        Wrong keys are counted per client address: past the limit every attempt from it,
        a right key included, is 429 until the bucket refills, so keys cannot be guessed.
        """
        if not self.keys:
            return None
        address = _address(request)
        wait = self.failures.waiting(address)
        if not wait:
            match = self._matching_key(given_key(request))
            if match is not None:
                return f"key:{match}"
            wait = self.failures.take(address)
            if not wait:
                raise ApiError(401, API_ERR_UNAUTHORIZED, "authentication_error",
                               {"WWW-Authenticate": challenge})
        raise _rate_limited(API_ERR_KEY_ATTEMPTS, wait)

    def _matching_key(self, given: str) -> int | None:
        """Return the number of the key given (compared in constant time), or None."""
        encoded = given.encode()
        return next((n for n, k in enumerate(self.keys)
                     if hmac.compare_digest(k.encode(), encoded)), None)

    def shows_details(self, request: Request) -> bool:
        """Return True when a request may see more than the status: no keys are set, or it
        gives a right one (a key given is checked, and its failures counted, as anywhere)."""
        return not self.keys or bool(given_key(request) and self.authenticate(request))

    async def client(self, request: Request) -> str:
        """Check the API key and the rate limit; return the client's identity."""
        identity = self.authenticate(request) or _address(request)
        wait = self.limiter.take(identity)
        if wait:
            raise _rate_limited(API_ERR_RATE_LIMIT, wait)
        return identity

    async def reader(self, request: Request) -> None:
        """The documentation's guard: the key (a browser asks for it, HTTP Basic)."""
        self.authenticate(request, 'Basic realm="ASF-assistenten", charset="UTF-8"')


def _address(request: Request) -> str:
    return request.client.host if request.client else "okänd"


def _rate_limited(message: str, wait: float) -> ApiError:
    """Return the 429 that tells the client, in words and in Retry-After, how long to wait."""
    return ApiError(429, message.format(wait=seconds_sv(wait)), "rate_limit_exceeded",
                    {"Retry-After": str(max(1, round(wait)))})


# ---------------------------------------------------------------------- app
def create_app(settings: Settings, assistant: Assistant | None = None,
               background: bool = True, load: bool = True) -> FastAPI:
    """Return the API app; the Assistant loads in a background thread (or now, or never:
    load=False gives an app that only answers /healthz, for reading its routes)."""
    state = ServerState(settings)
    access = Access(settings)
    # The documentation routes are added by _add_docs, behind the API key.
    app = FastAPI(title=API_TITLE, version="1.0", description=API_DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan,
                  exception_handlers={ApiError: _api_error, ClientGone: _gone,
                                      RequestValidationError: _invalid,
                                      StarletteHTTPException: _http, Exception: _internal})
    app.state.asf = state
    access_log = logging.getLogger("uvicorn.access")
    if _PATH_ONLY not in access_log.filters:
        access_log.addFilter(_PATH_ONLY)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_request_kb * 1024)
    if load and background:
        threading.Thread(target=state.load, args=(assistant,), name="asf-load",
                         daemon=True).start()
    elif load:
        state.load(assistant)
    for add_group in (_add_operations, _add_questions, _add_openai, _add_cases):
        add_group(app, state, access)
    _add_docs(app, access)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.asf.pool.close()


# ---------------------------------------------------------------------- exception handlers
async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return exc.response()


async def _gone(request: Request, exc: ClientGone) -> Response:
    return Response(status_code=499)    # nobody reads it; the access log shows why


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    text = next((e for e in errors if e.get("type") == "invalid_unicode"), None)
    if text is not None:
        return ApiError(400, API_ERR_BAD_TEXT.format(
            fields=text.get("ctx", {}).get("where", "innehållet"))).response()
    where = ", ".join(".".join(str(p) for p in e.get("loc", ()) if p != "body")
                      for e in errors[:3])
    return ApiError(400, API_ERR_BAD_REQUEST.format(fields=where or "innehållet")).response()


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    # Starlette's and FastAPI's own errors (no route, wrong method, a body that is not
    # UTF-8 or nests too deeply) in the API's shape, in Swedish.
    headers = dict(exc.headers or {})
    messages = {400: (API_ERR_BAD_BODY, "invalid_request_error"),
                404: (API_ERR_NOT_FOUND, "not_found"),
                405: (API_ERR_METHOD.format(allowed=headers.get("Allow", "")),
                      "method_not_allowed")}
    message, kind = messages.get(exc.status_code,
                                 (API_ERR_HTTP.format(status=exc.status_code),
                                  "invalid_request_error"))
    return ApiError(exc.status_code, message, kind, headers).response()


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    # Never the exception's text: it may hold paths or a provider's message.
    return ApiError(500, API_ERR_INTERNAL, "internal_error").response()


# ---------------------------------------------------------------------- route groups
# Each adds its routes to the app itself rather than through an APIRouter: since FastAPI
# 0.137 an included router is one lazy node in `app.routes`, which then no longer lists the
# paths (the deployment tests read them there).
def _add_operations(app: FastAPI, state: ServerState, access: Access) -> None:
    """/healthz and /readyz, for a platform's probes (no key needed)."""

    @app.get("/healthz", tags=["drift"], summary=_summary("healthz"),
             description=_description("healthz"))
    def healthz() -> dict[str, str]:
        """Return ok: the process is up (the model may still be loading)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["drift"], summary=_summary("readyz"),
             description=_description("readyz"))
    def readyz(request: Request) -> dict[str, Any]:
        """The model and the index are loaded, no answer is stuck, and questions are
        answered. The number of passages is given only with a key (when keys are set)."""
        assistant = state.require()
        stuck_after = state.settings.api.stuck_after_s
        if state.pool.longest_running() > stuck_after:
            raise ApiError(503, API_ERR_STUCK.format(seconds=stuck_after),
                           "service_unavailable", {"Retry-After": "30"})
        body: dict[str, Any] = {"status": "ready"}
        if access.shows_details(request):
            body["chunks"] = len(assistant.index.chunks())
        return body


def _add_questions(app: FastAPI, state: ServerState, access: Access) -> None:
    """/v1/ask and /v1/ask/stream: the assistant's own API."""
    keyed = [Depends(access.client)]

    @app.post("/v1/ask", tags=["frågor"], dependencies=keyed, summary=_summary("ask"),
              description=_description("ask"))
    async def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        """Answer one question; the same JSON as `asf ask --json` (sources from outside the
        corpus by file name)."""
        job = _ask_job(state, body, answer_only=True)
        return public_answer(await job_answer(job, request))

    @app.post("/v1/ask/stream", tags=["frågor"], dependencies=keyed,
              summary=_summary("ask_stream"), description=_description("ask_stream"))
    async def ask_stream(body: AskRequest, request: Request) -> StreamingResponse:
        """Answer one question as server-sent events: `delta` pieces, then `answer`."""
        job = _ask_job(state, body)
        return StreamingResponse(_ask_events(job, request), media_type="text/event-stream")


def _add_openai(app: FastAPI, state: ServerState, access: Access) -> None:
    """/v1/models and /v1/chat/completions, for OpenAI clients and Open WebUI."""
    keyed = [Depends(access.client)]

    @app.get("/v1/models", tags=["OpenAI"], dependencies=keyed, summary=_summary("models"),
             description=_description("models"))
    async def models() -> dict[str, Any]:
        """The one model this server offers (for OpenAI clients and Open WebUI)."""
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model",
                                            "created": 0, "owned_by": "asf-assistenten"}]}

    @app.post("/v1/chat/completions", tags=["OpenAI"], dependencies=keyed,
              summary=_summary("chat"), description=_description("chat"), response_model=None)
    async def chat(body: ChatRequest, request: Request) -> dict[str, Any] | StreamingResponse:
        """OpenAI-compatible chat: the last user message is the question, earlier turns its
        history; the answer (with [n]) and its sources are the content, the citations an
        extra field."""
        limit = _check_chat(body)
        question, history = _conversation(body.messages)
        question = _checked(question, state.settings)
        role = body.asker_role()
        assistant = state.require()
        prompt_tokens = sum(count_tokens(m.text()) for m in body.messages)
        job = state.pool.submit(lambda: assistant.stream(question, history, role),
                                answer_only=not body.stream)
        if body.stream:
            usage = bool((body.stream_options or {}).get("include_usage"))
            return StreamingResponse(_chat_stream(job, request, limit, prompt_tokens, usage),
                                     media_type="text/event-stream")
        return _chat_completion(await job_answer(job, request), limit, prompt_tokens)


def _add_cases(app: FastAPI, state: ServerState, access: Access) -> None:
    """/v1/cases: the report's named examples."""

    @app.get("/v1/cases", tags=["fallexempel"], dependencies=[Depends(access.client)],
             summary=_summary("cases"), description=_description("cases"))
    def cases(industry: Filter = None, arena: Filter = None, started_by: Filter = None,
              place: Filter = None, kind: Filter = None, text: str = "") -> list[dict[str, Any]]:
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


def _add_docs(app: FastAPI, access: Access) -> None:
    """Serve /openapi.json, and /docs and /redoc from files on this server (no CDN), all
    behind the API key when keys are set; without the files the pages are left out."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    reader = [Depends(access.reader)]

    @app.get("/openapi.json", include_in_schema=False, dependencies=reader)
    async def openapi() -> JSONResponse:
        return JSONResponse(swedish_openapi(app.openapi()))

    assets = _docs_assets()
    if assets is None:
        log.warning(API_DOCS_OFFLINE)
        return
    from fastapi.staticfiles import StaticFiles

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False, dependencies=reader)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} – API",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png")

    @app.get("/redoc", include_in_schema=False, dependencies=reader)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} – API",
                              redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
                              with_google_fonts=False)


# ---------------------------------------------------------------------- questions
def _checked(question: str, settings: Settings) -> str:
    """Return the question as the pipeline takes it, or raise 400 with the CLI's message."""
    try:
        return validate_question(question, settings.answer.max_question_chars)
    except QuestionError as exc:
        raise ApiError(400, str(exc)) from exc


def _ask_job(state: ServerState, body: AskRequest, answer_only: bool = False) -> Job:
    """Check a /v1/ask request and queue its question for the workers."""
    question = _checked(body.question, state.settings)
    assistant = state.require()
    history = [t.model_dump() for t in body.history]
    role = _role(body.role)
    return state.pool.submit(lambda: assistant.stream(question, history, role),
                             answer_only=answer_only)


async def _ask_events(job: Job, request: Request) -> AsyncIterator[bytes]:
    """Yield a job's events as /v1/ask/stream sends them: `delta` pieces, then `answer`."""
    try:
        async for event in job_events(job, request):
            if isinstance(event, Answer):
                yield _sse("answer", public_answer(event))
            else:
                yield _sse("delta", {"text": event})
    except ClientGone:
        return
    except Exception:  # noqa: BLE001 - the stream has begun: say so in it
        yield _sse("error", {"message": API_ERR_INTERNAL})


def _chat_completion(answer: Answer, limit: int | None, prompt_tokens: int) -> dict[str, Any]:
    """Return an answer as an OpenAI chat.completion, cut to the token limit."""
    content, cut = truncate_tokens(chat_content(answer), limit)
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
            "created": int(time.time()), "model": MODEL_ID,
            "choices": [{"index": 0, "finish_reason": "length" if cut else "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": _usage(prompt_tokens, count_tokens(content)),
            "citations": public_answer(answer)["citations"]}


# ---------------------------------------------------------------------- helpers
def _sse(event: str, data: dict[str, Any]) -> bytes:
    text = f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
    return text.encode("utf-8", "replace")


def _conversation(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """Return the question (the last user message) and the turns before it."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, API_ERR_NO_USER_MESSAGE)
    history = [{"role": m.role, "content": m.text()} for m in turns[:-1]]
    return turns[-1].text(), history


def _summary(name: str) -> str:
    """Return a route's Swedish summary for the OpenAPI document."""
    return API_ROUTE_DOCS[name][0]


def _description(name: str) -> str:
    """Return a route's Swedish description for the OpenAPI document."""
    return API_ROUTE_DOCS[name][1]


def swedish_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Return the OpenAPI document with FastAPI's English texts and the models' (English)
    docstrings replaced by Swedish ones."""
    for name, model in schema.get("components", {}).get("schemas", {}).items():
        if name in API_MODEL_DOCS:
            model["description"] = API_MODEL_DOCS[name]
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                text = response.get("description", "")
                response["description"] = API_OPENAPI_TEXTS.get(text, text)
    return schema


def _check_chat(body: ChatRequest) -> int | None:
    """Refuse what the assistant cannot honour, as OpenAI would; return the token limit."""
    if body.model != MODEL_ID:
        raise ApiError(404, API_ERR_MODEL_NOT_FOUND.format(model=body.model[:80], known=MODEL_ID),
                       "invalid_request_error", code="model_not_found", param="model")
    if body.n != 1:
        raise ApiError(400, API_ERR_N.format(n=body.n), code="invalid_value", param="n")
    limit = body.max_completion_tokens or body.max_tokens
    for name, value in (("max_tokens", body.max_tokens),
                        ("max_completion_tokens", body.max_completion_tokens)):
        if value is not None and value < 1:
            raise ApiError(400, API_ERR_MAX_TOKENS.format(value=value), code="invalid_value",
                           param=name)
    return limit


def count_tokens(text: str) -> int:
    """Return the estimated number of tokens of a text: characters / 4, rounded up."""
    return -(-len(text) // CHARS_PER_TOKEN)


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def truncate_tokens(text: str, limit: int | None) -> tuple[str, bool]:
    """Return text cut to at most `limit` estimated tokens, and whether it was cut.

    The cut falls after the last sentence that fits when one ends in the second half of the
    allowance, else after the last whole word (a single overlong word is cut as it is).
    """
    if limit is None or count_tokens(text) <= limit:
        return text, False
    room = limit * CHARS_PER_TOKEN
    head = text[:room]
    sentence = max(head.rfind(end) for end in (". ", "! ", "? ", ".\n", "\n\n", "”\n"))
    if sentence >= room // 2:
        return head[:sentence + 1].rstrip(), True
    if len(text) > room and not text[room].isspace():
        space = max(head.rfind(" "), head.rfind("\n"))
        if space > 0:
            head = head[:space]
    return head.rstrip(), True


def chat_content(answer: Answer) -> str:
    """Return the chat message of an answer: text with [n] markers, its sources as a Markdown
    list, then the answer's note (always last, as when it streams)."""
    parts = [answer.answer, source_markdown(answer)]
    if answer.note:
        parts.append(answer.note)
    return "\n\n".join(parts)


def _chunk(completion_id: str, delta: dict[str, Any], finish: str | None = None,
           **extra: Any) -> bytes:
    body = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": MODEL_ID, "choices": [{"index": 0, "delta": delta,
                                            "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode("utf-8", "replace")


async def _chat_stream(job: Job, request: Request, limit: int | None = None,
                       prompt_tokens: int = 0, usage: bool = False) -> AsyncIterator[bytes]:
    """Yield OpenAI chat.completion.chunk events, then the sources and the note, then [DONE].

    With a token limit the stream stops where `truncate_tokens` would cut the whole text
    (finish_reason "length"); with stream_options.include_usage a last chunk has the usage.
    """
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    yield _chunk(completion_id, {"role": "assistant", "content": ""})
    streamed: list[str] = []
    sent = ""

    def within(piece: str) -> tuple[str, bool]:
        nonlocal sent
        whole, cut = truncate_tokens(sent + piece, limit)
        new = whole[len(sent):] if whole.startswith(sent) else ""
        sent += new
        return new, cut

    finish = "stop"
    events = job_events(job, request)
    try:
        async for event in events:
            if isinstance(event, Answer):
                tail = []
                if collapse("".join(streamed)) != collapse(event.answer):
                    tail.append(f"{MSG_CHAT_CHECKED}\n{event.answer}")
                tail.append(source_markdown(event))
                if event.note:
                    tail.append(event.note)
                piece, cut = within("\n\n" + "\n\n".join(tail))
                if piece:
                    yield _chunk(completion_id, {"content": piece})
                finish = "length" if cut else "stop"
                yield _chunk(completion_id, {}, finish,
                             citations=public_answer(event)["citations"])
                break
            streamed.append(event)
            piece, cut = within(event)
            if piece:
                yield _chunk(completion_id, {"content": piece})
            if cut:
                finish = "length"
                yield _chunk(completion_id, {}, finish)
                break
    except ClientGone:
        return
    except Exception:  # noqa: BLE001 - the stream has begun: end it with the reason
        yield _chunk(completion_id, {"content": API_ERR_INTERNAL}, "stop")
    finally:
        await events.aclose()       # a stream cut at the limit cancels its job at once
    if usage:
        body = {"id": completion_id, "object": "chat.completion.chunk",
                "created": int(time.time()), "model": MODEL_ID, "choices": [],
                "usage": _usage(prompt_tokens, count_tokens(sent))}
        yield f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode("utf-8", "replace")
    yield b"data: [DONE]\n\n"


def check_bind(settings: Settings, host: str) -> str | None:
    """Return a Swedish refusal when `host` is not loopback and no API key is set."""
    from assistant.prompts import API_ERR_OPEN_WITHOUT_KEYS

    if host not in LOOPBACK and not api_keys(settings):
        return API_ERR_OPEN_WITHOUT_KEYS.format(host=host)
    return None
