"""``load_file``: one file → ``LoadedFile``, by its type; size limit, line endings, empty files."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from rag.errors import LoadError
from rag.ingest.loaders.discover import HTML_SUFFIXES, SUPPORTED, TEXT_SUFFIXES, unsupported_reason
from rag.ingest.loaders.docx import docx_text
from rag.ingest.loaders.html import html_text
from rag.ingest.loaders.pdf import pdf_text
from rag.ingest.loaders.problems import too_big
from rag.ingest.loaders.text import decode_text
from rag.types import LoadedFile

DEFAULT_MAX_BYTES = 200 * 2**20


def load_file(path: Path, *, display_path: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedFile:
    """Read one file into raw text; raise ``LoadError`` saying why when it cannot be used."""
    shown = display_path or path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"{shown}: {unsupported_reason(path)}", f"Supported types: {' '.join(SUPPORTED)}.")
    data = _read_bytes(path, shown, max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    if suffix in TEXT_SUFFIXES:
        text, encoding = decode_text(data, shown)
    elif suffix in HTML_SUFFIXES:
        text, encoding = html_text(data, shown)
    elif suffix == ".docx":
        text, encoding = docx_text(data, shown), "docx"
    else:
        text, encoding = pdf_text(data, shown), "pdf"
    del data
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        text = text.replace("\r", "\n")
    if "\x00" in text:  # stray NULs past the binary sniff; they break C-string consumers
        text = text.replace("\x00", "")
    if not text or text.isspace():
        raise LoadError(f"{shown}: empty file (no text in it)", "Check that the right file was chosen.")
    return LoadedFile(path=display_path or str(path), text=text, encoding=encoding, sha256=sha256)


def _read_bytes(path: Path, shown: str, max_bytes: int) -> bytes:
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise LoadError(f"{shown}: not a regular file", "Pass a file, not a folder or a device.")
        if st.st_size > max_bytes:
            raise too_big(shown, st.st_size, max_bytes)
        with path.open("rb") as f:
            data = f.read(st.st_size + 1)
            if len(data) > st.st_size:  # grew since stat, or a special file reporting size 0
                parts, total = [data], len(data)
                while total <= max_bytes and (chunk := f.read(1 << 20)):
                    parts.append(chunk)
                    total += len(chunk)
                if total > max_bytes:
                    raise too_big(shown, total, max_bytes)
                data = b"".join(parts)
    except FileNotFoundError:
        raise LoadError(f"{shown}: file not found", "Check the path.") from None
    except OSError as exc:
        raise LoadError(f"{shown}: cannot read the file ({exc.strerror})", "Check its permissions.") from None
    return data
