"""One model, one answer at a time: a bounded FIFO queue in front of generation.

The local model runs one completion at a time (llama.cpp holds one context); every caller —
HTTP API, MCP, UI sessions — goes through the pipeline's one ``GenerationGate``::

    gate = GenerationGate(max_waiting=8)
    with gate.slot(cancel=event, on_wait=lambda n: print(f"排队中,前面还有{n}个")):
        ...generate...

Trade-offs: callers are served strictly in arrival order (a ticket queue, not a free-for-all on a
lock, so nobody starves); a caller that would be the ``max_waiting + 1``-th in line is refused at
once with ``BusyError`` (HTTP 429) instead of piling up; ``retry_after`` estimates when a place
frees up from the mean time a slot was held recently (or, before any slot ended, from how long the
current holder has been at it). A waiter whose ``cancel`` event is set
(the client went away) leaves the line without ever touching the model. ``on_wait`` runs outside
the lock, once per change of the number of callers ahead.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rag.errors import RagError

_POLL_S = 0.1  # how often a waiter looks at its cancel event
_EMA = 0.3  # weight of the newest hold time in the running mean


class BusyError(RagError):
    """The queue in front of the model is full; try again in ``retry_after`` seconds."""

    def __init__(self, message: str, hint: str = "", retry_after: float = 1.0) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


class Cancelled(RagError):
    """The caller gave up (its cancel event was set) while waiting for the model."""


class GenerationGate:
    """One holder at a time, waiters served first come first served, at most ``max_waiting`` waiting."""

    def __init__(self, max_waiting: int = 8) -> None:
        if max_waiting < 0:
            raise ValueError("max_waiting must be >= 0")
        self.max_waiting = max_waiting
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._holder: object | None = None
        self._mean_hold = 0.0  # seconds, running mean of recent slot durations (0 = nothing measured yet)
        self._since = time.monotonic()  # when the current holder entered

    @property
    def waiting(self) -> int:
        """Callers waiting for their turn (not counting the one generating)."""
        with self._cond:
            return len(self._queue)

    @property
    def busy(self) -> bool:
        """Whether someone holds the model right now."""
        with self._cond:
            return self._holder is not None

    def retry_after(self) -> float:
        """Seconds until a place in the queue is likely to free up (at least 1)."""
        with self._cond:
            return max(1.0, round(self._mean_hold or 1.0, 1))

    @contextmanager
    def slot(self, cancel: threading.Event | None = None,
             on_wait: Callable[[int], None] | None = None) -> Iterator[None]:
        """Hold the model for the ``with`` block; wait in line first if someone else holds it.

        Raises ``BusyError`` when ``max_waiting`` callers already wait, ``Cancelled`` when
        ``cancel`` is set before this caller's turn comes.
        """
        ticket = object()
        with self._cond:
            if self._holder is None and not self._queue:
                self._holder = ticket
            elif len(self._queue) >= self.max_waiting:
                ahead = len(self._queue) + (self._holder is not None)
                # before any slot has ended, the current holder's time so far is the best estimate
                wait = max(1.0, round(max(self._mean_hold, time.monotonic() - self._since), 1))
                raise BusyError(f"the model is busy: {ahead} requests are ahead and the queue is full "
                                f"({self.max_waiting} waiting)",
                                "retry later (see Retry-After), or use the extractive profile, which does not "
                                "need the model", retry_after=wait)
            else:
                self._queue.append(ticket)
        if self._holder is not ticket:
            try:
                self._wait_turn(ticket, cancel, on_wait)
            except BaseException:  # cancelled, or on_wait failed: leave the line, never block the others
                with self._cond:
                    if ticket in self._queue:
                        self._queue.remove(ticket)
                    self._cond.notify_all()
                raise
        started = time.monotonic()
        self._since = started
        try:
            yield
        finally:
            held = time.monotonic() - started
            with self._cond:
                self._holder = None
                self._mean_hold = held if not self._mean_hold else (1 - _EMA) * self._mean_hold + _EMA * held
                self._cond.notify_all()

    def _wait_turn(self, ticket: object, cancel: threading.Event | None,
                   on_wait: Callable[[int], None] | None) -> None:
        told = -1
        while True:
            with self._cond:
                if self._holder is None and self._queue[0] is ticket:
                    self._queue.popleft()
                    self._holder = ticket
                    self._cond.notify_all()
                    return
                if cancel is not None and cancel.is_set():
                    raise Cancelled("the request was cancelled while waiting for the model")
                ahead = self._queue.index(ticket) + (self._holder is not None)
            if on_wait is not None and ahead != told:
                told = ahead
                on_wait(ahead)
            with self._cond:
                if self._holder is not None or self._queue[0] is not ticket:
                    self._cond.wait(_POLL_S)
