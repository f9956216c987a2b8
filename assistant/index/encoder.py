"""Index: the sentence-transformers model folder run with transformers and tokenizers directly.

A sentence-transformers folder describes its model as modules (modules.json): a transformer,
pooling, dense layers, normalisation. `SentenceEncoder` runs that pipeline itself for the
module kinds EmbeddingGemma uses (mean, CLS or last-token pooling; dense layers without or with
tanh activation; normalisation) and gives the same vectors as `SentenceTransformer.encode`
(checked with the real model in tests/test_integration.py).

Why not load `SentenceTransformer`: in a cold process the model was ready after 11.7 s, 4.2 s of
them importing sentence_transformers (scikit-learn and scipy for its evaluation helpers) and
2.6 s building transformers' tokenizer, which reads the 33 MB tokenizer.json in Python. This
path imports torch and one transformers model class and reads the tokenizer in Rust: ready
after 7.7-8.7 s. In the chat UI a question asked as the page appears still waits for it
(7.9-9.8 s instead of 10.3-13.5 s): page and model share one interpreter lock.
A folder with another kind of module is loaded with sentence-transformers
(`SentenceTransformersEncoder`), as before.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.index.late import TokenVectors
from assistant.prompts import ERR_ENCODER_FAILED, ERR_ENCODER_PROCESS

_WORDLIKE = re.compile(r"\w")

# modules.json types this module runs itself.
_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_DENSE = "sentence_transformers.models.Dense"
_NORMALIZE = "sentence_transformers.models.Normalize"
_POOLING_MODES = ("pooling_mode_mean_tokens", "pooling_mode_cls_token",
                  "pooling_mode_lasttoken")
_ACTIVATIONS = ("torch.nn.modules.linear.Identity", "torch.nn.modules.activation.Tanh")

BATCH_SIZE = 16
# Set before transformers is imported: the model is read from its folder, never the hub.
OFFLINE_ENVIRONMENT = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                       "TOKENIZERS_PARALLELISM": "false", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


class Encoder(Protocol):
    """A loaded embedding model: text vectors, and token vectors for late interaction."""

    @property
    def prompts(self) -> dict[str, str]:
        """The model's named prompts ("query", "document", …)."""
        ...

    def vectors(self, texts: Sequence[str], prompt_name: str | None) -> np.ndarray:
        """Return one unit-length vector per text (rows), with the named prompt."""
        ...

    def with_tokens(self, texts: Sequence[str], prompt_name: str | None
                    ) -> list[tuple[list[float], TokenVectors]]:
        """Return each text's vector and its content tokens' unit-length vectors."""
        ...


def model_prompts(path: Path) -> dict[str, str]:
    """Return the folder's named prompts ("query", "document", …), none when it has none."""
    return _json(path / "config_sentence_transformers.json").get("prompts") or {}


def _json(path: Path) -> dict[str, Any]:
    """Return a JSON file's object, or {} when the file does not exist."""
    return json.loads(path.read_text()) if path.exists() else {}


def runs_without_sentence_transformers(path: Path) -> bool:
    """True when every module the folder lists is one `SentenceEncoder` runs itself."""
    modules_file = path / "modules.json"
    if not modules_file.exists() or not (path / "tokenizer.json").exists():
        return False
    modules = json.loads(modules_file.read_text())
    if not modules or modules[0].get("type") != _TRANSFORMER or modules[0].get("path"):
        return False
    # What SentenceTransformer would do differently: lower-case the text, leave the prompt
    # out of the pooling, pad on the left, add a default prompt, take the length elsewhere.
    st_config = _json(path / "sentence_bert_config.json")
    if st_config.get("do_lower_case") or not st_config.get("max_seq_length"):
        return False
    if _json(path / "config_sentence_transformers.json").get("default_prompt_name"):
        return False
    if _json(path / "tokenizer_config.json").get("padding_side", "right") != "right":
        return False
    for module in modules[1:]:
        kind, folder = module.get("type"), path / module.get("path", "")
        if kind == _POOLING:
            config = _json(folder / "config.json")
            modes = [mode for mode, on in config.items()
                     if mode.startswith("pooling_mode") and on]
            if (len(modes) != 1 or modes[0] not in _POOLING_MODES
                    or not config.get("include_prompt", True)):
                return False
        elif kind == _DENSE:
            config = _json(folder / "config.json")
            if (config.get("activation_function") not in _ACTIVATIONS
                    or not (folder / "model.safetensors").exists()):
                return False
        elif kind != _NORMALIZE:
            return False
    return True


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Raise ValueError naming the file for any failure to read it: tokenizers and
    safetensors raise bare Exception subclasses for a file that is cut short."""
    try:
        yield
    except (OSError, ValueError):
        raise
    except Exception as exc:  # noqa: BLE001 - a library's own error type, re-raised as ValueError
        raise ValueError(f"{path}: {exc}") from exc


class SentenceEncoder:
    """The folder's modules run with transformers (the network) and tokenizers (the text)."""

    def __init__(self, path: Path, quantize: bool = False):
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer
        from transformers import AutoConfig, AutoModel

        self.prompts = model_prompts(path)
        modules = json.loads((path / "modules.json").read_text())
        with _reading(path / "tokenizer.json"):
            self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(_json(path / "sentence_bert_config.json")
                                         ["max_seq_length"])
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        # The tokenizer's own special tokens, as SentenceTransformer pads with them (under
        # int8 the padding takes part in the activation scale); else the model config's.
        special = _json(path / "tokenizer_config.json")
        eos = config.eos_token_id
        self.pad_id = self._token_id(special.get("pad_token"), config.pad_token_id or 0)
        self.eos_id = self._token_id(special.get("eos_token"),
                                     eos[0] if isinstance(eos, list) else eos)
        with _reading(path):
            network = AutoModel.from_pretrained(path, local_files_only=True,
                                                dtype=torch.float32)
        self.pooling = "pooling_mode_mean_tokens"
        heads = []
        for module in modules[1:]:
            folder = path / module.get("path", "")
            if module["type"] == _POOLING:
                config_ = _json(folder / "config.json")
                self.pooling = next(m for m in _POOLING_MODES if config_.get(m))
            elif module["type"] == _DENSE:
                config_ = _json(folder / "config.json")
                layer = torch.nn.Linear(config_["in_features"], config_["out_features"],
                                        bias=config_.get("bias", True))
                with _reading(folder / "model.safetensors"):
                    layer.load_state_dict({key.removeprefix("linear."): value for key, value
                                           in load_file(folder / "model.safetensors").items()})
                tanh = config_["activation_function"].endswith("Tanh")
                heads.append(torch.nn.Sequential(layer, torch.nn.Tanh()) if tanh else layer)
        # One module, so that quantisation treats the network and the heads as
        # SentenceTransformer's quantize_dynamic did: every Linear, int8.
        self.model = torch.nn.ModuleDict({"network": network,
                                          "heads": torch.nn.Sequential(*heads)}).eval()
        if quantize:
            import warnings

            warnings.filterwarnings("ignore", message=".*quantize.*deprecated.*")
            torch.quantization.quantize_dynamic(self.model, {torch.nn.Linear},
                                                dtype=torch.qint8, inplace=True)

    def _token_id(self, token: str | dict[str, Any] | None, fallback: Any) -> Any:
        """Return a special token's id in this tokenizer, or the fallback."""
        if isinstance(token, dict):
            token = token.get("content")
        found = self.tokenizer.token_to_id(token) if token else None
        return fallback if found is None else found

    def _batches(self, texts: Sequence[str], prompt_name: str | None
                 ) -> Iterator[tuple[list[int], Any, Any, Any]]:
        """Yield (indices, token ids, attention mask, token states) per batch.

        Batched as SentenceTransformer.encode batches (longest text first, by characters, in
        numpy's sort order): the int8 model's activation scale is the batch's, so a text's
        vector depends on its batch (cosine 0.85-0.94 alone against in a batch of 16), and the
        same batches give vectors equal to those of indexes built with sentence-transformers.
        """
        import torch

        prompt = self.prompts.get(prompt_name or "", "")
        encodings = self.tokenizer.encode_batch([prompt + t for t in texts])
        lengths = [len(e.ids) for e in encodings]
        order = np.argsort([-len(t) for t in texts]).tolist()
        for start in range(0, len(order), BATCH_SIZE):
            indices = order[start:start + BATCH_SIZE]
            # Padded to the batch's longest text: padding takes part in the int8 scale too.
            width = max(lengths[i] for i in indices)
            ids = torch.full((len(indices), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(indices), width), dtype=torch.long)
            for row, i in enumerate(indices):
                ids[row, :lengths[i]] = torch.tensor(encodings[i].ids)
                mask[row, :lengths[i]] = 1
            with torch.no_grad():
                states = self.model["network"](input_ids=ids, attention_mask=mask
                                               ).last_hidden_state
            yield indices, ids, mask, states

    def _pool(self, states: Any, mask: Any) -> Any:
        import torch

        if self.pooling == "pooling_mode_cls_token":
            return states[:, 0]
        if self.pooling == "pooling_mode_lasttoken":
            return states[torch.arange(len(states)), mask.sum(1) - 1]
        weights = mask.unsqueeze(-1).to(states.dtype)
        return (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)

    def _head(self, vectors: Any) -> Any:
        """The dense heads, then unit length (a Normalize module, or the caller's request)."""
        import torch

        with torch.no_grad():
            vectors = self.model["heads"](vectors)
        return torch.nn.functional.normalize(vectors.float(), dim=-1)

    def vectors(self, texts: Sequence[str], prompt_name: str | None) -> np.ndarray:
        result = np.zeros((len(texts), 0), dtype=np.float32)
        for indices, _, mask, states in self._batches(texts, prompt_name):
            pooled = self._head(self._pool(states, mask)).numpy()
            if not result.shape[1]:
                result = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            result[indices] = pooled
        return result

    def with_tokens(self, texts: Sequence[str], prompt_name: str | None
                    ) -> list[tuple[list[float], TokenVectors]]:
        """Each token's state through the same heads lies in the space of the text vectors (the
        heads are linear, so their mean is the text vector before normalisation). Prompt,
        special and punctuation tokens are dropped."""
        prompt = self.prompts.get(prompt_name or "", "")
        # The prompt's trailing space joins the first word, so count it without that space.
        skip = len(self.tokenizer.encode(prompt.rstrip()).ids) - 1 if prompt else 1
        result: list[Any] = [None] * len(texts)
        for indices, ids, mask, states in self._batches(texts, prompt_name):
            pooled = self._head(self._pool(states, mask))
            for row, i in enumerate(indices):
                n = int(mask[row].sum())
                row_ids, row_states = ids[row, :n], states[row, :n]
                end = -1 if n and int(row_ids[-1]) == self.eos_id else None
                row_ids, row_states = row_ids[skip:end], row_states[skip:end]
                result[i] = (pooled[row].tolist(), self._tokens(row_ids, row_states))
        return result

    def _tokens(self, ids: Any, states: Any) -> TokenVectors:
        import torch

        keep = torch.tensor([bool(_WORDLIKE.search(self.tokenizer.id_to_token(int(t)) or ""))
                             for t in ids], dtype=torch.bool)
        if keep.any():
            ids, states = ids[keep], states[keep]
        projected = self._head(states)
        return TokenVectors(ids=ids.numpy().astype(np.int32),
                            vectors=projected.numpy().astype(np.float16))


class SentenceTransformersEncoder:
    """Any other sentence-transformers folder, loaded with sentence-transformers."""

    def __init__(self, path: Path, quantize: bool = False):
        from sentence_transformers import SentenceTransformer

        with _reading(path):
            self.client: Any = SentenceTransformer(str(path), device="cpu",
                                                   local_files_only=True)
        self.prompts: dict[str, str] = {name: text for name, text in self.client.prompts.items()
                                        if text is not None}
        if quantize:
            import warnings

            import torch

            warnings.filterwarnings("ignore", message=".*quantize.*deprecated.*")
            torch.quantization.quantize_dynamic(self.client, {torch.nn.Linear},
                                                dtype=torch.qint8, inplace=True)

    def vectors(self, texts: Sequence[str], prompt_name: str | None) -> np.ndarray:
        return self.client.encode(list(texts), prompt_name=prompt_name, batch_size=BATCH_SIZE,
                                  normalize_embeddings=True, convert_to_numpy=True)

    def with_tokens(self, texts: Sequence[str], prompt_name: str | None
                    ) -> list[tuple[list[float], TokenVectors]]:
        import torch

        client = self.client
        prompt = client.prompts.get(prompt_name or "", "")
        skip = len(client.tokenizer(prompt.rstrip())["input_ids"]) - 1 if prompt else 1
        dense_layers = [m for m in client if type(m).__name__ == "Dense"]
        result = []
        with torch.no_grad():
            outputs = client.encode(list(texts), prompt_name=prompt_name if prompt else None,
                                    output_value=None, batch_size=BATCH_SIZE,
                                    convert_to_tensor=False, normalize_embeddings=True)
            for out in outputs:
                mask = out["attention_mask"].bool()
                ids = out["input_ids"][mask]
                end = -1 if len(ids) and int(ids[-1]) == client.tokenizer.eos_token_id else None
                states, ids = out["token_embeddings"][mask][skip:end], ids[skip:end]
                keep = torch.tensor([bool(_WORDLIKE.search(t)) for t in
                                     client.tokenizer.convert_ids_to_tokens(ids.tolist())],
                                    dtype=torch.bool)
                if keep.any():
                    states, ids = states[keep], ids[keep]
                for module in dense_layers:
                    states = module({"sentence_embedding": states})["sentence_embedding"]
                projected = torch.nn.functional.normalize(states.float(), dim=-1)
                result.append((out["sentence_embedding"].float().tolist(),
                               TokenVectors(ids=ids.numpy().astype(np.int32),
                                            vectors=projected.numpy().astype(np.float16))))
        return result


def load_encoder(path: Path, quantize: bool = False) -> Encoder:
    """Load the folder's model: run directly when its modules allow, else with
    sentence-transformers."""
    if runs_without_sentence_transformers(path):
        return SentenceEncoder(path, quantize)
    return SentenceTransformersEncoder(path, quantize)


class EncoderProcess:
    """The model loaded and run in a child process, for a caller that has other Python work.

    Loading the model is mostly Python work (importing torch and transformers' Gemma3 code,
    reading the tokenizer: ~5.4 s alone here), and in the chat UI's server process it shared
    the interpreter lock with Streamlit, the index and the warm-up: ready after 8.7-10 s there.
    A child process loads it on the other core at the same time; each call then costs a
    pipe round trip (the vectors are pickled; a question's vector took as long as in-process:
    20 in 0.78-0.81 s against 0.76-0.87 s). Calls from several threads take turns: a question
    asked during an upload waits for one batch of 16 passages at most.

    The child is `python -m assistant.index.encoder`, not a multiprocessing spawn: under
    Streamlit `__main__` is the page script, which a spawned child would run again. It exits
    when its end of the pipe closes, so it never outlives its parent; a child that died
    (killed, out of memory) is started again by the next call.
    """

    def __init__(self, path: Path, quantize: bool = False):
        self.path, self.quantize = Path(path), quantize
        self._lock = threading.Lock()
        self._conn: Any = None
        self._process: subprocess.Popen[bytes] | None = None
        self._prompts: dict[str, str] | None = None
        with self._lock:
            self._spawn()

    @classmethod
    def prestart(cls, path: Path, quantize: bool = False) -> None:
        """Start loading the folder's model now, for the next `for_folder` to take (the chat
        UI's launcher, before it imports Streamlit)."""
        key = (str(Path(path).resolve()), quantize)
        with _PRESTARTED_LOCK:
            if key not in _PRESTARTED:
                _PRESTARTED[key] = cls(path, quantize)

    @classmethod
    def for_folder(cls, path: Path, quantize: bool = False) -> EncoderProcess:
        """Return the process `prestart` started for this folder, else a new one."""
        with _PRESTARTED_LOCK:
            started = _PRESTARTED.pop((str(Path(path).resolve()), quantize), None)
        return started or cls(path, quantize)

    @property
    def pid(self) -> int | None:
        """The child's process id (None while none runs)."""
        return self._process.pid if self._process is not None else None

    @property
    def prompts(self) -> dict[str, str]:
        """The model's named prompts (waits until the child has loaded the model)."""
        with self._lock:
            return self._ready()

    def _spawn(self) -> None:
        from multiprocessing.connection import Pipe

        self._conn, child = Pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "assistant.index.encoder", str(child.fileno()),
                 str(self.path), "int8" if self.quantize else "fp32"],
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        finally:
            child.close()
        self._prompts = None

    def _ready(self) -> dict[str, str]:
        """Wait until the child has loaded the model; return its prompts (lock held)."""
        if self._process is not None and self._prompts is not None \
                and self._process.poll() is not None:
            self._close()    # it died after loading (killed, out of memory): start another
        if self._process is None:
            self._spawn()
        if self._prompts is None:
            try:
                self._prompts = dict(self._exchange(None))
            except (ValueError, RuntimeError):
                self._close()    # the load failed and the child ended; the next call retries
                raise
        return self._prompts

    def _exchange(self, request: tuple[str, list[str], str | None] | None) -> Any:
        """Send a request (None: only wait for the load) and return the child's answer,
        raising what it raised: a load failure as ValueError (the caller's message about the
        model folder), anything else as RuntimeError with a Swedish message.

        Whatever interrupts the exchange (a dead child, an interrupt between sending and
        receiving) ends the child: a reply left in the pipe would answer the next request.
        """
        try:
            if request is not None:
                self._conn.send(request)
            status, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            self._close()
            raise EncoderProcessError(ERR_ENCODER_PROCESS) from exc
        except BaseException:
            self._close()
            raise
        if status == "ok":
            return value
        kind, message = value
        if kind == "load":
            raise ValueError(message)
        raise RuntimeError(ERR_ENCODER_FAILED.format(error=message))

    def _call(self, method: str, texts: Sequence[str], prompt_name: str | None) -> Any:
        with self._lock:
            self._ready()
            return self._exchange((method, list(texts), prompt_name))

    def vectors(self, texts: Sequence[str], prompt_name: str | None) -> np.ndarray:
        return np.asarray(self._call("vectors", texts, prompt_name))

    def with_tokens(self, texts: Sequence[str], prompt_name: str | None
                    ) -> list[tuple[list[float], TokenVectors]]:
        return list(self._call("with_tokens", texts, prompt_name))

    def close(self) -> None:
        """Stop the child (it also stops by itself when this process ends)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._prompts = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


_PRESTARTED: dict[tuple[str, bool], EncoderProcess] = {}
_PRESTARTED_LOCK = threading.Lock()


class EncoderProcessError(RuntimeError):
    """The child process running the model stopped (its message is Swedish)."""


def _serve(conn: Any, path: str, quantize: bool) -> None:
    """The child's loop: load the model, then answer (method, texts, prompt) requests until
    the parent's end of the pipe closes."""
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C stops the parent; we follow on EOF
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        try:
            quiet_transformers()
            encoder = load_encoder(Path(path), quantize)
        except (OSError, ValueError, KeyError) as exc:   # a file missing or cut short
            conn.send(("error", ("load", f"{type(exc).__name__}: {exc}")))
            return
        except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
            conn.send(("error", ("call", f"{type(exc).__name__}: {exc}")))
            return
        conn.send(("ok", encoder.prompts))
        while True:
            method, texts, prompt_name = conn.recv()
            try:
                result = getattr(encoder, method)(texts, prompt_name)
            except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
                conn.send(("error", ("call", f"{type(exc).__name__}: {exc}")))
                continue
            conn.send(("ok", result))
    except (EOFError, OSError):
        return      # the parent is gone (or closed its end): nothing to answer


def quiet_transformers() -> None:
    """No progress bars or info logging from transformers (imports it)."""
    import transformers

    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()


if __name__ == "__main__":
    # The child of EncoderProcess: python -m assistant.index.encoder FD MODEL_FOLDER int8|fp32
    from multiprocessing.connection import Connection

    _serve(Connection(int(sys.argv[1])), sys.argv[2], sys.argv[3] == "int8")
