"""Settings: one pydantic-settings class read from the environment (prefix ASF_) and .env."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    embedding_quantize: bool = Field(default=True,
                                     description="Quantise the model's Linear layers to int8 "
                                                 "(about twice as fast on CPU).")
    collection: str = Field(default="asf", description="Chroma collection name.")
    feedback_db: Path | None = Field(default=None,
                                     description="SQLite file for answer feedback "
                                                 "(default: data_dir/feedback.sqlite3).")
    max_upload_mb: int = Field(default=20, ge=1, le=200,
                               description="Largest document accepted for upload in the UI, in MB.")
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    backend: Literal["extractive", "llm"] = Field(
        default="extractive", description="Answer backend: extractive (offline, default) or llm "
                                          "(an OpenAI-compatible endpoint).")
    llm_base_url: str = Field(default="http://localhost:11434/v1",
                              description="Base URL of the OpenAI-compatible endpoint.")
    llm_model: str = Field(default="llama3.1", description="Model name at the endpoint.")
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

    @property
    def model_path(self) -> Path:
        """Return the folder of the configured embedding model."""
        candidate = Path(self.embedding_model)
        if candidate.is_absolute() or candidate.exists():
            return candidate
        return self.models_dir / self.embedding_model

    @property
    def index_dir(self) -> Path:
        """Return the folder of the persistent Chroma database."""
        return self.data_dir / "chroma"

    def make_embeddings(self) -> Embeddings:
        """Build the embedding backend (loaded lazily on first use)."""
        from assistant.embeddings import LazyEmbeddings

        return LazyEmbeddings(self.model_path, quantize=self.embedding_quantize)
