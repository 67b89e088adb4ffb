"""Check the course on a GPU: `make gpu-check` on any machine with CUDA, nothing else to set up.

1. the device: name, memory, compute capability, torch and CUDA versions;
2. the book's PyTorch layers on the GPU against the same layers on the CPU in float64: the largest
   error of each (float32 and float64), and the time of a forward+backward pass on each device;
3. LeNet-5 trained for one epoch on the 4,000 training digits, on the GPU and on the CPU;
4. the CUDA-parametrised tests (`pytest -m gpu`);
5. chapters 9 and 10 executed as the book executes them (their torch code picks `cuda`).

It prints a table per step and exits 0 when everything ran and every error is within tolerance;
2 when there is no CUDA device (nothing was checked); 1 otherwise. `--device cpu` runs steps 2-3 on
the CPU against itself (what the project's own tests do on machines without a GPU).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from cnnbook.numeric import rel_error  # noqa: E402

# largest relative error (the book's measure) of a GPU result against the CPU float64 reference
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}


def describe_device(device: torch.device) -> list[tuple[str, str]]:
    rows = [("torch", torch.__version__), ("CUDA (torch built with)", str(torch.version.cuda))]
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        rows += [("device", props.name), ("memory", f"{props.total_memory / 2**30:.1f} GiB"),
                 ("compute capability", f"{props.major}.{props.minor}"),
                 ("cuDNN", str(torch.backends.cudnn.version()))]
    else:
        rows.append(("device", "cpu"))
    return rows


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_time(fn, device: torch.device, repeat: int) -> float:
    """Seconds of the fastest of `repeat` calls (after one warm-up call)."""
    fn()
    _sync(device)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def layer_cases(quick: bool) -> list[tuple[str, tuple, dict]]:
    """(name, (x shape, w shape), keyword arguments) of the layers to compare."""
    n = 4 if quick else 64
    cases = [("LeNet conv2 6->16 5x5", ((n, 6, 14, 14), (16, 6, 5, 5)), {}),
             ("CIFAR 3->32 3x3 p1", ((n, 3, 32, 32), (32, 3, 3, 3)), {"padding": 1}),
             ("strided 32->64 3x3 s2 p1", ((n, 32, 32, 32), (64, 32, 3, 3)), {"stride": 2, "padding": 1})]
    return cases[:1] if quick else cases


def _forward_backward(layer, x, w, b, kwargs):
    x, w, b = (t.detach().requires_grad_() for t in (x, w, b))
    y = layer(x, w, b, **kwargs)
    y.backward(torch.ones_like(y))
    return [y, x.grad, w.grad, b.grad]


def compare_layers(device: torch.device, quick: bool) -> tuple[list[list[str]], bool]:
    """Each of the book's layers on `device` against the CPU in float64: errors and timings."""
    from solutions.torch_layers import Conv2dFunction, conv2d_torch

    layers = {"conv2d_torch (unfold + matmul, autograd)": conv2d_torch,
              "Conv2dFunction (hand-written backward)": lambda x, w, b, **k: Conv2dFunction.apply(x, w, b, *_sp(k)),
              "torch F.conv2d (the library's kernel)": F.conv2d}
    rng = np.random.default_rng(0)
    rows, ok = [], True
    for case, (x_shape, w_shape), kwargs in layer_cases(quick):
        x64, w64 = torch.from_numpy(rng.normal(size=x_shape)), torch.from_numpy(rng.normal(size=w_shape))
        b64 = torch.from_numpy(rng.normal(size=w_shape[0]))
        reference = _forward_backward(F.conv2d, x64, w64, b64, kwargs)
        for name, layer in layers.items():
            errors = []
            for dtype in (torch.float32, torch.float64):
                args = [t.to(device=device, dtype=dtype) for t in (x64, w64, b64)]
                got = _forward_backward(layer, *args, kwargs)
                error = max(rel_error(g.double().cpu(), r) for g, r in zip(got, reference))
                ok &= error < TOLERANCE[dtype]
                errors.append(error)
            timed = {}
            for where, repeat in ((device, 3 if quick else 10), (torch.device("cpu"), 1 if quick else 3)):
                args = [t.to(device=where, dtype=torch.float32) for t in (x64, w64, b64)]
                timed[where.type] = best_time(partial(_forward_backward, layer, *args, kwargs), where, repeat)
            on_device, on_cpu = timed[device.type], timed["cpu"]
            rows.append([case, name, f"{errors[0]:.1e}", f"{errors[1]:.1e}", f"{on_device * 1e3:.2f}",
                         f"{on_cpu * 1e3:.2f}", f"{on_cpu / on_device:.1f}x"])
    return rows, ok


def _sp(kwargs: dict) -> tuple:
    return kwargs.get("stride", 1), kwargs.get("padding", 0)


def train_lenet(device: torch.device, quick: bool) -> list[list[str]]:
    """LeNet-5, one epoch on the training digits, on `device` and on the CPU: seconds and accuracy."""
    from cnnbook.data import load_digits, train_test_split
    from solutions.models import LeNet5
    from solutions.train import predict_torch, train_torch

    images, labels = load_digits()
    X_train, y_train, X_test, y_test = train_test_split(images, labels, test_fraction=0.2, seed=0)
    if quick:
        X_train, y_train = X_train[:256], y_train[:256]
    rows = []
    for where in dict.fromkeys([device, torch.device("cpu")]):
        torch.manual_seed(0)
        model = LeNet5()
        start = time.perf_counter()
        train_torch(model, X_train, y_train, epochs=1, device=where, progress=False)
        _sync(where)
        seconds = time.perf_counter() - start
        accuracy = float((predict_torch(model, X_test) == y_test).mean())
        rows.append([str(where), f"{len(X_train)}", f"{seconds:.2f}", f"{accuracy:.1%}"])
    return rows


def run_gpu_tests() -> tuple[list[list[str]], bool]:
    result = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"],
                            cwd=ROOT, capture_output=True, text=True)
    summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    return [["pytest -m gpu", summary]], result.returncode == 0


def run_chapters(ids: list[str]) -> tuple[list[list[str]], bool]:
    import nbformat
    from nbclient import NotebookClient

    rows, ok = [], True
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    env.pop("CNNBOOK_QUICK", None)
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        for cid in ids:
            nb = nbformat.read(ROOT / "chapters" / f"{cid}.ipynb", as_version=4)
            start = time.perf_counter()
            try:
                NotebookClient(nb, timeout=900, kernel_name="python3",
                               resources={"metadata": {"path": str(ROOT / "chapters")}}).execute()
                rows.append([cid, "ok", f"{time.perf_counter() - start:.1f}"])
            except Exception as exc:  # noqa: BLE001 -- reported in the table
                ok = False
                rows.append([cid, f"FAILED: {type(exc).__name__}: {str(exc)[-300:]}", ""])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return rows, ok


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu, to try the script without a GPU")
    parser.add_argument("--quick", action="store_true", help="small sizes (for the project's own tests)")
    parser.add_argument("--skip-tests", action="store_true", help="do not run `pytest -m gpu`")
    parser.add_argument("--skip-chapters", action="store_true", help="do not execute chapters 9 and 10")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"No CUDA device: torch {torch.__version__} (built with CUDA {torch.version.cuda}) sees none, "
              "so nothing was checked. Run `make gpu-check` on a Linux machine with an NVIDIA GPU and its "
              "driver (`nvidia-smi` lists it); `make setup` installs torch==2.13.0, which brings CUDA there.")
        return 2
    ok = True
    print(table(["what", "found"], describe_device(device)), end="\n\n")
    rows, good = compare_layers(device, args.quick)
    ok &= good
    print(f"Layers on {device} against the CPU in float64 (relative error; forward + backward, ms, float32):")
    print(table(["layer size", "layer", "err f32", "err f64", f"{device.type} ms", "cpu ms", "speed-up"], rows),
          end="\n\n")
    print("LeNet-5, one epoch:")
    print(table(["device", "digits", "seconds", "held-out accuracy"], train_lenet(device, args.quick)), end="\n\n")
    if not args.skip_tests:
        rows, good = run_gpu_tests()
        ok &= good
        print(table(["tests", "result"], rows), end="\n\n")
    if not args.skip_chapters:
        rows, good = run_chapters(["09_gpu_torch", "10_cnn"])
        ok &= good
        print(table(["chapter", "executed", "seconds"], rows), end="\n\n")
    print("gpu-check: all good" if ok else "gpu-check: PROBLEMS (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
