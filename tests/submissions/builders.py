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

WRONG = "return np.zeros(1)"


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
        return np.zeros(1)
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
