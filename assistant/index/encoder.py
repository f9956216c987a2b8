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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.index.late import TokenVectors

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


class Encoder(Protocol):
    """A loaded embedding model: text vectors, and token vectors for late interaction."""

    prompts: dict[str, str]

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
