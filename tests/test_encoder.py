"""The model folder run without sentence-transformers gives sentence-transformers' vectors.

The fast tests read only the folders' JSON files; the integration test loads the real model
both ways and compares every vector, int8 as the default settings run it. The chat UI runs the
model in a child process (EncoderProcess): the same vectors, its failures, its lifetime.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.index.encoder import (
    EncoderProcess,
    EncoderProcessError,
    SentenceEncoder,
    SentenceTransformersEncoder,
    load_encoder,
    runs_without_sentence_transformers,
)

MODEL = Settings(models_dir=PROJECT_ROOT / "models").model_path


def _config_copy(tmp_path: Path) -> Path:
    """The real folder's JSON files and dense heads, without the network's weights."""
    if not (MODEL / "modules.json").exists():
        pytest.skip(f"no model at {MODEL} (`make setup`)")
    folder = tmp_path / "model"
    shutil.copytree(MODEL, folder, ignore=shutil.ignore_patterns("model.safetensors",
                                                                 "tokenizer.model"))
    for dense in ("2_Dense", "3_Dense"):
        shutil.copy(MODEL / dense / "model.safetensors", folder / dense)
    return folder


def test_the_default_model_runs_without_sentence_transformers(tmp_path):
    assert runs_without_sentence_transformers(_config_copy(tmp_path))


def _edit(path: Path, **values) -> None:
    config = json.loads(path.read_text())
    config.update(values)
    path.write_text(json.dumps(config))


@pytest.mark.parametrize("change", ["unknown module", "max pooling", "relu head",
                                    "no tokenizer.json", "prompt left out of the pooling",
                                    "lower case", "left padding", "default prompt"])
def test_a_folder_with_other_modules_is_left_to_sentence_transformers(tmp_path, change):
    folder = _config_copy(tmp_path)
    if change == "prompt left out of the pooling":
        _edit(folder / "1_Pooling" / "config.json", include_prompt=False)
    elif change == "lower case":
        _edit(folder / "sentence_bert_config.json", do_lower_case=True)
    elif change == "left padding":
        _edit(folder / "tokenizer_config.json", padding_side="left")
    elif change == "default prompt":
        _edit(folder / "config_sentence_transformers.json", default_prompt_name="query")
    elif change == "unknown module":
        modules = json.loads((folder / "modules.json").read_text())
        modules.insert(1, {"idx": 9, "name": "9", "path": "",
                           "type": "sentence_transformers.models.LayerNorm"})
        (folder / "modules.json").write_text(json.dumps(modules))
    elif change == "max pooling":
        _edit(folder / "1_Pooling" / "config.json", pooling_mode_mean_tokens=False,
              pooling_mode_max_tokens=True)
    elif change == "relu head":
        _edit(folder / "2_Dense" / "config.json",
              activation_function="torch.nn.modules.activation.ReLU")
    else:
        (folder / "tokenizer.json").unlink()
    assert not runs_without_sentence_transformers(folder)


@pytest.mark.parametrize("broken", ["tokenizer.json", "model.safetensors"])
def test_a_cut_short_file_is_a_value_error_naming_it(tmp_path, broken):
    # tokenizers and safetensors raise bare Exception subclasses (English, no file name);
    # LazyEmbeddings turns a ValueError into the Swedish "run make setup" message.
    folder = _config_copy(tmp_path)
    with (MODEL / broken).open("rb") as source:
        (folder / broken).write_bytes(source.read(1000))
    with pytest.raises(ValueError, match=str(folder)):
        load_encoder(folder, quantize=True)


@pytest.mark.integration
def test_vectors_and_token_vectors_equal_sentence_transformers_in_int8(real_embeddings):
    encoder = real_embeddings._model
    assert isinstance(encoder, SentenceEncoder) and real_embeddings.quantize
    reference = SentenceTransformersEncoder(real_embeddings.model_path, quantize=True)
    # More than one batch of texts of different lengths: the int8 model's activation scale is
    # its batch's, so equal vectors need the same batches, padding included.
    words = ("Ett socialt företag städar kontor åt ett fastighetsbolag i Västerås, och kunden "
             "betalar marknadspris för tjänsten sedan flera år tillbaka").split()
    texts = [" ".join(words[:n]) for n in range(2, len(words) + 1)] * 2
    assert len(texts) > 32
    for prompt in ("query", "document"):
        ours, theirs = encoder.vectors(texts, prompt), reference.vectors(texts, prompt)
        assert np.allclose((ours * theirs).sum(axis=1), 1, atol=1e-5)
    ours_tokens = encoder.with_tokens(texts[:20], "document")
    theirs_tokens = reference.with_tokens(texts[:20], "document")
    for (vector, tokens), (their_vector, their_tokens) in zip(ours_tokens, theirs_tokens,
                                                              strict=True):
        assert float(np.dot(vector, their_vector)) > 0.9999
        assert tokens.ids.tolist() == their_tokens.ids.tolist()
        cosines = (tokens.vectors.astype(np.float32)
                   * their_tokens.vectors.astype(np.float32)).sum(axis=1)
        assert cosines.min() > 0.999


def test_a_model_the_child_process_cannot_load_is_a_value_error_naming_it(tmp_path):
    # The same error as in-process, so LazyEmbeddings gives the same Swedish message; and the
    # next call tries again (the user may have run `make setup` meanwhile).
    folder = _config_copy(tmp_path)
    broken = "tokenizer.json"
    with (MODEL / broken).open("rb") as source:
        (folder / broken).write_bytes(source.read(1000))
    encoder = EncoderProcess(folder, quantize=True)
    try:
        for _ in range(2):
            with pytest.raises(ValueError, match=str(folder)):
                encoder.vectors(["Vad är ett ASF?"], "query")
    finally:
        encoder.close()


def _wait_until(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that has exited but is not yet reaped is a zombie: not running.
    status = Path(f"/proc/{pid}/stat")
    return not status.exists() or status.read_text().split(")")[-1].split()[0] != "Z"


@pytest.mark.integration
def test_the_child_process_gives_the_same_vectors_and_is_restarted_after_it_dies(
        real_embeddings, monkeypatch):
    inline = real_embeddings._model
    child = EncoderProcess.for_folder(real_embeddings.model_path, real_embeddings.quantize)
    try:
        texts = [f"Hur hittar vi {n} kunder bland fastighetsbolagen i Västerås?" for n in
                 range(1, 21)]
        assert child.prompts == inline.prompts
        assert np.array_equal(child.vectors(texts, "query"), inline.vectors(texts, "query"))
        ours, theirs = child.with_tokens(texts[:3], "document"), inline.with_tokens(
            texts[:3], "document")
        for (vector, tokens), (their_vector, their_tokens) in zip(ours, theirs, strict=True):
            assert vector == their_vector
            assert np.array_equal(tokens.vectors, their_tokens.vectors)
        one = inline.vectors(texts[:1], "query")
        # Killed between calls (out of memory, say): the next call starts another child.
        first = child.pid
        os.kill(first, signal.SIGKILL)
        # Reaped, not only a zombie leader: waitpid waits for every thread of the child.
        _wait_until(lambda: child._process.poll() is not None, "the child to die")
        assert np.array_equal(child.vectors(texts[:1], "query"), one)
        assert child.pid != first
        # Killed during a call: that call says so in Swedish; the next one works.
        with child._lock:
            child._conn.send(("vectors", texts * 50, "document"))
            os.kill(child.pid, signal.SIGKILL)
            with pytest.raises(EncoderProcessError, match="Inbäddningsmodellens process"):
                child._exchange(None)
        assert np.array_equal(child.vectors(texts[:1], "query"), one)
        # Interrupted between sending and receiving (Ctrl-C in a thread, say): the reply left
        # in the pipe must not answer the next call, so that child is ended too.
        conn = child._conn
        real_recv = conn.recv
        monkeypatch.setattr(conn, "recv", lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            child.vectors(texts[1:2], "query")
        monkeypatch.setattr(conn, "recv", real_recv)
        assert np.array_equal(child.vectors(texts[:1], "query"), one)
    finally:
        child.close()


@pytest.mark.integration
def test_the_child_process_ends_when_its_parent_is_killed(tmp_path):
    if not (MODEL / "modules.json").exists():
        pytest.skip(f"no model at {MODEL} (`make setup`)")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from assistant.index.encoder import EncoderProcess\n"
        f"e = EncoderProcess(Path({str(MODEL)!r}), True)\n"
        "e.vectors(['Vad är ett ASF?'], 'query')\n"
        "print(e.pid, flush=True)\n"
        "sys.stdin.read()\n")
    (tmp_path / "parent.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "parent.py")], cwd=PROJECT_ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        assert _alive(pid)
        parent.kill()       # no clean-up runs in the parent: the child sees its pipe close
        parent.wait()
        _wait_until(lambda: not _alive(pid), "the orphaned child to exit")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_the_child_process_does_not_run_the_callers_main_script(tmp_path, monkeypatch):
    # Under Streamlit `__main__` is the page script; a multiprocessing spawn would run it
    # again in the child. The child is its own module: the script below never runs there.
    folder = _config_copy(tmp_path)
    with (MODEL / "tokenizer.json").open("rb") as source:
        (folder / "tokenizer.json").write_bytes(source.read(1000))
    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    encoder = EncoderProcess(folder, quantize=True)
    try:
        with pytest.raises(ValueError):
            encoder.prompts  # noqa: B018 - waits for the child, which fails to load
    finally:
        encoder.close()
    assert not marker.exists()
