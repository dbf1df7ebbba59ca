"""HTML: the visible text (scripts, styles, navigation dropped), block elements on their own lines."""

from __future__ import annotations

import codecs
import re
from typing import Any

from rag.ingest.loaders.problems import binary_file
from rag.ingest.loaders.text import BINARY_CONTROL_SHARE, control_share, decode_text

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


def html_text(data: bytes, shown: str) -> tuple[str, str]:
    """Decode (BOM > declared charset > detection), then visible text with blocks as lines."""
    text: str | None = None
    codec = _declared_charset(data[:4096]) if not data.startswith(_BOMS) else None
    if codec:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            text = None
        if text is not None and (b"\x00" in data[:8192] or control_share(data) > BINARY_CONTROL_SHARE):
            raise binary_file(shown)
    if text is None:
        text, codec = decode_text(data, shown)
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
