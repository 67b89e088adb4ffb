"""The box's guards, route by route: a forbidden operation is unavailable however it is reached.

Each test runs a fresh Python process (an audit hook can never be removed, so none is installed in
the test process) that installs the guards as a hidden-test child does, seals itself, and then
tries every route it is given; each route must end in a refusal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from autograder.course import REPO

PRELUDE = """
import sys, numpy as np
from autograder import guard
from autograder.spec import FAMILIES
{imports}
guard.install([sys.prefix, sys.base_prefix])
places = guard.referrers(guard.numpy_convolution_targets() + guard.process_targets())
guard.forbid({families!r}, places, FAMILIES)
guard.block_processes(places)
guard.seal()

def attempt(label, fn):
    try:
        fn()
    except guard.ForbiddenOperation as exc:
        print("REFUSED", label)
    except BaseException as exc:  # the route failed some other way (still no result)
        print("FAILED", label, type(exc).__name__, str(exc)[:120].replace(chr(10), ' '))
    else:
        print("RAN", label)
"""


def run_routes(families: tuple[str, ...], routes: dict[str, str], imports: str = "") -> dict[str, str]:
    body = "".join(f"def route_{i}():\n{textwrap.indent(code, '    ')}\nattempt({label!r}, route_{i})\n"
                   for i, (label, code) in enumerate(routes.items()))
    script = PRELUDE.format(imports=imports, families=families) + body
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env,
                          cwd=str(REPO))
    assert done.returncode == 0, done.stderr[-3000:]
    found = {}
    for line in done.stdout.splitlines():
        verdict, _, rest = line.partition(" ")
        label = next((lab for lab in routes if rest.startswith(lab)), None)
        if label is not None:
            found[label] = verdict
    assert set(found) == set(routes), done.stdout + done.stderr[-2000:]
    return found


NUMPY_ROUTES = {
    "np.convolve": "np.convolve([1.0, 2.0, 3.0], [1.0, 1.0])",
    "np.correlate": "np.correlate([1.0, 2.0, 3.0], [1.0, 1.0])",
    "np.polymul": "np.polymul([1.0, 2.0], [1.0, 1.0])",
    "numpy.polynomial": "from numpy.polynomial import polynomial as P\nP.polymul([1.0, 2.0], [1.0, 1.0])",
    "np._core.multiarray.correlate2": "np._core.multiarray.correlate2(np.ones(3), np.ones(2), 0)",
    "np._core._multiarray_umath.correlate": "np._core._multiarray_umath.correlate(np.ones(3), np.ones(2), 0)",
    "getattr by a built name": "getattr(np, 'con' + 'volve')(np.ones(3), np.ones(2))",
    "pickle of np.convolve": "import pickle\npickle.loads(pickle.dumps(np.convolve))([1.0], [1.0])",
    "reload of numpy._core.multiarray": "import importlib\n"
                                        "importlib.reload(np._core.multiarray).correlate2(np.ones(3), np.ones(2), 0)",
    "a second load of the C module": "import sys, importlib\ndel sys.modules['numpy._core._multiarray_umath']\n"
                                     "importlib.import_module('numpy._core._multiarray_umath')"
                                     ".correlate2(np.ones(3), np.ones(2), 0)",
    "the C module copied elsewhere": "import shutil, importlib.util, tempfile\n"
                                     "path = shutil.copy(np._core._multiarray_umath.__file__, tempfile.mkdtemp())\n"
                                     "name = 'numpy._core._multiarray_umath'\n"
                                     "spec = importlib.util.spec_from_file_location(name, path)\n"
                                     "importlib.util.module_from_spec(spec).correlate2(np.ones(3), np.ones(2), 0)",
    "gc to find the original": "import gc\ngc.get_referrers(np.convolve)",
    "ctypes to the C API": "import ctypes\nctypes.pythonapi.Py_IsInitialized()",
    "cffi": "import cffi",
    "scipy.signal": "import scipy.signal\nscipy.signal.convolve([1.0, 2.0], [1.0])",
    "scipy.ndimage": "from scipy import ndimage\nndimage.correlate1d(np.ones(4), np.ones(2))",
    "a new Python": "import subprocess\nsubprocess.run([sys.executable, '-c', 'import numpy'])",
    "os.system": "import os\nos.system('true')",
    "os.execv": "import os\nos.execv(sys.executable, [sys.executable, '-c', 'pass'])",
    "_posixsubprocess": "import _posixsubprocess\n_posixsubprocess.fork_exec",
    "/proc/self/mem": "open('/proc/self/mem', 'rb')",
    "a link to /proc": "import os, tempfile\nlink = os.path.join(tempfile.mkdtemp(), 'm')\n"
                       "os.symlink('/proc/self/mem', link)\nopen(link, 'rb')",
    "another audit hook": "sys.addaudithook(lambda *a: None)",
    "tracing": "sys.settrace(lambda *a: None)",
    "the hook's frame": "try:\n    np.convolve([1.0], [1.0])\nexcept BaseException as exc:\n"
                        "    tb = exc.__traceback__\n"
                        "    while tb.tb_next is not None:\n        tb = tb.tb_next\n    tb.tb_frame.f_locals",
}


def test_numpy_convolution_is_refused_by_every_route():
    found = run_routes(("convolution",), NUMPY_ROUTES)
    ran = [label for label, verdict in found.items() if verdict == "RAN"]
    assert not ran, found
    assert found["np.convolve"] == found["np._core.multiarray.correlate2"] == "REFUSED"


def test_what_is_not_forbidden_still_works():
    found = run_routes(("convolution",), {
        "np.fft": "np.fft.irfft(np.fft.rfft(np.ones(8)) * 2)",
        "sliding_window_view": "np.lib.stride_tricks.sliding_window_view(np.arange(6.0), 3).sum(axis=1)",
        "einsum": "np.einsum('ij,jk->ik', np.ones((2, 3)), np.ones((3, 2)))",
        "math and itertools": "import math, itertools, collections, dataclasses\nmath.floor(2.5)",
        "a file of one's own": "import tempfile, os\nd = tempfile.mkdtemp()\n"
                               "open(os.path.join(d, 'a'), 'w').write('x')",
    })
    assert set(found.values()) == {"RAN"}, found


TORCH_ROUTES = {
    "F.conv2d": "F.conv2d(x, w)",
    "torch.conv2d": "torch.conv2d(x, w)",
    "torch._convolution_mode": "torch._convolution_mode(x, w, None, [1, 1], 'valid', [1, 1], 1)",
    "torch.ops.aten.convolution": "torch.ops.aten.convolution(x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)",
    "torch.ops.aten._convolution": "torch.ops.aten._convolution.default(x, w, None, [1, 1], [0, 0], [1, 1], False,"
                                   " [0, 0], 1, False, False, True, True)",
    "_slow_conv2d_forward": "torch.ops.aten._slow_conv2d_forward(x, w, [3, 3], None, [1, 1], [0, 0])",
    "mkldnn": "torch.ops.mkldnn._convolution_pointwise(x, w, None, [0, 0], [1, 1], [1, 1], 1, 'none', [], '')",
    "nn.Conv2d": "torch.nn.Conv2d(1, 1, 3)(x)",
    "conv_transpose2d": "F.conv_transpose2d(x, w)",
    "below autograd": "keys = torch._C.DispatchKeySet(torch._C.DispatchKey.AutogradCPU)\n"
                      "with torch._C._ExcludeDispatchKeyGuard(keys):"
                      "\n    F.conv2d(x, w)",
    "get_kernel at CPU": "k = torch.library.get_kernel(torch.ops.aten.convolution.default, 'CPU')\n"
                         "k.call_boxed(torch._C.DispatchKeySet(torch._C.DispatchKey.CPU), x, w, None, [1, 1], [0, 0],"
                         " [1, 1], False, [0, 0], 1)",
    "torch.jit.script": "f = torch.jit.script(lambda a, b: torch.conv2d(a, b))\nf(x, w)",
    "the finalizers of the overrides": "import weakref\nfor f in list(weakref.finalize._registry):\n    f()\n"
                                       "F.conv2d(x, w)",
    "pooling": "F.max_pool2d(x, 2)",
}
TORCH_SETUP = ("import torch\nimport torch.nn.functional as F\n"
               "x = torch.randn(1, 1, 5, 5)\nw = torch.randn(1, 1, 3, 3)\n")


def test_torch_convolution_is_refused_at_the_dispatcher_by_every_route():
    routes = dict(TORCH_ROUTES)
    pooling = routes.pop("pooling")
    found = run_routes(("convolution",), routes, TORCH_SETUP)
    ran = [label for label, verdict in found.items() if verdict == "RAN"]
    assert not ran, found
    assert found["F.conv2d"] == found["torch._convolution_mode"] == found["below autograd"] == "REFUSED"
    assert run_routes(("convolution",), {"pooling": pooling, "unfold": "F.unfold(x, 3)", "matmul": "x @ x"},
                      TORCH_SETUP) == {"pooling": "RAN", "unfold": "RAN", "matmul": "RAN"}


def test_torch_convolution_gradients_are_refused_but_the_forward_pass_works():
    found = run_routes(("convolution_backward",), {
        "forward": "F.conv2d(x, w)",
        "autograd through a convolution": "xr = x.clone().requires_grad_()\nF.conv2d(xr, w).sum().backward()",
        "torch.nn.grad": "torch.nn.grad.conv2d_input(x.shape, w, torch.ones(1, 1, 3, 3))",
        "convolution_backward": "torch.ops.aten.convolution_backward(torch.ones(1, 1, 3, 3), x, w, None, [1, 1],"
                                " [0, 0], [1, 1], False, [0, 0], 1, [True, True, False])",
    }, TORCH_SETUP)
    assert found["forward"] == "RAN"
    assert {v for k, v in found.items() if k != "forward"} <= {"REFUSED", "FAILED"} and \
        "REFUSED" in found["torch.nn.grad"], found


def test_torch_for_a_numpy_exercise_cannot_be_imported():
    found = run_routes(("torch", "scipy"), {"import torch": "import torch", "import scipy": "import scipy",
                                            "numpy": "np.ones(3).sum()"})
    assert found == {"import torch": "REFUSED", "import scipy": "REFUSED", "numpy": "RAN"}


def test_the_digit_datasets_cannot_be_read_while_training():
    found = run_routes(("digits",), {"load_digits": "from cnnbook.data import load_digits\nload_digits()",
                                     "sklearn": "from sklearn.datasets import load_digits\nload_digits()"})
    assert set(found.values()) == {"REFUSED"}, found


def test_a_sealed_guard_cannot_be_reconfigured():
    found = run_routes(("convolution",), {
        "unseal": "sys.audit('autograder.guard', 'keep', None)",
        "forget a module": "sys.audit('autograder.guard', 'refuse_modules', [])",
    })
    assert set(found.values()) == {"REFUSED"}, found


@pytest.mark.parametrize("family, route", [("convolution", "np.convolve([1.0], [1.0])")])
def test_a_refusal_cannot_be_swallowed_by_except_exception(family, route):
    found = run_routes((family,), {"swallowed": f"try:\n    {route}\nexcept Exception:\n    pass"})
    assert found == {"swallowed": "REFUSED"}
