r"""Unwrap a message before it is checked: every encoding an instruction can hide in becomes plain text.

The question guard (``rag.answer.guard``) judges plain text. A message may carry the same request
base64-encoded, percent- or ``\u``-escaped, as a JSON chat payload (a ``"system"`` role), inside a
markdown code block (a "config"), in an HTML comment or written in pinyin. ``unwrap`` splits a
message into ``Part`` s, each with the plain text to judge and where it came from:

- ``plain``: the message's own text (encoded blobs and blocks cut out);
- ``base64`` / ``escaped``: a decoded blob (only when it decodes to readable text);
- ``role:<name>``: the content of a JSON chat message (``role:user`` is judged like plain text;
  any other role is an attempt to speak as the system and is never followed);
- ``block``: the body of a fenced code block or a JSON object that is not a chat payload;
- ``comment``: an HTML comment (hidden from the person reading the message);
- ``pinyin``: a run of pinyin, with ``text`` transliterated to characters for the check
  (``original`` keeps the pinyin: region names in pinyin are matched by the question parser).

Example::

    >>> [(p.origin, p.text) for p in unwrap("5LuT5bGx5Yy6MjAyNOW5tEdEUOebruaghw==")]
    [('base64', '仓山区2024年GDP目标')]
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_PCT = re.compile(r"(?:%[0-9A-Fa-f]{2}){3,}")
_UESC = re.compile(r"(?:\\u[0-9A-Fa-f]{4}){2,}")
_FENCE = re.compile(r"```[^\n`]*\n?(.*?)(```|$)|~~~[^\n]*\n(.*?)(~~~|$)", re.S)
_COMMENT = re.compile(r"<!--(.*?)(-->|$)", re.S)
_ASCII_RUN = re.compile(r"[A-Za-z]+(?:[\s'’-]+[A-Za-z]+)*")


@dataclass(frozen=True)
class Part:
    """A piece of the message as plain text, and where it came from."""

    text: str
    origin: str  # plain | base64 | escaped | role:<name> | block | comment | pinyin
    original: str = ""


def _readable(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    printable = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    return text if text.strip() and printable >= 0.95 * len(text) else ""


def _b64(blob: str) -> str:
    if re.fullmatch(r"[A-Za-z]+", blob) or re.fullmatch(r"[0-9]+", blob):  # a plain word or number
        return ""
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), altchars=b"-_" if re.search(r"[-_]", blob) else None,
                               validate=True)
    except (binascii.Error, ValueError):
        return ""
    return _readable(raw)


def _json_parts(obj: Any, origin: str = "block") -> list[Part]:
    """Strings inside a JSON value; chat messages keep their role."""
    out: list[Part] = []
    if isinstance(obj, dict):
        role = obj.get("role")
        content = obj.get("content")
        if isinstance(role, str) and content is not None:
            inner = _json_parts(content, f"role:{role.lower()}")
            return [Part(p.text, f"role:{role.lower()}", p.original) for p in inner]
        for key, value in obj.items():
            sub = "role:system" if str(key).lower() in ("system", "system_prompt", "instructions", "developer") else origin
            out += _json_parts(value, sub)
    elif isinstance(obj, list):
        for item in obj:
            out += _json_parts(item, origin)
    elif isinstance(obj, str) and obj.strip():
        out.append(Part(obj.strip(), origin))
    return out


def _find_json(text: str) -> tuple[int, int, Any] | None:
    """The first JSON object/array in ``text`` (span and value)."""
    decoder = json.JSONDecoder()
    for m in re.finditer(r"[\[{]", text):
        try:
            value, end = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(value, dict | list) and value:
            return m.start(), end, value
    return None


def unwrap(message: str, depth: int = 0) -> list[Part]:
    """The message as plain parts (decoded, unpacked); ``plain`` first."""
    parts: list[Part] = []
    rest = message

    def cut(m: re.Match[str], made: list[Part]) -> str:
        parts.extend(made)
        return " " if made else m.group(0)

    rest = _COMMENT.sub(lambda m: cut(m, [Part(m.group(1).strip(), "comment")] if m.group(1).strip() else []), rest)
    rest = _FENCE.sub(lambda m: cut(m, _block(m.group(1) if m.group(1) is not None else m.group(3) or "")), rest)
    found = _find_json(rest)
    while found is not None:
        start, end, value = found
        parts.extend(_json_parts(value))
        rest = rest[:start] + " " + rest[end:]
        found = _find_json(rest)
    rest = _UESC.sub(lambda m: cut(m, _decoded(m.group(0).encode().decode("unicode_escape", "ignore"), "escaped")), rest)
    rest = _PCT.sub(lambda m: cut(m, _decoded(urllib.parse.unquote(m.group(0), errors="strict"), "escaped")), rest)
    rest = _B64.sub(lambda m: cut(m, _decoded(_b64(m.group(0)), "base64")), rest)
    pinyin = [Part(zh, "pinyin", run) for run in _ASCII_RUN.findall(rest) if (zh := transliterate(run))]
    out = ([Part(rest.strip(), "plain")] if rest.strip() else []) + pinyin
    if depth < 2:  # a decoded part may itself be encoded (base64 of JSON …)
        for p in parts:
            inner = unwrap(p.text, depth + 1) if p.origin in ("base64", "escaped") else [p]
            out += [Part(q.text, p.origin if q.origin == "plain" else q.origin, q.original) for q in inner]
    else:
        out += parts
    return out


def _decoded(text: str, origin: str) -> list[Part]:
    return [Part(text.strip(), origin)] if text and text.strip() else []


def _block(body: str) -> list[Part]:
    body = body.strip()
    if not body:
        return []
    try:
        return _json_parts(json.loads(body)) or [Part(body, "block")]
    except ValueError:
        return [Part(body, "block")]


# ---------------------------------------------------------------- pinyin
@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows (ü also written v and u); ~0.3 s, cached."""
    import unicodedata

    from pypinyin.pinyin_dict import pinyin_dict

    found: set[str] = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            decomposed = unicodedata.normalize("NFD", reading)
            bare = "".join(c for c in decomposed if not unicodedata.combining(c))
            found.add(bare)
            if "\u0308" in decomposed:  # ü: lü → lv / lu
                found.add(bare.replace("u", "v"))
    return frozenset(found)


@lru_cache(maxsize=1)
def _pinyin_words() -> tuple[dict[str, str], int]:
    """Pinyin (toneless, no spaces) → the most frequent jieba word with that reading.

    Reading the whole jieba dictionary takes several seconds, so it is built only when a run of text
    already looks like pinyin (``transliterate``), never for ordinary English questions.
    """
    import os

    import jieba
    from pypinyin import lazy_pinyin

    best: dict[str, tuple[str, int]] = {}
    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            fields = line.split()
            if len(fields) < 2 or not 1 <= len(fields[0]) <= 4 or int(fields[1]) < 50:
                continue
            word, freq = fields[0], int(fields[1])
            if not re.fullmatch(r"[\u4e00-\u9fff]+", word):
                continue
            sylls = lazy_pinyin(word)
            for key in {"".join(sylls), "".join(sylls).replace("v", "u"), "".join(s.replace("v", "ü") for s in sylls)}:
                if key not in best or best[key][1] < freq:
                    best[key] = (word, freq)
    return {k: w for k, (w, _) in best.items()}, max(map(len, best))


def is_pinyin_word(word: str, syllables: frozenset[str] | None = None) -> bool:
    """True when ``word`` (lower case) splits into valid pinyin syllables (「cangshan」, 「taijiang」)."""
    syllables = syllables if syllables is not None else _syllables()
    n = len(word)
    ok = [True] + [False] * n
    for i in range(1, n + 1):
        ok[i] = any(ok[j] and word[j:i] in syllables for j in range(max(0, i - 6), i))
    return ok[n]


def transliterate(run: str) -> str:
    """Characters for a run of >= 3 pinyin words (or one long pinyin string); "" when it is not pinyin."""
    words = [w.lower().replace("'", "").replace("’", "") for w in re.split(r"[\s-]+", run) if w]
    if not words or (len(words) < 3 and len("".join(words)) < 12):
        return ""
    syllables = _syllables()
    if sum(is_pinyin_word(w, syllables) for w in words) < 0.8 * len(words):
        return ""
    table, longest = _pinyin_words()
    text = "".join(words)
    n = len(text)
    best: list[tuple[int, str] | None] = [(0, "")] + [None] * n  # (pieces, characters); fewest pieces wins
    for i in range(1, n + 1):
        for j in range(max(0, i - longest), i):
            prev = best[j]
            if prev is not None and text[j:i] in table:
                cand = (prev[0] + 1, prev[1] + table[text[j:i]])
                if best[i] is None or cand[0] < best[i][0]:  # type: ignore[index]
                    best[i] = cand
    result = best[n]
    return result[1] if result else ""
