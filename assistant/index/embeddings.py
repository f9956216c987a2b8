"""Index: embedding backends by name, and the local model (a sentence-transformers folder).

`make_embeddings(settings)` builds the backend `settings.embedder` names from a registry
(`local` by default; tests register fakes and choose them by setting). The local model loads
on first use, from a local folder, with the hub switched off, so a missing model gives a
clear Swedish message instead of a download attempt.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from langchain_core.embeddings import Embeddings

from assistant.config import Settings, SettingsError
from assistant.index.encoder import (
    OFFLINE_ENVIRONMENT,
    Encoder,
    EncoderProcess,
    load_encoder,
    quiet_transformers,
)
from assistant.index.late import TokenVectors
from assistant.prompts import (
    ERR_EMBEDDER_UNKNOWN,
    ERR_MODEL_INCOMPLETE,
    ERR_MODEL_MISSING,
    ERR_MODEL_UNREADABLE,
)

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
    """The local model as a langchain Embeddings, loaded on first use, with its own prompts
    ("query" for questions, "document" for passages).

    separate_process: load and run the model in a child process (`EncoderProcess`), so that
    loading it does not hold up the caller's own Python work (the chat UI's page).
    """

    def __init__(self, model_path: Path, quantize: bool = False,
                 separate_process: bool = False):
        self.model_path = Path(model_path)
        self.quantize = quantize
        self.separate_process = separate_process
        self._model: Encoder | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Return an identifier for the model and its numeric mode (stored with the index)."""
        return f"{self.model_path.name}{'+int8' if self.quantize else ''}"

    def _load(self) -> Encoder:
        with self._lock:
            if self._model is not None:
                return self._model
            check_model_folder(self.model_path)
            for name, value in OFFLINE_ENVIRONMENT.items():
                os.environ.setdefault(name, value)
            try:
                if self.separate_process:
                    model = EncoderProcess.for_folder(self.model_path, self.quantize)
                    model.prompts  # noqa: B018 - waits for the load: its errors are raised here
                    self._model = model
                else:
                    quiet_transformers()
                    self._model = load_encoder(self.model_path, self.quantize)
            except (OSError, ValueError, KeyError) as exc:
                # A tokenizer, config or weights file that is missing or cut short.
                raise ModelMissingError(ERR_MODEL_UNREADABLE.format(path=self.model_path)) \
                    from exc
            return self._model

    def _prompt(self, name: str) -> str | None:
        return name if name in self._load().prompts else None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages with the model's document prompt (line breaks as spaces, as
        langchain-huggingface, which this replaced, embedded them: the same vectors)."""
        texts = [t.replace("\n", " ") for t in texts]
        return self._load().vectors(texts, self._prompt("document")).astype(float).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a question with the model's query prompt (line breaks as spaces, as above)."""
        return self.embed_queries([text.replace("\n", " ")])[0]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Embed several questions at once with the model's query prompt (batched)."""
        return self._load().vectors(texts, self._prompt("query")).astype(float).tolist()

    def embed_with_tokens(self, texts: list[str], *, query: bool = False
                          ) -> list[tuple[list[float], TokenVectors]]:
        """Embed texts and return, for each, its vector and its contextual token vectors.

        One forward pass gives both. The model ends in mean pooling and two linear layers
        without activation, so each token's hidden state mapped through the same layers lies
        in the space of the text vectors (their mean is the text vector before
        normalisation). Prompt and special tokens are dropped.
        """
        return self._load().with_tokens(texts, self._prompt("query" if query else "document"))


def embed_queries(embeddings: Embeddings, texts: list[str]) -> list[list[float]]:
    """Embed questions with the query prompt: batched where the model can, else one by one."""
    batched = getattr(embeddings, "embed_queries", None)
    if callable(batched):
        return list(batched(texts))
    return [embeddings.embed_query(t) for t in texts]


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
    return LazyEmbeddings(settings.model_path, quantize=settings.embedding_quantize,
                          separate_process=settings.embedding_process)


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
