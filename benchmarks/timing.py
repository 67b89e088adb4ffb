"""Wall-clock timing that is fair on a busy machine.

Each candidate runs once to warm up, then all candidates take turns, round after round, and each
keeps its best time: load spikes hit every candidate alike, and the minimum is the run least
disturbed by other processes. Ratios measured this way within one run are what to compare.

The clock is `time.perf_counter` (wall time). On a machine crowded with other work, wall time
also counts the time a runnable thread waits for a core; with one thread, `time.process_time`
(CPU time of this process) leaves that wait out and measures only the work done.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def race(candidates: dict[str, Callable[[], object]], repeats: int = 7, clock: str = "wall") -> dict[str, float]:
    """Best time in seconds of each candidate over `repeats` interleaved rounds."""
    now = CLOCKS[clock]
    for fn in candidates.values():
        fn()
    best = {name: float("inf") for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = now()
            fn()
            best[name] = min(best[name], now() - start)
    return best


def gemm_gflops(n: int = 1024, repeats: int = 7, clock: str = "wall") -> float:
    """This machine's float64 matrix-multiply rate through NumPy (GFLOP/s, `2 n^3` per product)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    seconds = race({"gemm": lambda: a @ b}, repeats, clock)["gemm"]
    return 2 * n**3 / seconds / 1e9
