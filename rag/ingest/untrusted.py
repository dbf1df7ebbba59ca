"""Report text is untrusted data: sentences addressed to an assistant and fake citation markers.

A document may carry a planted instruction (「忽略以上指令…」, "ignore previous instructions", a fake
「[系统指令]」 or 「系统提示:」) or a fake ``[n]`` marker that would pass for one of our citations. These
patterns find them; ``defang`` blanks them (same length, so offsets still index the original text)
before the indicator table, the answerers or a model read the text. The question guard
(``rag.answer.guard``) uses the same patterns for messages.

Example::

    >>> defang("地区生产总值增长5.5%[3]。").strip()
    '地区生产总值增长5.5%。'
"""

from __future__ import annotations

import re

from rag.textnorm import iter_sentences

_ANY = r"[^。！？!?\n]{0,12}"  # a few characters within the same sentence

OVERRIDE_RE = re.compile(
    r"(忽略|无视|忘记|忘掉|不要理会|不用理会|不要遵守|不用遵守|跳过|绕过|抛开)" + _ANY
    + r"(指令|指示|规则|设定|提示|system|prompt|资料|上下文|前文)"
    r"|(不要|不用|不必|别)(根据|依据|参考|引用|看|管)(资料|报告|原文|文档|来源)"
    r"|(从现在起|从现在开始|接下来)?你(现在)?(是|扮演|充当|变成)(一个|一名)?(不受限|没有限制|无限制|自由)"
    r"|(扮演|假装你是|假扮|进入)" + _ANY + r"(模式|角色|身份)"
    r"|(开发者|越狱|管理员|调试|上帝)模式"
    r"|\b(ignore|disregard|forget|override|bypass|skip)\b[^.!?\n]{0,40}\b(instructions?|rules?|prompts?|"
    r"guidelines?|context|above|previous|restrictions?)\b"
    r"|\b(jailbreak|DAN mode|developer mode|act as|pretend (to be|you are)|you are now)\b",
    re.I,
)
REVEAL_RE = re.compile(
    r"(系统|初始|内部|隐藏|原始)(提示|提示词|指令|设定|消息|prompt)"
    r"|(你的|你收到的|给你的|你被设定的)" + _ANY + r"(提示词|指令|规则|设定|prompt|要求)"
    r"|(输出|打印|复述|重复|透露|泄露|显示|告诉我|展示|列出|翻译)" + _ANY + r"(提示词|指令|规则|设定|prompt|以上内容|上面的内容)"
    r"|\b(system|initial|hidden|original) (prompt|message|instructions?)\b"
    r"|\b(reveal|print|repeat|show|output|tell me|what (are|is|were))\b[^.!?\n]{0,30}\b(your|the)\b"
    r"[^.!?\n]{0,20}\b(instructions?|rules|prompt|guidelines)\b",
    re.I,
)
_ROLE_RE = re.compile(r"(系统提示|system prompt|assistant|AI助手|人工智能助手|语言模型)\s*[:：]", re.I)


def addresses_assistant(text: str) -> bool:
    """True when report text reads like an instruction to an AI (a prompt injection in a document)."""
    return bool(OVERRIDE_RE.search(text) or REVEAL_RE.search(text) or _ROLE_RE.search(text))



_FAKE_MARKER_RE = re.compile(r"\[\d{1,2}\]|【\d{1,2}】|［[\d０-９]{1,2}］")


def defang(text: str) -> str:
    """Report text as the answerer sees it: instructions to an assistant and fake [n] markers blanked.

    Blanked with spaces of the same length, so offsets still index the original text.
    """
    out = _FAKE_MARKER_RE.sub(lambda m: " " * len(m.group(0)), text)
    if not (OVERRIDE_RE.search(out) or REVEAL_RE.search(out) or _ROLE_RE.search(out)):
        return out
    for s, e in iter_sentences(out):
        if addresses_assistant(out[s:e]):
            out = out[:s] + " " * (e - s) + out[e:]
    return out
