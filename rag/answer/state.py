"""The run-time state of a shared pipeline: the generator in use, and the generation gate.

A ``Pipeline`` is immutable after construction; what may change while it serves questions lives
here: a local model found unusable is recorded once in ``GeneratorState`` (never by rewriting the
pipeline's attributes), and the gate (rag/answer/gate.py) lets one answer at a time use the model.
"""

from __future__ import annotations

import threading

from rag.answer.gate import GenerationGate
from rag.answer.generators import Generator
from rag.config import Settings


class GeneratorState:
    """The generator a pipeline uses now, and why: the one mutable part of a shared pipeline.

    A local model that cannot load will not heal itself: ``disable`` records that once, and every
    later question is answered extractively (with the reason in ``Pipeline.describe``).
    """

    def __init__(self, generator: Generator | None, reason: str) -> None:
        self._lock = threading.Lock()
        self._generator = generator
        self._reason = reason

    @property
    def generator(self) -> Generator | None:
        """The usable generator, or None (extractive answers)."""
        return self._generator

    @property
    def reason(self) -> str:
        """Why this generator (or none) is used."""
        return self._reason

    def disable(self, reason: str) -> None:
        """Stop using the generator from now on."""
        with self._lock:
            self._generator, self._reason = None, reason


def new_gate(settings: Settings) -> GenerationGate:
    """The generation gate (rag/answer/gate.py): one answer at a time, bounded FIFO queue."""
    return GenerationGate(max_waiting=settings.max_queue)
