"""Pure text helpers for the Streamlit UI: safe markdown, figure highlighting, citation links.

Nothing here imports Streamlit, so it is tested like any other module. Shown text keeps its
original characters; figures are *matched* on a folded copy (``rag.textnorm.fold``) whose
offsets are mapped back to the original, so 「５．５％」 in a passage is highlighted for an
answer saying 5.5%::

    >>> highlight_figures("增长５．５％，投资增长3%", answer_keys("目标5.5%[1]"))
    '增长<mark>５．５％</mark>，投资增长3%'

(only figures are wrapped; the original characters are kept). Markdown output is meant for
``st.markdown(..., unsafe_allow_html=True)``: every character of source text is escaped, the only
HTML in it is ours (``<mark>``, ``<a>``). Trade-off: bold (``**``) next to CJK text often fails
CommonMark's flanking rules, so highlights are ``<mark>`` tags instead.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

from rag.textnorm import CITATION_RE, canonical_unit, figures

_MD_SPECIAL = set("\\`*_[]#|~$")  # markdown (and Streamlit's $math$) syntax characters
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_LINE_START = re.compile(r"(?m)^([ \t]*)(\d{1,9})([.)])(?=\s|$)|^([ \t]*)([-+=])(?=\s|$|[-=]+[ \t]*$)")

FigureKey = tuple[float | None, str]


def escape_md(text: str) -> str:
    r"""Escape ``text`` so markdown shows it literally (HTML entities for ``& < > "``).

    >>> print(escape_md("1. 目标*5%* <b>"))
    1\. 目标\*5%\* &lt;b&gt;
    """
    return _block_safe(_esc(text))


def _esc(text: str) -> str:
    return "".join(_HTML.get(c, "\\" + c if c in _MD_SPECIAL else c) for c in text)


def _block_safe(out: str) -> str:
    """Escape what would start a list or heading at a line start ("1.", "-", "+", "=")."""
    return _LINE_START.sub(lambda m: (m.group(1) or "") + m.group(2) + "\\" + m.group(3) if m.group(2)
                           else (m.group(4) or "") + "\\" + m.group(5), out)


def md_lines(text: str) -> str:
    """Already-escaped text with its line breaks kept (markdown joins single newlines)."""
    lines = [ln.strip(" \t") for ln in text.split("\n")]
    return "  \n".join(lines)


def answer_keys(answer: str) -> set[FigureKey]:
    """Value/unit keys of the figures an answer states (citation markers and years excluded)."""
    return {(f.value, canonical_unit(f.unit)) for f in figures(answer, include_redacted=False)}


def _folded_with_map(text: str) -> tuple[str, list[int]]:
    """NFKC-fold character by character; ``index[i]`` = original offset of folded char ``i``."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded)
        index.extend([i] * len(folded))
    return "".join(out), index


def figure_spans(text: str, keys: Iterable[FigureKey]) -> list[tuple[int, int]]:
    """Spans (original offsets) of figures in ``text`` matching ``keys``.

    A key without a unit matches the value with any unit, as in ``rag.textnorm.figure_in``.
    """
    wanted = set(keys)
    if not wanted:
        return []
    values_any_unit = {v for v, u in wanted if not u}
    folded, index = _folded_with_map(text)
    spans: list[tuple[int, int]] = []
    for f in figures(folded, include_redacted=False):
        if f.end > len(index) or folded[f.start:f.end].strip() != f.text:
            continue  # offsets of a re-folded text (spaces inside numbers): skip rather than mis-mark
        key = (f.value, canonical_unit(f.unit))
        if key in wanted or f.value in values_any_unit:
            start, end = index[f.start], index[f.end - 1] + 1
            while end > start and text[end - 1].isspace():
                end -= 1
            spans.append((start, end))
    return spans


def highlight_figures(text: str, keys: Iterable[FigureKey], *, multiline: bool = False) -> str:
    """Escaped markdown of ``text`` with the figures matching ``keys`` in ``<mark>`` tags."""
    parts: list[str] = []
    pos = 0
    for start, end in figure_spans(text, keys):
        if start < pos:
            continue
        parts.append(_esc(text[pos:start]))
        parts.append(f"<mark>{_esc(text[start:end])}</mark>")
        pos = end
    parts.append(_esc(text[pos:]))
    out = _block_safe("".join(parts))
    return md_lines(out) if multiline else out


def link_citations(answer: str, anchor: str, valid: Iterable[int]) -> str:
    r"""Escaped markdown of an answer whose ``[n]`` markers link to ``#{anchor}-{n}``.

    Markers for numbers not in ``valid`` stay plain text. Lines starting with ``|`` (the
    pipeline's indicator tables) stay a markdown table: their pipes are kept, everything else in
    them is escaped, and the table gets the blank lines around it that markdown needs.

    >>> link_citations("目标5.5%[1]", "m0", [1])
    '目标5.5%<a href="#m0-1">[1]</a>'
    >>> print(link_citations("表:\n| 地区 | 数值 |\n|---|---|\n| 仓山区 | 5.5%[1] |", "m", [1]))
    表:
    <BLANKLINE>
    | 地区 | 数值 |
    |---|---|
    | 仓山区 | 5.5%<a href="#m-1">[1]</a> |
    """
    ok = set(valid)
    out: list[str] = []
    in_table = False
    for line in answer.split("\n"):
        row = line.strip().startswith("|")
        text = _link_line(line.strip(" \t"), anchor, ok, keep_pipes=row)
        if row and not in_table and out:
            out.append("\n\n")
        elif not row and in_table:
            out.append("\n\n")
        elif out:
            out.append("\n" if row else "  \n")
        out.append(text if row else _block_safe(text))
        in_table = row
    return "".join(out)


def source_links(anchor: str, cited: Iterable[int]) -> str:
    """Links to the cited cards, for answers that cite passages without ``[n]`` markers in the text.

    >>> source_links("m", [2, 1])
    '来源 Sources: <a href="#m-1">[1]</a> <a href="#m-2">[2]</a>'
    """
    return "来源 Sources: " + " ".join(f'<a href="#{anchor}-{n}">[{n}]</a>' for n in sorted(set(cited)))


def _link_line(line: str, anchor: str, ok: set[int], keep_pipes: bool) -> str:
    def esc(part: str) -> str:
        return _esc(part).replace("\\|", "|") if keep_pipes else _esc(part)

    parts: list[str] = []
    pos = 0
    for m in CITATION_RE.finditer(line):
        n = int(m.group(1))
        if n not in ok:
            continue
        parts.append(esc(line[pos:m.start()]))
        parts.append(f'<a href="#{anchor}-{n}">[{n}]</a>')
        pos = m.end()
    parts.append(esc(line[pos:]))
    return "".join(parts)


def full_text_html(text: str, start: int, end: int, keys: Iterable[FigureKey], title: str = "") -> str:
    """A standalone HTML page of a whole document with ``text[start:end]`` marked and scrolled to.

    Everything from the document is HTML-escaped; the only script scrolls to the passage.
    """
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    keys = list(keys)
    passage = text[start:end]
    marked: list[str] = []
    pos = 0
    for s, e in figure_spans(passage, keys):
        marked.append(html.escape(passage[pos:s]) + "<b>" + html.escape(passage[s:e]) + "</b>")
        pos = e
    marked.append(html.escape(passage[pos:]))
    body = (html.escape(text[:start]) + '<mark id="hit">' + "".join(marked) + "</mark>"
            + html.escape(text[end:]))
    head = f"<h3>{html.escape(title)}</h3>" if title else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        "body{font-family:'Noto Sans CJK SC','Noto Sans SC',sans-serif;line-height:1.7;margin:0 .5rem;"
        "color:#222;font-size:15px}"
        "pre{white-space:pre-wrap;font-family:inherit;margin:0}"
        "mark{background:#fff3b0;padding:2px 0;border-left:3px solid #f0a500}"
        "b{background:#ffd166}"
        "</style></head><body>"
        f"{head}<pre>{body}</pre>"
        "<script>var h=document.getElementById('hit');if(h){h.scrollIntoView({block:'center'});}</script>"
        "</body></html>"
    )


def card_label(n: int, title: str, region: str | None, year: int | None, section: str, cited: bool) -> str:
    """The one-line label of a numbered source card (escaped for an expander label)."""
    bits = [region or "地区未知", f"{year}年" if year else "年份未知"]
    if section:
        bits.append(section[:30])
    return escape_md(f"[{n}] " + " · ".join(bits) + f" — {title[:40]}") + (" · 已引用 cited" if cited else "")
