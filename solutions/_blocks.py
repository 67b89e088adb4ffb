"""Cache blocking: work on a batch a few images at a time.

The NumPy layers make several passes over large intermediate arrays (the lowered columns of a
convolution, one strided slice per tap of a pooling window). On a whole batch those arrays
spill out of the CPU caches, and every pass streams them from main memory again; on a block of
images that fits in cache, only the first pass does.
"""

from __future__ import annotations

# About 2**19 doubles (4 MB) per block: large enough for an efficient matrix product and to keep
# NumPy's per-call overhead small, small enough to stay in cache between passes. Measured on the
# course machines (2 MB of L2, 32 MB of L3) for a batch of 64: forward+backward of CIFAR-sized
# conv layers 1.5x faster than on the whole batch at once, LeNet-sized ones 10% faster, and
# 2.5x slower with blocks of 2**15 (the per-call overhead of the tap loops takes over).
BLOCK_ENTRIES = 2**19


def image_blocks(n: int, entries_per_image: int) -> list[slice]:
    """Slices `0:b, b:2b, ...` of a batch of `n` images, with `b * entries_per_image <= BLOCK_ENTRIES`
    (at least one image per block)."""
    b = max(1, BLOCK_ENTRIES // max(1, entries_per_image))
    return [slice(start, min(start + b, n)) for start in range(0, n, b)]
