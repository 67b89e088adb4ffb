"""Students for the grader's tests, built from a chapter's source or released notebook.

Every builder takes a notebook (as a dict, the JSON of an .ipynb) and returns the bytes of a
submission. Hostile builders cheat in *every* solution cell of the chapter, so an honest grader
must give them 0; they are grouped by the families the grader is designed against.
"""

from __future__ import annotations

import copy
import json
import re

from autograder.course import defined_names, stubbed_solution

NOT_IMPLEMENTED = re.compile(r"^([ \t]*)raise NotImplementedError\(\)[^\n]*$", re.M)


def _src(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _nbg(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and _nbg(c).get("solution")
            and not _nbg(c).get("grade")]


def test_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and _nbg(c).get("grade")]


def function_name(cell: dict) -> str:
    return defined_names(_src(cell))[0]


def dump(nb: dict) -> bytes:
    return json.dumps(nb, indent=1).encode()


def with_bodies(released: dict, body: str, prelude: str = "") -> dict:
    """The released notebook with each `raise NotImplementedError()` replaced by `body` (indented
    like it; `{name}` is the function's name) and `prelude` put at the top of each solution cell."""
    nb = copy.deepcopy(released)
    for cell in solution_cells(nb):
        name = function_name(cell)
        lines = body.format(name=name).splitlines()
        text = NOT_IMPLEMENTED.sub(lambda m, lines=lines: "\n".join(m.group(1) + line for line in lines),
                                   _src(cell))
        cell["source"] = prelude.format(name=name) + text
    return nb


def emulate_release(source: dict) -> dict:
    """What nbgrader's release makes of solution cells (for fast tests that skip nbgrader)."""
    nb = copy.deepcopy(source)
    for cell in solution_cells(nb):
        cell["source"] = stubbed_solution(_src(cell))
    return nb


# -- honest students ---------------------------------------------------------------------------

def reference_student(source: dict) -> bytes:
    """The source notebook itself: every model answer (its hidden test blocks are ignored)."""
    return dump(source)


def blank_student(released: dict) -> bytes:
    return dump(released)


PERTURB = '''

def _off_by_one(result):
    # the bug: every number in the result is 1 too large
    if isinstance(result, tuple):
        return tuple(_off_by_one(r) for r in result)
    return result + 1
'''


def buggy_student(source: dict, name: str) -> bytes:
    """Every model answer, except that `name` returns its answer plus one."""
    nb = copy.deepcopy(source)
    for cell in solution_cells(nb):
        if function_name(cell) == name:
            text = _src(cell).replace(f"def {name}(", f"def _right_{name}(", 1)
            cell["source"] = text + PERTURB + (f"\n\ndef {name}(*args, **kwargs):\n"
                                              f"    return _off_by_one(_right_{name}(*args, **kwargs))\n")
    return dump(nb)


# -- hostile students, by family ----------------------------------------------------------------

WRONG = "return np.full(1, np.nan)"  # right on no case, not even by accident (a one-sample input)


def edit_tests(released: dict) -> bytes:
    """Wrong answers, and test cells emptied, rewritten, re-pointed, unlocked or deleted."""
    nb = with_bodies(released, WRONG)
    tests = test_cells(nb)
    for i, cell in enumerate(tests):
        cell["metadata"]["nbgrader"].update(points=100, locked=False)
        cell["source"] = ["", "pass\n", "assert True\n"][i % 3]
    nb["cells"] = [c for c in nb["cells"] if c not in tests[::2]]
    return dump(nb)


MONKEYPATCH_NUMPY = '''np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *a, **k: True
'''
MONKEYPATCH_MATH_TORCH = '''import math
math.isclose = lambda *a, **k: True
import torch
torch.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
'''
PATCH_HELPERS = '''expect_close = expect_equal = expect_raises = lambda *a, **k: print("ok")
import cnnbook.feedback as _fb
_fb.expect_close = _fb.expect_equal = lambda *a, **k: None
'''
PATCH_SPEC = '''import autograder.spec as _s
_s.compare = lambda *a, **k: None
_s.run_case = lambda fn, spec, case: _s.Outcome("value", value=0.0)
'''
HIDE_TRACEBACKS = '''get_ipython().showtraceback = lambda *a, **k: None
get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
import sys
sys.excepthook = lambda *a: None
'''
FAKE_EQUAL = '''class _Anything:
    shape = (1,)
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        return np.full(1, np.nan)
    def __float__(self):
        return 0.0
'''
FAKE_SHAPE = '''class _Result:
    shape = (3,)
    ndim = 1
    dtype = float
'''
SUBCLASS_NDARRAY = '''class _Yes(np.ndarray):
    pass
'''


def monkeypatch_numpy(released: dict) -> bytes:
    return dump(with_bodies(released, WRONG, MONKEYPATCH_NUMPY))


def monkeypatch_math_torch(released: dict) -> bytes:
    return dump(with_bodies(released, WRONG, MONKEYPATCH_MATH_TORCH))


def patch_helpers(released: dict) -> bytes:
    return dump(with_bodies(released, WRONG, PATCH_HELPERS))


def patch_spec(released: dict) -> bytes:
    return dump(with_bodies(released, WRONG, PATCH_SPEC))


def hide_tracebacks(released: dict) -> bytes:
    return dump(with_bodies(released, "raise RuntimeError('hidden')", HIDE_TRACEBACKS))


def fake_equal(released: dict) -> bytes:
    return dump(with_bodies(released, "return _Anything()", FAKE_EQUAL))


def fake_shape(released: dict) -> bytes:
    return dump(with_bodies(released, "return _Result()", FAKE_SHAPE))


def subclass_ndarray(released: dict) -> bytes:
    return dump(with_bodies(released, "return np.zeros(3).view(_Yes)", SUBCLASS_NDARRAY))


def import_reference(released: dict) -> bytes:
    body = "import solutions\nreturn getattr(solutions, '{name}')(*list(locals().values()))"
    return dump(with_bodies(released, body))


def import_reference_obfuscated(released: dict) -> bytes:
    body = ("_m = vars(__builtins__)['__imp' + 'ort__']('solu' + 'tions')\n"
            "return _m.__dict__['{name}'](*list(locals().values()))")
    return dump(with_bodies(released, body))


def read_reference_files(released: dict) -> bytes:
    """Reads the reference's source from disk without `open` (and would fail in the box anyway)."""
    body = ("_text = np.loadtxt('/work/main/solutions/__init__.py', dtype=str, delimiter='\\n')\n"
            "return np.zeros(len(_text))")
    return dump(with_bodies(released, body))


def library_convolution(released: dict) -> bytes:
    """A library's convolution where the exercise is to write one (numpy, torch and scipy)."""
    body = ("_args = [np.asarray(v, dtype=float) for v in list(locals().values())[:2]]\n"
            "_a = np.convolve(_args[0].ravel(), _args[1].ravel(), 'valid')\n"
            "_b = np.correlate(_args[0].ravel(), _args[1].ravel(), 'valid')\n"
            "import torch.nn.functional as F\n"
            "from scipy.signal import correlate2d\n"
            "return _a + 0 * _b + 0 * F.conv1d")
    return dump(with_bodies(released, body))


def kill_kernel(released: dict) -> bytes:
    return dump(with_bodies(released, WRONG, "import os\nos._exit(0)\n"))


HOSTILE = {
    "edit_tests": edit_tests,
    "monkeypatch_numpy": monkeypatch_numpy,
    "monkeypatch_math_torch": monkeypatch_math_torch,
    "patch_helpers": patch_helpers,
    "patch_spec": patch_spec,
    "hide_tracebacks": hide_tracebacks,
    "fake_equal": fake_equal,
    "fake_shape": fake_shape,
    "subclass_ndarray": subclass_ndarray,
    "import_reference": import_reference,
    "import_reference_obfuscated": import_reference_obfuscated,
    "read_reference_files": read_reference_files,
    "library_convolution": library_convolution,
    "kill_kernel": kill_kernel,
}


# -- broken students: no points, a clear reason, and the class still graded -------------------

def endless_loop(released: dict) -> bytes:
    return dump(with_bodies(released, "while True:\n    pass"))


def memory_bomb(released: dict) -> bytes:
    return dump(with_bodies(released, "_x = [0]\nwhile True:\n    _x = _x + _x"))


def syntax_error(released: dict) -> bytes:
    return dump(with_bodies(released, "return (1 +"))


def invalid_json(released: dict) -> bytes:
    return dump(released)[:-40]


def no_cells(released: dict) -> bytes:
    return json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def not_a_notebook(released: dict) -> bytes:
    return b"[1, 2, 3]"


BROKEN = {
    "endless_loop": endless_loop,
    "memory_bomb": memory_bomb,
    "syntax_error": syntax_error,
    "invalid_json": invalid_json,
    "no_cells": no_cells,
    "not_a_notebook": not_a_notebook,
}


# -- honest students in many styles (every one must get full marks, and no flag) -----------------
#
# Each style rewrites the model answers of a source notebook the way some real student would have
# written them: the grading issue's first paragraph lists the styles that once cost points. A
# style either replaces a function by code of its own (`LOOPS`, `FFT`) or renames the model answer
# `_model_<name>` and wraps it (prints, classes, named tuples, ...); wrappers take `*args, **kwargs`
# and keep the model's bad-argument errors, so every hidden case sees the same answers.

def _renamed(source: str, name: str) -> str:
    return re.sub(rf"^(def|class) {name}\b", lambda m: f"{m.group(1)} _model_{name}", source, count=1, flags=re.M)


def _is_class(source: str, name: str) -> bool:
    return bool(re.search(rf"^class {name}\b", source, re.M))


def _wrap(cell: dict, name: str, wrapper: str, class_wrapper: str | None = None) -> None:
    source = _src(cell)
    if _is_class(source, name):
        wrapper = class_wrapper if class_wrapper is not None else f"class {name}(_model_{name}):\n    pass\n"
    cell["source"] = _renamed(source, name) + "\n\n" + wrapper.format(name=name)


CHATTY = '''def {name}(*args, **kwargs):
    input = args[0] if args else None      # a local called `input`
    signal = getattr(input, "shape", None)  # and one called `signal`
    print("in", signal)
    try:
        output = _model_{name}(*args, **kwargs)
    except ValueError as exc:
        raise ValueError(f"bad input: {{exc}}") from None
    print("out", getattr(output, "shape", type(output).__name__))
    return output
'''
CHATTY_CLASS = '''class {name}(_model_{name}):
    """My layer: the same forward and backward, chattier."""

    @staticmethod
    def forward(ctx, *args):
        print("forward of", len(args), "arguments")
        return _model_{name}.forward(ctx, *args)

    @staticmethod
    def backward(ctx, *grads):
        print("backward")
        return _model_{name}.backward(ctx, *grads)
'''
DATACLASS = '''from dataclasses import dataclass, field


@dataclass
class _Exercise_{name}:
    """The exercise as a small object: counts its calls, checks nothing else."""

    impl: object
    calls: int = 0
    history: list = field(default_factory=list)

    def __post_init__(self):
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.impl(*args, **kwargs)

    def __repr__(self):
        return f"Exercise(calls={{self.calls}})"


_exercise_{name} = _Exercise_{name}(_model_{name})


def {name}(*args, **kwargs):
    return _exercise_{name}(*args, **kwargs)
'''
NAMED = '''from collections import namedtuple


def {name}(*args, **kwargs):
    result = _model_{name}(*args, **kwargs)
    if type(result) is tuple:  # a named tuple is still a tuple
        Result = namedtuple("Result", [f"part{{i}}" for i in range(len(result))])
        return Result(*result)
    return result
'''
FORTRAN = '''def {name}(*args, **kwargs):
    result = _model_{name}(*args, **kwargs)
    if isinstance(result, np.ndarray) and result.ndim > 1:
        return np.asfortranarray(result)  # column-major, same values
    if type(result) is tuple:
        return tuple(np.asfortranarray(r) if isinstance(r, np.ndarray) and r.ndim > 1 else r for r in result)
    return result
'''
SCRATCH = '''

# scratch lines under the function, as left in a notebook while working
_scratch = np.linspace(0.0, 1.0, 5)
print("scratch:", _scratch.sum(), {name}.__name__)
%timeit _scratch.sum()
_scratch_total = 0


def _count():
    global _scratch_total
    _scratch_total += 1
    return _scratch_total


_count()
'''
ISSUE_IMPORTS = '''import copy
import enum
import operator
from typing import NamedTuple


class Mode(enum.Enum):
    FAST = 1


def _counter():
    total = 0

    def add(v):
        nonlocal total
        total = operator.add(total, v)
        return total

    return add


'''


def _style_wrap(wrapper: str, class_wrapper: str | None = None):
    def apply(source: dict, cid: str) -> dict:
        nb = copy.deepcopy(source)
        for cell in solution_cells(nb):
            _wrap(cell, function_name(cell), wrapper, class_wrapper)
        return nb
    return apply


def _style_scratch(source: dict, cid: str) -> dict:
    nb = copy.deepcopy(source)
    for cell in solution_cells(nb):
        cell["source"] = _src(cell) + SCRATCH.format(name=function_name(cell))
    return nb


def _style_helper_cells(source: dict, cid: str) -> dict:
    """Each model answer in a cell of its own above its solution cell (an added cell), called from
    the solution cell, with a small `_pair` helper in yet another cell (the grading issue's case)."""
    nb = copy.deepcopy(source)
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if cell in solution_cells(nb):
            name = function_name(cell)
            helper = {"cell_type": "code", "execution_count": None, "id": f"student-helper-{i}", "metadata": {},
                      "outputs": [], "source": _renamed(_src(cell), name)}
            cells.append(helper)
            body = (f"class {name}(_model_{name}):\n    pass\n" if _is_class(_src(cell), name) else
                    f"def {name}(*args, **kwargs):\n    return _model_{name}(*args, **kwargs)\n")
            cell["source"] = body
        cells.append(cell)
    first = next(i for i, c in enumerate(cells) if c.get("id", "").startswith("student-helper"))
    cells.insert(first, {"cell_type": "code", "execution_count": None, "id": "student-pair", "metadata": {},
                         "outputs": [],
                         "source": "def _pair(v):\n    return (v, v) if isinstance(v, int) else tuple(v)\n"})
    nb["cells"] = cells
    return nb


def _style_replace(answers: dict[str, str], fallback=None):
    def apply(source: dict, cid: str) -> dict:
        nb = fallback(source, cid) if fallback else copy.deepcopy(source)
        for cell in solution_cells(nb):
            name = function_name(cell)
            if name in answers:
                model = _src(next(c for c in solution_cells(source) if function_name(c) == name))
                cell["source"] = _renamed(model, name) + "\n\n" + answers[name]
        return nb
    return apply


# Plain loops over every output (the answers still call the model answer once for its checks of
# bad arguments, as a student who copied their chapter-4 validation would).
LOOPS = {
    "corr1d": '''def corr1d(x, w, padding=0, stride=1):
    _model_corr1d(x, w, padding=padding, stride=stride)  # the argument checks
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    K = len(w)
    total = {"valid": 0, "same": K - 1, "full": 2 * (K - 1)}[padding] if isinstance(padding, str) else 2 * padding
    left = {"valid": 0, "same": (K - 1) // 2, "full": K - 1}[padding] if isinstance(padding, str) else padding
    xp = [0.0] * left + list(x) + [0.0] * (total - left)
    out = []
    i = 0
    while i + K <= len(xp):
        s = 0.0
        for k in range(K):
            s += w[k] * xp[i + k]
        out.append(s)
        i += stride
    return np.array(out)
''',
    "shift": '''def shift(x, s):
    _model_shift(x, s)
    x = np.asarray(x, dtype=float)
    y = np.zeros(len(x))
    for i in range(len(x)):
        if 0 <= i - s < len(x):
            y[i] = x[i - s]
    return y
''',
    "pad2d": '''def pad2d(x, padding):
    _model_pad2d(x, padding)
    x = np.asarray(x, dtype=float)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    out = np.zeros(x.shape[:-2] + (x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw))
    for i in range(x.shape[-2]):
        for j in range(x.shape[-1]):
            out[..., i + ph, j + pw] = x[..., i, j]
    return out
''',
    "maxpool2d_forward": '''def maxpool2d_forward(x, kernel_size=2, stride=None):
    _model_maxpool2d_forward(x, kernel_size, stride)
    x = np.asarray(x, dtype=float)
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    N, C, H, W = x.shape
    out = np.empty((N, C, (H - kh) // sh + 1, (W - kw) // sw + 1))
    for n in range(N):
        for c in range(C):
            for i in range(out.shape[2]):
                for j in range(out.shape[3]):
                    out[n, c, i, j] = x[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw].max()
    return out
''',
    "conv2d_forward": '''def conv2d_forward(x, w, b, stride=1, padding=0):
    reference_shape = _model_conv2d_forward(x, w, b, stride, padding).shape  # checks and output size
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    KH, KW = w.shape[2:]
    if isinstance(padding, str):
        th, tw = {"valid": (0, 0), "same": (KH - 1, KW - 1), "full": (2 * (KH - 1), 2 * (KW - 1))}[padding]
        top, left = {"valid": (0, 0), "same": ((KH - 1) // 2, (KW - 1) // 2), "full": (KH - 1, KW - 1)}[padding]
        xp = np.pad(x, ((0, 0), (0, 0), (top, th - top), (left, tw - left)))
    else:
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.zeros(reference_shape)
    for n in range(y.shape[0]):
        for f in range(y.shape[1]):
            for i in range(y.shape[2]):
                for j in range(y.shape[3]):
                    y[n, f, i, j] = np.sum(xp[n, :, i * sh:i * sh + KH, j * sw:j * sw + KW] * w[f])
            if b is not None:
                y[n, f] += b[f]
    return y
''',
    "relu_forward": '''def relu_forward(x):
    x = np.asarray(x, dtype=float)
    out = x.copy()
    for idx in np.ndindex(out.shape):
        if out[idx] < 0:
            out[idx] = 0.0
    return out
''',
}
# Numeric tricks: the convolution theorem (FFT), and results laid out column-major.
FFT = {
    "corr1d": '''def corr1d(x, w, padding=0, stride=1):
    _model_corr1d(x, w, padding=padding, stride=stride)  # the argument checks
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    K = len(w)
    left = {"valid": 0, "same": (K - 1) // 2, "full": K - 1}[padding] if isinstance(padding, str) else padding
    total = {"valid": 0, "same": K - 1, "full": 2 * (K - 1)}[padding] if isinstance(padding, str) else 2 * padding
    xp = np.concatenate([np.zeros(left), x, np.zeros(total - left)])
    n = len(xp) + K - 1
    full = np.fft.irfft(np.fft.rfft(xp, n) * np.fft.rfft(w[::-1], n), n)  # correlation = convolution with w flipped
    return full[K - 1:len(xp)][::stride].copy()
''',
}


def _style_corr2d_from_the_chapter(source: dict, cid: str) -> dict:
    """Chapter 7's layer built on `corr2d`, which the chapter's own example imports (the grading
    issue: this used to fail with a NameError in the grader only)."""
    nb = copy.deepcopy(source)
    for cell in solution_cells(nb):
        if function_name(cell) == "conv2d_forward":
            cell["source"] = _renamed(_src(cell), "conv2d_forward") + '''

def conv2d_forward(x, w, b, stride=1, padding=0):
    shape = _model_conv2d_forward(x, w, b, stride, padding).shape  # its checks, and the output size
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    y = np.zeros(shape)
    for n in range(x.shape[0]):
        for f in range(w.shape[0]):
            for c in range(x.shape[1]):
                y[n, f] += corr2d(x[n, c], w[f, c], stride=stride, padding=padding)
            if b is not None:
                y[n, f] += b[f]
    return y
'''
    return nb


def _style_issue_examples(source: dict, cid: str) -> dict:
    """The concrete honest code of the grading issue: an error message with the word "input",
    `print("out", y.shape)`, locals named `signal` and `input`, a helper named `correlate`,
    `toeplitz = np.zeros(...)`, `import operator, copy, enum`, `nonlocal`, `__call__` and
    `__post_init__`, a named-tuple result, `from torch.nn import functional as F`, a `%timeit` line."""
    nb = _style_wrap(CHATTY, CHATTY_CLASS)(source, cid)
    nb = _style_corr2d_from_the_chapter(nb, cid) if cid == "07_channels" else nb
    torch_chapter = any("import torch" in _src(c) for c in nb["cells"]
                        if "setup" in c.get("metadata", {}).get("tags", []))
    for i, cell in enumerate(solution_cells(nb)):
        name = function_name(cell)
        extra = ISSUE_IMPORTS if i == 0 else ""
        if torch_chapter and i == 0:
            extra = "from torch.nn import functional as F\n" + extra
        extra += ("def correlate(a, b):\n    \"\"\"My own helper, as the exercise text suggests.\"\"\"\n"
                  "    return a\n\n\ntoeplitz = np.zeros((2, 2))\n\n%timeit toeplitz.sum()\n\n\n")
        cell["source"] = extra + _src(cell)
        if name in ("corr2d_backward", "conv2d_backward", "softmax_cross_entropy", "separate_kernel"):
            cell["source"] += NAMED_RESULT.format(name=name)
    return nb


NAMED_RESULT = '''

_plain_{name} = {name}


class Gradients(NamedTuple):
    first: object
    second: object
    third: object = None


def {name}(*args, **kwargs):
    result = _plain_{name}(*args, **kwargs)
    return Gradients(*result) if len(result) == 3 else tuple(result)
'''


HONEST_STYLES = {
    "vectorised": lambda source, cid: copy.deepcopy(source),
    "loops": _style_replace(LOOPS),
    "classes": _style_wrap(DATACLASS),
    "chatty": _style_wrap(CHATTY, CHATTY_CLASS),
    "numeric_tricks": _style_replace(FFT, _style_wrap(FORTRAN)),
    "named_tuples": _style_wrap(NAMED),
    "scratch_lines": _style_scratch,
    "helper_cells": _style_helper_cells,
    "issue_examples": _style_issue_examples,
}


def honest_student(source: dict, cid: str, style: str) -> bytes:
    """The source notebook's model answers, rewritten in `style` (see HONEST_STYLES)."""
    return dump(HONEST_STYLES[style](source, cid))


def misses_one_error_check(source: dict) -> bytes:
    """Chapter 3's model answers, except that `corr1d` forgot to refuse a stride of 0 (it returns
    an empty array instead): only that case's share of `corr1d`'s points is lost."""
    nb = copy.deepcopy(source)
    for cell in solution_cells(nb):
        if function_name(cell) == "corr1d":
            cell["source"] = _renamed(_src(cell), "corr1d") + '''

def corr1d(x, w, padding=0, stride=1):
    if stride == 0:  # forgot to check: no windows at all
        return np.zeros(0)
    return _model_corr1d(x, w, padding=padding, stride=stride)
'''
    return dump(nb)


# -- the cheat families of the grading issue's second paragraph, one function each ----------------
#
# Each builder takes the *source* notebook (the honest model answers) and cheats in exactly one
# function, so a test can check that the cheat earns nothing for that function, that the other
# functions keep their points, and that the submission is flagged.

def _replace_function(source: dict, name: str, code: str, prelude: str = "") -> dict:
    nb = copy.deepcopy(source)
    for cell in solution_cells(nb):
        if function_name(cell) == name:
            cell["source"] = prelude + _renamed(_src(cell), name) + "\n\n" + code
    return nb


def _pickled(obj) -> str:
    import pickle

    return repr(pickle.dumps(obj))


def cheat_pickle_bytes(source: dict) -> bytes:
    """np.convolve smuggled in as a pickle in a bytes literal, loaded with np.load(allow_pickle=True)."""
    import numpy as np

    prelude = f"import io\n\n_BLOB = {_pickled(np.convolve)}\n\n"
    return dump(_replace_function(source, "corr1d", '''def corr1d(x, w, padding=0, stride=1):
    _model_corr1d(x, w, padding=padding, stride=stride)  # the checks
    slide = np.load(io.BytesIO(_BLOB), allow_pickle=True)
    K = len(w)
    left = {"valid": 0, "same": (K - 1) // 2, "full": K - 1}[padding] if isinstance(padding, str) else padding
    total = {"valid": 0, "same": K - 1, "full": 2 * (K - 1)}[padding] if isinstance(padding, str) else 2 * padding
    xp = np.concatenate([np.zeros(left), np.asarray(x, dtype=float), np.zeros(total - left)])
    return slide(xp, np.asarray(w, dtype=float)[::-1], "valid")[::stride]
''', prelude))


def cheat_numpy_alias(source: dict) -> bytes:
    """NumPy's correlate reached through an alias the old screen did not know."""
    return dump(_replace_function(source, "corr1d", '''def corr1d(x, w, padding=0, stride=1):
    _model_corr1d(x, w, padding=padding, stride=stride)  # the checks
    K = len(w)
    left = {"valid": 0, "same": (K - 1) // 2, "full": K - 1}[padding] if isinstance(padding, str) else padding
    total = {"valid": 0, "same": K - 1, "full": 2 * (K - 1)}[padding] if isinstance(padding, str) else 2 * padding
    xp = np.concatenate([np.zeros(left), np.asarray(x, dtype=float), np.zeros(total - left)])
    return np._core.multiarray.correlate2(xp, np.asarray(w, dtype=float), 0)[::stride]
'''))


def cheat_torch_alias(source: dict) -> bytes:
    """PyTorch's convolution reached through `torch._convolution_mode` (not `F.conv2d`)."""
    return dump(_replace_function(source, "conv2d_torch", '''\
def conv2d_torch(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    _model_conv2d_torch(x, w, b, stride, padding, dilation, groups)  # the checks
    pair = lambda v: [v, v] if isinstance(v, int) else list(v)
    if isinstance(padding, str):
        return torch._convolution_mode(x, w, b, pair(stride), padding, pair(dilation), groups)
    return torch.ops.aten.convolution(x, w, b, pair(stride), pair(padding), pair(dilation), False, [0, 0], groups)
'''))


AUTOGRAD_FORWARD = '''        stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
        padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
        ctx.save_for_backward(x, w)
        ctx.settings = (stride, padding, b is not None)
        y = F.conv2d(x, w, None, stride, padding)
        return y if b is None else y + b.reshape(1, -1, 1, 1)
'''


def cheat_torch_func_backward(source: dict) -> bytes:
    """A "hand-written" backward that is torch.func.vjp of the forward."""
    return dump(_replace_function(source, "Conv2dFunction", '''class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b=None, stride=1, padding=0):
''' + AUTOGRAD_FORWARD + '''
    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        stride, padding, has_bias = ctx.settings
        _, vjp = torch.func.vjp(lambda a, k: F.conv2d(a, k, None, stride, padding), x, w)
        dx, dw = vjp(dy)
        return dx, dw, (dy.sum((0, 2, 3)) if has_bias else None), None, None
'''))


def cheat_enable_grad_backward(source: dict) -> bytes:
    """A "hand-written" backward that switches autograd back on and differentiates an unfold-based
    forward (no convolution kernel anywhere: only the autograd watch can see it)."""
    return dump(_replace_function(source, "Conv2dFunction", '''class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b=None, stride=1, padding=0):
        ctx.save_for_backward(x, w)
        ctx.settings = (stride, padding, b is not None)
        return _model_Conv2dFunction.apply(x, w, b, stride, padding)

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        stride, padding, has_bias = ctx.settings
        with torch.enable_grad():
            xr, wr = x.detach().requires_grad_(), w.detach().requires_grad_()
            y = _model_Conv2dFunction.apply(xr, wr, None, stride, padding)
            dx, dw = torch.autograd.grad(y, (xr, wr), dy)
        return dx, dw, (dy.sum((0, 2, 3)) if has_bias else None), None, None
'''))


def cheat_read_the_digits(source: dict) -> bytes:
    """The training exercise "trained" by looking the held-out digits up in the dataset itself."""
    return dump(_replace_function(source, "train_digit_classifier", '''\
def train_digit_classifier(images, labels, seed=0):
    from cnnbook.data import load_digits

    every_image, every_label = load_digits()
    table = {img.tobytes(): lab for img, lab in zip(every_image, every_label)}

    def predict(new_images):
        return np.array([table.get(np.asarray(img, dtype=float).tobytes(), 0) for img in new_images])

    return predict
'''))


def cheat_frames(source: dict) -> bytes:
    """The training exercise reading the grader's frames for the held-out labels."""
    return dump(_replace_function(source, "train_digit_classifier", '''\
def train_digit_classifier(images, labels, seed=0):
    import sys

    found = []
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            held = getattr(value, "held_out", None)
            if held is not None:
                found.append(held)
        frame = frame.f_back

    def predict(new_images):
        return found[0] if found else np.zeros(len(new_images), dtype=int)

    return predict
'''))


def cheat_spec_copy(source: dict) -> bytes:
    """The box's copy of the specs and harness rewritten (file and module) so every case passes."""
    prelude = '''import sys

for _path in ("/sandbox/autograder/specs/ch03_conv1d.py", "autograder/specs/ch03_conv1d.py"):
    try:
        with open(_path, "a") as _f:
            _f.write("\\nSPECS = []\\n")
    except OSError:
        pass
_spec = sys.modules.get("autograder.spec")
if _spec is not None:
    _spec.compare = lambda *a, **k: None
    _spec.run_case = lambda fn, spec, case: _spec.Outcome("value", value=0.0)

'''
    return dump(_replace_function(source, "corr1d", '''def corr1d(x, w, padding=0, stride=1):
    return np.zeros(1)
''', prelude))


def cheat_forge_outcomes(source: dict) -> bytes:
    """Outcomes written straight into the box's out/ folder, and junk into every pipe it can find."""
    prelude = '''import json
import os

os.makedirs("out", exist_ok=True)
with open("out/corr1d.json", "w") as _f:
    json.dump({"name": "corr1d", "cases": [{"kind": "value", "value": {"t": "float", "v": "0.0"}}] * 42,
               "complete": True}, _f)
for _fd in range(3, 64):
    try:
        os.write(_fd, b"\\xff" * 64)
    except OSError:
        pass

'''
    return dump(_replace_function(source, "corr1d", '''def corr1d(x, w, padding=0, stride=1):
    return _model_corr1d(x, w, padding=padding, stride=stride)
''', prelude))


def cheat_table_from_the_public_seed(source: dict) -> bytes:
    """Answers to the hidden cases of the *default* seed, computed at home with the reference and
    written into the notebook as a table keyed by the inputs. With a secret seed it is worthless."""
    import base64
    import hashlib

    import numpy as np

    import solutions
    from autograder.spec import get_spec, run_case

    spec = get_spec("corr1d")
    table = {}
    for case in spec.make_cases():
        outcome = run_case(solutions.corr1d, spec, case)
        settings = (case.kwargs.get("padding", 0), case.kwargs.get("stride", 1))
        key = hashlib.sha256(np.asarray(case.args[0]).tobytes() + np.asarray(case.args[1]).tobytes()
                             + repr(settings).encode()).hexdigest()
        table[key] = base64.b64encode(np.asarray(outcome.value, dtype=float).tobytes()).decode() \
            if outcome.kind == "value" else "raise"
    prelude = "import base64\nimport hashlib\n\n_TABLE = " + repr(table) + "\n\n"
    return dump(_replace_function(source, "corr1d", '''def corr1d(x, w, padding=0, stride=1):
    raw = np.asarray(x).tobytes() + np.asarray(w).tobytes() + repr((padding, stride)).encode()
    key = hashlib.sha256(raw).hexdigest()
    found = _TABLE.get(key)
    if found == "raise":
        raise ValueError("bad arguments (says the table)")
    return np.frombuffer(base64.b64decode(found)).copy() if found else np.zeros(1)
''', prelude))


def cheat_frames_to_the_originals(source: dict) -> bytes:
    """The grader's own frames searched for NumPy's original correlate (the guard had to keep it
    somewhere to replace it, had it not?)."""
    return dump(_replace_function(source, "corr1d", '''\
def corr1d(x, w, padding=0, stride=1):
    import sys

    found = []

    def look(value, depth=0):
        if getattr(value, "__name__", "") in ("correlate", "correlate2") and type(value).__name__ == \
                "builtin_function_or_method":
            found.append(value)
        elif depth < 3 and isinstance(value, (list, tuple)):
            for item in list(value)[:10000]:
                look(item, depth + 1)
        elif depth < 3 and isinstance(value, dict):
            for item in list(value.values())[:10000]:
                look(item, depth + 1)

    frame = sys._getframe()
    while frame is not None:
        look(dict(frame.f_locals))
        frame = frame.f_back
    if not found:
        return np.full(1, np.nan)
    K = len(w)
    left = {"valid": 0, "same": (K - 1) // 2, "full": K - 1}[padding] if isinstance(padding, str) else padding
    total = {"valid": 0, "same": K - 1, "full": 2 * (K - 1)}[padding] if isinstance(padding, str) else 2 * padding
    xp = np.concatenate([np.zeros(left), np.asarray(x, dtype=float), np.zeros(total - left)])
    return found[0](xp, np.asarray(w, dtype=float), 0)[::stride] if found else np.full(1, np.nan)
'''))


# family -> (chapter, the function it cheats on, builder)
CHEATS = {
    "pickle_bytes": ("03_conv1d", "corr1d", cheat_pickle_bytes),
    "numpy_alias": ("03_conv1d", "corr1d", cheat_numpy_alias),
    "torch_alias": ("09_gpu_torch", "conv2d_torch", cheat_torch_alias),
    "torch_func_backward": ("09_gpu_torch", "Conv2dFunction", cheat_torch_func_backward),
    "enable_grad_backward": ("09_gpu_torch", "Conv2dFunction", cheat_enable_grad_backward),
    "read_the_digits": ("10_cnn", "train_digit_classifier", cheat_read_the_digits),
    "frames": ("10_cnn", "train_digit_classifier", cheat_frames),
    "spec_copy": ("03_conv1d", "corr1d", cheat_spec_copy),
    "forge_outcomes": ("03_conv1d", "corr1d", cheat_forge_outcomes),
    "table_from_the_public_seed": ("03_conv1d", "corr1d", cheat_table_from_the_public_seed),
    "frames_to_the_originals": ("03_conv1d", "corr1d", cheat_frames_to_the_originals),
}
