"""A control group per box: memory, processes and CPU counted for the whole box, whatever it forks.

rlimits are per process (a box that forks 50 children gets 50 times the memory) or per user (every
box running as the same user shares one process count), so the box that matters is the cgroup:
everything the box starts, `setsid` or not, is born into it and cannot leave (moving a process
out needs write access to another group, which the box does not have: /sys is not even mounted).

Which hierarchy this machine offers, in order of preference:

- cgroup v2 with the `memory`, `pids` and `cpu` controllers delegated to us: the group we run in
  (`/proc/self/cgroup`), or the one named by `AUTOGRADER_CGROUP`. Controllers can only be handed
  to child groups of a group that holds no process itself, so when our group holds the grader
  alone (a `systemd-run --scope -p Delegate=yes` scope, a container whose main process is the
  grader), the grader moves itself into a leaf `grader/` and the boxes become its siblings.
- cgroup v1 (a hybrid or legacy machine), one directory per controller, as root.
- none: `reason` says why; the box falls back to per-process rlimits and a user id of its own.

Each box gets a group `autograder-<pid>/box-<n>` with `memory.max` (swap off), `pids.max`, a CPU
quota of `cpus` CPUs and the default weight: a box that runs 50 busy processes gets the same
share of the machine as a classmate's box that runs one. The group is killed as a whole at the
end of the run (`cgroup.kill`, or the freezer on v1) and removed.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CONTROLLERS = ("memory", "pids", "cpu")
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")
PERIOD_US = 100_000


@dataclass
class Hierarchy:
    """Where box groups are made: one folder on v2, one per controller on v1."""

    version: int                          # 2, 1, or 0 (none)
    parents: dict[str, Path] = field(default_factory=dict)  # controller (or "unified") -> folder
    reason: str = ""                      # why there is none, or what was done to get one

    @property
    def kind(self) -> str:
        return {2: "cgroup v2", 1: "cgroup v1", 0: "none"}[self.version]


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fstype, super options) of every cgroup file system."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) >= 5 and rfields and rfields[0] in ("cgroup", "cgroup2"):
            point = fields[4].replace("\\040", " ")
            found.append((point, rfields[0], set(rfields[2].split(",")) if len(rfields) > 2 else set()))
    return found


def _own_groups() -> dict[str, str]:
    """hierarchy key ('unified' or a v1 controller) -> our group's path in it."""
    groups = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return groups
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            groups["unified"] = path
        for c in controllers.split(","):
            if c:
                groups[c] = path
    return groups


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _parent(pid: int) -> int:
    try:  # the field after the command name, which may itself hold spaces and parentheses
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _related(pid: int) -> bool:
    """This process, one of its ancestors (a Dask nanny) or one of its descendants."""
    me = os.getpid()
    ancestors, p = set(), me
    while p >= 1 and p not in ancestors:  # up to PID 1 (a container's init may be the nanny)
        ancestors.add(p)
        p = _parent(p)
    if pid in ancestors:
        return True
    p = pid
    for _ in range(64):
        p = _parent(p)
        if p == me:
            return True
        if p <= 1:
            return False
    return False


def _v2(mount: str, own: str) -> Hierarchy:
    forced = os.environ.get("AUTOGRADER_CGROUP")
    base = Path(forced) if forced else Path(mount + own)
    try:
        available = set((base / "cgroup.controllers").read_text().split())
    except OSError as exc:
        return Hierarchy(0, reason=f"cgroup v2 at {base} is unreadable ({exc.strerror})")
    missing = [c for c in CONTROLLERS if c not in available]
    if missing:
        return Hierarchy(0, reason=f"cgroup v2 at {base} has no {', '.join(missing)} controller "
                                   "delegated to this user")
    enabled = set((base / "cgroup.subtree_control").read_text().split())
    if not set(CONTROLLERS) <= enabled:
        procs = [int(p) for p in (base / "cgroup.procs").read_text().split()]
        if procs and not forced:
            strangers = [p for p in procs if not _related(p)]
            if strangers:
                return Hierarchy(0, reason=f"cgroup v2 group {base} holds processes other than the grader's "
                                           "(run it in a delegated group of its own: systemd-run --scope "
                                           "-p Delegate=yes ..., or set AUTOGRADER_CGROUP)")
            try:  # the grader's processes alone (a Dask nanny and its worker, say): step aside into a
                leaf = base / "grader"  # leaf, so that the controllers can be handed down to boxes
                leaf.mkdir(exist_ok=True)
                for pid in procs:
                    _write(leaf / "cgroup.procs", str(pid))
            except OSError as exc:
                return Hierarchy(0, reason=f"cannot use cgroup v2 group {base} ({exc.strerror})")
        try:
            _write(base / "cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))
        except OSError as exc:
            return Hierarchy(0, reason=f"cannot enable {', '.join(CONTROLLERS)} in {base} ({exc.strerror})")
    return Hierarchy(2, {"unified": base})


def _v1(mounts: list[tuple[str, str, set[str]]], own: dict[str, str]) -> Hierarchy:
    parents = {}
    for point, fstype, options in mounts:
        if fstype != "cgroup":
            continue
        for c in V1_CONTROLLERS:
            if c in options and c in own:
                parents[c] = Path(point + own[c])
    missing = [c for c in ("memory", "pids", "cpu") if c not in parents]
    if missing:
        return Hierarchy(0, reason=f"cgroup v1 has no {', '.join(missing)} hierarchy")
    unwritable = [c for c, p in parents.items() if not os.access(p, os.W_OK)]
    if unwritable:
        return Hierarchy(0, reason=f"cgroup v1 groups are not writable for this user ({', '.join(unwritable)})")
    return Hierarchy(1, parents)


_HIERARCHY: Hierarchy | None = None
_LOCK = threading.Lock()
_COUNTER = itertools.count()


def hierarchy() -> Hierarchy:
    """What this machine offers (found once per process; `AUTOGRADER_CGROUPS=0` turns it off)."""
    global _HIERARCHY
    with _LOCK:
        if _HIERARCHY is None:
            _HIERARCHY = _find()
        return _HIERARCHY


def _find() -> Hierarchy:
    if os.environ.get("AUTOGRADER_CGROUPS", "1") == "0":
        return Hierarchy(0, reason="turned off (AUTOGRADER_CGROUPS=0)")
    mounts = _mounts()
    own = _own_groups()
    tried = []
    for point, fstype, _ in mounts:
        if fstype == "cgroup2" and "unified" in own:
            found = _v2(point, own["unified"])
            if found.version:
                return found
            tried.append(found.reason)
    if any(fstype == "cgroup" for _, fstype, _ in mounts):
        found = _v1(mounts, own)
        if found.version:
            return found
        tried.append(found.reason)
    return Hierarchy(0, reason="; ".join(tried) or "no cgroup file system is mounted")


class BoxGroup:
    """One box's group (in every hierarchy folder it needs). `procs` are the files a process
    writes its pid into to join; `kill()` ends everything in it; `remove()` cleans up."""

    def __init__(self, h: Hierarchy, memory_bytes: int, processes: int, cpus: float):
        self.h = h
        name = f"autograder-{os.getpid()}/box-{next(_COUNTER)}"
        self.dirs = {key: parent / name for key, parent in h.parents.items()}
        for d in self._unique():
            for attempt in range(5):  # another thread's last box may remove the shared parent meanwhile
                try:
                    d.mkdir(parents=True)
                    break
                except FileNotFoundError:
                    if attempt == 4:
                        raise
            if h.version == 2:  # hand the controllers down from the per-grader folder to the box
                _write(d.parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))
        quota = max(1000, int(cpus * PERIOD_US))
        if h.version == 2:
            d = self.dirs["unified"]
            _write(d / "memory.max", str(memory_bytes))
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", "0")
            _write(d / "pids.max", str(processes))
            _write(d / "cpu.max", f"{quota} {PERIOD_US}")
        else:
            mem = self.dirs["memory"]
            _write(mem / "memory.limit_in_bytes", str(memory_bytes))
            if (mem / "memory.memsw.limit_in_bytes").exists():  # memory + swap: no swapping out of the limit
                try:
                    _write(mem / "memory.memsw.limit_in_bytes", str(memory_bytes))
                except OSError:
                    pass
            _write(self.dirs["pids"] / "pids.max", str(processes))
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(PERIOD_US))
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(quota))

    def _unique(self) -> list[Path]:  # v1 controllers mounted together (cpu,cpuacct) share a folder
        return list(dict.fromkeys(self.dirs.values()))

    @property
    def procs(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self._unique()]

    def _pids(self) -> set[int]:
        pids = set()
        for d in self._unique():
            try:
                pids |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return pids

    def cpu_seconds(self) -> float | None:
        try:
            if self.h.version == 2:
                for line in (self.dirs["unified"] / "cpu.stat").read_text().splitlines():
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
            elif "cpuacct" in self.dirs:
                return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            pass
        return None

    def memory_peak(self) -> int | None:
        name = "memory.peak" if self.h.version == 2 else "memory.max_usage_in_bytes"
        key = "unified" if self.h.version == 2 else "memory"
        try:
            return int((self.dirs[key] / name).read_text())
        except (OSError, ValueError, KeyError):
            return None

    def kill(self, wait_s: float = 5.0) -> None:
        """Every process in the box, at once: a fork bomb cannot outrun it (frozen first on v1)."""
        deadline = time.monotonic() + wait_s
        kill_file = self.dirs.get("unified", Path("/nonexistent")) / "cgroup.kill"
        freezer = self.dirs.get("freezer")
        while True:
            pids = self._pids()
            if not pids:
                return
            if kill_file.exists():
                _write(kill_file, "1")
            else:
                if freezer is not None:
                    _write(freezer / "freezer.state", "FROZEN")
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                if freezer is not None:
                    _write(freezer / "freezer.state", "THAWED")
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)

    def remove(self) -> None:
        for d in self._unique():
            for _ in range(50):  # a group is removable once its last process is reaped
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            try:  # the per-grader folder goes with the last box (another thread may still use it)
                d.parent.rmdir()
            except OSError:
                pass


def box_group(memory_bytes: int, processes: int, cpus: float) -> BoxGroup | None:
    h = hierarchy()
    if not h.version:
        return None
    return BoxGroup(h, memory_bytes, processes, cpus)
