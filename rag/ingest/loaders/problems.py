"""The errors a loader raises for an unusable file: each says why, and its hint what to do."""

from __future__ import annotations

from rag.errors import LoadError

BINARY_HINT = "If it is a document, save it as .txt (UTF-8), .docx or .pdf and add it again."


def too_big(shown: str, size: int, limit: int) -> LoadError:
    return LoadError(
        f"{shown}: {human_size(size)} ({size} bytes) is over the size limit of {human_size(limit)} ({limit} bytes)",
        "Split the file into smaller parts, or raise the loader's size limit.",
    )


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 2**20:
        return f"{n / 1024:.1f} KB"
    return f"{n / 2**20:.1f} MB"


def binary_file(shown: str) -> LoadError:
    return LoadError(f"{shown}: looks like a binary file, not text", BINARY_HINT)


def corrupt_file(shown: str, kind: str, exc: BaseException) -> LoadError:
    detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    return LoadError(f"{shown}: corrupt or truncated {kind} ({detail})",
                     "Open it in its application and save it again, or export it as text.")
