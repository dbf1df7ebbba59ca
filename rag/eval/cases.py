"""Question sets: JSONL files of cases (the eval contract's format), read with clear errors.

A case has ``question`` (or ``turns``: earlier user turns then the question), ``expect`` regexes,
``answerable``, ``kind`` and an optional ``source`` (substring of the expected corpus file name, or
a list of them); unknown keys are kept and written back into the results.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import RagError


class EvalFileError(RagError):
    """A question set or baseline file cannot be used."""


@dataclass(frozen=True)
class Case:
    """One evaluation case; ``raw`` keeps every field of the JSONL line (unknown ones included)."""

    id: str
    question: str  # the graded (last) user turn
    turns: tuple[str, ...]  # earlier user turns
    expect: tuple[str, ...]
    answerable: bool
    kind: str
    source: tuple[str, ...]  # substrings of the expected source file name (any may match)
    raw: Mapping[str, Any]


def parse_case(obj: Any, where: str) -> Case:
    """Validate one JSON object as a case; EvalFileError says what is wrong and where."""
    if not isinstance(obj, dict):
        raise EvalFileError(f"{where}: a case must be a JSON object", "one object per line")
    if "id" not in obj:
        raise EvalFileError(f"{where}: missing 'id'", 'add e.g. "id": "s01"')
    cid = str(obj["id"])
    turns_raw, question_raw = obj.get("turns"), obj.get("question")
    if turns_raw is not None and question_raw is not None:
        raise EvalFileError(f"{where} ({cid}): give 'question' or 'turns', not both",
                            "'turns' holds the whole conversation; its last turn is graded")
    if turns_raw is not None:
        if (not isinstance(turns_raw, list) or not turns_raw
                or not all(isinstance(t, str) and t.strip() for t in turns_raw)):
            raise EvalFileError(f"{where} ({cid}): 'turns' must be a non-empty list of strings")
        question, turns = turns_raw[-1], tuple(turns_raw[:-1])
    elif isinstance(question_raw, str) and question_raw.strip():
        question, turns = question_raw, ()
    else:
        raise EvalFileError(f"{where} ({cid}): missing 'question' (or 'turns')")
    expect = obj.get("expect", [])
    if not isinstance(expect, list) or not all(isinstance(p, str) for p in expect):
        raise EvalFileError(f"{where} ({cid}): 'expect' must be a list of regex strings")
    for p in expect:
        try:
            re.compile(p)
        except re.error as exc:
            raise EvalFileError(f"{where} ({cid}): bad regex {p!r}: {exc}",
                                "escape dots and backslashes: \"5\\\\.5\\\\s*%\"") from exc
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise EvalFileError(f"{where} ({cid}): 'answerable' must be true or false")
    source = obj.get("source") or ()
    if isinstance(source, str):
        source = (source,)
    if not isinstance(source, list | tuple) or not all(isinstance(s, str) for s in source):
        raise EvalFileError(f"{where} ({cid}): 'source' must be a string or a list of strings")
    kind = str(obj.get("kind") or ("answerable" if answerable else "refuse"))
    return Case(cid, question, turns, tuple(expect), answerable, kind, tuple(source), dict(obj))


def load_cases(path: Path | str) -> list[Case]:
    """Read a JSONL question set (blank lines skipped); ids must be unique."""
    p = Path(path)
    if not p.is_file():
        raise EvalFileError(f"question set not found: {p}", "pass a .jsonl file, e.g. evals/ci_questions.jsonl")
    cases: list[Case] = []
    seen: set[str] = set()
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{p}:{n}: not valid JSON ({exc.msg})", "one JSON object per line") from exc
        case = parse_case(obj, f"{p}:{n}")
        if case.id in seen:
            raise EvalFileError(f"{p}:{n}: duplicate id {case.id!r}", "ids must be unique in a file")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise EvalFileError(f"{p}: no cases", "one JSON object per line")
    return cases


def select_cases(cases: Sequence[Case], kinds: str | None, limit: int | None) -> list[Case]:
    """Filter by ``--kinds`` then cut to ``--limit``."""
    chosen = list(cases)
    if kinds:
        wanted = {k.strip() for k in kinds.split(",") if k.strip()}
        chosen = [c for c in chosen if c.kind in wanted]
    if limit is not None:
        chosen = chosen[: max(limit, 0)]
    return chosen
