"""One answer being worked out in the background, so the page stays responsive (no Streamlit here).

The chat page starts an ``AnswerJob`` in a thread and redraws what it has every half second: the
extractive draft (THE answer until the model's is checked), the model's status (queue position,
"reading 3 passages…"), its text so far, and the elapsed time. A Stop sets ``cancel``; the pipeline
then returns the draft. A question sent meanwhile waits in the page's queue, so nothing is lost::

    job = AnswerJob.start(pipeline, "仓山区2024年GDP目标", turns=(), filters=Filters("仓山区", 2024))
    job.wait(60)
    job.answer.answer   # the checked answer (or job.error: a RagError to show)
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.errors import RagError
from rag.types import Answer, Filters


@dataclass(kw_only=True)
class _Background:
    """What both jobs share: a Stop event, a finished event and the time taken."""

    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    def _finish(self) -> None:
        self.seconds = time.monotonic() - self.started
        self.finished.set()

    @property
    def done(self) -> bool:
        return self.finished.is_set()

    @property
    def elapsed(self) -> float:
        return self.seconds if self.done else time.monotonic() - self.started


@dataclass
class AnswerJob(_Background):
    """A question on its way through ``Pipeline.run``; the worker thread fills it in."""

    question: str
    turns: tuple[str, ...]
    filters: Filters
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    draft: Answer | None = None
    status: str = ""
    pieces: list[str] = field(default_factory=list)
    answer: Answer | None = None
    error: RagError | None = None

    @classmethod
    def start(cls, pipeline: Any, question: str, turns: Sequence[str] = (), filters: Filters | None = None) -> AnswerJob:
        job = cls(question, tuple(turns), filters or Filters())
        threading.Thread(target=job._work, args=(pipeline,), name=f"answer-{job.id[:8]}", daemon=True).start()
        return job

    def _work(self, pipeline: Any) -> None:
        try:
            self.answer = pipeline.run(self.question, self.turns, self.pieces.append, filters=self.filters,
                                       on_draft=self._on_draft, on_status=self._on_status, cancel=self.cancel)
        except RagError as exc:  # a clear error for the page (empty question, busy queue, broken index)
            self.error = exc
        except Exception as exc:  # noqa: BLE001  the page must never hang on a worker that died
            self.error = RagError(f"回答时出错 internal error: {type(exc).__name__}: {exc}",
                                  "请重试;如果再次出现,请报告这个问题 please retry, and report it if it repeats")
        finally:
            self._finish()

    def _on_draft(self, answer: Answer) -> None:
        self.draft = answer

    def _on_status(self, text: str) -> None:
        self.status = text

    @property
    def streamed(self) -> str:
        return "".join(self.pieces)

    def stop(self) -> None:
        self.cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)


@dataclass
class EvalJob(_Background):
    """A question set being run case by case in the background: live records, an estimate, Stop."""

    cases: tuple[Any, ...]  # rag.eval.run.Case
    top_k: int
    records: list[dict[str, Any]] = field(default_factory=list)
    current: str = ""

    @classmethod
    def start(cls, pipeline: Any, cases: Sequence[Any], top_k: int) -> EvalJob:
        job = cls(tuple(cases), top_k)
        threading.Thread(target=job._work, args=(pipeline,), name="eval", daemon=True).start()
        return job

    def _work(self, pipeline: Any) -> None:
        from rag.eval.run import run_cases

        try:
            for case in self.cases:
                if self.cancel.is_set():
                    break
                self.current = case.id
                run_cases(pipeline, [case], top_k=self.top_k, on_record=self.records.append)
        finally:
            self.current = ""
            self._finish()

    @property
    def stopped(self) -> bool:
        """Stopped before every case ran."""
        return self.cancel.is_set() and len(self.records) < len(self.cases)

    def remaining_s(self) -> float | None:
        """Seconds left at the pace so far (None before the first case is done)."""
        if not self.records:
            return None
        per_case = self.elapsed / len(self.records)
        return per_case * (len(self.cases) - len(self.records))

    def stop(self) -> None:
        self.cancel.set()
