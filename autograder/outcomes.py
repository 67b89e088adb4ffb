"""Read what the box recorded, trusting none of it until it checks out.

The box's zygote writes `out/<name>.json` per graded function (and `.npy` arrays beside it) and
`out/manifest.json`: each file's SHA-256 under an HMAC whose key only the zygote and this process
hold. A file that is missing from the manifest, altered, a link, too large or malformed is
"unreadable", which earns nothing for that function and is flagged; the rest of the submission is
graded as usual. Arrays are loaded with `allow_pickle=False` and must be plain numbers; the whole
channel has a budget (bytes, number of arrays, JSON size and nesting) so decoding one submission's
outcomes costs a bounded amount of work.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.spec import Outcome

MAX_JSON_BYTES = 8 << 20     # one function's record
MAX_ARRAY_BYTES = 256 << 20  # all the arrays of one function
MAX_ARRAYS = 4096            # arrays of one function
MAX_DEPTH = 24               # nesting of one value


class Unreadable(ValueError):
    """A recorded file that is missing, not a plain file, too large, altered or malformed."""


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


@dataclass
class Recorded:
    """What the box recorded for one graded function."""

    outcomes: list[Outcome] = field(default_factory=list)
    complete: bool = False          # every case was reached
    missing: bool = False           # the student's cells define no such function
    status: str = ""                # how the child ended: done, timeout, budget, skipped
    cpu_s: float = 0.0              # CPU seconds of the child's whole process tree
    notes: list[str] = field(default_factory=list)     # errors of the student's cells in that child
    records: list[dict] = field(default_factory=list)  # what the box's guard refused or noted
    returned: list[str] = field(default_factory=list)  # classes of the values the function returned
    problem: str | None = None      # why the channel was cut (budget, malformed)


class Manifest:
    """The digests of the files the zygote wrote, checked against the MAC."""

    def __init__(self, folder: Path, key: bytes):
        self.folder = folder
        try:
            record = json.loads(read_plain_file(folder / "manifest.json", MAX_JSON_BYTES))
            files, mac = record["files"], record["mac"]
            body = json.dumps(files, sort_keys=True).encode()
        except (Unreadable, ValueError, KeyError, TypeError, RecursionError) as exc:
            raise Unreadable(f"the box's record of its results is missing or malformed ({exc})") from None
        expected = hmac.new(key, body, hashlib.sha256).hexdigest()
        if not isinstance(mac, str) or not hmac.compare_digest(mac, expected):
            raise Unreadable("the box's record of its results was altered (its MAC does not match)")
        self.files: dict[str, str] = {str(k): str(v) for k, v in files.items()}

    def read(self, name: str, limit: int) -> bytes:
        if name not in self.files or "/" in name or name.startswith("."):
            raise Unreadable(f"{name}: not among the files the grader wrote")
        data = read_plain_file(self.folder / name, limit)
        if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), self.files[name]):
            raise Unreadable(f"{name}: altered after the grader wrote it")
        return data


class _Budget:
    def __init__(self):
        self.bytes, self.arrays = MAX_ARRAY_BYTES, MAX_ARRAYS

    def take(self, size: int) -> None:
        self.bytes -= size
        self.arrays -= 1
        if self.bytes < 0 or self.arrays < 0:
            raise Unreadable(f"more than {MAX_ARRAYS} arrays or {MAX_ARRAY_BYTES >> 20} MiB of results")


def _decode(node, manifest: Manifest, budget: _Budget, depth: int = 0):
    if depth > MAX_DEPTH or not isinstance(node, dict):
        raise Unreadable("malformed value")
    kind, v = node.get("t"), node.get("v")
    if kind == "tuple" and isinstance(v, list):
        return tuple(_decode(x, manifest, budget, depth + 1) for x in v)
    if kind == "bool" and isinstance(v, bool):
        return v
    if kind == "int" and isinstance(v, str) and len(v) < 40:
        return int(v)
    if kind == "float" and isinstance(v, str) and len(v) < 40:
        return float(v)
    if kind == "array" and isinstance(v, str) and v.endswith(".npy"):
        raw = manifest.read(v, budget.bytes)
        budget.take(len(raw))
        try:
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 -- any malformed file is unreadable
            raise Unreadable(f"{v}: {exc}") from None
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
            raise Unreadable(f"{v}: not a numeric array")
        return np.array(arr, dtype=np.int64 if arr.dtype.kind in "iub" else np.float64)
    raise Unreadable("malformed value")


def _outcome(entry, manifest: Manifest, budget: _Budget) -> Outcome:
    if not isinstance(entry, dict):
        raise Unreadable("malformed outcome")
    kind = entry.get("kind")
    if kind == "value":
        return Outcome("value", value=_decode(entry.get("value"), manifest, budget),
                       same_object=entry.get("same") is True)
    if kind == "mutated":
        return Outcome("mutated")
    if kind in ("raised", "forbidden"):
        err = entry.get("error")
        if (isinstance(err, list) and len(err) == 2 and isinstance(err[0], list) and err[0]
                and all(isinstance(n, str) for n in err[0]) and isinstance(err[1], str)):
            return Outcome(kind, error=(tuple(n[:100] for n in err[0][:30]), err[1][:500]))
    raise Unreadable("malformed outcome")


def load(manifest: Manifest, name: str) -> Recorded:
    """The outcomes recorded for `name`. Unreadable if the record is missing or malformed."""
    try:
        record = json.loads(manifest.read(f"{name}.json", MAX_JSON_BYTES))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise Unreadable(f"{name}.json: {exc}") from None
    if not isinstance(record, dict) or record.get("name") != name or not isinstance(record.get("cases"), list):
        raise Unreadable(f"{name}.json: malformed")
    budget = _Budget()
    found = Recorded(
        outcomes=[_outcome(entry, manifest, budget) for entry in record["cases"]],
        complete=record.get("complete") is True, missing=record.get("missing") is True,
        status=str(record.get("status", ""))[:20],
        cpu_s=float(record["cpu_s"]) if isinstance(record.get("cpu_s"), (int, float)) else 0.0,
        notes=[str(n)[:2000] for n in record.get("notes", [])[:50] if isinstance(n, str)],
        records=[r for r in record.get("records", [])[:200] if isinstance(r, dict)],
        returned=[str(n)[:100] for n in record.get("returned", [])[:20] if isinstance(n, str)],
        problem=str(record["problem"])[:300] if isinstance(record.get("problem"), str) else None)
    return found


def visible_cells(manifest: Manifest) -> list[dict]:
    """What the student's cells and the visible tests did in the visible child (for feedback)."""
    try:
        record = json.loads(manifest.read("_visible.json", MAX_JSON_BYTES))
        cells = record.get("cells", []) if isinstance(record, dict) else []
    except (Unreadable, ValueError, RecursionError, AttributeError):
        return []
    return [c for c in cells[:500] if isinstance(c, dict)]


def disguised_types(returned: list[str]) -> list[str]:
    """Classes among a function's results that are not numbers, arrays, tensors or tuples (the box
    records only those; a named tuple or other tuple subclass is a tuple)."""
    return sorted({n[:80] for n in returned})
