"""Base: settings, one pydantic-settings class from the environment (ASF_*), .env and presets."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
import pydantic_settings
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.lexicon import pattern
from assistant.prompts import (
    ERR_PRESET_BROKEN,
    ERR_PRESET_UNKNOWN,
    ERR_SETTING,
    SETTING_ALLOWED,
    SETTING_BOOL,
    SETTING_INVALID,
    SETTING_JSON,
    SETTING_NUMBER,
    SETTING_RANGE_ABOVE,
    SETTING_RANGE_BETWEEN,
    SETTING_RANGE_MAX,
    SETTING_RANGE_MIN,
    SETTING_WHOLE_NUMBER,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Named settings files ("presets", like paper-qa's configs/*.json): {"description": "…",
# "settings": {group: {field: value}, field: value}}. The eval's ablation variants are presets.
PRESETS_DIR = Path(__file__).resolve().parent / "presets"
PRESET_ENV = "ASF_PRESET"


class ChunkingSettings(BaseModel):
    """How documents are cut into indexed passages."""

    chunk_size: int = Field(default=1000, ge=200, le=4000,
                            description="Target passage length in characters.")
    section_in_text: bool = Field(
        default=True, description="Prefix each passage's indexed text with its section path "
                                  "(won the ablation in eval/ablation.md).")


class RetrievalSettings(BaseModel):
    """How passages are found and fused."""

    k: int = Field(default=6, ge=5, le=20, description="Passages returned per question.")
    candidates: int = Field(default=30, ge=5, le=200,
                            description="Candidates taken from each retriever before fusion.")
    mode: Literal["hybrid", "bm25", "dense"] = Field(default="hybrid",
                                                     description="Which retrievers are used.")
    bm25_weight: float = Field(default=1.0, ge=0, description="Weight of BM25 in rank fusion.")
    dense_weight: float = Field(default=1.0, ge=0,
                                description="Weight of dense retrieval in rank fusion.")
    late_weight: float = Field(
        default=1.5, ge=0, description="Weight of late interaction (each question token matched "
                                       "to its most similar passage token) in score fusion "
                                       "(0: off).")
    fusion: Literal["rrf", "score"] = Field(
        default="score", description="rrf: reciprocal rank fusion; score: weighted sum of "
                                   "normalised BM25, dense and late-interaction scores.")
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")
    english_bm25_weight: float = Field(
        default=0.5, ge=0, description="BM25 weight for questions in English, whose words "
                                       "rarely share a Swedish stem with the report.")
    feedback_weight: float = Field(
        default=0.2, ge=0, le=2, description="Pseudo-relevance feedback: how far the question "
                                             "vector moves toward the top passages' vectors "
                                             "before a second dense search (0: off).")
    feedback_passages: int = Field(default=3, ge=1, le=10,
                                   description="Top passages that feedback moves toward.")
    neighbour_weight: float = Field(
        default=0.3, ge=0, le=2, description="Below the best passage, a passage also gains this "
                                             "share of its best same-section neighbour's score "
                                             "(0: off).")
    sentence_dense: bool = Field(default=True,
                                 description="Also search sentence embeddings and score each "
                                             "chunk by its best sentence.")
    annotate_passages: int = Field(default=6, ge=0, le=20,
                                   description="Top passages whose every sentence is scored "
                                               "against the question.")
    sentence_candidates: int = Field(default=60, ge=5, le=500,
                                     description="Sentence hits taken from the dense search.")


class AnswerSettings(BaseModel):
    """How answers are composed."""

    max_sentences: int = Field(default=10, ge=1, le=12,
                               description="Most sentences taken around the best sentence.")
    max_chars: int = Field(default=1000, ge=100, le=4000,
                           description="Length budget of an answer's quoted text.")
    min_evidence: float = Field(default=0.35, ge=0, le=1,
                                description="Below this evidence score the assistant refuses.")
    sentence_dense_weight: float = Field(default=0.8, ge=0,
                                         description="Weight of a sentence's embedding similarity "
                                                     "when choosing answer sentences.")
    candidate_passages: int = Field(default=2, ge=1, le=20,
                                    description="Top passages whose sentences may be quoted.")
    rank_decay: float = Field(default=0.5, ge=0,
                              description="How much a passage's retrieval rank discounts its "
                                          "sentences (score / (1 + decay * (rank - 1))).")
    max_question_chars: int = Field(default=1000, ge=50, description="Longest accepted question.")
    broad_kinds: tuple[str, ...] = Field(
        default=("broad", "comparison", "examples"),
        description="Question kinds whose answer adds the main points of other sections "
                    "(broad.py) to the best passage's window: any of broad, comparison, "
                    "examples, list, fact.")
    broad_extra_points: int = Field(default=5, ge=0, le=8,
                                    description="Most points from other sections added to "
                                                "a broad answer (0: none).")
    broad_units: Literal["sections", "sentences"] = Field(
        default="sections", description="How a broad answer's points are chosen: the best "
                                        "sentences of the most relevant sections, or by MMR "
                                        "over every sentence of the index.")
    broad_max_chars: int = Field(default=1600, ge=300, le=6000,
                                 description="Length budget of a broad answer (the passage "
                                             "window and the points); a point that would "
                                             "exceed it is left out.")
    broad_window_chars: int = Field(default=1000, ge=100, le=4000,
                                    description="Length budget of the best passage's window "
                                                "that opens a broad answer (its points fill "
                                                "the rest of broad_max_chars).")
    guide: bool = Field(default=True, description="Lead a broad answer with the closest guide "
                                                  "card's points (corpus/guide/).")
    guide_then_engine: bool = Field(
        default=True, description="Follow a card's points with the engine's own broad answer "
                                  "(false: the card alone).")
    followup_substitution: bool = Field(
        default=True, description="Make a follow-up standalone by putting the previous "
                                  "question's subject in for its pronoun, or its new subject "
                                  "into the previous question (false: the previous questions "
                                  "only carried along in parentheses).")
    guide_min_similarity: float = Field(
        default=0.5, ge=0, le=1, description="A broad question leads with a guide card whose "
                                             "closest way of asking is at least this similar.")
    guide_question_top: int = Field(
        default=3, ge=1, le=10, description="A card scores the mean similarity of its this many "
                                            "closest ways of asking (eval/guide_match.py).")
    guide_point_weight: float = Field(
        default=1.0, ge=0, le=3, description="Plus this times the similarity of its closest "
                                             "quoted sentence (0: questions only).")
    guide_retrieval_weight: float = Field(
        default=0.3, ge=0, le=2, description="Added to a card's score in ranking: this times "
                                             "how high the passages holding its points rank "
                                             "in retrieval (eval/guide_match.py).")
    guide_role_bonus: float = Field(
        default=0.02, ge=0, le=0.2, description="Added to the similarity of a card written for "
                                                "the asker's role (breaks near-ties).")
    guide_max_chars: int = Field(
        default=2500, ge=600, le=8000, description="Length budget of an answer that leads with a "
                                                   "card: the engine's part gets what the card "
                                                   "leaves (at least broad_window_chars).")
    guide_second_margin: float = Field(
        default=0.05, ge=0, le=0.5, description="A second card follows the first when its score "
                                               "is within this of the first's (0: one card).")
    related_questions: int = Field(default=3, ge=0, le=5,
                                   description="Other cards' titles offered after an answer.")
    related_min_similarity: float = Field(
        default=0.5, ge=0, le=1, description="A card is offered as a related question only "
                                             "this similar to the question.")


class PlanSettings(BaseModel):
    """How the meeting planner matches a theme and a place to the report's meetings."""

    meeting_min_late: float = Field(
        default=0.30, ge=0, le=1, description="A meeting matches the theme when the mean over "
                                              "its passages of the theme's token match "
                                              "(late interaction) reaches this (measured: the "
                                              "report's themes 0.31-0.43, unrelated themes "
                                              "0.22-0.25).")
    meeting_min_dense: float = Field(
        default=0.40, ge=0, le=1, description="Without token vectors: the mean of the three "
                                              "meeting sentences closest to the theme must "
                                              "reach this.")
    theme_weight: float = Field(
        default=0.5, ge=0, le=2, description="Weight of the theme's vector beside a part's "
                                             "fixed topic when choosing the part's quotes.")
    meeting_lines: int = Field(default=4, ge=1, le=8,
                               description="Quoted lines about each meeting the plan draws on.")


class ApiSettings(BaseModel):
    """The HTTP API (`asf serve`)."""

    host: str = Field(default="127.0.0.1", description="Address `asf serve` listens on; "
                                                       "without API keys only loopback.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port of `asf serve`.")
    rate_per_minute: int = Field(default=120, ge=1, le=100_000,
                                 description="Requests per minute allowed for each API key "
                                             "(or each client address without keys).")
    max_request_kb: int = Field(default=64, ge=1, le=10_240,
                                description="Largest request body accepted, in KB.")
    workers: int = Field(default=1, ge=1, le=16,
                         description="Answers computed at once, each in its own worker thread "
                                     "(the embedding model already uses every CPU core for one "
                                     "question, so more mainly helps a slow remote LLM).")
    queue_size: int = Field(default=64, ge=1, le=10_000,
                            description="Questions that may wait for a worker; beyond that a "
                                        "request is answered 503 at once.")
    stuck_after_s: int = Field(default=120, ge=1, le=3600,
                               description="An answer computed longer than this many seconds "
                                           "makes /readyz answer 503 (a worker has stuck).")
    shutdown_s: int = Field(default=5, ge=0, le=600,
                            description="Seconds a stopping server (SIGTERM) gives requests in "
                                        "flight before it closes them.")
    failed_keys_per_minute: int = Field(default=10, ge=1, le=10_000,
                                        description="Wrong API keys allowed per client address "
                                                    "and minute before it gets 429.")


class Settings(BaseSettings):
    """All configuration of ASF-assistenten. Every field can be set as ASF_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="ASF_", env_nested_delimiter="__",
                                      env_file=".env", extra="ignore")

    corpus_dir: Path = Field(default=PROJECT_ROOT / "corpus",
                             description="Folder of source documents that is indexed.")
    data_dir: Path = Field(default=PROJECT_ROOT / "data",
                           description="Folder for the index, uploads and feedback.")
    models_dir: Path = Field(default=PROJECT_ROOT / "models",
                             description="Folder holding the embedding model.")
    embedding_model: str = Field(default="embeddinggemma-300m",
                                 description="Folder name under models_dir, or a path to any "
                                             "sentence-transformers model folder.")
    embedder: str = Field(default="local",
                          description="Embedding backend by registered name (index stage, "
                                      "assistant/index/embeddings.py): `local` is the model in "
                                      "models_dir; tests register fakes under their own names.")
    embedding_quantize: bool = Field(default=True,
                                     description="Quantise the model's Linear layers to int8 "
                                                 "(about twice as fast on CPU).")
    collection: str = Field(default="asf", description="Chroma collection name.")
    chroma_url: str = Field(default="", description="URL of a Chroma server (`chroma run`) "
                                                    "that holds the index, shared by several "
                                                    "machines; empty: an embedded database in "
                                                    "the data folder.")
    feedback_db: Path | None = Field(default=None,
                                     description="SQLite file for answer feedback "
                                                 "(default: data_dir/feedback.sqlite3).")
    conversations_db: Path | None = Field(default=None,
                                          description="SQLite file for the UI's saved "
                                                      "conversations (default: "
                                                      "data_dir/conversations.sqlite3).")
    max_upload_mb: int = Field(default=20, ge=1, le=200,
                               description="Largest document accepted for upload in the UI, in MB.")
    api: ApiSettings = Field(default_factory=lambda: ApiSettings())
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    plan: PlanSettings = Field(default_factory=PlanSettings)
    backend: Literal["extractive", "llm"] = Field(
        default="extractive", description="Answer backend: extractive (offline, default) or llm "
                                          "(an OpenAI-compatible endpoint).")
    llm_base_url: str = Field(default="http://localhost:11434/v1",
                              description="Base URL of the OpenAI-compatible endpoint.")
    llm_model: str = Field(default="llama3.1", description="Model name at the endpoint.")
    api_keys: SecretStr = Field(default=SecretStr(""),
                                description="API keys of `asf serve`, comma-separated; read "
                                            "from the environment (ASF_API_KEYS) only.")
    llm_api_key: SecretStr = Field(default=SecretStr(""),
                                   description="API key; read from the environment only.")
    llm_timeout: float = Field(default=60.0, gt=0, description="Seconds before a request gives up.")
    llm_temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    llm_max_tokens: int = Field(default=1024, ge=16, le=32_000,
                                description="Most tokens the endpoint may generate for one "
                                            "answer (sent as max_completion_tokens).")
    llm_max_chars: int = Field(default=6000, ge=200, le=100_000,
                               description="Most characters of a reply that are read; the "
                                           "rest is not read and the note says so.")

    @classmethod
    def from_name(cls, name: str, **overrides: Any) -> Settings:
        """Return the settings of a named preset (assistant/presets/NAME.json)."""
        return load_settings(name, **overrides)

    @property
    def model_path(self) -> Path:
        """Return the folder of the configured embedding model."""
        candidate = Path(self.embedding_model)
        if candidate.is_absolute() or candidate.exists():
            return candidate
        return self.models_dir / self.embedding_model


# ---------------------------------------------------------------------- invalid settings
ENV_PREFIX = "ASF_"


class SettingsError(ValueError):
    """An environment variable (or .env line) holds an invalid value; the message is Swedish."""


def preset_names() -> list[str]:
    """Return the names of the presets `asf --settings NAME` accepts."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def read_preset(name: str) -> tuple[str, dict[str, Any]]:
    """Return a preset's description and its settings, or raise SettingsError in Swedish."""
    path = PRESETS_DIR / f"{name}.json"
    if not re.fullmatch(r"[a-z0-9][a-z0-9\-]*", name) or not path.is_file():
        raise SettingsError(ERR_PRESET_UNKNOWN.format(name=name, names=", ".join(preset_names())))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return str(data["description"]), dict(data["settings"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SettingsError(ERR_PRESET_BROKEN.format(path=path)) from exc


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Return base with changes applied; a settings group (a dict) is merged field by field."""
    out = dict(base)
    for key, value in changes.items():
        out[key] = (merged(out[key], value) if isinstance(value, dict)
                    and isinstance(out.get(key), dict) else value)
    return out


def load_settings(preset: str | None = None, **overrides: Any) -> Settings:
    """Return Settings read from the environment and .env, or raise SettingsError in Swedish.

    A preset (the argument, else ASF_PRESET) is applied on top: the fields it names win over
    ASF_* variables, the rest still come from them; explicit overrides win over both.
    """
    name = preset or os.environ.get(PRESET_ENV, "")
    if name:
        overrides = merged(read_preset(name)[1], overrides)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_settings_error(exc)) from exc
    except pydantic_settings.SettingsError as exc:
        raise SettingsError(describe_settings_error(exc)) from exc


def describe_settings_error(exc: ValidationError | pydantic_settings.SettingsError) -> str:
    """Return one Swedish line per invalid setting: the variable, its value, what is allowed.

    "Ogiltig inställning ASF_BACKEND='foo': tillåtna värden är extractive, llm. …"
    A group of settings given as JSON that is not JSON (ASF_CHUNKING=x) is pydantic-settings'
    own SettingsError, which names only the field.
    """
    if isinstance(exc, ValidationError):
        return "\n".join(_describe(error) for error in exc.errors())
    match = pattern("messages.settings_field").search(str(exc))
    field = match.group(1) if match else ""
    name = ENV_PREFIX + field.upper()
    value = next((v for k, v in os.environ.items() if k.upper() == name), "")
    info = Settings.model_fields.get(field)
    group = info.annotation if info is not None else None
    first = next(iter(group.model_fields), "") if (
        isinstance(group, type) and issubclass(group, BaseModel)) else ""
    expected = SETTING_JSON.format(example=f"{name}__{first.upper()}") if first \
        else SETTING_INVALID
    return ERR_SETTING.format(name=name, value=_shorten(value), expected=expected)


def _shorten(value: str) -> str:
    return value if len(value) <= 60 else value[:60] + "…"


def _describe(error: Any) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    info, depth = _field_info(loc)
    name = ENV_PREFIX + "__".join(loc[:depth] or loc).upper()
    expected = _expected(info) if info is not None else SETTING_INVALID
    return ERR_SETTING.format(name=name, value=_shorten(str(error.get("input", ""))),
                              expected=expected)


def _field_info(loc: list[str]) -> tuple[FieldInfo | None, int]:
    """Return the field a validation error's location names, and how many parts name it."""
    model: Any = Settings
    info: FieldInfo | None = None
    for depth, part in enumerate(loc, start=1):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return info, depth - 1
        info = model.model_fields.get(part)
        if info is None:
            return None, 0
        model = info.annotation
    return info, len(loc)


def _expected(info: FieldInfo) -> str:
    """Return what a field accepts, in Swedish ("ett heltal från 200 till 4000")."""
    annotation = info.annotation
    if get_origin(annotation) is Literal:
        return SETTING_ALLOWED.format(values=", ".join(str(v) for v in get_args(annotation)))
    if annotation is bool:
        return SETTING_BOOL
    if annotation is int or annotation is float:
        kind = SETTING_WHOLE_NUMBER if annotation is int else SETTING_NUMBER
        return kind + _bounds(info)
    return SETTING_INVALID


def _bounds(info: FieldInfo) -> str:
    """Return a field's numeric limits as Swedish text (empty when it has none)."""
    low = high = above = None
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            above = item.gt
        elif isinstance(item, annotated_types.Le):
            high = item.le
    if above is not None:
        return SETTING_RANGE_ABOVE.format(low=above)
    if low is not None and high is not None:
        return SETTING_RANGE_BETWEEN.format(low=low, high=high)
    if low is not None:
        return SETTING_RANGE_MIN.format(low=low)
    if high is not None:
        return SETTING_RANGE_MAX.format(high=high)
    return ""
