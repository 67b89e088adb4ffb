"""Timing that is fair to two libraries on a small, shared machine.

Each candidate runs once to warm up; then the candidates take turns, round after round, and in
its turn a candidate runs a *burst* of calls (at least `burst` seconds and three calls). Every
candidate keeps its best single call. Two effects make this the fair measure:

- load spikes from other processes hit every candidate alike, and the minimum is the call least
  disturbed by them;
- NumPy's BLAS and PyTorch each keep a pool of worker threads that spin for a while after a call
  before they sleep. Alternating single calls would time each library while the other's idle
  threads still compete for the cores (on 2 cores that doubled PyTorch's times and NumPy's
  alike); within a burst, the other pool has gone quiet by the later calls.

The clock is `time.perf_counter` (wall time). On a machine crowded with other work, wall time
also counts the time a runnable thread waits for a core; with one thread, `time.process_time`
(CPU time of this process) leaves that wait out and measures only the work done.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def race(candidates: dict[str, Callable[[], object]], rounds: int = 5, burst: float = 0.05,
         clock: str = "wall") -> dict[str, float]:
    """Best time in seconds of one call of each candidate over `rounds` rounds of bursts."""
    now = CLOCKS[clock]
    for fn in candidates.values():
        fn()
    best = {name: float("inf") for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            calls, started = 0, time.perf_counter()
            while calls < 3 or time.perf_counter() - started < burst:
                start = now()
                fn()
                best[name] = min(best[name], now() - start)
                calls += 1
    return best


def gemm_gflops(n: int = 1024, rounds: int = 5, clock: str = "wall") -> float:
    """This machine's float64 matrix-multiply rate through NumPy (GFLOP/s, `2 n^3` per product)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    seconds = race({"gemm": lambda: a @ b}, rounds, clock=clock)["gemm"]
    return 2 * n**3 / seconds / 1e9
