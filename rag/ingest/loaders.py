"""File → raw text, safely: the first step of ingestion.

``load_file`` reads one report (.txt/.md, .html, .docx, .pdf) into a ``LoadedFile`` and turns
every way a file can be unusable (too big, binary, empty, corrupt, encrypted, scanned, zip
bomb) into a ``LoadError`` whose message says why and whose hint says what to do. It does not
clean: web chrome, markdown and full-width folding belong to ``rag.ingest.clean``.

Trade-offs:

- Encoding is detected, never assumed, in an order that favours Chinese: strict UTF-8 (BOM
  stripped) → strict GB18030 (a superset of GBK/GB2312) → the same two with a few damaged bytes
  replaced (≤ 1 per 200 non-ASCII bytes) → charset-normalizer's best guess. GB18030 accepts
  most runs of high bytes, so a Big5 file would be mis-read as GB18030: for mainland reports
  that is the right bet.
- Binary detection is byte-level (a NUL in the first 8 KB, as git does, or > 1 % C0 control
  bytes). That is exact for every ASCII-compatible encoding and needs no copy of the text.
- Memory: the file is read once and the text stays within a small multiple of the file size
  (tested at 50 MB). HTML (BeautifulSoup) and DOCX (lxml) trees cost more per byte.
- A .docx is vetted from its zip directory before anything is decompressed, then its members
  are decompressed in bounded chunks (never trusting the declared sizes, which a crafted file
  can fake) and python-docx parses an uncompressed copy.

Example::

    >>> lf = load_file(Path("corpus/2024_解放区政府工作报告.txt"))
    >>> lf.encoding, lf.text[:6]
    ('utf-8', '政府工作报告')
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.errors import LoadError
from rag.types import LoadedFile

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf")
TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")

DEFAULT_MAX_BYTES = 200 * 2**20
DOCX_MAX_UNCOMPRESSED = 100 * 2**20  # all members together
DOCX_MAX_RATIO = 100  # uncompressed / compressed, for members over 1 MiB
DOCX_MAX_ENTRIES = 2000
MAX_NAME_BYTES = 200  # sanitized file names, UTF-8 bytes; leaves room for "_123" under 255

_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])  # not \t \n \f \r
_HIGH_BYTES = bytes(range(0x80, 0x100))
_BINARY_CONTROL_SHARE = 0.01
_DAMAGE_TOLERANCE = 0.005  # replaced characters per non-ASCII byte a lenient decode may have
_GUESS_BAD_SHARE = 0.02  # replacement/control characters in a charset-normalizer guess
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls
_BINARY_HINT = "If it is a document, save it as .txt (UTF-8), .docx or .pdf and add it again."


def load_file(path: Path, *, display_path: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedFile:
    """Read one file into raw text; raise ``LoadError`` saying why when it cannot be used."""
    shown = display_path or path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"{shown}: {unsupported_reason(path)}", f"Supported types: {' '.join(SUPPORTED)}.")
    data = _read_bytes(path, shown, max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    if suffix in TEXT_SUFFIXES:
        text, encoding = _decode_text(data, shown)
    elif suffix in HTML_SUFFIXES:
        text, encoding = _html_text(data, shown)
    elif suffix == ".docx":
        text, encoding = _docx_text(data, shown), "docx"
    else:
        text, encoding = _pdf_text(data, shown), "pdf"
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
            raise _too_big(shown, st.st_size, max_bytes)
        with path.open("rb") as f:
            data = f.read(st.st_size + 1)
            if len(data) > st.st_size:  # grew since stat, or a special file reporting size 0
                parts, total = [data], len(data)
                while total <= max_bytes and (chunk := f.read(1 << 20)):
                    parts.append(chunk)
                    total += len(chunk)
                if total > max_bytes:
                    raise _too_big(shown, total, max_bytes)
                data = b"".join(parts)
    except FileNotFoundError:
        raise LoadError(f"{shown}: file not found", "Check the path.") from None
    except OSError as exc:
        raise LoadError(f"{shown}: cannot read the file ({exc.strerror})", "Check its permissions.") from None
    return data


def _too_big(shown: str, size: int, limit: int) -> LoadError:
    return LoadError(
        f"{shown}: {_human(size)} ({size} bytes) is over the size limit of {_human(limit)} ({limit} bytes)",
        "Split the file into smaller parts, or raise the loader's size limit.",
    )


def _human(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 2**20:
        return f"{n / 1024:.1f} KB"
    return f"{n / 2**20:.1f} MB"


# ---------------------------------------------------------------------------- plain text


def _decode_text(data: bytes, shown: str) -> tuple[str, str]:
    """Bytes → (text, encoding name) by the detection order in the module docstring."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise _binary(shown) from None
            if _bad_share(text) > _BINARY_CONTROL_SHARE:
                raise _binary(shown)
            return text, codec
    if b"\x00" in data[:8192] or _control_share(data) > _BINARY_CONTROL_SHARE:
        raise _binary(shown)
    utf8 = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    for codec in (utf8, "gb18030"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            pass
    non_ascii = len(data) - len(data.translate(None, _HIGH_BYTES))
    for codec in (utf8, "gb18030"):
        text = data.decode(codec, errors="replace")
        if text.count("\ufffd") <= non_ascii * _DAMAGE_TOLERANCE:
            return text, codec
        del text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise _binary(shown)
    codec = best.encoding
    text = data.decode(codec, errors="replace")
    if _bad_share(text) > _GUESS_BAD_SHARE:
        raise _binary(shown)
    return text, codec


def _control_share(data: bytes) -> float:
    return (len(data) - len(data.translate(None, _CONTROL_BYTES))) / max(len(data), 1)


_BAD_CHARS = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f\x7f]")


def _bad_share(text: str) -> float:
    return sum(1 for _ in _BAD_CHARS.finditer(text)) / max(len(text), 1)


def _binary(shown: str) -> LoadError:
    return LoadError(f"{shown}: looks like a binary file, not text", _BINARY_HINT)


# ---------------------------------------------------------------------------- html

_DROP_TAGS = frozenset({"script", "style", "nav", "header", "footer", "noscript", "template"})
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt fieldset "
    "figcaption figure form h1 h2 h3 h4 h5 h6 hr html legend li main ol p pre section summary "
    "table tbody tfoot thead title tr ul".split()
)
_CELL_TAGS = frozenset({"td", "th"})
_PRE_TAGS = frozenset({"pre", "textarea"})
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_HTML_WS = re.compile(r"[ \t\n\r\f]+")
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class _Marker(str):
    """Text emitted when leaving an element (never confused with document strings)."""


_PRE_END = object()


def _html_text(data: bytes, shown: str) -> tuple[str, str]:
    """Decode (BOM > declared charset > detection), then visible text with blocks as lines."""
    text: str | None = None
    codec = _declared_charset(data[:4096]) if not data.startswith(_BOMS) else None
    if codec:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            text = None
        if text is not None and (b"\x00" in data[:8192] or _control_share(data) > _BINARY_CONTROL_SHARE):
            raise _binary(shown)
    if text is None:
        text, codec = _decode_text(data, shown)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    del text
    return _visible_text(soup), f"html:{codec}"


def _declared_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None
    if name in ("gb2312", "gbk", "cp936", "hz"):  # browsers decode all of these as GB18030
        return "gb18030"
    if name.startswith(("utf-16", "utf-32")):  # a declaration read as ASCII cannot be UTF-16
        return "utf-8"
    if name in ("latin-1", "iso8859-1", "ascii"):  # what browsers do (WHATWG encoding spec)
        return "cp1252"
    return name


def _visible_text(root: Any) -> str:
    """Text of an HTML tree: chrome dropped, blocks on their own lines, cells tab-separated.

    Iterative, so hostile nesting depth cannot hit the recursion limit. Whitespace inside text
    is collapsed as a browser would (except in <pre>), so a source line break in the middle of
    a Chinese sentence does not split it.
    """
    from bs4 import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

    out: list[str] = []
    stack: list[Any] = [root]
    in_pre = 0
    while stack:
        node = stack.pop()
        if node is _PRE_END:
            in_pre -= 1
        elif isinstance(node, _Marker):
            out.append(node)
        elif isinstance(node, NavigableString):
            if not isinstance(node, Comment | Declaration | Doctype | ProcessingInstruction):
                out.append(str(node) if in_pre else _HTML_WS.sub(" ", node))
        elif isinstance(node, Tag):
            name = node.name
            if name == "br":
                out.append("\n")
                continue
            if name in _DROP_TAGS:
                continue
            if name in _BLOCK_TAGS:
                out.append("\n")
                stack.append(_Marker("\n"))
            elif name in _CELL_TAGS:
                stack.append(_Marker("\t"))
            if name in _PRE_TAGS:
                in_pre += 1
                stack.append(_PRE_END)
            stack.extend(reversed(node.contents))
    text = re.sub(r"[ \t]*\n[ \t\n]*", "\n", "".join(out))
    return text.strip("\n")


# ---------------------------------------------------------------------------- docx

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_text(data: bytes, shown: str) -> str:
    """Body paragraphs one per line and table rows as tab-separated cells, in document order."""
    stored = _docx_defused(data, shown)
    import docx

    try:
        body = docx.Document(io.BytesIO(stored)).element.body
        return "\n".join(_docx_lines(body))
    except MemoryError:
        raise
    except Exception as exc:  # python-docx/lxml raise many types on hostile input
        raise _corrupt(shown, ".docx", exc) from None


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
                raise LoadError(f"{shown}: .docx would unpack to {_human(total)} (limit "
                                f"{_human(DOCX_MAX_UNCOMPRESSED)})", bomb_hint)
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
        raise _corrupt(shown, ".docx", exc) from None
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


def _corrupt(shown: str, kind: str, exc: BaseException) -> LoadError:
    detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    return LoadError(f"{shown}: corrupt or truncated {kind} ({detail})",
                     "Open it in its application and save it again, or export it as text.")


# ---------------------------------------------------------------------------- pdf


def _pdf_text(data: bytes, shown: str) -> str:
    """The text layer of every page, pages joined with newlines (pypdf limits stream sizes)."""
    if b"%PDF-" not in data[:1024]:
        raise LoadError(f"{shown}: not a valid .pdf (no %PDF header)", "Is it another kind of file renamed to .pdf?")
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many PDFs only restrict copying/printing
            except DependencyError:
                raise LoadError(f"{shown}: encrypted PDF (AES) that needs the 'cryptography' package",
                                "pip install cryptography, or print the PDF to an unencrypted one.") from None
            if not opened:
                raise LoadError(f"{shown}: encrypted PDF (password protected)",
                                "Remove the password (save an unprotected copy) and add it again.")
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except LoadError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # pypdf raises many types on hostile input
        raise _corrupt(shown, ".pdf", exc) from None
    if not text.strip():
        raise LoadError(f"{shown}: no text layer (scanned PDF?); OCR is not available — convert it to text first",
                        "Run OCR elsewhere or use a text/.docx version of the report.")
    return text


# ---------------------------------------------------------------------------- discovery


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Walk files and folders (sorted, hidden entries skipped) → (loadable files, [(skipped, reason)]).

    A path named explicitly is taken even if hidden; folder symlinks are reported, not followed;
    a file reached twice (e.g. through a link) is listed once.
    """
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def consider(path: Path) -> None:
        reason = unsupported_reason(path)
        if reason:
            skipped.append((path, reason))
            return
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(path)

    for root in paths:
        if root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root):
                here = Path(dirpath)
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for d in [d for d in dirnames if (here / d).is_symlink()]:
                    skipped.append((here / d, "symlinked folder (not followed)"))
                    dirnames.remove(d)
                for name in sorted(filenames):
                    if not name.startswith("."):
                        consider(here / name)
        elif os.path.lexists(root):
            consider(root)
        else:
            skipped.append((root, "not found"))
    return found, skipped


def unsupported_reason(path: Path) -> str:
    """Why ``path`` cannot be loaded (type or kind of file), or "" when it is a candidate."""
    suffix = path.suffix.lower()
    if path.name.startswith("~$"):
        return "Office lock file (the document is open in Word/WPS)"
    if suffix in (".doc", ".wps"):
        return f"legacy {suffix} format: save it as .docx"
    if suffix not in SUPPORTED:
        return f"unsupported file type {suffix!r}" if suffix else "no file extension"
    if not path.is_file():
        return "not a regular file (broken link?)"
    return ""


# ---------------------------------------------------------------------------- uploads

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
