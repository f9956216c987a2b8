"""The HTTP API (`asf serve`): every endpoint, auth, limits and errors through FastAPI's
TestClient, and the OpenAI client over a real uvicorn server on loopback.

The Assistant is the real pipeline over the report with the tests' fake embedder.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant import cli
from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.server import MODEL_ID, create_app

QUESTION = "Hur många intervjuer genomfördes inom ramen för undersökningen?"


@pytest.fixture
def served(assistant: Assistant) -> Assistant:
    return assistant


def _client(assistant: Assistant, **settings: object) -> TestClient:
    app = create_app(Settings(**settings), assistant, background=False)  # type: ignore[arg-type]
    return TestClient(app)


@pytest.fixture
def client(served) -> TestClient:
    return _client(served)


def _events(text: str) -> list[tuple[str, dict]]:
    """Parse server-sent events (event + data lines) into (event, data) pairs."""
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((fields.get("event", "message"), json.loads(fields["data"])))
    return out


# ---------------------------------------------------------------------- endpoints
def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["chunks"] > 100


def test_ask_gives_the_json_of_asf_ask(client, served, capsys):
    response = client.post("/v1/ask", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert cli._ask_one(served, QUESTION, True) == 0
    assert body == json.loads(capsys.readouterr().out)
    assert not body["refused"] and "45" in body["answer"] and body["citations"]


def test_ask_with_history_answers_the_follow_up(client):
    history = [{"role": "user", "content": "Vad gör Le Mat Jonsered?"},
               {"role": "assistant", "content": "Le Mat Jonsered driver ett hotell."}]
    body = client.post("/v1/ask", json={"question": "Vilka samarbetar de med?",
                                        "history": history}).json()
    assert not body["refused"] and body["citations"]


def test_the_askers_role_reaches_the_pipeline(client, served, monkeypatch):
    seen: list[str | None] = []
    stream = served.stream

    def spy(question, history=(), role=None):
        seen.append(role)
        return stream(question, history, role)

    monkeypatch.setattr(served, "stream", spy)
    assert client.post("/v1/ask", json={"question": QUESTION, "role": "rådgivare"}
                       ).status_code == 200
    chat = {"messages": [{"role": "user", "content": QUESTION}]}
    assert client.post("/v1/chat/completions", json=chat | {"user": "asf"}).status_code == 200
    assert client.post("/v1/chat/completions", json=chat | {"role": "företag"}
                       ).status_code == 200
    assert seen == ["advisor", "asf", "company"]


def test_an_unknown_role_is_a_swedish_400(client):
    response = client.post("/v1/ask", json={"question": QUESTION, "role": "chef"})
    assert response.status_code == 400
    assert "Okänd roll ”chef”" in response.json()["error"]["message"]


def test_ask_stream_sends_pieces_then_the_answer(client):
    response = client.post("/v1/ask/stream", json={"question": QUESTION})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"delta"} and len(kinds) > 1
    streamed = "".join(data["text"] for kind, data in events if kind == "delta")
    assert streamed.strip() == events[-1][1]["answer"].strip()


def test_chat_completions_is_openai_shaped_with_citations(client):
    response = client.post("/v1/chat/completions", json={
        "model": MODEL_ID, "messages": [
            {"role": "system", "content": "Du är en hjälpsam assistent."},
            {"role": "user", "content": [{"type": "text", "text": QUESTION}]}]})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == MODEL_ID
    message = body["choices"][0]["message"]
    assert message["role"] == "assistant" and body["choices"][0]["finish_reason"] == "stop"
    assert "[1]" in message["content"] and "Källor:" in message["content"]
    assert body["citations"] and body["citations"][0]["n"] == 1


def test_chat_completions_streams_chunks_and_done(client):
    response = client.post("/v1/chat/completions", json={
        "messages": [{"role": "user", "content": QUESTION}], "stream": True})
    lines = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["citations"]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "45" in text and "Källor:" in text


@pytest.mark.parametrize("messages", [[], [{"role": "assistant", "content": "Hej"}],
                                      [{"role": "system", "content": "Svara kort."}]])
def test_chat_without_a_last_user_message_is_a_400(client, messages):
    response = client.post("/v1/chat/completions", json={"messages": messages})
    assert response.status_code == 400
    assert "role user" in response.json()["error"]["message"]


def test_models_lists_the_assistant(client):
    data = client.get("/v1/models").json()["data"]
    assert [m["id"] for m in data] == [MODEL_ID]


def test_cases_are_filtered_like_asf_cases(client, served, settings):
    import shutil

    from assistant.config import PROJECT_ROOT

    shutil.copytree(PROJECT_ROOT / "corpus" / "cases", settings.corpus_dir / "cases")
    every = client.get("/v1/cases").json()
    assert len(every) >= 10 and {"name", "industry"} <= set(every[0])
    property_cases = client.get("/v1/cases", params={"industry": "fastighet"}).json()
    assert 0 < len(property_cases) < len(every)
    assert all("fastighet" in json.dumps(c, ensure_ascii=False).lower() for c in property_cases)
    assert client.get("/v1/cases", params={"industry": "rymdfart"}).json() == []
    bad = client.get("/v1/cases", params={"arena": "rymden"})
    assert bad.status_code == 400 and "rymden" in bad.json()["error"]["message"]


# ---------------------------------------------------------------------- errors and limits
@pytest.mark.parametrize("question, fragment", [("", "tom"), ("   ", "tom"),
                                                ("x" * 1001, "för lång")])
def test_bad_questions_are_400_with_the_cli_messages(client, question, fragment):
    response = client.post("/v1/ask", json={"question": question})
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"].lower()


@pytest.mark.parametrize("body", ['{"question": ', '{"fråga": "x"}', '[1, 2]',
                                  '{"question": "x", "history": [{"role": "system"}]}'])
def test_malformed_bodies_are_400_in_swedish(client, body):
    response = client.post("/v1/ask", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Begäran är felaktig")


def test_a_body_over_the_limit_is_413_declared_or_streamed(served):
    client = _client(served, api={"max_request_kb": 1})
    big = json.dumps({"question": "x" * 2000})
    assert client.post("/v1/ask", content=big,
                       headers={"content-type": "application/json"}).status_code == 413

    def chunks() -> Iterator[bytes]:
        yield big[:600].encode()
        yield big[600:].encode()

    streamed = client.post("/v1/ask", content=chunks(),
                           headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert "högst 1 KB" in streamed.json()["error"]["message"]


def test_api_keys_are_required_when_set(served, monkeypatch):
    monkeypatch.setenv("ASF_API_KEYS", "hemlig-1, hemlig-2")
    client = _client(served)
    assert client.get("/healthz").status_code == 200         # probes need no key
    for headers in ({}, {"Authorization": "Bearer fel"}, {"X-API-Key": "hemlig"}):
        response = client.get("/v1/models", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert "API-nyckel" in response.json()["error"]["message"]
    assert client.get("/v1/models", headers={"Authorization": "Bearer hemlig-2"}).status_code \
        == 200
    assert client.get("/v1/models", headers={"X-API-Key": "hemlig-1"}).status_code == 200


def test_each_key_has_its_own_rate_limit(served, monkeypatch):
    monkeypatch.setenv("ASF_API_KEYS", "a,b")
    client = _client(served, api={"rate_per_minute": 2})
    a, b = {"X-API-Key": "a"}, {"X-API-Key": "b"}
    assert [client.get("/v1/models", headers=a).status_code for _ in range(2)] == [200, 200]
    limited = client.get("/v1/models", headers=a)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "Vänta" in limited.json()["error"]["message"]
    assert client.get("/v1/models", headers=b).status_code == 200


def test_not_ready_is_503_until_the_index_is_loaded(served):
    release = threading.Event()
    original = served.ensure_index

    def slow_index(*args, **kwargs):
        release.wait(30)
        return original(*args, **kwargs)

    served.ensure_index = slow_index  # type: ignore[method-assign]
    client = TestClient(create_app(Settings(), served, background=True))
    waiting = client.post("/v1/ask", json={"question": QUESTION})
    assert waiting.status_code == 503 and waiting.headers["retry-after"] == "5"
    assert "startar" in waiting.json()["error"]["message"]
    assert client.get("/readyz").status_code == 503
    release.set()
    app_state = client.app.state.asf  # type: ignore[attr-defined]
    assert app_state.ready.wait(60)
    assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200


def test_an_internal_error_never_shows_its_text(served):
    def broken(*args, **kwargs):
        raise RuntimeError("/srv/hemlig/sökväg: sk-live-nyckel")

    client = TestClient(create_app(Settings(), served, background=False),
                        raise_server_exceptions=False)
    served.ask = broken  # type: ignore[method-assign]
    served.stream = broken  # type: ignore[method-assign]
    for path in ("/v1/ask", "/v1/ask/stream"):
        response = client.post(path, json={"question": QUESTION})
        assert "hemlig" not in response.text and "sk-live" not in response.text
    assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 500


def test_serve_refuses_an_open_address_without_keys(capsys, monkeypatch):
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("must not start"))
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 2
    assert "ASF_API_KEYS" in capsys.readouterr().err


# ---------------------------------------------------------------------- real server
@pytest.fixture
def live_server(served) -> Iterator[str]:
    """A real uvicorn server on a free loopback port (logging requests); yields its URL."""
    import uvicorn

    config = uvicorn.Config(create_app(Settings(), served, background=False), host="127.0.0.1",
                            port=0, log_level="info")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_openai_client_gets_cited_answers_from_a_real_server(live_server):
    from openai import OpenAI

    client = OpenAI(base_url=f"{live_server}/v1", api_key="ingen", max_retries=0)
    assert [m.id for m in client.models.list()] == [MODEL_ID]
    completion = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}])
    content = completion.choices[0].message.content or ""
    assert "45" in content and "[1]" in content and "Källor:" in content
    assert completion.model_extra and completion.model_extra["citations"][0]["n"] == 1
    pieces = [chunk.choices[0].delta.content or "" for chunk in client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}], stream=True)]
    assert len(pieces) > 2 and "[1]" in "".join(pieces)


def test_concurrent_clients_on_a_real_server_all_succeed(live_server):
    import httpx

    def one(i: int) -> int:
        question = QUESTION if i % 2 else "Vad är ett IOP?"
        return httpx.post(f"{live_server}/v1/ask", json={"question": question},
                          timeout=120).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(one, range(30)))
    assert statuses == [200] * 30


def test_the_log_holds_neither_keys_nor_questions_nor_document_text(served, monkeypatch,
                                                                       caplog):
    import logging

    import httpx
    import uvicorn

    monkeypatch.setenv("ASF_API_KEYS", "hemlig-nyckel-123")
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(), served, background=False),
                                           host="127.0.0.1", port=0, log_level="info",
                                           log_config=None))    # records reach caplog
    thread = threading.Thread(target=server.run, daemon=True)
    with caplog.at_level(logging.DEBUG):
        thread.start()
        while not server.started:
            threading.Event().wait(0.05)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        headers = {"Authorization": "Bearer hemlig-nyckel-123"}
        answer = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, headers=headers,
                            timeout=60).json()
        httpx.get(f"{url}/v1/cases", params={"text": "hemlig fritext"}, headers=headers)
        server.should_exit = True
        thread.join(timeout=10)
    logged = "\n".join(r.getMessage() for r in caplog.records
                        if r.name.startswith(("uvicorn", "assistant", "fastapi")))
    assert "POST /v1/ask" in logged and "GET /v1/cases" in logged   # requests are logged ...
    assert "fritext" not in logged
    assert "hemlig-nyckel" not in logged and "intervjuer" not in logged   # ... not their content
    assert answer["citations"][0]["quote"][:40] not in logged


def test_a_failed_start_is_503_without_its_reason(served, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("/srv/hemlig/modell saknas")

    served.ensure_index = broken  # type: ignore[method-assign]
    client = TestClient(create_app(Settings(), served, background=False))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "serverns logg" in response.json()["error"]["message"]
    assert "hemlig" not in response.text and "hemlig" in caplog.text


# ---------------------------------------------------------------------- error shape (#24)
def _is_api_error(response, status: int) -> dict:
    """Assert the documented error shape and return the error; never a traceback or a path."""
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == status
    assert "Traceback" not in response.text and "/work" not in response.text
    assert "/tmp" not in response.text
    return body["error"]


@pytest.mark.parametrize("content", [b'{"question": "Hur m\xe5nga intervjuer?"}',   # Latin-1
                                     b"[" * 20_000 + b"]" * 20_000])
def test_unreadable_bodies_are_400_in_the_api_shape(client, content):
    response = client.post("/v1/ask", content=content,
                           headers={"content-type": "application/json"})
    assert _is_api_error(response, 400)["message"].startswith("Begäran är felaktig")


@pytest.mark.parametrize("method, path, status", [("GET", "/finns-inte", 404),
                                                  ("GET", "/v1/ask", 405),
                                                  ("DELETE", "/v1/models", 405)])
def test_unknown_paths_and_methods_are_json_in_swedish(client, method, path, status):
    error = _is_api_error(client.request(method, path), status)
    assert ("sökväg" in error["message"]) if status == 404 else ("Metoden" in error["message"])


@pytest.mark.parametrize("path, body", [
    ("/v1/ask", '{"question": "Hur m\\u00e5nga \\ud800 intervjuer?"}'),
    ("/v1/ask/stream", '{"question": "\\ud800"}'),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "\\udfff"}]}'),
    ("/v1/ask", '{"question": "x", "history": [{"role": "user", "content": "\\ud800"}]}')])
def test_a_lone_surrogate_is_a_400_not_a_500(live_server, path, body):
    import httpx

    response = httpx.post(f"{live_server}{path}", content=body.encode(),
                          headers={"content-type": "application/json"}, timeout=60)
    assert "Unicode" in _is_api_error(response, 400)["message"]


# ---------------------------------------------------------------------- sources (#24)
def test_a_file_indexed_from_outside_the_corpus_is_named_by_its_file_name(client, served,
                                                                           tmp_path):
    outside = tmp_path / "utanför" / "egen.txt"
    outside.parent.mkdir()
    outside.write_text("# Skötsel av kvittoskrivaren Zyxel-7\n\nKvittoskrivaren Zyxel-7 ska "
                       "rengöras en gång i månaden med en torr trasa.\n", encoding="utf-8")
    served.ingest([outside])
    question = "Hur ofta ska kvittoskrivaren Zyxel-7 rengöras?"
    body = client.post("/v1/ask", json={"question": question}).json()
    sources = [c["source"] for c in body["citations"] + body["contexts"]]
    assert "egen.txt" in sources and not any("/" in s for s in sources if "egen" in s)
    for path, request in [("/v1/ask", {"question": question}),
                          ("/v1/ask/stream", {"question": question}),
                          ("/v1/chat/completions",
                           {"messages": [{"role": "user", "content": question}]}),
                          ("/v1/chat/completions", {"stream": True, "messages": [
                              {"role": "user", "content": question}]})]:
        response = client.post(path, json=request)
        assert response.status_code == 200 and "Zyxel" in response.text
        assert str(outside.parent) not in response.text and str(tmp_path) not in response.text


# ---------------------------------------------------------------------- keys (#24)
def test_docs_and_openapi_need_the_key_when_keys_are_set(served, monkeypatch):
    monkeypatch.setenv("ASF_API_KEYS", "hemlig-1")
    client = _client(served)
    for path in ("/docs", "/redoc", "/openapi.json"):
        refused = client.get(path)
        assert _is_api_error(refused, 401)
        assert refused.headers["www-authenticate"].startswith("Basic")    # a browser asks
        assert client.get(path, auth=("asf", "hemlig-1")).status_code == 200
        assert client.get(path, headers={"Authorization": "Bearer hemlig-1"}).status_code == 200
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert client.get("/readyz", headers={"X-API-Key": "hemlig-1"}).json()["chunks"] > 100


def test_docs_are_served_from_this_server_without_a_cdn(client):
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200 and "cdn" not in page.text.lower()
        assets = [a for a in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js")
                  if a in page.text]
        assert assets and all(client.get(f"/docs-assets/{a}").status_code == 200
                              for a in assets)
    assert client.get("/openapi.json").json()["paths"]["/v1/ask"]


def test_wrong_keys_from_one_address_are_limited_with_429(served, monkeypatch):
    monkeypatch.setenv("ASF_API_KEYS", "hemlig-1")
    client = _client(served)
    statuses = [client.get("/v1/models", headers={"X-API-Key": f"gissning-{n}"}).status_code
                for n in range(200)]
    assert statuses[:10] == [401] * 10 and statuses.count(429) >= 150
    # While the address is limited even the right key waits: a guess cannot be confirmed.
    limited = client.get("/v1/models", headers={"X-API-Key": "hemlig-1"})
    error = _is_api_error(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1 and "fel API-nyckel" in error["message"]


def test_the_rate_limit_message_is_good_swedish_for_one_second(served):
    from assistant.server import seconds_sv

    assert [seconds_sv(s) for s in (0.2, 1, 1.4, 2, 30)] == \
        ["1 sekund", "1 sekund", "1 sekund", "2 sekunder", "30 sekunder"]
    client = _client(served, api={"rate_per_minute": 60})
    # Until the bucket is empty: on a busy machine 61 requests can take over a second, and
    # the bucket refills one request a second.
    limited = next((r for r in (client.get("/v1/models") for _ in range(1000))
                    if r.status_code == 429), None)
    assert limited is not None
    assert "Vänta 1 sekund och" in limited.json()["error"]["message"]


# ---------------------------------------------------------------------- OpenAI details (#25)
def _chat(client, **body):
    body.setdefault("messages", [{"role": "user", "content": QUESTION}])
    return client.post("/v1/chat/completions", json={"model": MODEL_ID, **body})


def test_chat_sources_are_a_markdown_list_and_the_note_comes_last(client, served):
    from assistant.prompts import BROAD_ANSWER_NOTE

    content = _chat(client).json()["choices"][0]["message"]["content"]
    answer_text, sources = content.split("**Källor:**")
    items = [line for line in sources.strip().splitlines() if line.startswith("- [")]
    assert items and items[0].startswith("- [1] ")
    # Every source line is a list item or its indented quote: no run-on paragraph.
    assert all(line.startswith(("- [", "  ”")) for line in sources.strip().splitlines()), sources
    broad = [{"role": "user", "content": "Vi är ett byggföretag i Göteborg, var ska vi börja?"}]
    note = client.post("/v1/ask", json={"question": broad[0]["content"]}).json()["note"]
    assert note == BROAD_ANSWER_NOTE
    text = _chat(client, messages=broad).json()["choices"][0]["message"]["content"]
    assert text.rstrip().endswith(note) and not text.startswith(note)
    # Streamed, the note comes at the same place: after the sources, at the end.
    assert collapse_ws(_stream_text(client, messages=broad)) == collapse_ws(text)


def collapse_ws(text: str) -> str:
    return " ".join(text.split())


def _stream_chunks(client, **body) -> list[dict]:
    response = _chat(client, stream=True, **body)
    lines = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


def _stream_text(client, **body) -> str:
    return "".join(c["choices"][0]["delta"].get("content", "")
                   for c in _stream_chunks(client, **body) if c["choices"])


def test_chat_usage_counts_characters_over_four(client):
    body = _chat(client).json()
    content = body["choices"][0]["message"]["content"]
    usage = body["usage"]
    assert usage["completion_tokens"] == -(-len(content) // 4) > 0
    assert usage["prompt_tokens"] == -(-len(QUESTION) // 4)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    chunks = _stream_chunks(client, stream_options={"include_usage": True})
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("limit", [3, 30])
def test_max_tokens_cuts_at_a_word_or_sentence_with_finish_reason_length(client, limit):
    full = _chat(client).json()["choices"][0]["message"]["content"]
    body = _chat(client, max_tokens=limit).json()
    choice = body["choices"][0]
    content = choice["message"]["content"]
    assert choice["finish_reason"] == "length"
    assert 0 < len(content) <= limit * 4 and full.startswith(content)
    assert full[len(content)].isspace()                     # never mid-word
    assert body["usage"]["completion_tokens"] <= limit
    chunks = _stream_chunks(client, max_tokens=limit)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert 0 < len(streamed) <= limit * 4
    assert _chat(client, max_completion_tokens=limit).json()["choices"][0][
        "finish_reason"] == "length"
    assert _chat(client, max_tokens=100_000).json()["choices"][0]["finish_reason"] == "stop"


def test_n_above_one_and_unknown_models_are_refused_as_openai_does(client):
    refused = _chat(client, n=2)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == "n" and error["type"] == "invalid_request_error"
    assert "n måste vara 1" in error["message"]
    unknown = client.post("/v1/chat/completions", json={
        "model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}]})
    assert unknown.status_code == 404
    error = unknown.json()["error"]
    assert error["code"] == "model_not_found" and "gpt-4o" in error["message"]
    assert _chat(client, max_tokens=0).status_code == 400


def test_openai_client_sees_usage_limits_and_model_errors(live_server):
    import openai
    from openai import OpenAI

    client = OpenAI(base_url=f"{live_server}/v1", api_key="ingen", max_retries=0)
    completion = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}], max_tokens=20)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage and 0 < completion.usage.completion_tokens <= 20
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o",
                                       messages=[{"role": "user", "content": QUESTION}])
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_ID, n=2,
                                       messages=[{"role": "user", "content": QUESTION}])


def test_openapi_description_is_swedish(client):
    schema = client.get("/openapi.json").json()
    text = json.dumps(schema, ensure_ascii=False)
    for english in ("Successful Response", "Validation Error", "Answer one question",
                    "The process is up", "OpenAI-compatible chat", "One earlier turn"):
        assert english not in text
    assert schema["paths"]["/v1/ask"]["post"]["summary"] == "Ställ en fråga"


# ---------------------------------------------------------------------- the route table
OUTLINE = Path(__file__).parent / "data" / "openapi_outline.json"


def openapi_outline(app) -> dict:
    """Return what clients and the documentation see of the API: every route (documented
    or not) in order, and per operation its id, tags, Swedish texts, parameters, body and
    responses, plus the models' Swedish descriptions."""
    schema = TestClient(app).get("/openapi.json").json()
    operations = {
        f"{method.upper()} {path}": {
            "operationId": op["operationId"], "tags": op.get("tags"),
            "summary": op.get("summary"), "description": op.get("description"),
            "parameters": [f"{p['in']} {p['name']}{'' if p.get('required') else '?'}"
                           for p in op.get("parameters", [])],
            "body": op.get("requestBody", {}).get("content", {}).get(
                "application/json", {}).get("schema", {}).get("$ref"),
            "responses": {code: r["description"] for code, r in op["responses"].items()}}
        for path, item in schema["paths"].items() for method, op in item.items()}
    return {
        "info": schema["info"],
        "routes": [f"{' '.join(sorted(getattr(r, 'methods', None) or ['MOUNT']))} {r.path}"
                   for r in app.routes],
        "operations": operations,
        "models": {name: model.get("description")
                   for name, model in schema["components"]["schemas"].items()}}


def test_the_openapi_document_keeps_its_routes_and_swedish_texts():
    """The routes, tags and Swedish texts as they were when the app was split into route
    groups (tests/data/openapi_outline.json); a route that disappears or changes fails."""
    outline = openapi_outline(create_app(Settings(), load=False))
    assert outline == json.loads(OUTLINE.read_text(encoding="utf-8"))
