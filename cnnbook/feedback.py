"""Checks for the notebooks' visible tests, with messages a student can act on.

Each check raises AssertionError whose message names the call, what was expected, what came back,
the first wrong entry, and (when given) a hint at the usual mistake. On success it prints one line,
so a test cell that passes says what it checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class CheckFailed(AssertionError):
    """A visible test failed; the message says why."""


def _fail(what: str, problem: str, hint: str | None) -> None:
    message = f"{what}: {problem}"
    if hint:
        message += f"\n  Hint: {hint}"
    raise CheckFailed(message)


SHAPE_HINT = "count the outputs along each axis again, and check which axes the result keeps"


def expect_close(got: Any, expected: Any, what: str, hint: str | None = None,
                 rtol: float = 1e-6, atol: float = 1e-8, shape_hint: str | None = None) -> None:
    """`got` must be an array (or number) of `expected`'s shape with entries close to it.

    `hint` is about wrong *values* and is shown only for them; a result of the wrong shape (or
    none at all) gets `shape_hint`, or a general word on shapes: a shape error gets no advice
    about, say, flipping the kernel."""
    expected = np.asarray(expected, dtype=float)
    if got is None:
        _fail(what, "returned None: did you forget `return`?", None)
    try:
        got_arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        _fail(what, f"expected an array, got {type(got).__name__}", None)
    if got_arr.shape != expected.shape:
        _fail(what, f"expected shape {expected.shape}, got {got_arr.shape}", shape_hint or SHAPE_HINT)
    bad = ~np.isclose(got_arr, expected, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {idx}" if expected.ndim else ""
        _fail(what, f"wrong value{where}: expected {expected[idx]:.6g}, got {got_arr[idx]:.6g} "
                    f"({int(bad.sum())} of {expected.size} entries wrong)", hint)
    print(f"ok  {what}")


def expect_equal(got: Any, expected: Any, what: str, hint: str | None = None) -> None:
    """Exact equality, for ints, shapes and tuples of them."""
    try:
        equal = bool(got == expected)
    except (TypeError, ValueError):  # e.g. an array where a tuple is expected: no single truth value
        equal = False
    if not equal:
        _fail(what, f"expected {expected!r}, got {got!r}", hint)
    print(f"ok  {what}")


def expect_raises(error: type[BaseException], fn: Callable, *args: Any, what: str,
                  hint: str | None = None, **kwargs: Any) -> None:
    """`fn(*args, **kwargs)` must raise `error` (with a message: bad input deserves one)."""
    try:
        fn(*args, **kwargs)
    except error as exc:
        if not str(exc).strip():
            _fail(what, f"raised {error.__name__} with an empty message; say what is wrong", hint)
        print(f"ok  {what} raises {error.__name__}")
        return
    except Exception as exc:  # noqa: BLE001 -- report whatever else it raised
        _fail(what, f"expected {error.__name__}, got {type(exc).__name__}: {exc}", hint)
    _fail(what, f"expected {error.__name__}, but it returned normally", hint)


def expect_unchanged(fn: Callable, *arrays: np.ndarray, what: str) -> Any:
    """Call `fn(*arrays)` and check it did not modify its inputs; returns the result."""
    before = [np.array(a, copy=True) for a in arrays]
    result = fn(*arrays)
    for i, (b, a) in enumerate(zip(before, arrays)):
        if not np.array_equal(b, a):
            _fail(what, f"argument {i} was modified in place", "work on a copy (np.pad, .copy())")
    print(f"ok  {what} leaves its inputs unchanged")
    return result
