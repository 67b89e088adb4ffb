"""Inside the box: run the student's cells as their notebook does, and record what each graded
function does on its hidden cases.

The box's notebook (`assemble.py`) holds trusted cells only: `boot()`, the chapter's setup cells,
the names the chapter's own cells import from `solutions` (the box's copy), and `grade()`. The
student's cells travel as data (`plan.json`) and run only in child processes of this one, the
zygote, which never runs a line of student code:

    zygote ── visible child: the student's cells and the chapter's visible tests, in the
          │   notebook's order (what the student saw; it shapes the feedback, never the score)
          ├── hidden child of `f`: `f`'s guards (`guard.forbid`); the student's cells; `f` on its
          │   hidden cases, one outcome at a time through a pipe
          └── ... one hidden child per graded function, one after another

Between two children every process they left is killed and everything written to /tmp, /dev/shm
and the scratch folder is removed, so no child can hand anything to the next. A child knows only
its own function's seed (`secrets.json` is read and deleted before any child exists, and each child
empties what it inherited before student code runs); what it sends back passes a budget (bytes,
arrays, nesting); and the zygote writes the outcomes to `out/` under a MAC whose key no child holds,
so a child that rewrites another function's outcomes is caught outside. The zygote measures each
child's CPU time (its whole process tree) from the kernel's accounting.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import hmac
import importlib
import inspect
import io
import json
import os
import re
import resource
import select
import shutil
import signal
import struct
import sys
import time

import numpy as np

from autograder import guard
from autograder.spec import FAMILIES, Outcome, run_case

PLAN, SECRETS, INPUTS, OUT = "plan.json", "secrets.json", "inputs", "out"
MAX_CHILD_BYTES = 64 << 20     # everything one child may send back
MAX_FRAME_JSON = 1 << 20       # one message's JSON part
MAX_ARRAYS = 4096              # arrays one child may send back
MAX_DEPTH = 24                 # nesting of one encoded value
ARRAY_DTYPES = ("<f8", "<i8")  # what `to_plain` produces
STDOUT_TAIL = 4000

_ZYGOTE: dict = {}  # what boot() read; every child empties it before student code runs


class CellTimeout(BaseException):
    """A student cell (or the hidden cases of a function) ran past its time."""


# -- the wire format of values: JSON with arrays beside it ----------------------------------

def pack(value, arrays: list, depth: int = 0):
    """Plain data -> JSON-able node; arrays are appended to `arrays` and named by index."""
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    if isinstance(value, tuple):
        return {"t": "tuple", "v": [pack(v, arrays, depth + 1) for v in value]}
    if isinstance(value, list):
        return {"t": "list", "v": [pack(v, arrays, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[str(k), pack(v, arrays, depth + 1)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, str)):
        return {"t": type(value).__name__, "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    arrays.append(np.array(value, order="C"))  # (ascontiguousarray would make a 0-d array 1-d)
    return {"t": "array", "v": len(arrays) - 1}


def unpack(node, arrays: list, depth: int = 0):
    if depth > MAX_DEPTH or not isinstance(node, dict):
        raise ValueError("malformed value")
    kind, v = node.get("t"), node.get("v")
    if kind in ("tuple", "list") and isinstance(v, list):
        items = [unpack(x, arrays, depth + 1) for x in v]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and isinstance(v, list):
        return {str(k): unpack(x, arrays, depth + 1) for k, x in v}
    if kind in ("NoneType", "bool", "str") and (v is None or isinstance(v, (bool, str))):
        return v
    if kind == "int" and isinstance(v, str) and len(v) < 40:
        return int(v)
    if kind == "float" and isinstance(v, str) and len(v) < 40:
        return float(v)
    if kind == "array" and isinstance(v, int) and 0 <= v < len(arrays):
        return arrays[v]
    raise ValueError("malformed value")


def save_inputs(folder: str, name: str, cases: list) -> None:
    """The trusted grader's side of `Spec.outside_cases`: the cases' arguments (never `held_out`)."""
    arrays: list = []
    nodes = [{"args": pack(tuple(c.args), arrays), "kwargs": pack(dict(c.kwargs), arrays), "label": c.label}
             for c in cases]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{name}.json"), "w") as f:
        json.dump(nodes, f)
    np.savez(os.path.join(folder, f"{name}.npz"), **{f"a{i}": a for i, a in enumerate(arrays)})


def _load_inputs(folder: str, name: str) -> list:
    from autograder.spec import Case

    with open(os.path.join(folder, f"{name}.json")) as f:
        nodes = json.load(f)
    with np.load(os.path.join(folder, f"{name}.npz"), allow_pickle=False) as data:
        arrays = [data[f"a{i}"] for i in range(len(data.files))]
    return [Case(unpack(n["args"], arrays), unpack(n["kwargs"], arrays), n["label"]) for n in nodes]


# -- messages from a child to the zygote ----------------------------------------------------

def _message(header: dict, arrays: list) -> bytes:
    header = dict(header, arrays=[[a.dtype.str, list(a.shape)] for a in arrays])
    head = json.dumps(header).encode()
    blob = b"".join(a.tobytes() for a in arrays)
    return struct.pack(">II", len(head), len(blob)) + head + blob


class _Channel:
    """The zygote's end of one child's pipe: reads messages within the budget, or stops."""

    def __init__(self, fd: int):
        self.fd, self.buffer, self.total, self.arrays = fd, b"", 0, 0
        self.messages: list[tuple[dict, list]] = []
        self.problem: str | None = None

    def read(self, deadline: float, pid: int) -> str:
        """Until the child closes the pipe ('done'), the deadline passes ('timeout') or the budget
        is broken ('budget')."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            ready, _, _ = select.select([self.fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return "done"
            self.total += len(chunk)
            if self.total > MAX_CHILD_BYTES:
                self.problem = f"it sent back more than {MAX_CHILD_BYTES >> 20} MiB of results"
                return "budget"
            self.buffer += chunk
            if not self._parse():
                return "budget"

    def _parse(self) -> bool:
        while len(self.buffer) >= 8:
            head_len, blob_len = struct.unpack(">II", self.buffer[:8])
            if head_len > MAX_FRAME_JSON or blob_len > MAX_CHILD_BYTES:
                self.problem = "it sent back a malformed or oversized result"
                return False
            if len(self.buffer) < 8 + head_len + blob_len:
                return True
            head, blob = self.buffer[8:8 + head_len], self.buffer[8 + head_len:8 + head_len + blob_len]
            self.buffer = self.buffer[8 + head_len + blob_len:]
            try:
                header = json.loads(head)
                arrays = self._arrays(header.get("arrays"), blob)
            except (ValueError, TypeError, AttributeError, RecursionError) as exc:
                self.problem = f"it sent back a malformed result ({str(exc)[:80]})"
                return False
            self.messages.append((header, arrays))
        return True

    def _arrays(self, specs, blob: bytes) -> list:
        if not isinstance(specs, list):
            raise ValueError("no array list")
        self.arrays += len(specs)
        if self.arrays > MAX_ARRAYS:
            raise ValueError(f"more than {MAX_ARRAYS} arrays")
        arrays, offset = [], 0
        for dtype, shape in specs:
            if dtype not in ARRAY_DTYPES or not isinstance(shape, list) or len(shape) > 32 \
                    or not all(isinstance(n, int) and 0 <= n for n in shape):
                raise ValueError("not a plain numeric array")
            size = int(np.prod(shape, dtype=np.int64)) * 8
            if size < 0 or offset + size > len(blob):
                raise ValueError("array bytes missing")
            arrays.append(np.frombuffer(blob[offset:offset + size], dtype=np.dtype(dtype)).reshape(shape).copy())
            offset += size
        if offset != len(blob):
            raise ValueError("stray bytes")
        return arrays


# -- the zygote ---------------------------------------------------------------------------------

def _trusted_roots() -> list[str]:
    return sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix), "/usr/lib", "/usr/lib64"})


def boot() -> None:
    """The box's first cell: the audit hook; the plan; the secrets and the trusted grader's inputs,
    read and deleted before any student code exists."""
    guard.install(_trusted_roots())
    _log(f"boot at {time.time():.3f}")
    with open(PLAN) as f:
        plan = json.load(f)
    vault: dict = {}
    if os.path.exists(SECRETS):
        with open(SECRETS) as f:
            vault.update(json.load(f))
        os.unlink(SECRETS)
    inputs = {}
    for item in plan["functions"]:
        if item.get("outside"):
            inputs[item["name"]] = _load_inputs(INPUTS, item["name"])
    shutil.rmtree(INPUTS, ignore_errors=True)
    vault["inputs"] = inputs
    _ZYGOTE.update(plan=plan, vault=vault, start=time.monotonic())
    _ISOLATION["level"] = plan.get("isolation", "none")


def provide(names: list[str]) -> None:
    """Bind the names the chapter's own cells import from `solutions`, from the box's copy (other
    chapters' model answers), as the student's notebook has them after running those cells."""
    from IPython import get_ipython

    import solutions

    get_ipython().user_ns.update({name: getattr(solutions, name) for name in names})


def grade() -> None:
    """The box's last cell: the visible child, then one hidden child per graded function."""
    signal.setitimer(signal.ITIMER_REAL, 0)  # the cell runner's alarm: this cell keeps its own time
    from IPython import get_ipython

    shell = get_ipython()
    plan, vault = _ZYGOTE["plan"], _ZYGOTE["vault"]
    limits = plan["limits"]
    end = _ZYGOTE["start"] + float(limits["notebook_s"]) - 5
    _quiet_magics(shell)
    _warm_up()
    _adopt_orphans()
    modules = {item["name"]: importlib.import_module(item["module"]) for item in plan["functions"]}
    specs = {name: next(s for s in m.SPECS if s.name == name) for name, m in modules.items()}
    locations = guard.referrers(guard.numpy_convolution_targets() + guard.process_targets())
    baseline = _snapshot()
    writer = _Writer(vault, baseline)
    student = [c for c in plan["cells"] if c["role"] != "test"]
    cell_s = float(limits["cell_s"])

    def budget(n_cells: int) -> float:
        return min(time.monotonic() + cell_s * WALL_FACTOR * (n_cells + 1) + 10, end)

    _log(f"zygote ready {time.monotonic() - _ZYGOTE['start']:.2f} s after boot")
    global _TIMES
    _TIMES = {}
    status, channel, cpu = _fork(lambda fd: _visible_child(shell, plan["cells"], cell_s, locations, fd),
                                 budget(len(plan["cells"])), baseline)
    writer.visible(channel, status)
    _log(f"visible child: {status}, {cpu:.2f} s CPU, at {time.monotonic() - _ZYGOTE['start']:.2f} s")
    for item in plan["functions"]:
        name = item["name"]
        if time.monotonic() >= end - 1:
            writer.function(name, None, "skipped", 0.0)
            continue
        status, channel, cpu = _fork(
            lambda fd, name=name: _hidden_child(shell, name, specs[name], student, cell_s, locations, fd),
            budget(len(student)), baseline)
        writer.function(name, channel, status, cpu)
        _log(f"{name}: {status}, {cpu:.2f} s CPU, at {time.monotonic() - _ZYGOTE['start']:.2f} s")
    writer.finish()
    vault.clear()
    _log(f"grade done at {time.time():.3f}")
    # Everything is written: end the box now. An interpreter that loaded PyTorch takes a second or
    # two to tear itself down, for nothing (the cell runner has saved every earlier cell already).
    sys.stdout.flush()
    sys.__stderr__.flush()
    os._exit(0)


def _log(text: str) -> None:
    print(text, file=sys.__stderr__, flush=True)  # the box's log, for the instructor


def _adopt_orphans() -> None:
    """Become the subreaper of everything the children start: a process a child leaves behind is
    reaped here, and its CPU time counted for that child (the training exercise's limit)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _warm_up() -> None:
    """Pay PyTorch's first-use costs (autograd's and the kernels' set-up) once, here, rather than in
    every child: a child starts from this process's memory. Trusted code on made-up data."""
    if "torch" not in sys.modules:
        return
    import torch
    import torch.nn.functional as F

    for dtype in (torch.float64, torch.float32):
        x = torch.rand(2, 3, 6, 6, dtype=dtype, requires_grad=True)
        w = torch.rand(4, 3, 3, 3, dtype=dtype, requires_grad=True)
        cols = F.unfold(F.pad(x, (1, 1, 1, 1)), (3, 3))
        y = (w.reshape(4, -1) @ cols).reshape(2, 4, 6, 6) + F.conv2d(x, w, padding=1)
        total = F.fold(cols, (8, 8), (3, 3)).sum() + F.max_pool2d(torch.relu(y), 2).sum() + torch.tanh(y).sum()
        torch.autograd.grad(total, (x, w))


def _fork(body, deadline: float, baseline: set) -> tuple[str, _Channel, float]:
    """Run `body(fd)` in a child process; -> (how it ended, what it sent, CPU seconds of its tree)."""
    read_end, write_end = os.pipe()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(read_end)
            os.setpgid(0, 0)  # a group of its own: without a PID namespace, what the zygote kills
            body(write_end)
        except BaseException:  # noqa: BLE001 -- whatever happened, the zygote reads what was sent
            pass
        os._exit(0)
    t0 = time.monotonic()
    os.close(write_end)
    channel = _Channel(read_end)
    try:
        status = channel.read(deadline, pid)
    finally:
        os.close(read_end)
        t1 = time.monotonic()
        _kill_leftovers(pid)
    t2 = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    _wipe(baseline)
    _log(f"  child read {t1 - t0:.3f} kill {t2 - t1:.3f} wipe {time.monotonic() - t2:.3f}")
    return status, channel, cpu


def _isolated() -> bool:
    """Whether this process is in a box of its own (a PID namespace, private /tmp and /dev/shm),
    as the trusted grader says in the plan: only then may it signal and wipe everything it can."""
    return _ISOLATION.get("level") in ("namespaces", "userns")


_ISOLATION: dict = {}


def _kill_leftovers(pid: int) -> None:
    """Every process the child left behind. In the box's PID namespace kill(-1) reaches every other
    process of the box (the supervisor, PID 1, excepted). Without one (isolation 'none'), the child's
    group only."""
    if _isolated():
        for _ in range(3):
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
            _reap()
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _reap()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        if pid == 0:
            return


def _writable_roots() -> list[str]:
    """The box's scratch folder and private /tmp; /dev/shm only when it is the box's own."""
    roots = [os.getcwd(), os.environ.get("TMPDIR", "/tmp")]
    return roots + ["/dev/shm"] if _isolated() else roots


def _snapshot() -> set[str]:
    found = set()
    for root in _writable_roots():
        for folder, dirs, files in os.walk(root):
            found.add(folder)
            found.update(os.path.join(folder, n) for n in dirs + files)
    return found


def _wipe(baseline: set[str]) -> None:
    """Remove everything the last child created in the writable folders."""
    for root in _writable_roots():
        for folder, dirs, files in os.walk(root, topdown=True):
            for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                path = os.path.join(folder, name)
                if path not in baseline:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
            for name in [d for d in dirs if not os.path.islink(os.path.join(folder, d))]:
                path = os.path.join(folder, name)
                if path not in baseline:
                    with contextlib.suppress(OSError):
                        os.chmod(path, 0o700)
                    shutil.rmtree(path, ignore_errors=True)
            dirs[:] = [d for d in dirs if os.path.join(folder, d) in baseline]


class _Writer:
    """Outcomes into `out/`, each file's digest in `out/manifest.json` under an HMAC-SHA256."""

    def __init__(self, vault: dict, baseline: set):
        self.vault, self.baseline = vault, baseline
        self.records: dict[str, tuple[dict, list]] = {}
        self.digests: dict[str, str] = {}
        self.written: set[str] = set()

    def visible(self, channel: _Channel, status: str) -> None:
        cells = [h for h, _ in channel.messages if h.get("t") == "cell"][:500]
        self.records["_visible"] = ({"cells": cells, "status": status, "problem": channel.problem}, [])
        self._flush()

    def function(self, name: str, channel: _Channel | None, status: str, cpu: float) -> None:
        record = {"name": name, "missing": False, "cases": [], "complete": False, "status": status,
                  "cpu_s": round(cpu, 3), "notes": [], "records": [], "returned": [], "problem": None}
        files: list = []
        for header, arrays in channel.messages if channel else []:
            kind = header.get("t")
            if kind == "case":
                if header.get("i") != len(record["cases"]):
                    record["problem"] = "its results arrived out of order"
                    break
                entry = {k: header[k] for k in ("kind", "error", "same") if k in header}
                if "value" in header:
                    entry["value"] = self._files(name, len(record["cases"]), header["value"], arrays, files)
                record["cases"].append(entry)
            elif kind == "missing":
                record["missing"] = True
            elif kind == "note":
                record["notes"].append(str(header.get("text", ""))[:2000])
            elif kind == "records" and isinstance(header.get("items"), list):
                record["records"] = header["items"][:200]
            elif kind == "returned" and isinstance(header.get("items"), list):
                record["returned"] = [str(n)[:100] for n in header["items"][:20]]
            elif kind == "end":
                record["complete"] = True
        if channel is not None and channel.problem:
            record["problem"] = channel.problem
        record["notes"] = record["notes"][:50]
        self.records[name] = (record, files)
        self._flush()

    def _files(self, name: str, case: int, node, arrays: list, files: list, depth: int = 0):
        if depth > MAX_DEPTH or not isinstance(node, dict):
            raise ValueError("malformed value")
        if node.get("t") == "array":
            array = arrays[node["v"]]
            k = sum(1 for f, _ in files if f.startswith(f"{name}_{case}_"))
            files.append((f"{name}_{case}_{k}.npy", array))
            return {"t": "array", "v": files[-1][0]}
        if node.get("t") in ("tuple", "list"):
            return {"t": "tuple", "v": [self._files(name, case, x, arrays, files, depth + 1) for x in node["v"]]}
        return node

    def _flush(self, everything: bool = False) -> None:
        """Write the records not written yet (all of them with `everything`), then the manifest."""
        os.makedirs(OUT, exist_ok=True)
        for name, (record, files) in self.records.items():
            if name in self.written and not everything:
                continue
            for filename, array in files:
                buffer = io.BytesIO()
                np.save(buffer, array, allow_pickle=False)
                self.digests[filename] = _write(os.path.join(OUT, filename), buffer.getvalue())
            self.digests[f"{name}.json"] = _write(os.path.join(OUT, f"{name}.json"), json.dumps(record).encode())
            self.written.add(name)
        digests = self.digests
        self.baseline.update(os.path.join(os.getcwd(), OUT, f) for f in [*digests, "manifest.json"])
        body = json.dumps(digests, sort_keys=True)
        mac = hmac.new(bytes.fromhex(self.vault.get("key", "")), body.encode(), hashlib.sha256).hexdigest()
        _write(os.path.join(OUT, "manifest.json"), json.dumps({"files": digests, "mac": mac}).encode())

    def finish(self) -> None:
        self._flush(everything=True)  # once more, after the last child: repairs what a child overwrote


def _write(path: str, data: bytes) -> str:
    with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
        if os.path.islink(path) or os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.unlink(path)
    part = f"{path}.{os.getpid()}.part"
    with open(part, "wb") as f:
        f.write(data)
    os.replace(part, path)
    return hashlib.sha256(data).hexdigest()


# -- inside a child -----------------------------------------------------------------------------

def _scrub() -> None:
    """Forget what only the zygote may know: the key, the other functions' seeds and inputs."""
    vault = _ZYGOTE.get("vault")
    if isinstance(vault, dict):
        vault.clear()
    _ZYGOTE.clear()


class _Tail(io.TextIOBase):
    def __init__(self):
        self.text = ""

    def write(self, s) -> int:
        self.text = (self.text + str(s))[-STDOUT_TAIL:]
        return len(str(s))


WALL_FACTOR = 4  # a cell may wait (sleep, read) this many times its CPU allowance


def _alarm(seconds: float):
    """Stop the running cell (or the hidden cases) after `seconds` of this process's own CPU time,
    so that a busy neighbour on the grading machine costs the student nothing; a cell that only
    waits is stopped after `WALL_FACTOR` times as long on the clock."""
    def ring(signum, frame):
        raise CellTimeout(f"it ran longer than {seconds:g} s and was stopped")

    signal.signal(signal.SIGPROF, ring)
    signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    signal.setitimer(signal.ITIMER_REAL, seconds * WALL_FACTOR)


def _stop_alarm() -> None:
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)


def _run_cell(shell, cell: dict, cell_s: float, skip_forbidden: bool, number: int) -> dict:
    """Run one cell's top-level statements as Jupyter would (IPython syntax included). With
    `skip_forbidden`, a statement that the guards refuse is skipped and the rest still runs."""
    found = {"role": cell["role"], "id": cell["id"], "error": None, "skipped": [], "stdout": ""}
    try:
        code = shell.transform_cell(cell["source"])
        tree = ast.parse(code)
    except SyntaxError as exc:
        found["error"] = ["SyntaxError", f"{exc.msg} (line {exc.lineno})"]
        return found
    except Exception as exc:  # noqa: BLE001 -- IPython's transformers on odd input
        found["error"] = [type(exc).__name__, str(exc)[:500]]
        return found
    filename = shell.compile.cache(code, number)
    tail = _Tail()
    try:
        with contextlib.redirect_stdout(tail), contextlib.redirect_stderr(tail):
            _alarm(cell_s)
            for node in tree.body:
                try:
                    exec(shell.compile(ast.Module([node], type_ignores=[]), filename, "exec"), shell.user_ns)
                except guard.ForbiddenOperation as exc:
                    if not skip_forbidden:
                        raise
                    found["skipped"].append(f"line {node.lineno}: {str(exc)[:300]}")
    except BaseException as exc:  # noqa: BLE001 -- the cell stops here, as in Jupyter
        found["error"] = [type(exc).__name__, str(exc)[:1000]]
    finally:
        _stop_alarm()
    found["stdout"] = tail.text
    return found


def _visible_child(shell, cells: list, cell_s: float, locations: list, fd: int) -> None:
    _scrub()
    guard.block_processes(locations)
    locations.clear()  # it holds the originals it replaced: nothing may find them through this list
    write = os.write
    guard.seal()
    for number, cell in enumerate(cells):
        found = _run_cell(shell, cell, cell_s, skip_forbidden=False, number=number)
        found["ran"] = True
        write(fd, _message(dict(found, t="cell"), []))


def _hidden_child(shell, name: str, spec, cells: list, cell_s: float, locations: list, fd: int) -> None:
    vault = _ZYGOTE.get("vault", {})
    cases = vault.get("inputs", {}).get(name) if spec.outside_cases else None
    if cases is None:
        cases = spec.cases_from(int(vault.get("seeds", {}).get(name, 0)))
    _scrub()
    families = spec.families
    guard.forbid(families, locations, FAMILIES)
    guard.block_processes(locations)
    locations.clear()  # it holds the originals it replaced: nothing may find them through this list
    # Everything the loop below relies on is bound here, before student code can replace module
    # attributes; a replaced `run_case` or encoder could only misreport values, which are judged
    # outside against the reference anyway.
    audit, write, message, runner, plain_pack = sys.audit, os.write, _message, run_case, pack
    no_torch = grad_watch = stack = None
    if "torch" in sys.modules and ("torch" in families or "autograd" in families):
        no_torch, grad_watch = guard.torch_modes()
        stack = guard.mode_stack
    guard.seal()
    for number, cell in enumerate(cells):
        found = _run_cell(shell, cell, cell_s, skip_forbidden=True, number=number)
        for line in found["skipped"]:
            write(fd, message({"t": "note", "text": f"cell {cell['id']}, {line} (skipped)"}, []))
        if found["error"]:
            write(fd, message({"t": "note", "text": f"cell {cell['id']}: {found['error'][0]}: {found['error'][1]}",
                               "cell": cell["id"], "error": found["error"]}, []))
    fn = shell.user_ns.get(name)
    if fn is None:
        write(fd, message({"t": "missing"}, []))
        return
    if grad_watch is not None and "autograd" in families and isinstance(fn, type):
        _watch_autograd(fn, grad_watch, stack)
    returned: set[str] = set()
    called = _recording(fn, returned) if inspect.isfunction(fn) else fn
    _alarm(cell_s)
    try:
        for i, case in enumerate(cases):
            audit("autograder.guard", "case", i)
            mode = no_torch() if no_torch is not None and "torch" in families else None
            if mode is not None:
                mode.__enter__()
            try:
                outcome = runner(called, spec, case)
            finally:
                if mode is not None:
                    intact = stack() and stack()[-1] is mode
                    with contextlib.suppress(BaseException):
                        mode.__exit__(None, None, None)
                    if not intact:
                        outcome = Outcome("forbidden", error=(("ForbiddenOperation",),
                                                              "a way around the grader's PyTorch guard"))
            found: list = []
            audit("autograder.guard", "records", found)
            used = [r for r in found if r.get("case") == i and r.get("kind") == "family"]
            if used and outcome.kind != "forbidden":
                outcome = Outcome("forbidden", error=(("ForbiddenOperation",), used[0]["what"]))
            arrays: list = []
            header = {"t": "case", "i": i, "kind": outcome.kind, "same": outcome.same_object}
            if outcome.error is not None:
                header["error"] = [list(outcome.error[0]), outcome.error[1]]
            if outcome.kind == "value":
                header["value"] = plain_pack(outcome.value, arrays)
            write(fd, message(header, arrays))
    except CellTimeout as exc:
        write(fd, message({"t": "note", "text": f"the hidden cases stopped: {exc}"}, []))
        return
    finally:
        _stop_alarm()
        found = []
        audit("autograder.guard", "records", found)
        write(fd, message({"t": "records", "items": found[:200]}, []))
        write(fd, message({"t": "returned", "items": sorted(returned)[:20]}, []))
    write(fd, message({"t": "end"}, []))


def _recording(fn, returned: set):
    """`fn`, noting the classes of its results that are neither plain numbers, arrays, tensors nor
    tuples (named tuples and other tuple subclasses are tuples): a disguise shows here."""
    plain = (int, float, bool, np.ndarray, np.generic, list)

    def odd(value) -> bool:
        return not (isinstance(value, tuple) or type(value) in plain or isinstance(value, np.generic)
                    or type(value).__module__.split(".")[0] == "torch")

    def called(*args, **kwargs):
        result = fn(*args, **kwargs)
        items = list(result)[:50] if isinstance(result, (tuple, list)) else []
        returned.update(f"{type(v).__module__}.{type(v).__qualname__}" for v in [result, *items] if odd(v))
        return result

    return called


def _watch_autograd(cls, grad_watch, stack) -> None:
    """A hand-written `forward` and `backward` run with autograd off (PyTorch switches it off for
    them); any operation either runs with it switched back on is refused."""
    for method in ("forward", "backward"):
        raw = inspect.getattr_static(cls, method, None)
        inner = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        if not callable(inner):
            continue

        def watched(*args, _inner=inner, **kwargs):
            mode = grad_watch()
            mode.__enter__()
            try:
                return _inner(*args, **kwargs)
            finally:
                intact = stack() and stack()[-1] is mode
                with contextlib.suppress(BaseException):
                    mode.__exit__(None, None, None)
                if not intact:
                    guard.refuse("a way around the grader's autograd watch")

        setattr(cls, method, classmethod(watched) if isinstance(raw, classmethod) else staticmethod(watched))


def _quiet_magics(shell) -> None:
    """`%timeit` and `%%timeit` run their statement once: a student's timing line costs the grader
    nothing, and means nothing here."""
    options = re.compile(r"^\s*(?:-[a-zA-Z]+(?:\s+\d+)?\s+)*")

    def timeit_line(line: str, cell: str | None = None):
        code = options.sub("", line)
        if cell is not None:
            exec(shell.compile(code + "\n" + cell, "<timeit>", "exec"), shell.user_ns)
        elif code.strip():
            exec(shell.compile(code, "<timeit>", "exec"), shell.user_ns)

    shell.register_magic_function(timeit_line, "line", "timeit")
    shell.register_magic_function(timeit_line, "cell", "timeit")
