"""Index: embedding backends by name, and the local sentence-transformers model.

`make_embeddings(settings)` builds the backend `settings.embedder` names from a registry
(`local` by default; tests register fakes and choose them by setting). The local model loads
on first use, from a local folder, with the hub switched off, so a missing model gives a
clear Swedish message instead of a download attempt.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import Settings, SettingsError
from assistant.index.late import TokenVectors
from assistant.prompts import (
    ERR_EMBEDDER_UNKNOWN,
    ERR_MODEL_INCOMPLETE,
    ERR_MODEL_MISSING,
    ERR_MODEL_UNREADABLE,
)

_WORDLIKE = re.compile(r"\w")


# A sentence-transformers folder holds its weights in one of these (sharded: an index file).
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


class ModelMissingError(RuntimeError):
    """The embedding model folder does not exist, is incomplete or cannot be read."""


def check_model_folder(path: Path) -> None:
    """Raise ModelMissingError (Swedish) unless path holds a model's config and weights.

    Checked before transformers is imported: a folder without model.safetensors used to end
    in transformers' English OSError traceback after seven seconds of imports.
    """
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise ModelMissingError(ERR_MODEL_MISSING.format(path=path))
    if not any((path / name).exists() for name in WEIGHT_FILES):
        raise ModelMissingError(ERR_MODEL_INCOMPLETE.format(path=path, file=WEIGHT_FILES[0]))


class LazyEmbeddings(Embeddings):
    """Wrap HuggingFaceEmbeddings, loading it on first use with the model's own prompts."""

    def __init__(self, model_path: Path, quantize: bool = False):
        self.model_path = Path(model_path)
        self.quantize = quantize
        self._inner: Embeddings | None = None
        self._model: Any = None     # the SentenceTransformer under langchain's wrapper
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Return an identifier for the model and its numeric mode (stored with the index)."""
        return f"{self.model_path.name}{'+int8' if self.quantize else ''}"

    def _load(self) -> Embeddings:
        with self._lock:
            if self._inner is not None:
                return self._inner
            check_model_folder(self.model_path)
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            import transformers
            from langchain_huggingface import HuggingFaceEmbeddings

            transformers.logging.disable_progress_bar()
            transformers.logging.set_verbosity_error()

            prompts = _model_prompts(self.model_path)
            try:
                inner = HuggingFaceEmbeddings(
                    model_name=str(self.model_path),
                    model_kwargs={"device": "cpu", "local_files_only": True},
                    encode_kwargs={"normalize_embeddings": True, "batch_size": 16,
                                   **({"prompt_name": "document"} if "document" in prompts
                                      else {})},
                    query_encode_kwargs={"normalize_embeddings": True,
                                         **({"prompt_name": "query"} if "query" in prompts
                                            else {})},
                )
            except (OSError, ValueError) as exc:
                # A tokenizer or weights file that is missing or cut short.
                raise ModelMissingError(ERR_MODEL_UNREADABLE.format(path=self.model_path)) \
                    from exc
            # langchain-huggingface keeps the SentenceTransformer in a private field; this is
            # the one place that reads it (quantisation and token vectors need the model).
            model = inner._client
            if self.quantize:
                import warnings

                import torch

                warnings.filterwarnings("ignore", message=".*quantize.*deprecated.*")

                torch.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8,
                                                    inplace=True)
            self._model = model
            self._inner = inner
            return inner

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages with the model's document prompt."""
        return self._load().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        """Embed a question with the model's query prompt."""
        return self._load().embed_query(text)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Embed several questions at once with the model's query prompt (batched)."""
        self._load()
        prompt = "query" if "query" in self._model.prompts else None
        vectors = self._model.encode(texts, prompt_name=prompt, batch_size=16,
                                     normalize_embeddings=True, convert_to_numpy=True)
        return [v.astype(float).tolist() for v in vectors]

    def embed_with_tokens(self, texts: list[str], *, query: bool = False
                          ) -> list[tuple[list[float], TokenVectors]]:
        """Embed texts and return, for each, its vector and its contextual token vectors.

        One forward pass gives both. The model ends in mean pooling and two linear layers
        without activation, so each token's hidden state mapped through the same layers lies
        in the space of the text vectors (their mean is the text vector before
        normalisation). Prompt and special tokens are dropped.
        """
        import torch

        self._load()
        client = self._model
        prompt_name = "query" if query else "document"
        prompt = client.prompts.get(prompt_name, "")
        # The prompt's trailing space joins the first word, so count it without that space.
        skip = len(client.tokenizer(prompt.rstrip())["input_ids"]) - 1 if prompt else 1
        dense_layers = [m for m in client if type(m).__name__ == "Dense"]
        with torch.no_grad():
            outputs = client.encode(texts, prompt_name=prompt_name if prompt else None,
                                    output_value=None, batch_size=16, convert_to_tensor=False,
                                    normalize_embeddings=True)
            result = []
            for out in outputs:
                mask = out["attention_mask"].bool()
                ids = out["input_ids"][mask]
                end = -1 if len(ids) and int(ids[-1]) == client.tokenizer.eos_token_id else None
                states, ids = out["token_embeddings"][mask][skip:end], ids[skip:end]
                # Punctuation carries no content to match.
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


def embed_queries(embeddings: Embeddings, texts: list[str]) -> list[list[float]]:
    """Embed questions with the query prompt: batched where the model can, else one by one."""
    batched = getattr(embeddings, "embed_queries", None)
    if callable(batched):
        return list(batched(texts))
    return [embeddings.embed_query(t) for t in texts]


def _model_prompts(path: Path) -> dict[str, str]:
    import json

    config = path / "config_sentence_transformers.json"
    if config.exists():
        return json.loads(config.read_text()).get("prompts", {}) or {}
    return {}


@runtime_checkable
class TokenEmbeddings(Protocol):
    """An embedder that also returns each text's token vectors (for late interaction).

    The index stores token vectors and retrieval scores with them only when the embedder has
    this method; an embedder without it (a remote API, a test fake) still works, unranked by
    tokens.
    """

    def embed_with_tokens(self, texts: list[str], *, query: bool = False
                          ) -> list[tuple[list[float], TokenVectors]]:
        """Return (text vector, token vectors) for every text (a question: query=True)."""
        ...


# Settings -> an embedding backend; see register_embedder.
EmbedderFactory = Callable[[Settings], Embeddings]


def _local(settings: Settings) -> Embeddings:
    return LazyEmbeddings(settings.model_path, quantize=settings.embedding_quantize)


EMBEDDERS: dict[str, EmbedderFactory] = {"local": _local}


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make an embedding backend available as `ASF_EMBEDDER=name` (or Settings(embedder=…))."""
    EMBEDDERS[name] = factory


def make_embeddings(settings: Settings) -> Embeddings:
    """Build the embedding backend the settings name (loaded lazily on first use)."""
    factory = EMBEDDERS.get(settings.embedder)
    if factory is None:
        raise SettingsError(ERR_EMBEDDER_UNKNOWN.format(
            name=settings.embedder, names=", ".join(sorted(EMBEDDERS))))
    return factory(settings)
