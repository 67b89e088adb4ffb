"""Read a student's cell before it runs and say what a human may want to look at. Flags only:
nothing here changes a score (the box enforces what is forbidden, `guard.py`), so the screen can
afford to point at things without fear of punishing an honest student, and stays quiet about
style (names, prints, helper classes and dataclasses, named tuples, standard-library imports,
`global`/`nonlocal`, `%timeit`).

What it points at, from the AST of the cell (IPython syntax transformed first; comments and
docstrings never count):
- machinery an exercise has no use for: introspection (`sys`, `inspect`, frames, `gc`, `__globals__`,
  `__subclasses__`, ...), dynamic code (`eval`, `exec`, `compile`, `__import__`, pickle and marshal,
  `np.load(..., allow_pickle=True)`), processes, files and paths, the course's own packages;
- monkeypatching: assigning into a module, the chapter's checking helpers or a builtin;
- objects that pretend to be arrays (`__eq__`, `__array__`, `__torch_function__`, ... or a subclass
  of ndarray, Tensor or a number);
- a library routine of a family the exercise forbids (`np.convolve`, `F.conv2d`, `torch.func`, ...);
- large literals (a table of answers computed at home?).
"""

from __future__ import annotations

import ast
import re
import textwrap

# Modules an exercise never needs: importing one is worth a look.
MACHINERY_MODULES = frozenset({
    "sys", "os", "gc", "inspect", "ctypes", "cffi", "importlib", "pickle", "marshal", "dill", "cloudpickle",
    "subprocess", "socket", "builtins", "shutil", "pathlib", "threading", "multiprocessing", "signal",
    "atexit", "types", "weakref", "faulthandler", "resource", "code", "codeop", "runpy", "pty", "mmap",
    "solutions", "autograder", "IPython", "ipykernel", "nbformat", "traceback", "unittest", "pytest",
})
MACHINERY_NAMES = frozenset({
    "__import__", "eval", "exec", "compile", "globals", "locals", "vars", "breakpoint", "__builtins__",
    "__builtin__", "__loader__", "__spec__", "setattr", "delattr", "open", "memoryview",
})
MACHINERY_ATTRIBUTES = frozenset({
    "__globals__", "__code__", "__closure__", "__subclasses__", "__bases__", "__mro__", "__dict__",
    "__class__", "__builtins__", "__import__", "__getattribute__", "f_back", "f_locals", "f_globals",
    "f_code", "gi_frame", "cr_frame", "ag_frame", "tb_frame", "tb_next", "_getframe", "currentframe",
    "get_referrers", "get_referents", "get_objects", "settrace", "setprofile", "addaudithook", "audit",
    "fromfile", "loadtxt", "genfromtxt", "memmap", "frombuffer", "system", "getoutput",
})
HARMLESS_MAGICS = frozenset({"timeit", "time", "matplotlib", "precision", "config", "load_ext", "autoreload"})
# Dunders that make an object pass for an array or a number, or lie about its attributes.
DISGUISE_DUNDERS = frozenset({
    "__eq__", "__ne__", "__array__", "__array_function__", "__array_ufunc__", "__array_interface__",
    "__array_priority__", "__torch_function__", "__torch_dispatch__", "__getattr__", "__getattribute__",
    "__instancecheck__", "__subclasscheck__", "__float__", "__int__", "__index__", "__bool__", "__class__",
    "__reduce__", "__reduce_ex__", "__setstate__", "__del__", "__init_subclass__", "__set_name__",
})
FAKE_BASES = frozenset({"ndarray", "Tensor", "float", "int", "generic", "number", "floating", "integer"})
# A family's routines, by the attribute or imported name that reaches them (never a student's own def).
FAMILY_NAMES = {
    "convolution": frozenset({
        "convolve", "correlate", "correlate2", "fftconvolve", "oaconvolve", "convolve2d", "correlate2d",
        "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "Conv1d", "Conv2d", "Conv3d",
        "ConvTranspose2d", "convolution", "_convolution", "_convolution_mode", "conv_tbc", "polymul",
        "mkldnn_convolution", "_conv_depthwise2d", "ndimage", "signal"}),
    "convolution_backward": frozenset({"conv2d_input", "conv2d_weight", "convolution_backward"}),
    "autograd": frozenset({"enable_grad", "set_grad_enabled", "func", "vjp", "jvp", "jacrev", "jacfwd",
                           "jacobian", "hessian", "grad", "_functorch"}),
    "pooling": frozenset({"max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "lp_pool2d", "MaxPool2d",
                          "AvgPool2d", "LPPool2d", "max_pool2d_with_indices", "adaptive_max_pool2d",
                          "adaptive_avg_pool2d", "block_reduce", "maximum_filter", "uniform_filter"}),
    "digits": frozenset({"load_digits", "load_small_digits", "mnist_data", "load_mnist_idx", "fetch_mnist"}),
}
FAMILY_MODULES = {"torch": "torch", "scipy": "scipy", "sklearn": "sklearn", "skimage": "skimage",
                  "reference": "solutions"}
SUSPICIOUS_PATH = re.compile(r"(^|/)(solutions|autograder|specs|work|proc|sandbox|root|home|dev/shm)(/|$)"
                             r"|\.(npy|npz|pkl|pickle|json|ipynb|db)\b|\.\./")
LARGE_STRING = 10_000      # characters (bytes: a tenth of it)
LARGE_DISPLAY = 300        # items of a list, tuple, set or dict written out


def transformed(source: str) -> str:
    """A cell's source as Python (IPython's `%magic` and `!shell` lines turned into calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 -- the plain source is parsed (and its error reported) instead
        return source


def _imported(alias: ast.alias, node: ast.AST) -> tuple[str, str]:
    """(name bound, dotted module or object it binds)."""
    if isinstance(node, ast.ImportFrom):
        base = ("." * node.level) + (node.module or "")
        return alias.asname or alias.name, f"{base}.{alias.name}"
    return alias.asname or alias.name.split(".")[0], alias.name if alias.asname else alias.name.split(".")[0]


def setup_bindings(setup_sources: list[str]) -> dict[str, str]:
    """Names the chapter's setup binds: imports (-> what they bind) and definitions ('def')."""
    names: dict[str, str] = {}
    for source in setup_sources:
        try:
            tree = ast.parse(textwrap.dedent(source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    name, target = _imported(alias, node)
                    names[name] = target
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                names[node.name] = "def"
    return names


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def flags(source: str, setup_sources: list[str], families: tuple[str, ...] = ()) -> list[str]:
    """What in this cell a human may want to look at ('line N: ...'); [] for ordinary code. A
    SyntaxError propagates (the caller reports it)."""
    tree = ast.parse(transformed(textwrap.dedent(source)))
    setup = setup_bindings(setup_sources)
    modules = {n for n, t in setup.items() if t != "def"}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules.update(_imported(a, node)[0] for a in node.names)
    helpers = {n for n, t in setup.items() if t == "def" or n.startswith("expect_")}
    family_names = set().union(*(FAMILY_NAMES.get(f, ()) for f in families)) if families else set()
    family_modules = {FAMILY_MODULES[f] for f in families if f in FAMILY_MODULES}
    setup_modules = {t.split(".")[0] for t in setup.values() if t != "def"}
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    found: list[str] = []

    def note(node: ast.AST, what: str) -> None:
        item = f"line {getattr(node, 'lineno', '?')}: {what}"
        if item not in found:
            found.append(item)

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                name, target = _imported(alias, node)
                top = target.lstrip(".").split(".")[0]
                if top in MACHINERY_MODULES:
                    note(node, f"imports {target.lstrip('.')}")
                if top in family_modules and top not in setup_modules:
                    note(node, f"imports {target.lstrip('.')}, which this exercise is to do without")
                if alias.name in family_names and isinstance(node, ast.ImportFrom):
                    note(node, f"imports {target}, a library routine for what the exercise asks you to write")
                if name in setup and setup[name] != target and setup[name] != "def":
                    note(node, f"rebinds {name!r} (the chapter's setup binds it to {setup[name]})")
        elif isinstance(node, ast.Name) and node.id in MACHINERY_NAMES and isinstance(node.ctx, ast.Load):
            note(node, f"uses {node.id}")
        elif isinstance(node, ast.Attribute):
            root = _root(node)
            if node.attr in MACHINERY_ATTRIBUTES:
                note(node, f"uses .{node.attr}")
            if node.attr in family_names and root in modules:
                note(node, f"calls {ast.unparse(node)}, a library routine for what the exercise asks you to write")
            if root in family_modules and root not in setup_modules:
                note(node, f"uses {root}, which this exercise is to do without")
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("run_line_magic", "run_cell_magic") \
                    and not harmless_magic_call(node):
                note(node, "runs an IPython magic other than %timeit and its kin")
            if isinstance(node.func, ast.Name) and node.func.id == "type" and len(node.args) == 3:
                note(node, "creates a class at run time with type(name, bases, namespace)")
            if _root(node.func) in modules and any(k.arg == "allow_pickle" and _truthy(k.value) for k in node.keywords):
                note(node, "loads a pickle (allow_pickle=True): that runs code hidden in data")
        elif isinstance(node, ast.Constant) and id(node) not in docstrings:
            if isinstance(node.value, bytes) and len(node.value) > LARGE_STRING // 10:
                note(node, f"a bytes literal of {len(node.value)} bytes")
            elif isinstance(node.value, str):
                if len(node.value) > LARGE_STRING:
                    note(node, f"a string literal of {len(node.value)} characters")
                elif SUSPICIOUS_PATH.search(node.value):
                    note(node, f"a string names a path or file: {node.value[:60]!r}")
                elif node.value in DISGUISE_DUNDERS or node.value in MACHINERY_ATTRIBUTES:
                    note(node, f"a string names {node.value!r}")
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
            size = len(node.keys) if isinstance(node, ast.Dict) else len(node.elts)
            text = sum(len(n.value) for n in ast.walk(node) if isinstance(n, ast.Constant)
                       and isinstance(n.value, (str, bytes)))
            if size > LARGE_DISPLAY or text > LARGE_STRING // 2:
                note(node, f"a literal with {size} items and {text} characters of text written out "
                           "(a table of answers?)")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in DISGUISE_DUNDERS:
            note(node, f"defines {node.name}, which lets an object pass for an array or a number")
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                base_name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if base_name in FAKE_BASES:
                    note(node, f"class {node.name} subclasses {base_name}")
            if any(k.arg == "metaclass" for k in node.keywords):
                note(node, f"class {node.name} has a metaclass")
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                if isinstance(t, (ast.Attribute, ast.Subscript)) and _root(t) in modules | helpers:
                    note(node, f"assigns into {_root(t)} (monkeypatching)")
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign)) and node in tree.body:
            bound = [node.name] if not isinstance(node, ast.Assign) else \
                [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            for name in bound:
                if name in helpers:
                    note(node, f"redefines {name!r}, one of the chapter's checking helpers")
    return found


def _truthy(node: ast.AST) -> bool:
    return not (isinstance(node, ast.Constant) and not node.value)


def harmless_magic_call(node: ast.Call) -> bool:
    """`get_ipython().run_line_magic('timeit', ...)`: what `%timeit` becomes."""
    return _root(node.func) == "get_ipython" and bool(node.args) and isinstance(node.args[0], ast.Constant) \
        and node.args[0].value in HARMLESS_MAGICS
