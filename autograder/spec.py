"""What a graded function is checked on, and how its answer is judged.

Each chapter's hidden tests are data: a `Spec` per graded function lists the cases it is
called on (deterministic, seeded) and how a call is turned into plain arrays. The same spec
serves three users, so the hidden tests have one source of truth:

- the source notebooks' hidden test cells call `check_hidden(name, fn)`: it runs every case on
  the student's function and on the reference in `solutions`, in the same kernel (nbgrader's
  own flow);
- the sandboxed grader calls `run_case` in the student's kernel, where `solutions` is out of
  reach, records the plain outcomes, and judges them with `compare` in a trusted process;
- `tests/` prove that the reference and the notebooks' model answers pass every spec.

This module must import nothing from `solutions` at module level: it runs inside the sandbox.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Case:
    """One call: `fn(*args, **kwargs)`. `label` says in words what the case probes."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""

    def describe(self) -> str:
        parts = [_short(a) for a in self.args] + [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        call = f"({', '.join(parts)})"
        return f"{self.label}: {call}" if self.label else call


def plain_call(fn: Callable, case: Case) -> Any:
    return fn(*case.args, **case.kwargs)


@dataclass(frozen=True)
class Spec:
    """How the graded function `name` of chapter `chapter` is checked.

    cases      -- returns the list of cases (must be deterministic: seed every generator).
    call       -- `(fn, case) -> result`; the default calls `fn(*args, **kwargs)`. Results are
                  reduced to plain data (arrays, numbers, tuples) by `to_plain`.
    forbidden  -- identifiers the solution's source may not use (`convolve`, `torch`, ...):
                  the exercise is to write that operation, not to call it.
    judge      -- optional `(got, case) -> message | None` for answers with no single right
                  value (a trained model's accuracy); then the reference is not consulted.
    """

    name: str
    chapter: str
    cases: Callable[[], list[Case]]
    call: Callable[[Callable, Case], Any] = plain_call
    rtol: float = 1e-6
    atol: float = 1e-8
    forbidden: tuple[str, ...] = ()
    judge: Callable[[Any, Case], str | None] | None = None


# -- outcomes: what a call did, as plain data that can leave the sandbox ----------------------

@dataclass
class Outcome:
    """`kind` is 'value' (with `value`), 'raised' (with `error`: exception class names, most
    derived first, and the message) or 'mutated' (the call changed one of its array inputs)."""

    kind: str
    value: Any = None
    error: tuple[tuple[str, ...], str] | None = None


def to_plain(obj: Any) -> Any:
    """Arrays, tensors and numbers -> float64/int ndarrays and Python numbers; tuples stay tuples."""
    if isinstance(obj, (tuple, list)):
        return tuple(to_plain(o) for o in obj)
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # a torch tensor, on any device
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    arr = np.asarray(obj)
    if arr.dtype == object:
        raise TypeError(f"expected an array or a number, got {type(obj).__name__}")
    return np.array(arr, dtype=np.int64 if arr.dtype.kind in "iub" else np.float64)


def _arrays_in(obj: Any) -> list:
    if isinstance(obj, (tuple, list)):
        return [a for o in obj for a in _arrays_in(o)]
    if isinstance(obj, dict):
        return [a for o in obj.values() for a in _arrays_in(o)]
    if isinstance(obj, np.ndarray) or (hasattr(obj, "detach") and hasattr(obj, "cpu")):
        return [obj]
    return []


def run_case(fn: Callable, spec: Spec, case: Case) -> Outcome:
    """Call `fn` on a private copy of the case's inputs and say what happened."""
    private = Case(copy.deepcopy(case.args), copy.deepcopy(case.kwargs), case.label)
    before = [to_plain(a) for a in _arrays_in((private.args, private.kwargs))]
    try:
        value = to_plain(spec.call(fn, private))
    except Exception as exc:  # noqa: BLE001 -- any failure is an outcome to report
        names = tuple(c.__name__ for c in type(exc).__mro__ if c not in (object, BaseException))
        return Outcome("raised", error=(names, str(exc)[:500]))
    after = [to_plain(a) for a in _arrays_in((private.args, private.kwargs))]
    if any(b.shape != a.shape or not np.array_equal(b, a, equal_nan=True) for b, a in zip(before, after)):
        return Outcome("mutated")
    return Outcome("value", value=value)


def compare(got: Outcome, expected: Outcome, spec: Spec) -> str | None:
    """None when `got` is right; otherwise one sentence that says what differs."""
    if got.kind == "mutated":
        return failure(got)
    if expected.kind == "raised":
        wanted = expected.error[0][0]
        if got.kind == "raised" and wanted in got.error[0]:
            return None
        return f"expected it to raise {wanted}, but it returned normally" if got.kind == "value" \
            else f"expected {wanted}, got {got.error[0][0]}: {got.error[1]}"
    if got.kind == "raised":
        return failure(got)
    return _compare_values(got.value, expected.value, spec.rtol, spec.atol)


def failure(got: Outcome) -> str | None:
    """What went wrong in an outcome that is not a value; None for a value."""
    if got.kind == "mutated":
        return "it modified one of its input arrays (work on a copy, or build a new array)"
    if got.kind == "raised":
        return f"it raised {got.error[0][0]}: {got.error[1]}"
    return None


def _compare_values(got: Any, expected: Any, rtol: float, atol: float, where: str = "") -> str | None:
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            n = len(got) if isinstance(got, tuple) else "not a tuple"
            return f"expected a tuple of {len(expected)} results{where}, got {n}"
        for i, (g, e) in enumerate(zip(got, expected)):
            msg = _compare_values(g, e, rtol, atol, f"{where} in result [{i}]")
            if msg:
                return msg
        return None
    if isinstance(got, tuple):
        return f"expected a single result{where}, got a tuple of {len(got)}"
    g, e = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        return f"expected shape {e.shape}{where}, got {g.shape}"
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        at = f" at index {idx}" if e.ndim else ""
        return f"wrong value{where}{at}: expected {e[idx]:.6g}, got {g[idx]:.6g} ({int(bad.sum())} of {e.size} wrong)"
    return None


# -- what the source of a solution uses ------------------------------------------------------

def identifiers_used(source: str) -> set[str]:
    """Every name, attribute and imported module part that appears in `source`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.update(node.module.split("."))
            for alias in node.names:
                names.update(alias.name.split("."))
    return names


def forbidden_used(source: str, spec: Spec) -> list[str]:
    return sorted(identifiers_used(source) & set(spec.forbidden))


# -- the registry ----------------------------------------------------------------------------

def all_specs() -> dict[str, Spec]:
    """Every spec of every chapter module in `autograder.specs`, by function name."""
    from autograder import specs as package

    found: dict[str, Spec] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for spec in getattr(module, "SPECS", ()):
            if spec.name in found:
                raise ValueError(f"two specs for {spec.name!r}")
            found[spec.name] = spec
    return found


def get_spec(name: str) -> Spec:
    specs = all_specs()
    if name not in specs:
        raise KeyError(f"no hidden-test spec for {name!r}; known: {', '.join(sorted(specs))}")
    return specs[name]


def specs_for(chapter: str) -> list[Spec]:
    return [s for s in all_specs().values() if s.chapter == chapter]


# -- nbgrader's own flow: judge in the same kernel ------------------------------------------

def check_hidden(name: str, fn: Callable) -> None:
    """Hidden tests of `name`, run in this kernel against the reference; raises AssertionError
    naming the first failing case. Used by the source notebooks' hidden test cells."""
    spec = get_spec(name)
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = ""
    used = forbidden_used(source, spec) if source else []
    assert not used, f"{name} must be written by hand here, but it uses {', '.join(used)}"
    reference = None if spec.judge else getattr(importlib.import_module("solutions"), name)
    for i, case in enumerate(spec.cases()):
        got = run_case(fn, spec, case)
        if spec.judge:
            msg = spec.judge(got.value, case) if got.kind == "value" else failure(got)
        else:
            msg = compare(got, run_case(reference, spec, case), spec)
        assert msg is None, f"{name}, hidden case {i} ({case.describe()}): {msg}"


def _short(value: Any) -> str:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"<{type(value).__name__} shape={tuple(value.shape)}>"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


__all__: Sequence[str] = [
    "Case", "Spec", "Outcome", "plain_call", "to_plain", "run_case", "compare", "failure",
    "identifiers_used", "forbidden_used", "all_specs", "get_spec", "specs_for", "check_hidden",
]
