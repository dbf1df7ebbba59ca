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
from collections.abc import Iterable

from rag.textnorm import CITATION_RE, canonical_unit, figures, fold_with_map, scan_figures

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


def figure_spans(text: str, keys: Iterable[FigureKey]) -> list[tuple[int, int]]:
    """Spans (original offsets) of figures in ``text`` matching ``keys``.

    A key without a unit matches the value with any unit, as in ``rag.textnorm.figure_grounded``.
    """
    wanted = set(keys)
    if not wanted:
        return []
    values_any_unit = {v for v, u in wanted if not u}
    folded, index = fold_with_map(text)
    spans: list[tuple[int, int]] = []
    for f in scan_figures(folded, include_redacted=False):
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


def clip(text: str, n: int) -> str:
    """``text`` cut to ``n`` characters, with an ellipsis when something was cut.

    >>> clip("二、2024年主要预期目标和重点工作", 10), clip("目标", 8)
    ('二、2024年主要…', '目标')
    """
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def card_label(n: int, title: str, region: str | None, year: int | None, section: str, cited: bool,
               opening: str = "") -> str:
    r"""The one-line label of a numbered source card (escaped for an expander label).

    Region, year and section say where the passage is; ``opening`` (its first words) tells apart
    cards from the same section. The title is left to the card itself (one report, many cards).

    >>> print(card_label(2, "报告", "仓山区", 2024, "二、2024年工作安排", True, "地区生产总值增长5.5%左右"))
    \[2\] 仓山区 · 2024年 · 二、2024年工作安排 · 「地区生产总值增长5.5%左右」 · 已引用 cited
    """
    bits = [region or "地区未知 region unknown", f"{year}年" if year else "年份未知 year unknown"]
    if section:
        bits.append(clip(section, 24))
    opening = " ".join(opening.split())
    if section and opening.startswith(section):  # a passage opening with its heading: show what follows
        opening = opening[len(section):].strip()
    if opening:
        bits.append(f"「{clip(opening, 18)}」")
    return escape_md(f"[{n}] " + " · ".join(bits)) + (" · 已引用 cited" if cited else "")


def match_words(ranks: dict[str, int | None]) -> str:
    """How a passage was found, in words (instead of a fused score nobody can read).

    >>> match_words({"keyword": 1, "dense": 3})
    '关键词和语义都匹配 matched by words and by meaning'
    >>> match_words({"keyword": None, "dense": 2})
    '语义匹配 matched by meaning'
    """
    kw, dense = ranks.get("keyword") is not None, ranks.get("dense") is not None
    if kw and dense:
        return "关键词和语义都匹配 matched by words and by meaning"
    if kw:
        return "关键词匹配 matched by words"
    if dense:
        return "语义匹配 matched by meaning"
    return "来自指标表 from the indicator table"


def new_spans(spans: list[tuple[str, int, int]]) -> list[tuple[int, int, int | None]]:
    """For passages given as (doc_id, start, end): the part not already shown by an earlier passage.

    Returns (start, end, k) per passage: the span to show and the 1-based number of the earlier
    passage it overlaps (None when it overlaps none). Chunks overlap by design (chunk overlap), so
    the repeated sentence is shown once.

    >>> new_spans([("d", 0, 100), ("d", 80, 200), ("e", 0, 50), ("d", 10, 90)])
    [(0, 100, None), (100, 200, 1), (0, 50, None), (10, 90, 1)]
    """
    out: list[tuple[int, int, int | None]] = []
    for i, (doc, start, end) in enumerate(spans):
        s, over = start, None
        for j, (d2, s2, e2) in enumerate(spans[:i]):
            if d2 == doc and s2 <= s < e2:
                s, over = e2, j + 1
        if s >= end:  # wholly inside earlier passages: show it all, say which one holds its start
            s = start
            over = next(j + 1 for j, (d2, s2, e2) in enumerate(spans[:i]) if d2 == doc and s2 <= start < e2)
        out.append((s, end, over))
    return out
