"""Read what the box recorded, trusting none of it (the student's code could have written it).

Files are opened without following links and with a size cap; JSON is checked field by field;
arrays are loaded with `allow_pickle=False` and must be numeric. Anything else is "unreadable",
which earns nothing.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import numpy as np

from autograder.spec import Outcome

MAX_JSON_BYTES = 8 << 20
MAX_ARRAY_BYTES = 256 << 20


class Unreadable(ValueError):
    """A recorded file that is missing, not a plain file, too large or malformed."""


def read_plain_file(path: Path, limit: int) -> bytes:
    """Bytes of a regular file, refusing symlinks (they could point at the instructor's files)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise Unreadable(f"{path.name}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"{path.name}: not a plain file")
        if info.st_size > limit:
            raise Unreadable(f"{path.name}: larger than {limit} bytes")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit + 1)[:limit]
    finally:
        os.close(fd)


def _decode(node, folder: Path):
    if not isinstance(node, dict):
        raise Unreadable("malformed value")
    kind, v = node.get("t"), node.get("v")
    if kind == "tuple" and isinstance(v, list):
        return tuple(_decode(x, folder) for x in v)
    if kind == "bool" and isinstance(v, bool):
        return v
    if kind == "int" and isinstance(v, str) and len(v) < 40:
        return int(v)
    if kind == "float" and isinstance(v, str) and len(v) < 40:
        return float(v)
    if kind == "array" and isinstance(v, str) and "/" not in v and v.endswith(".npy"):
        raw = read_plain_file(folder / v, MAX_ARRAY_BYTES)
        try:
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 -- any malformed file is unreadable
            raise Unreadable(f"{v}: {exc}") from None
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
            raise Unreadable(f"{v}: not a numeric array")
        return np.array(arr, dtype=np.int64 if arr.dtype.kind in "iub" else np.float64)
    raise Unreadable("malformed value")


def _outcome(entry) -> Outcome:
    if not isinstance(entry, dict):
        raise Unreadable("malformed outcome")
    kind = entry.get("kind")
    if kind == "mutated":
        return Outcome("mutated")
    if kind == "raised":
        err = entry.get("error")
        if (isinstance(err, list) and len(err) == 2 and isinstance(err[0], list) and err[0]
                and all(isinstance(n, str) for n in err[0]) and isinstance(err[1], str)):
            return Outcome("raised", error=(tuple(n[:100] for n in err[0][:30]), err[1][:500]))
    raise Unreadable("malformed outcome")


HONEST_MODULES = ("builtins", "numpy", "torch")


def disguised_types(folder: Path, name: str) -> list[str]:
    """Classes of the function's own results that are not numbers, arrays, tensors or tuples."""
    try:
        record = json.loads(read_plain_file(folder / f"{name}.json", MAX_JSON_BYTES))
        names = record.get("returned", []) if isinstance(record, dict) else []
    except (Unreadable, ValueError, RecursionError):
        return []
    return sorted({n[:80] for n in names if isinstance(n, str) and n.split(".")[0] not in HONEST_MODULES})


def load(folder: Path, name: str) -> tuple[list[Outcome], bool]:
    """The outcomes recorded for `name`, and whether every case was reached. Unreadable if none."""
    try:
        record = json.loads(read_plain_file(folder / f"{name}.json", MAX_JSON_BYTES))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise Unreadable(f"{name}.json: {exc}") from None
    if not isinstance(record, dict) or record.get("name") != name or not isinstance(record.get("cases"), list):
        raise Unreadable(f"{name}.json: malformed")
    if record.get("missing") is True:
        raise Unreadable(f"no function named {name} was defined")
    outcomes = []
    for entry in record["cases"]:
        if isinstance(entry, dict) and entry.get("kind") == "value":
            outcomes.append(Outcome("value", value=_decode(entry.get("value"), folder)))
        else:
            outcomes.append(_outcome(entry))
    return outcomes, record.get("complete") is True
