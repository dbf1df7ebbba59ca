"""Text generators: one method that streams the answer, whatever runs the model.

- ``LocalGenerator``: the bundled GGUF (rag.answer.models) in-process with llama-cpp-python. Loaded once,
  lazily; one lock serialises generation (Streamlit runs sessions on threads and a llama.cpp
  context is not re-entrant). The same ``Llama`` object is reused, so llama-cpp-python keeps the
  KV cache of the previous prompt and only evaluates the tokens after the longest common prefix:
  a fixed system prompt is evaluated once, not per question (see benchmarks/measure_llm.py).
- ``OpenAIGenerator``: any OpenAI-compatible chat endpoint (OpenAI, DeepSeek, Qwen/DashScope,
  vLLM, ``python -m llama_cpp.server`` …). Transport failures, timeouts and non-OpenAI replies
  become ``ModelUnavailableError`` naming the URL, so callers can fall back to extractive answers.
- ``select_generator`` picks one from ``settings.generator``; ``None`` means "answer extractively".

Example::

    gen, why = select_generator(get_settings())
    if gen is not None:
        msgs = [{"role": "system", "content": "只根据资料回答。"}, {"role": "user", "content": "…"}]
        print("".join(gen.stream(msgs, max_tokens=128)))
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from rag.answer.models import INSTALL_HINT, MODEL, ensure_local_model, local_model_status
from rag.config import Settings
from rag.errors import ConfigError, ModelUnavailableError, RagError

Message = dict[str, str]
_NO_KEY = "sk-no-key-required"  # local OpenAI-compatible servers ignore the key, the client insists on one


class Generator(Protocol):
    """Streams the assistant's reply to OpenAI-style chat ``messages`` as text pieces."""

    name: str  # "local" | "openai"

    def stream(
        self, messages: list[Message], *, max_tokens: int, stop: list[str] | None = None
    ) -> Iterator[str]:
        """Yield the reply piece by piece; RagError (ModelUnavailableError…) on failure."""
        ...


class LocalGenerator:
    """The local GGUF model run by llama.cpp, loaded on first use and shared by all threads."""

    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._llama: Any = None
        self._lock = threading.Lock()

    @property
    def llama(self) -> Any:
        """The ``llama_cpp.Llama`` instance (loads the model on first access)."""
        if self._llama is None:
            with self._lock:
                self._load()
        return self._llama

    def load(self) -> LocalGenerator:
        """Load now (join/verify the GGUF if needed) instead of on the first question."""
        _ = self.llama
        return self

    def _load(self) -> None:  # caller holds self._lock
        if self._llama is not None:
            return
        try:
            import llama_cpp
        except ImportError as exc:
            raise ModelUnavailableError(f"llama_cpp cannot be imported: {exc}", hint=INSTALL_HINT) from exc
        path = ensure_local_model(self.settings)
        threads = self.settings.llm_threads
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=self.settings.llm_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelUnavailableError(
                f"llama.cpp could not load {path}: {exc}",
                hint="check the file is a GGUF model llama.cpp supports, or set RAG_GENERATOR=extractive",
            ) from exc

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in ``text`` (for prompt budgeting and measurements)."""
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(
        self, messages: list[Message], *, max_tokens: int, stop: list[str] | None = None
    ) -> Iterator[str]:
        """Stream a chat completion using the GGUF's own chat template (greedy at temperature 0)."""
        llama = self.llama
        with self._lock:
            try:
                chunks = llama.create_chat_completion(
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=self.settings.temperature,
                    stop=stop or [],
                    stream=True,
                )
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except ValueError as exc:
                if "context window" in str(exc):
                    raise ConfigError(
                        f"the prompt does not fit the local model's context: {exc}",
                        hint="raise RAG_LLM_CTX, or lower RAG_TOP_K / RAG_CHUNK_SIZE / RAG_MAX_TOKENS",
                    ) from exc
                raise


def _http_errors() -> tuple[type[BaseException], ...]:
    """Transport errors of whichever httpx the installed openai uses (raised mid-stream as is)."""
    errors: list[type[BaseException]] = []
    for module in ("httpx2", "httpx"):
        try:
            errors.append(__import__(module).HTTPError)
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


class OpenAIGenerator:
    """A chat model behind an OpenAI-compatible HTTP API, streamed.

    ``RAG_OPENAI_BASE_URL`` / ``RAG_OPENAI_API_KEY`` win; when empty the openai client's own
    ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` apply. Without any key a placeholder is sent, which
    local servers accept. An empty ``RAG_OPENAI_MODEL`` means the first model the server lists.
    """

    name = "openai"

    def __init__(self, settings: Settings) -> None:
        try:
            import openai
        except ImportError as exc:
            raise ModelUnavailableError(
                f"the openai package is missing: {exc}", hint="pip install openai"
            ) from exc
        self._openai = openai
        self.settings = settings
        common: dict[str, Any] = {
            "base_url": settings.openai_base_url or None,
            "timeout": settings.openai_timeout,
            "max_retries": settings.openai_retries,
        }
        try:
            self.client = openai.OpenAI(api_key=settings.openai_api_key or None, **common)
        except openai.OpenAIError:  # no key anywhere: fine for local servers
            self.client = openai.OpenAI(api_key=_NO_KEY, **common)
        self.base_url = str(self.client.base_url)
        if self.client.api_key == _NO_KEY and self.client.base_url.host == "api.openai.com":
            raise ModelUnavailableError(
                "no OpenAI-compatible endpoint configured: neither a base URL nor an API key is set",
                hint="set RAG_OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1) and, if needed, RAG_OPENAI_API_KEY",
            )
        self._model = settings.openai_model
        self._errors: tuple[type[BaseException], ...] = (
            openai.OpenAIError,
            json.JSONDecodeError,
            *_http_errors(),
        )
        # a web page where /models should be is parsed as a str: AttributeError/TypeError
        self._list_errors: tuple[type[BaseException], ...] = (*self._errors, AttributeError, TypeError)

    @property
    def model(self) -> str:
        """The model name sent with each request (asks the server's /models when not configured)."""
        if not self._model:
            try:
                listed = [m.id for m in self.client.models.list()]
            except self._list_errors as exc:
                raise self._unavailable(exc) from exc
            if not listed:
                raise ModelUnavailableError(f"{self.base_url} lists no models", hint="set RAG_OPENAI_MODEL")
            self._model = listed[0]
        return self._model

    def stream(
        self, messages: list[Message], *, max_tokens: int, stop: list[str] | None = None
    ) -> Iterator[str]:
        """Stream the reply; every endpoint failure becomes ModelUnavailableError naming the URL."""
        model = self.model
        n_chunks = 0
        try:
            response = self.client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=self.settings.temperature,
                stop=stop or None,
                stream=True,
            )
            with response:  # type: ignore[union-attr]  # closed when the caller stops reading (Stop, a client gone): the server stops too
                for chunk in response:
                    n_chunks += 1
                    choices = getattr(chunk, "choices", None)
                    if not choices:
                        continue
                    piece = getattr(choices[0].delta, "content", None)
                    if piece:
                        yield piece
        except RagError:
            raise
        except self._errors as exc:
            raise self._unavailable(exc) from exc
        if n_chunks == 0:
            raise ModelUnavailableError(
                f"{self.base_url} sent no completion chunks: not an OpenAI-compatible streaming endpoint?",
                hint="check RAG_OPENAI_BASE_URL (it usually ends in /v1)",
            )

    def _unavailable(self, exc: BaseException) -> ModelUnavailableError:
        o = self._openai
        url, timeout = self.base_url, self.settings.openai_timeout
        if isinstance(exc, o.APITimeoutError) or "timeout" in type(exc).__name__.lower():
            return ModelUnavailableError(
                f"OpenAI-compatible endpoint {url} timed out (limit {timeout:g} s)",
                hint="raise RAG_OPENAI_TIMEOUT, check the server load, or set RAG_GENERATOR=extractive",
            )
        if isinstance(exc, o.APIConnectionError):
            return ModelUnavailableError(
                f"cannot reach OpenAI-compatible endpoint {url}: {exc}",
                hint="start the server or fix RAG_OPENAI_BASE_URL; RAG_GENERATOR=extractive works offline",
            )
        if isinstance(exc, o.AuthenticationError | o.PermissionDeniedError):
            return ModelUnavailableError(
                f"{url} rejected the API key ({exc.status_code})", hint="set RAG_OPENAI_API_KEY"
            )
        if isinstance(exc, o.NotFoundError):
            return ModelUnavailableError(
                f"{url} answered 404 for model {self._model!r}: {exc.message}",
                hint="check RAG_OPENAI_MODEL and that RAG_OPENAI_BASE_URL ends in /v1",
            )
        if isinstance(exc, o.APIStatusError):
            return ModelUnavailableError(
                f"{url} answered HTTP {exc.status_code}: {exc.message}",
                hint="see the server's log; RAG_GENERATOR=extractive works offline",
            )
        return ModelUnavailableError(
            f"{url} did not answer like an OpenAI-compatible API ({type(exc).__name__}: {str(exc)[:200]})",
            hint="check RAG_OPENAI_BASE_URL points at an OpenAI-compatible server (usually ending in /v1)",
        )


def _openai_reason(settings: Settings, gen: OpenAIGenerator, local_why: str = "") -> str:
    model = settings.openai_model or "first listed model"
    reason = f"OpenAI-compatible endpoint {gen.base_url} ({model})"
    return f"{reason}; local model unavailable: {local_why}" if local_why else reason


def select_generator(settings: Settings) -> tuple[Generator | None, str]:
    """The generator ``settings.generator`` asks for and a one-line human reason.

    ``auto``: local model if usable, else OpenAI-compatible if RAG_OPENAI_BASE_URL is set, else
    ``None`` (extractive answers). An explicit ``local``/``openai`` that cannot work raises
    ModelUnavailableError. Nothing is loaded or contacted here.
    """
    choice = settings.generator
    if choice == "extractive":
        return None, "extractive: RAG_GENERATOR=extractive"
    why = ""
    if choice in ("local", "auto"):
        ok, why = local_model_status(settings)
        if ok:
            label = MODEL.label if settings.model_path is None else Path(settings.model_path).name
            return LocalGenerator(settings), f"local model {label}"
        if choice == "local":
            raise ModelUnavailableError(f"local model unavailable: {why}", hint=INSTALL_HINT)
        if not settings.openai_base_url:
            return None, f"extractive: local model not installed ({why}) and no RAG_OPENAI_BASE_URL set"
    gen = OpenAIGenerator(settings)
    return gen, _openai_reason(settings, gen, why)
