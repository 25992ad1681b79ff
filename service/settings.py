"""The one settings object. Read once through get_settings(); nothing is created at import time."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIXIAO_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".jixiao"), description="Where the store, the vector index and caches live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; defaults to SQLite in data_dir (postgresql+psycopg://… works too)."
    )
    max_upload_mb: float = Field(100.0, description="Largest file accepted by ingest and upload, in MB.")
    # What one file may expand to once opened (the upload limit counts compressed bytes only)
    max_expanded_mb: float = Field(384.0, description="Largest inflated size of all parts of one DOCX/XLSX, in MB.")
    max_rows: int = Field(200_000, description="Most non-empty rows in one workbook (text: 2.5x as many lines).")
    max_pages: int = Field(3000, description="Most pages in one PDF.")
    max_cell_chars: int = Field(32_767, description="Most characters in one spreadsheet cell.")
    max_load_seconds: float = Field(300.0, description="Longest time reading one document may take, in seconds.")
    max_line_chars: int = Field(200_000, description="Most characters in one line or table row.")
    max_text_chars: int = Field(50_000_000, description="Most characters of text in one document.")
    worker_memory_mb: int = Field(
        2048, description="Memory cap (RLIMIT_DATA, MB) of each `ingest --workers` process; 0 = none. A backstop "
                          "behind the loaders' own limits: a file that still grows past it fails alone.")

    # LLM edge (any OpenAI-compatible server). Empty base_url/model = offline deterministic mode.
    llm_base_url: str | None = Field(None, description="OpenAI-compatible base URL, ending in /v1.")
    llm_model: str | None = Field(None, description="Model name sent to the endpoint.")
    llm_api_key: SecretStr = Field(SecretStr(""), description="API key for the endpoint (sent even if unused).")
    llm_timeout_s: float = Field(60.0, description="Per-request timeout for LLM calls.")
    llm_max_retries: int = Field(2, description="Retries on invalid output or transport errors.")
    llm_structured_method: Literal["json_schema", "function_calling", "json_mode"] = Field(
        "json_schema", description="How structured output is requested; many servers only accept some."
    )
    llm_temperature: float = Field(0.0, description="Sampling temperature for extraction and answers.")
    extraction_backend: Literal["auto", "rules", "llm"] = Field(
        "auto", description="rules: the offline reader only; llm: the model reads every form; auto: rules first, "
                            "the model for what they could not read (auto without a model is rules).")
    llm_qa_planner: bool = Field(
        True, description="With a model configured, questions over the stored figures are first planned with tools "
                          "(service/qa/llm_planner.py); an answer that fails verification falls back to the offline one.")
    llm_max_concurrency: int = Field(4, description="Most model calls in flight at once for one document.")
    llm_max_chunk_chars: int = Field(
        12_000, description="Longest piece of a unit sent in one call; longer units are cut between lines with "
                            "their head and table header repeated.")

    # Retrieval
    chroma_url: str | None = Field(None, description="Chroma server URL; empty = embedded PersistentClient.")
    embedding_backend: Literal["hashed", "openai"] = Field("hashed", description="Offline hashed n-grams or an endpoint.")
    embedding_dim: int = Field(512, description="Dimension of the hashed character n-gram embedding.")
    embedding_base_url: str | None = Field(None, description="OpenAI-compatible embeddings endpoint.")
    embedding_model: str | None = Field(None, description="Embedding model name for the endpoint.")
    chunk_max_chars: int = Field(400, description="Largest prose chunk, in characters.")

    # API
    # NoDecode + the validator below: JIXIAO_API_KEYS is "k1,k2" (or a JSON list); set but empty means no keys,
    # where pydantic-settings' JSON decoding would fail every command with an internal error
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Accepted X-API-Key values (comma-separated); empty = loopback only.")
    host: str = Field("127.0.0.1", description="Bind address for `jixiao serve`.")
    port: int = Field(8000, description="Port for `jixiao serve`.")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v):
        # only the environment's string form is split; a list given in code is kept as is, so that a
        # blank key there is still refused at start (service.api) rather than silently dropped
        if isinstance(v, str):
            text = v.strip()
            if text.startswith("["):
                return json.loads(text)
            return [k.strip() for k in text.split(",") if k.strip()]
        return v

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jixiao.sqlite3').resolve()}"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def settings_hash(self) -> str:
        """Stable hash of everything that changes results (never secrets, never paths)."""
        relevant = self.model_dump(
            include={
                "llm_base_url", "llm_model", "llm_structured_method", "llm_temperature", "extraction_backend",
                "llm_max_chunk_chars",
                "embedding_backend", "embedding_dim", "embedding_model", "chunk_max_chars",
            }
        )
        return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:12]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
