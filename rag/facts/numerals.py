"""Percentages written in Chinese numerals (「百分之十一点八」, 「百分之八至九」), as older reports state them.

``digit_percents`` rewrites them in folded text as digits (「11.8%」, 「8至9%」) and keeps the offset map of
``rag.textnorm.fold_with_map`` right: every character of a rewritten figure maps to the start of the
original words and its end to their end, so a figure's verbatim text is still taken from the source
(「百分之十一点八」). Only extraction of the indicator table reads these; the figure scanner is unchanged.
"""

from __future__ import annotations

import re

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "零〇一二两三四五六七八九十百"
_NUMBER = rf"[{_CN}]+(?:点[{_CN[:-2]}]+)?"
_PERCENT_RE = re.compile(rf"百分之({_NUMBER})(?:\s*(至|到|—|-)\s*(?:百分之)?({_NUMBER}))?")


def cn_number(words: str) -> float | None:
    """「十一点八」 → 11.8, 「五十八点六」 → 58.6, 「一百」 → 100; None if not a number below 1000."""
    whole, _, frac = words.partition("点")
    value = 0
    current = 0
    for ch in whole:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch == "十":
            value += (current or 1) * 10
            current = 0
        elif ch == "百":
            value += (current or 1) * 100
            current = 0
        else:
            return None
    value += current
    if frac:
        if any(ch not in _DIGITS for ch in frac):
            return None
        return float(f"{value}." + "".join(str(_DIGITS[ch]) for ch in frac))
    return float(value)


def _digits(value: float) -> str:
    return f"{value:g}"


def digit_percents(folded: str, index: list[int]) -> tuple[str, list[int]]:
    """``folded`` with Chinese-numeral percentages as digits, and its offset map (see the module docstring)."""
    out: list[str] = []
    new_index: list[int] = []
    pos = 0
    for m in _PERCENT_RE.finditer(folded):
        low = cn_number(m.group(1))
        high = cn_number(m.group(3)) if m.group(3) else None
        if low is None or (m.group(3) and high is None):
            continue
        out.append(folded[pos: m.start()])
        new_index.extend(index[pos: m.start()])
        text = _digits(low) + (f"{m.group(2)}{_digits(high)}" if high is not None else "") + "%"
        out.append(text)
        new_index.extend([index[m.start()]] * (len(text) - 1) + [index[m.end() - 1]])
        pos = m.end()
    out.append(folded[pos:])
    new_index.extend(index[pos:])
    return "".join(out), new_index
