"""The static screen: flags for a human, never a score. Model answers and the honest styles the
grading issue lists raise no flag; every hostile family does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.assemble import find_solutions
from autograder.course import Course, load_chapter, read_cells
from autograder.screen import FAMILY_NAMES, MACHINERY_MODULES, flags
from tests.submissions import builders

FIXTURE = Path(__file__).parent / "fixture_course" / "chapters"
CHAPTERS = sorted((Path(__file__).parent.parent / "chapters").glob("*.ipynb"))
SETUP = ["import numpy as np\n\nfrom cnnbook.feedback import expect_close, expect_equal"]
SPECS = Course().specs()


@pytest.mark.parametrize("path", CHAPTERS + [FIXTURE / "99_fixture.ipynb"], ids=lambda p: p.stem)
def test_model_answers_raise_no_flag(path):
    chapter = load_chapter(path)
    found = find_solutions(chapter, read_cells(path.read_bytes()))
    for name, sol in found.items():
        assert sol.source is not None, f"{path.stem}: no cell defines {name}"
        families = SPECS[name][0].families if name in SPECS else ()
        assert flags(sol.source, chapter.setup, families) == [], name


@pytest.mark.parametrize("family", sorted(set(builders.HOSTILE) - {"edit_tests", "fake_shape"}))
def test_every_hostile_cell_is_flagged(family):
    released = builders.emulate_release(json.loads((FIXTURE / "99_fixture.ipynb").read_text()))
    nb = json.loads(builders.HOSTILE[family](released))
    chapter = load_chapter(FIXTURE / "99_fixture.ipynb")
    for cell in builders.solution_cells(nb):
        assert flags(builders._src(cell), chapter.setup, ("convolution", "torch", "scipy")), family


@pytest.mark.parametrize("source", [
    # the honest styles of the grading issue's first paragraph
    "def f(x):\n    raise ValueError(f'the input has {x.ndim} dims; expected 2 (bad input)')",
    "def f(x):\n    y = x * 2\n    print('out', y.shape)\n    return y",
    "def f(signal, input=None):\n    output = signal\n    return output",
    "def correlate(x, w):\n    return x\n\ndef corr1d(x, w):\n    return correlate(x, w)",
    "def f(w, n):\n    toeplitz = np.zeros((n, n))\n    return toeplitz",
    "import operator\nimport copy\nimport enum\n\ndef f(x):\n    return operator.mul(copy.copy(x), 2)",
    "def f(x):\n    total = 0\n    def add(v):\n        nonlocal total\n        total += v\n"
    "    add(x)\n    return total",
    "from dataclasses import dataclass\n\n@dataclass\nclass Layer:\n    k: int = 3\n\n    def __post_init__(self):\n"
    "        self.k = int(self.k)\n\n    def __call__(self, x):\n        return x * self.k",
    "from collections import namedtuple\nGrads = namedtuple('Grads', 'dx dw db')\n\ndef f(x):\n"
    "    return Grads(x, x, x)",
    "from typing import NamedTuple\n\nclass Grads(NamedTuple):\n    dx: float\n    dw: float",
    "%timeit f(1)\n\ndef f(x):\n    return x",
    "%%timeit\nf(1)",
    "import math\nfrom functools import reduce\nfrom itertools import product\n\n"
    "def f(n):\n    return math.floor(n / 2)",
    'def f(x, w):\n    """Slide `w` over `x` like np.convolve would, __init__ and all."""\n    return x',
    "class Conv(object):\n    def __init__(self):\n        self.w = 1\n\n"
    "    def __repr__(self):\n        return 'Conv'",
    "def f(ctx, x):\n    ctx.stride = 2\n    return x",
    "def f(x):\n    out = np.zeros(3)\n    out[0] = x\n    return out",
    "def f(x):\n    return np.asfortranarray(np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(x)))",
    "global_count = 0\n\ndef f(x):\n    global global_count\n    global_count += 1\n    return x",
])
def test_honest_code_raises_no_flag(source):
    assert flags(source, SETUP, ("convolution", "torch", "scipy")) == []


def test_a_torch_import_the_setup_also_makes_is_no_flag():
    source = "from torch.nn import functional as F\nimport torch.nn.functional as F"
    assert flags(source, ["import torch.nn.functional as F"]) == []


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(MACHINERY_MODULES)), where=st.sampled_from(["top", "body"]))
def test_machinery_imports_are_flagged_anywhere(name, where):
    use = {"top": f"import {name}\ndef f(x):\n    return x\n",
           "body": f"def f(x):\n    import {name}\n    return x\n"}[where]
    assert flags(use, SETUP)


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(sorted(FAMILY_NAMES["convolution"] - {"signal", "ndimage"})),
       module=st.sampled_from(["np", "F", "torch.nn.functional"]))
def test_a_library_convolution_is_flagged_by_attribute_or_import(op, module):
    setup = SETUP + ["import torch\nimport torch.nn.functional as F"]
    assert flags(f"def f(x, w):\n    return {module}.{op}(x, w)\n", setup, ("convolution",))
    assert flags(f"from numpy import {op}\n", setup, ("convolution",))


@pytest.mark.parametrize("source", [
    "def f(x, w):\n    return np._core.multiarray.correlate2(x, w, 0)",
    "def f(x, w):\n    return torch._convolution_mode(x, w, None, [1], 'valid', [1], 1)",
    "def f(x):\n    return np.load(io.BytesIO(b'x' * 2000), allow_pickle=True)",
    "def f(x):\n    return np.genfromtxt('../../solutions/conv1d.py')",
    "np.allclose = lambda *a, **k: True",
    "import numpy.testing as npt\nnpt.assert_allclose = print",
    "expect_close = print",
    "def f(x):\n    return x.__class__",
    "def f(x):\n    return type('A', (float,), {'__eq__': lambda s, o: True})(x)",
    "class A:\n    def __eq__(self, o):\n        return True",
    "class A(np.ndarray):\n    pass",
    "def f(x):\n    import sys\n    return sys._getframe(1).f_back.f_locals",
    "def f(x):\n    return (i for i in x).gi_frame",
    "TABLE = {" + ", ".join(f"{i}: {i}" for i in range(400)) + "}",
    "def f(x):\n    return torch.func.grad(lambda t: t.sum())(x)",
    "def f(x):\n    with torch.enable_grad():\n        return x",
    "!pip install scipy",
])
def test_cheats_are_flagged(source):
    setup = SETUP + ["import torch\nimport torch.nn.functional as F"]
    assert flags(source, setup, ("convolution", "autograd", "torch"))
