"""The shape of a generated answer: worked examples, a per-form answer line, length, tidying.

A 1.5B model follows a short, concrete request at the end of its prompt far better than rules
in the system prompt, and copies the form of worked examples. So:

- ``prompts/examples.md`` holds invented worked examples (a lookup and a refusal; an open-list example was copied
  verbatim by the 1.5B model when asked about the same topic, so the list shape is asked in words) given as
  earlier chat turns between the system prompt and the question: a constant prefix that
  llama.cpp keeps in its KV cache, so they cost time only once per process;
- ``prompts/shapes.md`` holds one answer-shape line per form (lookup / open / english), appended
  to the user message;
- ``max_tokens`` per form keeps lookups short (the model's answer time is mostly its output);
- ``tidy`` removes Markdown emphasis and a last sentence cut off by the token limit, so what the
  alignment check sees is whole sentences.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

Message = dict[str, str]
LOOKUP_TOKENS, OPEN_TOKENS = 96, 200
_BLOCK_RE = re.compile(r"^## (\w+)\s*$", re.M)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_LIST_RE = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.、．)）])\s*")
_END_RE = re.compile(r"[。！？!?；;.\]】)）”\"]\s*$")


@dataclass(frozen=True)
class Shapes:
    """Worked examples and answer-shape lines read from ``prompts/``."""

    lines: dict[str, str]
    examples: tuple[Message, ...]

    def line(self, form: str, english: bool = False) -> str:
        """The answer-shape line for a question form ("" when none is defined)."""
        key = "english" if english and "english" in self.lines else form
        return self.lines.get(key, self.lines.get("lookup", ""))

    def messages(self, base: list[Message], form: str, english: bool = False) -> list[Message]:
        """``[system, user]`` → ``[system, *examples, user + shape line]``."""
        if not base:
            return base
        line = self.line(form, english)
        user = dict(base[-1])
        if line:
            user["content"] = user["content"].rstrip() + "\n" + line
        return [*base[:-1], *self.examples, user]

    def hash(self, base: str) -> str:
        """The run's prompt hash: ``base`` (system + user templates) with the examples and shape lines."""
        blob = base + repr(sorted(self.lines.items())) + repr(self.examples)
        return hashlib.sha1(blob.encode("utf-8")).hexdigest()[:12]

    @staticmethod
    def max_tokens(form: str, ceiling: int) -> int:
        """Output budget for a form, never above the configured ``max_tokens``."""
        return min(ceiling, OPEN_TOKENS if form == "open" else LOOKUP_TOKENS)


def _blocks(text: str) -> list[tuple[str, str]]:
    text = _COMMENT_RE.sub("", text)
    parts = _BLOCK_RE.split(text)
    return [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


def load_shapes(prompts_dir: Path) -> Shapes:
    """Read ``shapes.md`` and ``examples.md`` (either may be missing: then no shaping)."""
    shapes_file, examples_file = prompts_dir / "shapes.md", prompts_dir / "examples.md"
    lines = dict(_blocks(shapes_file.read_text(encoding="utf-8"))) if shapes_file.is_file() else {}
    examples: list[Message] = []
    if examples_file.is_file():
        for role, body in _blocks(examples_file.read_text(encoding="utf-8")):
            for form, line in lines.items():
                body = body.replace("{" + form + "}", line)
            examples.append({"role": role, "content": body})
    return Shapes(lines, tuple(examples))


MAX_POINTS = 4  # the open answer line asks for 2 to 4 points; the model often keeps going


def runaway(text: str) -> bool:
    """True once the text so far repeats a finished line or has ``MAX_POINTS`` finished lines.

    A 1.5B model at temperature 0 sometimes loops on one point (「- 推行投融资改革」 twenty times);
    stopping there saves the rest of the token budget.
    """
    done = [re.sub(r"[\W_]+", "", ln) for ln in text.split("\n")[:-1] if ln.strip()]
    return len(done) >= MAX_POINTS or len(set(done)) < len(done)


def tidy(text: str, cut: bool = False) -> str:
    """Drop Markdown emphasis/headings, and when generation was ``cut`` short its unfinished tail."""
    tail = text.rsplit("\n", 1)[-1]
    unfinished = cut and bool(re.search(r"\w", _LIST_RE.sub("", tail)))  # the point being written when stopped
    text = re.sub(r"\*\*|__|^#+\s*", "", text, flags=re.M).strip()
    lines = [ln for ln in text.splitlines() if re.search(r"\w", ln)]
    if unfinished and len(lines) > 1:
        lines = lines[:-1]
    elif unfinished and lines and not _END_RE.search(lines[0]):
        end = max(lines[0].rfind(p) for p in "。！？；;")
        lines = [lines[0][: end + 1]] if end > 0 else lines
    return "\n".join(lines)
