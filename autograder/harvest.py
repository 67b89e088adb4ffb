"""Record what a student's function does on its spec's cases, as plain files (inside the box).

Copied into the box next to `spec.py` and `specs/`. Writes `out/<name>.json`, listing one outcome
per case, and `out/<name>_<case>_<k>.npy` for the arrays in it. The trusted side reads these with
`outcomes.load` (JSON and `allow_pickle=False` only), never by unpickling or importing anything.
Rewritten after every case, so a function that hangs on case 7 still leaves cases 0-6.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os

import numpy as np

from autograder.spec import run_case


def _encode(value, stem: str, counter: list) -> dict:
    if isinstance(value, tuple):
        return {"t": "tuple", "v": [_encode(v, stem, counter) for v in value]}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    path = f"{stem}_{len(counter)}.npy"
    counter.append(path)
    np.save(path, np.asarray(value), allow_pickle=False)
    return {"t": "array", "v": os.path.basename(path)}


def _type_names(value) -> list[str]:
    """`module.Class` of a result and of the items of a tuple/list result (a disguise shows here)."""
    items = list(value)[:50] if isinstance(value, (tuple, list)) else []
    return [f"{type(v).__module__}.{type(v).__qualname__}" for v in [value, *items]]


def harvest(module: str, name: str, fn, out_dir: str = "out") -> None:
    os.makedirs(out_dir, exist_ok=True)
    returned: set[str] = set()
    record = {"name": name, "missing": fn is None, "cases": [], "returned": []}
    target = os.path.join(out_dir, f"{name}.json")
    if fn is not None:
        spec = next(s for s in importlib.import_module(module).SPECS if s.name == name)
        called = fn
        if inspect.isfunction(fn):
            @functools.wraps(fn)
            def called(*args, **kwargs):
                result = fn(*args, **kwargs)
                returned.update(_type_names(result))
                return result
        for i, case in enumerate(spec.cases()):
            outcome = run_case(called, spec, case)
            record["returned"] = sorted(returned)[:20]
            entry = {"kind": outcome.kind}
            if outcome.kind == "raised":
                entry["error"] = [list(outcome.error[0]), outcome.error[1]]
            elif outcome.kind == "value":
                entry["value"] = _encode(outcome.value, os.path.join(out_dir, f"{name}_{i}"), [])
            record["cases"].append(entry)
            with open(target, "w") as f:
                json.dump(record, f)
    with open(target, "w") as f:
        json.dump(dict(record, complete=True), f)
