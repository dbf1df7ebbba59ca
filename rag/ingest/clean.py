"""Clean raw report text for indexing, keeping the original characters for display.

What goes: web-page chrome (「欢迎访问…门户网站」, 「加大字体 缩小字体 收藏 打印」, 下载/打印/全屏/字号
toolbars, 来源/发布时间/浏览量 lines, page counters 「(第3/21页)」, 「下一篇:…」, docx-viewer metadata
such as 「- 格式:docx」), markdown markers (``**5.5%**`` → ``5.5%``, ``#`` headings, ``- `` bullets),
stray spaces inside numbers (``2. 5 %`` → ``2.5%``), blank-line runs and trailing spaces.

What stays: full-width digits and punctuation (folding happens on a copy, see ``rag.textnorm``) and
redacted values such as ``XX亿元`` (``rag.textnorm.figures`` reports them as redacted, never as numbers).

Trade-off: chrome is removed line by line with conservative patterns; a sentence that merely
*mentions* 打印 is kept, only lines that are nothing but toolbar words go.
"""

from __future__ import annotations

import re

_TOOLBAR_WORDS = (
    "下载", "打印", "全屏", "收藏", "取消收藏", "关闭", "分享", "分享到", "字号", "【字号：", "【字号:", "加大",
    "还原", "减小", "大", "中", "小", "】", "加大字体", "缩小字体", "默认字体", "返回顶部", "打印本页",
    "关闭窗口", "扫一扫", "微信", "微博", "相关报道：", "相关报道:", "相关链接", "【", "|", "｜",
)
_TOOLBAR_TOKEN_RE = re.compile(r"[\s|｜/【】\[\]：:]+")

_CHROME_LINE_RES = [
    re.compile(r"^欢迎访问.{0,40}(网站|门户|平台)"),
    re.compile(r"^\s*来源[:：].{0,60}(发布时间|时间)[:：]"),
    re.compile(r"^\s*(来源|时间|发布时间|发布日期|浏览量|浏览次数|点击数|作者|责任编辑|编辑)[:：][^。！？]{0,60}$"),
    re.compile(r"^\s*[-*•]?\s*(格式|大小|文档页数|页数|下载积分|上传时间)[:：][^。]{0,40}$"),
    re.compile(r"^\s*(上一篇|下一篇|上一页|下一页)[:：]"),
    re.compile(r"^\s*[(（]?第\s*\d+\s*/\s*\d+\s*页[)）]?\s*$"),
    re.compile(r"^\s*(当前位置|您的位置|首页\s*[>＞])"),
]
_PAGE_COUNTER_RE = re.compile(r"\s*[(（]第\s*\d+\s*/\s*\d+\s*页[)）]")
_MD_BOLD_RE = re.compile(r"(\*\*|__)(.+?)\1")
_MD_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+")
_MD_BULLET_RE = re.compile(r"^\s*[-*+]\s+(?=\S)")
_SPACE_IN_NUMBER_RES = [
    (re.compile(r"(?<=[0-9０-９])[ \t\u3000]+(?=[.．][0-9０-９])"), ""),
    (re.compile(r"(?<=[0-9０-９][.．])[ \t\u3000]+(?=[0-9０-９])"), ""),
    (re.compile(r"(?<=[0-9０-９])[ \t\u3000]+(?=[%％‰])"), ""),
    (re.compile(r"(?<=[0-9０-９])[ \t\u3000]+(?=(个百分点|亿元|万元|亿美元|万人|万户))"), ""),
]


def is_toolbar_line(line: str) -> bool:
    """A line made only of toolbar words (下载 打印 全屏 收藏 【字号：大 中 小】 …)."""
    tokens = [t for t in _TOOLBAR_TOKEN_RE.split(line.strip()) if t]
    if not tokens:  # only separators: 「】」, 「|」
        return bool(line.strip())
    return all(t in _TOOLBAR_WORDS or t.strip("【】") in _TOOLBAR_WORDS for t in tokens)


def is_chrome_line(line: str) -> bool:
    """True for a line of web-page or viewer chrome that carries no report content."""
    stripped = line.strip()
    if not stripped:
        return False
    if is_toolbar_line(stripped):
        return True
    return any(p.search(stripped) for p in _CHROME_LINE_RES)


def clean_line(line: str) -> str:
    """Strip markdown markers, page counters and stray spaces inside numbers from one line."""
    line = _PAGE_COUNTER_RE.sub("", line)
    line = _MD_HEADING_RE.sub("", line)
    line = _MD_BULLET_RE.sub("", line)
    line = _MD_BOLD_RE.sub(r"\2", line)
    for pattern, repl in _SPACE_IN_NUMBER_RES:
        line = pattern.sub(repl, line)
    return line.strip(" \t\u3000\xa0\r")


def clean_text(raw: str) -> str:
    r"""Clean a whole document: chrome lines dropped, lines cleaned, blank runs collapsed.

    >>> clean_text("欢迎访问台江区人民政府门户网站\\n\\n加大字体 缩小字体 收藏 打印\\n- 地区生产总值增长**5.5%**;")
    '地区生产总值增长5.5%;'
    """
    out: list[str] = []
    for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if is_chrome_line(line):
            continue
        cleaned = clean_line(line)
        if not cleaned:
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(cleaned)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)
