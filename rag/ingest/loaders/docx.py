"""DOCX: vetted from its zip directory (zip bombs, legacy .doc renamed), then paragraphs and table rows in order."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from rag.errors import LoadError
from rag.ingest.loaders.problems import corrupt_file, human_size

DOCX_MAX_UNCOMPRESSED = 100 * 2**20  # all members together
DOCX_MAX_RATIO = 100  # uncompressed / compressed, for members over 1 MiB
DOCX_MAX_ENTRIES = 2000
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_text(data: bytes, shown: str) -> str:
    """Body paragraphs one per line and table rows as tab-separated cells, in document order."""
    stored = _docx_defused(data, shown)
    import docx

    try:
        body = docx.Document(io.BytesIO(stored)).element.body
        return "\n".join(_docx_lines(body))
    except MemoryError:
        raise
    except Exception as exc:  # python-docx/lxml raise many types on hostile input
        raise corrupt_file(shown, ".docx", exc) from None


def _docx_defused(data: bytes, shown: str) -> bytes:
    """Vet the zip from its directory, then rebuild it uncompressed from size-checked members.

    The directory check rejects bombs without decompressing anything. It is not enough on its
    own: ``ZipFile.read`` inflates a whole deflate stream before cutting it to the declared size,
    so a member that declares 1 KB can still allocate gigabytes. Reading in bounded chunks stops
    at the declared size, and python-docx then only ever sees the rebuilt, stored copy.
    """
    if data.startswith(_OLE_MAGIC):
        raise LoadError(f"{shown}: not a valid .docx (this is a legacy Word .doc file)",
                        "Open it in Word or WPS and save it as .docx.")
    entries = _zip_declared_entries(data)
    if entries is None and data.startswith(b"PK\x03\x04"):
        raise LoadError(f"{shown}: corrupt or truncated .docx (its zip directory is missing)",
                        "Download or copy the file again; if Word/WPS opens it, save it again.")
    if entries is None:
        raise LoadError(f"{shown}: not a valid .docx (not a zip archive)",
                        "Open it in Word or WPS and save it as .docx again.")
    bomb_hint = "The file looks crafted to exhaust memory (zip bomb); it was not opened."
    if entries > DOCX_MAX_ENTRIES:
        raise LoadError(f"{shown}: .docx has {entries} zip entries (limit {DOCX_MAX_ENTRIES})", bomb_hint)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if len(infos) > DOCX_MAX_ENTRIES:
                raise LoadError(f"{shown}: .docx has {len(infos)} zip entries (limit {DOCX_MAX_ENTRIES})", bomb_hint)
            if total > DOCX_MAX_UNCOMPRESSED:
                raise LoadError(f"{shown}: .docx would unpack to {human_size(total)} (limit "
                                f"{human_size(DOCX_MAX_UNCOMPRESSED)})", bomb_hint)
            for info in infos:
                if info.file_size > 2**20 and info.file_size > DOCX_MAX_RATIO * max(info.compress_size, 1):
                    ratio = info.file_size // max(info.compress_size, 1)
                    raise LoadError(f"{shown}: .docx member {info.filename!r} has a compression ratio of "
                                    f"{ratio}:1 (limit {DOCX_MAX_RATIO}:1)", bomb_hint)
            if "[Content_Types].xml" not in {i.filename for i in infos}:
                raise LoadError(f"{shown}: not a valid .docx (no [Content_Types].xml in the zip)",
                                "Is it another kind of file renamed to .docx?")
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as rebuilt:
                for info in infos:
                    if not info.is_dir():
                        rebuilt.writestr(info.filename, _read_member(zf, info))
    except LoadError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # BadZipFile, bad CRC, unsupported compression, encrypted member …
        raise corrupt_file(shown, ".docx", exc) from None
    return out.getvalue()


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Decompress one member 64 KB at a time; zipfile stops at the declared size and checks the CRC."""
    parts: list[bytes] = []
    with zf.open(info) as f:
        while chunk := f.read(1 << 16):
            parts.append(chunk)
    return b"".join(parts)


def _zip_declared_entries(data: bytes) -> int | None:
    """Entry count from the end-of-central-directory record, before zipfile builds its list."""
    pos = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if pos < 0 or len(data) < pos + 22:
        return None
    count = int.from_bytes(data[pos + 10 : pos + 12], "little")
    return count if count != 0xFFFF else DOCX_MAX_ENTRIES + 1  # ZIP64: no .docx needs it


def _docx_lines(container: Any) -> Iterator[str]:
    for child in container.iterchildren():
        if child.tag == _W + "p":
            yield child.text
        elif child.tag == _W + "tbl":
            for tr in child.iterchildren(_W + "tr"):
                yield "\t".join(" ".join(s for s in _docx_lines(tc) if s) for tc in tr.iterchildren(_W + "tc"))
        elif child.tag == _W + "sdt":  # content controls wrap ordinary paragraphs and tables
            for content in child.iterchildren(_W + "sdtContent"):
                yield from _docx_lines(content)
