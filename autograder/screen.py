"""Read a student's solution source before running it: what it may not use.

Two verdicts, both from the AST (so comments and docstrings never trigger them):

- `suspicious(...)`: machinery with no place in an exercise (introspection, import tricks, files,
  processes, monkeypatching a module or the checking helpers, objects that pretend to be arrays).
  The whole submission is zeroed and flagged for a human.
- `library_ops(...)`: a library's convolution or pooling (`np.convolve`, `F.conv2d`, ...) where
  the exercise is to write one. That function earns nothing, and the submission is flagged.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap

# Modules a solution cell may import on its own (the chapter's setup imports are allowed too).
ALLOWED_MODULES = frozenset({"numpy", "math", "itertools", "functools", "collections", "typing",
                             "dataclasses", "numbers", "__future__", "cmath", "statistics"})

SUSPICIOUS_NAMES = frozenset({
    "__import__", "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "open", "breakpoint", "input", "exit", "quit", "help", "memoryview",
    "get_ipython", "display", "__builtins__", "__builtin__", "builtins", "__loader__", "__spec__",
    "__file__", "sys", "os", "inspect", "gc", "ctypes", "importlib", "subprocess", "socket", "signal",
    "pickle", "marshal", "shutil", "pathlib", "io", "threading", "multiprocessing", "atexit",
    "IPython", "ipykernel", "solutions", "autograder", "cnnbook", "faulthandler", "resource",
    "traceback", "warnings", "unittest", "pytest", "nbformat", "types", "weakref", "codecs",
    "attrgetter", "methodcaller", "operator",
})
# Attribute names that are ordinary methods elsewhere (`model.eval()`, `torch.compile`, `Image.open`).
ORDINARY_ATTRIBUTES = frozenset({"eval", "compile", "open", "input", "help", "exit", "quit", "display",
                                 "io", "types", "signal", "memoryview", "warnings", "traceback"})
# Dunder attributes and methods a solution may use; every other one is introspection or a
# disguise (`__eq__` that says yes to anything, `__array__`, `__getattr__`, `__class__`, ...).
ALLOWED_DUNDERS = frozenset({"__init__", "__repr__", "__str__", "__name__", "__doc__"})
# A library's own convolution or pooling, by the attribute or imported name it is reached by.
LIBRARY_OPS = frozenset({
    "convolve", "correlate", "convolve2d", "correlate2d", "fftconvolve", "oaconvolve",
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "conv2d_input", "conv2d_weight", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "lp_pool1d", "lp_pool2d", "max_pool2d_with_indices", "max_unpool2d", "Conv1d", "Conv2d",
    "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "LPPool2d", "convolution", "polymul", "polynomial",
    "Polynomial",
})
# On a module (`np.`, `torch.`, `F.`, ...), any routine whose name says convolution or pooling.
LIBRARY_PATTERN = re.compile(r"conv|correl|pool", re.I)
# Strings that name a file of the course or a path into it: an exercise never needs them. (Error
# messages may say anything else: "conv2d expects 4D input" is fine, "convolve" alone is not.)
SUSPICIOUS_PATH = re.compile(r"(^|/)(solutions|autograder|specs|work|tmp|proc|etc|sandbox|out|root|home)(/|$)"
                             r"|\.(py|pyc|npy|npz|json|ipynb|db)\b|\.\./")
# Bases a graded object may not subclass: they would smuggle a fake into the outcomes.
FAKE_BASES = frozenset({"ndarray", "Tensor", "float", "int", "tuple", "list", "dict", "generic", "number"})


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _import_top(alias: ast.alias, node: ast.AST) -> str:
    if isinstance(node, ast.ImportFrom):
        return "." if node.level else (node.module or "").split(".")[0]
    return alias.name.split(".")[0]


def bound_by_setup(setup_sources: list[str]) -> dict[str, str]:
    """Names the chapter's setup cells bind, each with the statement that binds it."""
    names: dict[str, str] = {}
    for source in setup_sources:
        try:
            tree = ast.parse(textwrap.dedent(source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    names[bound] = ast.dump(ast.Import(names=[alias])) + ast.dump(node)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                names[node.name] = "def"
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            names[n.id] = "assign"
    return names


def setup_modules(setup_sources: list[str]) -> set[str]:
    """Top-level modules the setup cells import: a solution may import them too (torch in ch09)."""
    found: set[str] = set()
    for source in setup_sources:
        try:
            tree = ast.parse(textwrap.dedent(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update(_import_top(a, node) for a in node.names)
    return found - {"cnnbook", "autograder", "solutions", "."}


def module_aliases(tree: ast.AST, protected: dict[str, str]) -> set[str]:
    """Names that refer to a module or something reached from one (`m = np.testing`,
    `import numpy.testing as npt`): assigning into them is monkeypatching."""
    aliases = {n for n, how in protected.items() if how.startswith("Import(")}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            aliases.update(a.asname or a.name.split(".")[0] for a in node.names)
    for _ in range(3):  # aliases of aliases
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                value = node.value
                if isinstance(value, (ast.Name, ast.Attribute)) and _root_name(value) in aliases:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    aliases.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return aliases


def suspicious(source: str, setup_sources: list[str]) -> list[str]:
    """Why this solution source needs a human's eyes (empty: nothing found)."""
    tree = ast.parse(textwrap.dedent(source))
    protected = bound_by_setup(setup_sources)
    allowed = ALLOWED_MODULES | setup_modules(setup_sources)
    shadowable = protected.keys() | set(dir(builtins)) | module_aliases(tree, protected)
    found: list[str] = []

    def note(node: ast.AST, what: str) -> None:
        found.append(f"line {getattr(node, 'lineno', '?')}: {what}")

    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    top_level = set(tree.body)  # at module level, no attribute of anything may be assigned
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value.strip()
            if text in LIBRARY_OPS or text in SUSPICIOUS_NAMES or SUSPICIOUS_PATH.search(text):
                note(node, f"a string names {text[:40]!r}")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                top = _import_top(alias, node)
                if top not in allowed:
                    note(node, f"imports {top or alias.name!r}, which an exercise has no use for")
                if alias.name == "*":
                    note(node, "uses `import *`")
        elif isinstance(node, ast.Name) and node.id in SUSPICIOUS_NAMES:
            note(node, f"uses {node.id!r}")
        elif isinstance(node, ast.Attribute):
            if node.attr in SUSPICIOUS_NAMES - ORDINARY_ATTRIBUTES or (
                    node.attr.startswith("__") and node.attr not in ALLOWED_DUNDERS):
                note(node, f"uses the attribute {node.attr!r}")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            note(node, "changes variables outside its function (`global`/`nonlocal`)")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name.startswith("__") and node.name not in ALLOWED_DUNDERS:
                note(node, f"defines the special method {node.name!r}")
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                base_name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if base_name in FAKE_BASES:
                    note(node, f"class {node.name} subclasses {base_name}")
            if node.keywords:
                note(node, f"class {node.name} has a metaclass or class keywords")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value \
                and id(node) not in docstrings:  # a docstring is never run: it may name `__init__`
            note(node, "a string names a special (dunder) attribute")
        # Assignments and deletions: never into a module, a helper or a builtin.
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                if isinstance(t, (ast.Attribute, ast.Subscript)):
                    root = _root_name(t)
                    if root in shadowable or root is None or node in top_level:
                        note(node, f"assigns into {root or 'an expression'} (monkeypatching)")
    for node in tree.body:  # top level: rebinding what the setup or Python itself provides
        bound: list[tuple[str, str]] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound = [(node.name, "def")]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With)):
            targets = (node.targets if isinstance(node, ast.Assign) else
                       [node.target] if not isinstance(node, ast.With) else
                       [i.optional_vars for i in node.items if i.optional_vars is not None])
            bound = [(n.id, "assign") for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                bound.append((name, ast.dump(ast.Import(names=[alias])) + ast.dump(node)))
        for name, how in bound:
            if name in protected and protected[name] != how and not _same_import(protected[name], how):
                note(node, f"redefines {name!r}, which the chapter's setup provides")
            elif name in dir(builtins) and name not in protected:
                note(node, f"redefines the builtin {name!r}")
    return found


def _same_import(setup_how: str, how: str) -> bool:
    # `import numpy as np` again in a solution cell is harmless: the same alias of the same module.
    return setup_how.split("Import(names=[alias(")[1:2] == how.split("Import(names=[alias(")[1:2] != []


def library_ops(source: str, setup_sources: list[str] = ()) -> list[str]:
    """Library convolution/pooling routines this source reaches by attribute or import."""
    tree = ast.parse(textwrap.dedent(source))
    modules = {n for n, how in bound_by_setup(list(setup_sources)).items() if how.startswith("Import(")}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules.update(a.asname or a.name.split(".")[0] for a in node.names)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (node.attr in LIBRARY_OPS or (
                _root_name(node) in modules and LIBRARY_PATTERN.search(node.attr))):
            found.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            found.update(a.name for a in node.names if a.name in LIBRARY_OPS or LIBRARY_PATTERN.search(a.name))
    return sorted(found)
