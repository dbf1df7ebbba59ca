"""Timing statistics for the benchmarks: percentiles, peak RSS, and a fixed numpy workload to calibrate noisy machines."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def pct(values: Sequence[float], q: float) -> float:
    """Percentile ``q`` (0–100) by linear interpolation; nan for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def nearest_rank(values: Sequence[float], q: float) -> float:
    """Quantile ``q`` (0–1) as the nearest observed value (no interpolation; few samples); 0.0 for none."""
    s = sorted(values)
    return float(s[min(len(s) - 1, int(round(q * (len(s) - 1))))]) if s else 0.0


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / mean / n of a list of milliseconds (or rates)."""
    return {"p50": round(pct(values, 50), 2), "p95": round(pct(values, 95), 2),
            "mean": round(float(np.mean(values)), 2) if len(values) else float("nan"), "n": len(values)}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    ``VmHWM`` of /proc/self/status: it starts afresh at exec. ``ru_maxrss`` does not — a child
    started by the bench driver inherited the driver's peak (1.9 GB after the embedding comparison
    loaded torch), which is how earlier rows over-reported; it is only the fallback off Linux.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def calibrate(rounds: int = 5) -> dict[str, float]:
    """A fixed float32 matmul workload (ms): how loaded the machine is right now."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 384), dtype=np.float32)
    b = rng.standard_normal((384, 1536), dtype=np.float32)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(20):
            a @ b
        times.append((time.perf_counter() - t) * 1000)
    return {"matmul_ms_p50": round(statistics.median(times), 2), "load_avg_1m": round(os.getloadavg()[0], 2)}
