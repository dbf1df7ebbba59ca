"""What every benchmark row shares: the dev questions, when a passage counts as finding an answer, row settings."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.config import REPO_ROOT, Settings, get_settings

DATA_DIR = get_settings().shared_dir / "data"  # RAG_SHARED_DIR
QUESTIONS = REPO_ROOT / "evals" / "dev_questions.jsonl"


def load_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    """The dev questions (one JSON object per line)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def question_turns(q: dict[str, Any]) -> tuple[str, list[str]]:
    """(question, earlier turns): a follow-up case's last turn is the question."""
    if q.get("turns"):
        turns = list(q["turns"])
        return turns[-1], turns[:-1]
    return str(q["question"]), []


def passage_matches(text: str, expect: Sequence[str]) -> bool:
    """Does a passage contain every expected pattern (on folded text)?"""
    from rag.textnorm import fold

    folded = fold(text)
    return all(re.search(e, folded) or re.search(e, text) for e in expect)


def row_settings(spec: dict[str, Any]) -> Settings:
    return get_settings(index_dir=Path(spec["index_dir"]), generator="extractive",
                        embed_backend=spec["embed_backend"])
