"""The static screen of solution cells: model answers pass it, every cheat is caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.assemble import find_solutions
from autograder.course import Course, load_chapter, read_cells
from autograder.screen import LIBRARY_OPS, SUSPICIOUS_NAMES, library_ops, suspicious
from autograder.spec import forbidden_used
from tests.submissions import builders

FIXTURE = Path(__file__).parent / "fixture_course" / "chapters"
CHAPTERS = sorted((Path(__file__).parent.parent / "chapters").glob("*.ipynb"))
SETUP = ["import numpy as np\n\nfrom cnnbook.feedback import expect_close, expect_equal"]


def _model_answers(path: Path) -> dict[str, str]:
    chapter = load_chapter(path)
    found = find_solutions(chapter, read_cells(path.read_bytes()))
    return {name: sol.source for name, sol in found.items()}, chapter


@pytest.mark.parametrize("path", CHAPTERS + [FIXTURE / "99_fixture.ipynb"], ids=lambda p: p.stem)
def test_model_answers_pass_the_screen(path):
    """An honest answer is never flagged: every chapter's model answers pass, and use nothing
    their spec forbids."""
    answers, chapter = _model_answers(path)
    specs = Course().specs()
    assert answers, f"{path.stem} has no solution cells"
    for name, source in answers.items():
        assert source is not None, f"{path.stem}: no cell defines {name}"
        assert suspicious(source, chapter.setup) == [], name
        if name not in specs or specs[name][0].judge is None:  # training exercises may use nn.Conv2d
            assert library_ops(source, chapter.setup) == [], name
        if name in specs:
            assert forbidden_used(source, specs[name][0]) == [], name


@pytest.mark.parametrize("family", sorted(set(builders.HOSTILE) - {"edit_tests", "fake_shape"}))
def test_every_hostile_cell_is_flagged(family):
    released = builders.emulate_release(json.loads((FIXTURE / "99_fixture.ipynb").read_text()))
    nb = json.loads(builders.HOSTILE[family](released))
    chapter = load_chapter(FIXTURE / "99_fixture.ipynb")
    for cell in builders.solution_cells(nb):
        source = builders._src(cell)
        assert suspicious(source, chapter.setup) or library_ops(source), (family, source)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(SUSPICIOUS_NAMES)), where=st.sampled_from(["top", "body", "default"]))
def test_a_suspicious_name_anywhere_is_flagged(name, where):
    use = {"top": f"_h = {name}\ndef f(x):\n    return x\n",
           "body": f"def f(x):\n    y = {name}\n    return x\n",
           "default": f"def f(x, y={name}):\n    return x\n"}[where]
    assert suspicious(use, SETUP)


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(sorted(LIBRARY_OPS)), module=st.sampled_from(["np", "F", "torch.nn.functional", "sig"]))
def test_a_library_convolution_is_found_by_attribute_or_import(op, module):
    assert library_ops(f"def f(x, w):\n    return {module}.{op}(x, w)\n") == [op]
    assert op in library_ops(f"from scipy.signal import {op}\n")


@pytest.mark.parametrize("source", [
    "def f(x, w):\n    return torch._convolution(x, w)",
    "def f(x, w):\n    return torch.ops.aten.max_pool2d_with_indices(x)",
    "def f(x, w):\n    return np.polymul(x, w)",
    "from numpy import convolve as c",
])
def test_library_routines_under_other_names_are_found(source):
    assert library_ops(source, ["import numpy as np\nimport torch"])


@pytest.mark.parametrize("source", [
    "from operator import attrgetter\n\ndef f(x, w):\n    return attrgetter('convolve')(np)(x, w)",
    "def f(x, w):\n    return np.__dict__['correlate'](x, w)",
    "def f(x):\n    return np.load('out/f.npy')",
    "def f(x):\n    return np.genfromtxt('../../solutions/conv1d.py')",
    "np.allclose = lambda *a, **k: True",
    "import numpy.testing as npt\nnpt.assert_allclose = print",
    "import math\n\ndef f(x):\n    math.isclose = print\n    return x",
    "def f(x):\n    m = np.testing\n    m.assert_allclose = print\n    return x",
    "def f(x):\n    (m := np.testing).assert_allclose = print\n    return x",
    "_state = {}\n_state['k'] = 1",
    "def f(x):\n    np.testing.assert_allclose = None\n    return x",
    "expect_close = print",
    "def expect_equal(*a):\n    pass",
    "import math as np",
    "def f(x):\n    global np\n    return x",
    "def f(x):\n    return x.__class__",
    "def f(x):\n    return type('A', (float,), {'__eq__': lambda s, o: True})(x)",
    "class A:\n    def __eq__(self, o):\n        return True",
    "class A(np.ndarray):\n    pass",
    "def f(x):\n    return np.loadtxt('/work/main/solutions/conv1d.py')",
    "len = 3",
    "def f(x):\n    del np.pad\n    return x",
])
def test_monkeypatching_and_disguises_are_flagged(source):
    assert suspicious(source, SETUP)


@pytest.mark.parametrize("source", [
    "def f(x):\n    raise ValueError(f'conv2d expects a 4D input, got {x.ndim}D; no solution exists')",
    "def f(x):\n    raise ValueError('the hidden layer respects the spectrum (H/W)')",
    "import numpy as np\n\ndef f(x):\n    return np.pad(x, 1)",
    'def f(x, w):\n    """Slide `w` over `x`: the solution\'s docstring may say anything."""\n    return x',
    'class Layer:\n    """Weights are set in `__init__`, like any `__dunder__` method."""\n\n    def __init__(self):\n'
    '        """`__init__` stores nothing."""',
    "from math import floor\n\ndef f(n):\n    return floor(n / 2)",
    "def f(x):\n    out = np.zeros(3)\n    out[0] = x\n    return out",
    "class Conv(object):\n    def __init__(self):\n        self.w = 1",
    "def f(ctx, x):\n    ctx.stride = 2\n    return x",
])
def test_ordinary_code_is_not_flagged(source):
    assert suspicious(source, SETUP) == []
