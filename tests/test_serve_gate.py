"""GenerationGate (rag/answer/gate.py): FIFO order, bounded queue, cancellation, wait reports."""

from __future__ import annotations

import threading
import time

import pytest

from rag.answer.gate import BusyError, Cancelled, GenerationGate


def _until(cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def _hold(gate: GenerationGate, release: threading.Event, entered: threading.Event) -> threading.Thread:
    def run() -> None:
        with gate.slot():
            entered.set()
            release.wait(10)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    entered.wait(5)
    return t


def test_free_gate_enters_at_once_and_reports_state() -> None:
    gate = GenerationGate(max_waiting=2)
    assert not gate.busy and gate.waiting == 0
    with gate.slot():
        assert gate.busy and gate.waiting == 0
    assert not gate.busy


def test_waiters_are_served_in_arrival_order() -> None:
    gate = GenerationGate(max_waiting=8)
    release, entered = threading.Event(), threading.Event()
    holder = _hold(gate, release, entered)
    order: list[int] = []
    threads = []
    for i in range(6):
        def run(i: int = i) -> None:
            with gate.slot():
                order.append(i)
                time.sleep(0.01)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        _until(lambda i=i: gate.waiting == i + 1)  # the i-th caller is in line before the next starts
        threads.append(t)
    release.set()
    holder.join(5)
    for t in threads:
        t.join(5)
    assert order == list(range(6))
    assert not gate.busy and gate.waiting == 0


def test_full_queue_refuses_with_retry_after() -> None:
    gate = GenerationGate(max_waiting=2)
    release, entered = threading.Event(), threading.Event()
    holder = _hold(gate, release, entered)
    waiters = [threading.Thread(target=lambda: gate.slot().__enter__(), daemon=True) for _ in range(2)]
    for n, t in enumerate(waiters, 1):
        t.start()
        _until(lambda n=n: gate.waiting == n)
    with pytest.raises(BusyError) as info:
        with gate.slot():
            pass
    assert info.value.retry_after >= 1.0
    assert "queue is full" in info.value.message
    assert gate.waiting == 2  # the refused caller never joined the line
    release.set()
    holder.join(5)


def test_zero_waiting_means_refuse_whenever_busy() -> None:
    gate = GenerationGate(max_waiting=0)
    release, entered = threading.Event(), threading.Event()
    holder = _hold(gate, release, entered)
    with pytest.raises(BusyError):
        with gate.slot():
            pass
    release.set()
    holder.join(5)
    with gate.slot():  # free again
        assert gate.busy


def test_cancelled_waiter_leaves_the_line_and_the_next_is_served() -> None:
    gate = GenerationGate(max_waiting=4)
    release, entered = threading.Event(), threading.Event()
    _hold(gate, release, entered)
    cancel = threading.Event()
    outcome: dict[str, object] = {}

    def cancelled_waiter() -> None:
        try:
            with gate.slot(cancel=cancel):
                outcome["first"] = "entered"
        except Cancelled as exc:
            outcome["first"] = exc

    def second() -> None:
        with gate.slot():
            outcome["second"] = "entered"

    t1 = threading.Thread(target=cancelled_waiter, daemon=True)
    t1.start()
    _until(lambda: gate.waiting == 1)
    t2 = threading.Thread(target=second, daemon=True)
    t2.start()
    _until(lambda: gate.waiting == 2)
    cancel.set()
    t1.join(5)
    assert isinstance(outcome["first"], Cancelled)
    assert gate.waiting == 1
    release.set()
    t2.join(5)
    assert outcome["second"] == "entered"


def test_on_wait_reports_callers_ahead_as_the_line_moves() -> None:
    gate = GenerationGate(max_waiting=4)
    release, entered = threading.Event(), threading.Event()
    holder = _hold(gate, release, entered)
    second_release = threading.Event()

    def second() -> None:
        with gate.slot():
            second_release.wait(10)

    threading.Thread(target=second, daemon=True).start()
    _until(lambda: gate.waiting == 1)
    reports: list[int] = []
    done = threading.Event()

    def third() -> None:
        with gate.slot(on_wait=reports.append):
            done.set()

    t = threading.Thread(target=third, daemon=True)
    t.start()
    _until(lambda: reports == [2])  # the holder and one waiter are ahead
    release.set()
    holder.join(5)
    _until(lambda: reports == [2, 1])
    second_release.set()
    assert done.wait(5)
    t.join(5)


def test_failing_on_wait_does_not_block_the_queue() -> None:
    gate = GenerationGate(max_waiting=4)
    release, entered = threading.Event(), threading.Event()
    holder = _hold(gate, release, entered)

    def boom(n: int) -> None:
        raise RuntimeError("status sink closed")

    with pytest.raises(RuntimeError):
        with gate.slot(on_wait=boom):
            pass
    assert gate.waiting == 0
    release.set()
    holder.join(5)
    with gate.slot():
        pass


def test_retry_after_follows_measured_hold_times() -> None:
    gate = GenerationGate(max_waiting=0)
    assert gate.retry_after() == 1.0  # nothing measured yet
    with gate.slot():
        time.sleep(1.5)
    assert 1.4 <= gate.retry_after() <= 1.7
    with gate.slot():
        time.sleep(0.01)
    assert 1.0 < gate.retry_after() < 1.4  # a running mean: one quick answer lowers it, not to zero
    quick = GenerationGate(max_waiting=0)
    with quick.slot():
        pass
    assert quick.retry_after() == 1.0  # never less than one second


def test_first_busy_estimate_uses_the_current_holders_time() -> None:
    gate = GenerationGate(max_waiting=0)
    release, entered = threading.Event(), threading.Event()
    holder = _hold(gate, release, entered)
    time.sleep(1.5)  # no slot has ended yet: the holder's 1.5 s so far is the estimate, not a blind 1 s
    with pytest.raises(BusyError) as info:
        with gate.slot():
            pass
    assert info.value.retry_after >= 1.5
    release.set()
    holder.join(5)
