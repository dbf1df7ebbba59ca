"""Plain text (.txt, .md): encoding detected in an order that favours Chinese; binary files refused."""

from __future__ import annotations

import codecs
import re

from rag.ingest.loaders.problems import binary_file

_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])  # not \t \n \f \r
_HIGH_BYTES = bytes(range(0x80, 0x100))
BINARY_CONTROL_SHARE = 0.01
_DAMAGE_TOLERANCE = 0.005  # replaced characters per non-ASCII byte a lenient decode may have
_GUESS_BAD_SHARE = 0.02  # replacement/control characters in a charset-normalizer guess


def decode_text(data: bytes, shown: str) -> tuple[str, str]:
    """Bytes → (text, encoding name) by the detection order in the module docstring."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise binary_file(shown) from None
            if _bad_share(text) > BINARY_CONTROL_SHARE:
                raise binary_file(shown)
            return text, codec
    if b"\x00" in data[:8192] or control_share(data) > BINARY_CONTROL_SHARE:
        raise binary_file(shown)
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
        raise binary_file(shown)
    codec = best.encoding
    text = data.decode(codec, errors="replace")
    if _bad_share(text) > _GUESS_BAD_SHARE:
        raise binary_file(shown)
    return text, codec


def control_share(data: bytes) -> float:
    return (len(data) - len(data.translate(None, _CONTROL_BYTES))) / max(len(data), 1)


_BAD_CHARS = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f\x7f]")


def _bad_share(text: str) -> float:
    return sum(1 for _ in _BAD_CHARS.finditer(text)) / max(len(text), 1)
