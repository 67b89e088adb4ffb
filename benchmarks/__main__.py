"""`python -m benchmarks`: the NumPy reference layers against PyTorch CPU, float64, same data.

For each batch it times forward + backward of a conv layer (`conv2d_forward` + `conv2d_backward`
against `F.conv2d` + autograd) and of max pooling, and prints

- the best wall time of each (rounds of alternating bursts, see `benchmarks.timing`),
- `np/torch`: the time ratio (the target is <= 2),
- for convolutions, the GFLOP/s the NumPy layer reaches (forward, dW and dx are each
  `2 N F H' W' C KH KW` flops) and that rate as a share of this machine's NumPy float64 GEMM
  rate, measured in the same run: how close im2col + GEMM gets to the hardware's best;

then the naive loop versions against the vectorised ones on a small input.

NumPy's BLAS and PyTorch use the same number of threads (`--threads`, default: what NumPy
uses now). Times are wall-clock (`time.perf_counter`). On a machine crowded with other work,
`--threads 1 --clock cpu` (CPU time of this single-threaded process) gives the steadiest ratios.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_info, threadpool_limits

from benchmarks.timing import gemm_gflops, race
from solutions.channels import conv2d_backward, conv2d_forward
from solutions.conv2d import corr2d
from solutions.naive import conv2d_forward_naive, corr2d_naive
from solutions.pooling import maxpool2d_backward, maxpool2d_forward

# (name, N, C, H, F, K, stride, padding)
CONV_CASES = [
    ("LeNet conv1 1x28x28 -> 6 5x5", 64, 1, 28, 6, 5, 1, 0),
    ("LeNet conv2 6x14x14 -> 16 5x5", 64, 6, 14, 16, 5, 1, 0),
    ("CIFAR 3x32x32 -> 32 3x3 pad 1", 64, 3, 32, 32, 3, 1, 1),
    ("CIFAR 32x32x32 -> 64 3x3 pad 1", 64, 32, 32, 64, 3, 1, 1),
    ("strided 32x32x32 -> 64 3x3 s2 p1", 64, 32, 32, 64, 3, 2, 1),
]
# (name, N, C, H, kernel, stride)
POOL_CASES = [
    ("LeNet 6x28x28 2x2", 64, 6, 28, 2, None),
    ("CIFAR 32x32x32 2x2", 64, 32, 32, 2, None),
    ("overlapping 64x16x16 3x3 s2", 64, 64, 16, 3, 2),
]


def blas_threads() -> int:
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts, default=1)


def busy_machine_note(threads: int) -> str:
    """A warning when other work competes for the cores (then wall times mostly measure waiting)."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load <= cores:
        return f"load average {load:.1f} on {cores} cores"
    hint = "" if threads == 1 else "; --threads 1 --clock cpu measures the work alone"
    return f"load average {load:.1f} on {cores} cores: the machine is busy, wall times are noisy{hint}"


def conv_row(case, timing, gemm_rate, quick):
    name, n, c, h, f, k, stride, padding = case
    n = 4 if quick else n
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((n, c, h, h)), rng.standard_normal((f, c, k, k)), rng.standard_normal(f)
    y = conv2d_forward(x, w, b, stride, padding)
    dy = rng.standard_normal(y.shape)
    xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    dyt = torch.from_numpy(dy)
    np.testing.assert_allclose(y, F.conv2d(xt, wt, bt, stride, padding).detach().numpy(), rtol=1e-9, atol=1e-9)

    def numpy_step():
        conv2d_forward(x, w, b, stride, padding)
        conv2d_backward(dy, x, w, stride, padding)

    def torch_step():
        torch.autograd.grad(F.conv2d(xt, wt, bt, stride, padding), (xt, wt, bt), dyt)

    t = race({"numpy": numpy_step, "torch": torch_step}, **timing)
    flops = 3 * 2 * n * f * y.shape[2] * y.shape[3] * c * k * k
    gflops = flops / t["numpy"] / 1e9
    return [name, f"{t['numpy'] * 1e3:.1f}", f"{t['torch'] * 1e3:.1f}", f"{t['numpy'] / t['torch']:.2f}",
            f"{gflops:.1f}", f"{100 * gflops / gemm_rate:.0f}%"]


def pool_row(case, timing, quick):
    name, n, c, h, k, stride = case
    n = 4 if quick else n
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, h))
    y = maxpool2d_forward(x, k, stride)
    dy = rng.standard_normal(y.shape)
    xt, dyt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)
    np.testing.assert_array_equal(y, F.max_pool2d(xt, k, stride).detach().numpy())

    def numpy_step():
        maxpool2d_forward(x, k, stride)
        maxpool2d_backward(dy, x, k, stride)

    def torch_step():
        torch.autograd.grad(F.max_pool2d(xt, k, stride), xt, dyt)

    t = race({"numpy": numpy_step, "torch": torch_step}, **timing)
    return [name, f"{t['numpy'] * 1e3:.2f}", f"{t['torch'] * 1e3:.2f}", f"{t['numpy'] / t['torch']:.2f}", "", ""]


def naive_rows(timing):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 16, 16)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    img, ker = rng.standard_normal((32, 32)), rng.standard_normal((5, 5))
    rows = []
    for name, naive, fast in [
        ("conv2d_forward 2x3x16x16 -> 4 3x3", lambda: conv2d_forward_naive(x, w, b, 1, 1),
         lambda: conv2d_forward(x, w, b, 1, 1)),
        ("corr2d 32x32 * 5x5", lambda: corr2d_naive(img, ker), lambda: corr2d(img, ker)),
    ]:
        t = race({"naive": naive, "fast": fast}, **timing)
        rows.append([name, f"{t['naive'] * 1e3:.1f}", f"{t['fast'] * 1e3:.3f}", f"{t['naive'] / t['fast']:.0f}x"])
    return rows


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(v).ljust(wd) if i == 0 else str(v).rjust(wd)  # noqa: E731
                               for i, (v, wd) in enumerate(zip(r, widths, strict=True)))
    return "\n".join([line(header), "  ".join("-" * wd for wd in widths), *map(line, rows)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=blas_threads(), help="BLAS and torch threads")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of alternating bursts; the best call counts")
    parser.add_argument("--burst", type=float, default=0.05, help="seconds each candidate runs per round (>= 3 calls)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time (needs --threads 1)")
    parser.add_argument("--quick", action="store_true", help="batches of 4, 1 round, short bursts (a smoke test)")
    args = parser.parse_args(argv)
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu adds up the CPU time of all threads: use it with --threads 1")
    timing = dict(rounds=1, burst=0.0, clock=args.clock) if args.quick else \
        dict(rounds=args.rounds, burst=args.burst, clock=args.clock)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        with threadpool_limits(limits=args.threads, user_api="blas"):
            gemm_rate = gemm_gflops(256 if args.quick else 1024, timing["rounds"], args.clock)
            print(f"NumPy {np.__version__}, torch {torch.__version__}, float64, {args.threads} thread(s), "
                  f"{args.clock} clock, best call of {timing['rounds']} rounds of {timing['burst']:g} s bursts; "
                  f"NumPy float64 GEMM: {gemm_rate:.1f} GFLOP/s")
            print(busy_machine_note(args.threads) + "\n")
            header = ["forward + backward", "numpy ms", "torch ms", "np/torch", "GFLOP/s", "of GEMM"]
            rows = [conv_row(case, timing, gemm_rate, args.quick) for case in CONV_CASES]
            rows += [["max-pool " + r[0], *r[1:]] for r in (pool_row(case, timing, args.quick)
                                                             for case in POOL_CASES)]
            print(table(header, rows))
            print()
            naive_header = ["naive loops vs vectorised", "naive ms", "vectorised ms", "speed-up"]
            print(table(naive_header, naive_rows(timing)))
    finally:
        torch.set_num_threads(torch_threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
