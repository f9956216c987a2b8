"""The llama.cpp test server's cache: which cached binary is used and which is rebuilt (#26).

No compiling here: fake `llama-server` executables stand in for real builds (one that dies with
SIGILL as a `-march=native` binary did on another CPU, and one that answers like the real
server), and the build step is replaced by one that records it was asked for.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests import llama_server

# Answers /health and one chat completion, as llama-server does; `--version` prints a line.
GOOD_SERVER = f"""#!{sys.executable}
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
if "--version" in sys.argv:
    print("version: fake"); sys.exit(0)
port = int(sys.argv[sys.argv.index("--port") + 1])
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def _send(self, body):
        data = json.dumps(body).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(data)))
        self.end_headers(); self.wfile.write(data)
    def do_GET(self): self._send({{"status": "ok"}})
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self._send({{"choices": [{{"message": {{"content": "Hej"}}}}],
                    "usage": {{"completion_tokens": 1}}}})
HTTPServer(("127.0.0.1", port), H).serve_forever()
"""
# What a binary with instructions this CPU lacks does: dies of SIGILL at once.
SIGILL_SERVER = "#!/bin/sh\nkill -ILL $$\n"
# Starts and answers /health, then dies of SIGILL at its first computation.
DIES_ON_FIRST_COMPLETION = GOOD_SERVER.replace(
    "self.rfile.read(int(self.headers[\"Content-Length\"]))",
    "import os, signal; os.kill(os.getpid(), signal.SIGILL)")


def _cmake_cache(options: list[str]) -> str:
    return "\n".join(f"{o.removeprefix('-D').split('=')[0]}:BOOL="
                     f"{o.split('=', 1)[1]}" for o in options) + "\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder with a verified model file; builds only record that they were asked."""
    cache = tmp_path / "cache"
    model = llama_server.model_path(cache)
    model.parent.mkdir(parents=True)
    model.write_bytes(b"gguf")
    model.with_name(model.name + ".verified").write_text(llama_server.MODEL_SHA256 + "\n")
    builds: list[Path] = []

    def fake_build(root: Path, log: Path) -> Path:
        builds.append(root)
        _install(cache, GOOD_SERVER, llama_server.CMAKE_OPTIONS)
        return llama_server.server_binary_path(cache)

    monkeypatch.setattr(llama_server, "_build", fake_build)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return cache, builds


def _install(cache: Path, script: str, options: list[str]) -> Path:
    binary = llama_server.server_binary_path(cache)
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.write_text(script)
    binary.chmod(0o755)
    (binary.parents[1] / "CMakeCache.txt").write_text(_cmake_cache(options))
    return binary


def test_the_build_is_portable_for_any_x86_64_cpu():
    options = llama_server.CMAKE_OPTIONS
    assert "-DGGML_NATIVE=OFF" in options
    # Nothing past the x86-64 baseline: each of these is missing on some x86-64 CPU.
    assert {f"-DGGML_{isa}=OFF" for isa in ("SSE42", "AVX", "AVX2", "BMI2", "FMA", "F16C",
                                             "AVX512")} <= set(options)
    assert not any("march=native" in o for o in options)


def test_a_binary_killed_by_sigill_is_named_so(tmp_path):
    binary = tmp_path / "llama-server"
    binary.write_text(SIGILL_SERVER)
    binary.chmod(0o755)
    assert "SIGILL" in str(llama_server._version_problem(binary))
    assert "kod -4" in str(llama_server.smoke_test(binary, tmp_path / "m.gguf",
                                                   tmp_path / "build.log"))


def test_a_server_that_dies_at_its_first_completion_fails_the_smoke_test(tmp_path):
    binary = tmp_path / "llama-server"
    binary.write_text(DIES_ON_FIRST_COMPLETION)
    binary.chmod(0o755)
    assert llama_server._version_problem(binary) is None
    problem = llama_server.smoke_test(binary, tmp_path / "m.gguf", tmp_path / "build.log")
    assert problem and "ingen komplettering" in problem


def test_a_fresh_build_is_smoke_tested_and_marked_verified(cache):
    cache, builds = cache
    binary = llama_server.ensure_server(cache, retry_failed=True)
    assert len(builds) == 1
    verified = json.loads((binary.parents[2] / llama_server.VERIFIED_FILE).read_text())
    assert verified["cpu"] == llama_server.cpu_fingerprint()
    assert "smoke test: 1 tokens, 'Hej'" in (binary.parents[2] / "build.log").read_text()
    # Verified on this CPU: used again without a build or a smoke test.
    assert llama_server.ensure_server(cache) == binary and len(builds) == 1


def test_a_cached_binary_that_dies_of_sigill_is_rebuilt(cache):
    cache, builds = cache
    _install(cache, SIGILL_SERVER, llama_server.CMAKE_OPTIONS)
    llama_server.ensure_server(cache)
    assert len(builds) == 1


def test_a_cached_native_build_is_rebuilt_even_where_it_runs(cache):
    cache, builds = cache
    native = [o for o in llama_server.CMAKE_OPTIONS if "NATIVE" not in o] + ["-DGGML_NATIVE=ON"]
    _install(cache, GOOD_SERVER, native)
    llama_server.ensure_server(cache)
    assert len(builds) == 1


def test_a_binary_verified_on_another_cpu_is_smoke_tested_here(cache):
    cache, builds = cache
    root = llama_server.server_binary_path(cache).parents[2]
    _install(cache, DIES_ON_FIRST_COMPLETION, llama_server.CMAKE_OPTIONS)
    (root / llama_server.VERIFIED_FILE).write_text(json.dumps(
        {"cmake_options": llama_server.CMAKE_OPTIONS, "cpu": "another-cpu"}))
    llama_server.ensure_server(cache)
    assert len(builds) == 1
    assert json.loads((root / llama_server.VERIFIED_FILE).read_text())["cpu"] == \
        llama_server.cpu_fingerprint()
