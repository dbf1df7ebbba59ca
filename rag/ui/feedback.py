"""Thumbs up/down on answers, kept in SQLite beside the index (``<index_dir>/feedback.sqlite``).

One row per shown answer (keyed by the UI's answer id), so changing a vote replaces it::

    store = FeedbackStore(settings.index_dir / "feedback.sqlite")
    store.record("a1b2", answer, score=1)
    store.rows()[0]["score"]  # 1

The question, the answer text, its citations (as JSON, same shape as ``rag ask --json``) and the
generator are stored with the vote so a bad answer can be reproduced later without the session.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from rag.types import Answer

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    score INTEGER NOT NULL,          -- 1 = thumbs up, 0 = thumbs down
    question TEXT NOT NULL,
    standalone_question TEXT,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL,
    generator TEXT,
    citations TEXT NOT NULL,         -- JSON list
    comment TEXT
)
"""


def citations_json(answer: Answer) -> str:
    """The answer's citations as a JSON list."""
    return json.dumps([c.to_dict() for c in answer.citations], ensure_ascii=False)


class FeedbackStore:
    """A tiny SQLite table of votes; opens a connection per call (safe across Streamlit threads)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), timeout=10)
        db.execute(SCHEMA)
        return db

    def record(self, answer_id: str, answer: Answer, score: int, comment: str = "") -> None:
        """Store (or replace) the vote on one shown answer."""
        if score not in (0, 1):
            raise ValueError(f"score must be 0 or 1, not {score!r}")
        db = self._connect()
        try:
            with db:
                db.execute(
                    "INSERT OR REPLACE INTO feedback VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (answer_id, time.time(), score, answer.question, answer.standalone_question, answer.answer,
                     int(answer.refused), answer.generator, citations_json(answer), comment),
                )
        finally:
            db.close()

    def remove(self, answer_id: str) -> None:
        """Withdraw a vote."""
        db = self._connect()
        try:
            with db:
                db.execute("DELETE FROM feedback WHERE answer_id=?", (answer_id,))
        finally:
            db.close()

    def rows(self) -> list[dict[str, Any]]:
        """All votes, newest first."""
        db = self._connect()
        try:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY ts DESC")]
        finally:
            db.close()
