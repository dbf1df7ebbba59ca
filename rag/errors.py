"""User-facing errors: the message says what went wrong and what to do about it."""

from __future__ import annotations


class RagError(Exception):
    """An expected problem; shown to the user as is (CLI: stderr + exit 2; UI: st.error)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  → {self.hint}" if self.hint else self.message


class ConfigError(RagError):
    """Settings are inconsistent or point at something missing."""


class LoadError(RagError):
    """A file could not be read as a report (skipped during ingestion)."""


class IndexMissingError(RagError):
    """No index exists yet at the configured location."""


class ModelUnavailableError(RagError):
    """A model (embedder or generator) is not installed or cannot be reached."""
