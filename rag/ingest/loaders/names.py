"""Uploads: safe file names (any OS) and a destination in the corpus folder that overwrites nothing."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from rag.errors import LoadError

MAX_NAME_BYTES = 200  # sanitized file names, UTF-8 bytes; leaves room for "_123" under 255


_FORBIDDEN_CHARS = frozenset('<>:"|?*')
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)


def sanitize_filename(name: str) -> str:
    r"""A safe, non-empty base name for an uploaded file; Chinese kept, spaces → ``_``.

    >>> sanitize_filename("../../etc/2024 仓山区\x00报告.TXT")
    '2024_仓山区报告.TXT'
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    chars: list[str] = []
    for ch in name:
        if unicodedata.category(ch) in _DROP_CATEGORIES:  # controls, bidi overrides, zero-widths
            continue
        chars.append("_" if ch.isspace() or ch in _FORBIDDEN_CHARS else ch)
    cleaned = re.sub(r"_{2,}", "_", "".join(chars)).lstrip(".").rstrip(". _")
    stem, ext = _split_ext(cleaned)
    budget = MAX_NAME_BYTES - len(ext.encode())
    stem = stem.encode()[:budget].decode("utf-8", errors="ignore").rstrip(". _")
    if stem.lower() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    return (stem or "upload") + ext


def _split_ext(name: str) -> tuple[str, str]:
    i = name.rfind(".")
    ext = name[i:] if i > 0 else ""
    if ext and 1 < len(ext) <= 10 and ext[1:].isascii() and ext[1:].isalnum():
        return name[:i], ext
    return name, ""


def safe_destination(corpus_dir: Path, name: str, *, content: bytes | None = None) -> Path:
    """Where to save an upload called ``name``: always directly inside ``corpus_dir``.

    An existing file is never overwritten: ``_1``, ``_2`` … is added before the extension —
    unless ``content`` is given and equals that file's bytes, in which case its path is
    returned (the caller can skip writing). Open the result with mode ``"xb"`` to close the
    race between this check and the write.
    """
    root = corpus_dir.resolve()
    stem, ext = _split_ext(sanitize_filename(name))
    for n in range(10_000):
        candidate = root / (f"{stem}{ext}" if n == 0 else f"{stem}_{n}{ext}")
        if candidate.resolve().parent != root:  # e.g. an existing symlink pointing elsewhere
            continue
        if not os.path.lexists(candidate):
            return candidate
        if content is not None and _same_content(candidate, content):
            return candidate
    raise LoadError(f"{name}: no free file name in {corpus_dir}", "Rename the file and upload it again.")


def _same_content(path: Path, content: bytes) -> bool:
    try:
        return path.is_file() and path.stat().st_size == len(content) and path.read_bytes() == content
    except OSError:
        return False
