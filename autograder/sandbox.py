"""Run one untrusted notebook in a box of its own.

The parent (trusted) prepares a scratch folder (`assemble.populate_scratch`: the notebook, the few
packages it may import, an empty `out/`) and calls `run_boxed`. This file is also the program
that builds the box (`python -S -E sandbox.py CONFIG`, or the launcher below): it imports nothing
but the standard library before the box is closed, because the repository is out of sight after.

Isolation, strongest first (`isolation()` picks the strongest this machine allows):

- "namespaces" (running as root): new network, mount, PID, IPC, UTS and cgroup namespaces; a
  fresh root of read-only binds of the system, the Python install and the venv; `/sandbox` and
  `/tmp` are size-limited tmpfs (the scratch quota); `/sandbox` holds read-only binds of what the
  scratch folder holds (the notebook, `cnnbook/`, the spec machinery; `CONSUMED` entries are
  copied in instead), and `out/` and `.run/`, tmpfs of their own; private `/dev` and `/proc`;
  `pivot_root` into it, so the repository, `solutions/`, the gradebook and other students'
  folders do not exist. The student's process runs as a user id of its own (one per box: a fork
  bomb's process count is its own), with no capabilities and no_new_privs.
- "userns" (not root, unprivileged user namespaces allowed): the same inside a user namespace of
  its own, with every capability dropped (the process count is per user namespace).
- "none": rlimits, a temp cwd and a bare PYTHONPATH only; the grader warns that network and files
  are not isolated, and a cluster worker in this state is refused.

Inside the box, PID 1 is a supervisor that never runs student code: it starts the student's
process, stops it at the notebook's time limit, kills everything left in the box, and copies
back only regular files (`executed.ipynb`, `out/*`, within the quota) into the host's scratch
folder, which the box never sees. The archived notebook that ran is therefore the grader's own
copy, and nothing the box wrote can be a link or outgrow its quota.

Every box also gets a control group of its own where the machine offers one (`cgroups.py`):
memory, processes and a CPU quota for the whole box, whatever it forks, and a kill that takes
it all. In every mode: rlimits per process (address space, CPU, file size, processes), a per-cell
timeout (SIGALRM raises `CellTimeout` in the cell, the rest still runs).

Start-up: a box's interpreter would spend ~0.5 s importing `site`, IPython and NumPy. A
launcher process (one per grader process, started on first use) imports them once, before any
student code exists, and forks a fresh box from that state for every notebook; torch is preloaded
too when the class has chapters that import it (`warm_up`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

NOBODY = 65534
BOX_DIR = "/sandbox"  # where the box's scratch appears inside a namespaced box
BOX_UID_BASE = 1 << 30  # a box's user id is this plus its launcher's host pid: unique while it runs
GRACE_S = 20.0  # beyond notebook_s: the supervisor inside stops the run; this is the backstop
TIMED_OUT = 124  # the supervisor's exit status when it stopped the notebook at its time limit
SETUP_FAILED = 70


@dataclass(frozen=True)
class Limits:
    cell_s: float = 30.0          # one cell; it is stopped and the rest goes on
    notebook_s: float = 180.0     # the whole run; the box's supervisor stops it after this
    memory_bytes: int = 4 << 30   # the whole box (cgroup) and each process's address space (rlimit)
    file_bytes: int = 256 << 20   # largest file it may write
    processes: int = 512          # processes and threads of the whole box (cgroup, and the box's own uid)
    scratch_bytes: int = 256 << 20  # each of /sandbox and /tmp (tmpfs); also the most copied back
    cpus: float = 1.0             # CPU quota of the whole box (cgroup)


@dataclass
class BoxResult:
    returncode: int | None
    timed_out: bool
    wall_s: float
    log: str  # the tail of the box's stderr, for the instructor (never shown to the student)
    cpu_s: float | None = None  # CPU time of the whole box (every process), where it could be measured


# -- the parent's side ------------------------------------------------------------------------

_ISOLATION: str | None = None
BASE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def isolation(refresh: bool = False) -> str:
    """The strongest mode that works here, found by boxing a probe once per process."""
    global _ISOLATION
    if _ISOLATION is not None and not refresh:
        return _ISOLATION
    forced = os.environ.get("AUTOGRADER_ISOLATION")
    if forced:
        _ISOLATION = forced
        return forced
    import tempfile

    _ISOLATION = "none"
    if sys.platform.startswith("linux"):
        for level in (["namespaces"] if os.geteuid() == 0 else []) + ["userns"]:
            with tempfile.TemporaryDirectory(prefix="ag-probe-") as tmp:
                scratch = Path(tmp) / "scratch"
                (scratch / "out").mkdir(parents=True)
                result = run_boxed(scratch, Limits(notebook_s=30), level=level, probe=True)
                if result.returncode == 0 and (scratch / "out" / "probe.ok").exists():
                    _ISOLATION = level
                    break
    return _ISOLATION


@dataclass(frozen=True)
class IsolationReport:
    """What a machine's boxes are made of: said before grading, and checked for every cluster worker."""

    level: str       # namespaces | userns | none
    cgroups: str     # cgroup v2 | cgroup v1 | none
    detail: str      # why something is missing, for the instructor

    @property
    def can_isolate(self) -> bool:
        return self.level != "none"

    def __str__(self) -> str:
        text = f"isolation: {self.level}, resource groups: {self.cgroups}"
        return f"{text} ({self.detail})" if self.detail else text


def isolation_report(refresh: bool = False) -> IsolationReport:
    from autograder import cgroups

    level = isolation(refresh)
    h = cgroups.hierarchy()
    detail = []
    if level == "none":
        detail.append("no Linux namespaces: run as root, or allow unprivileged user namespaces "
                      "(sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 also "
                      "kernel.apparmor_restrict_unprivileged_userns=0); in a container, Docker's "
                      "default seccomp profile blocks them")
    if not h.version:
        detail.append(f"no resource groups ({h.reason}): limits are per process, and CPU is "
                      "shared by the kernel's usual rules")
    return IsolationReport(level, h.kind, "; ".join(detail))


def isolation_warning(level: str) -> str | None:
    if level == "none":
        return ("WARNING: this system does not allow Linux namespaces; submissions run "
                "with rlimits and timeouts only, WITH network access and able to read files the "
                "grading user can read. Grade untrusted work on a machine that allows them.")
    return None


def prepare_scratch_owner(scratch: Path, level: str) -> None:
    """Nothing to do any more: a namespaced box works in a tmpfs of its own and never writes the
    host's scratch folder (its supervisor copies the results back); kept for callers."""


def _python_roots() -> list[str]:
    """Folders the box needs read-only to run this venv's Python: the venv and its base install,
    at their real paths and at the paths Python knows them by (a venv may be a symlink)."""
    roots = {p for prefix in (sys.prefix, sys.base_prefix) for p in (os.path.abspath(prefix), os.path.realpath(prefix))}
    return sorted(r for r in roots if not r.startswith("/usr/"))


def box_env(workdir: str, tmp: str) -> dict[str, str]:
    """The environment of the student's process: nothing of the grader's."""
    return {
        "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
        "HOME": workdir, "PYTHONPATH": workdir, "TMPDIR": tmp, "LANG": "C.UTF-8",
        "IPYTHONDIR": os.path.join(tmp, "ipython"), "JUPYTER_RUNTIME_DIR": os.path.join(tmp, "rt"),
        "JUPYTER_CONFIG_DIR": os.path.join(tmp, "jcfg"), "MPLCONFIGDIR": os.path.join(tmp, "mpl"),
        "MPLBACKEND": "Agg", "CNNBOOK_QUICK": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
    }


def run_boxed(scratch: Path, limits: Limits, level: str | None = None, probe: bool = False) -> BoxResult:
    """Run `scratch/notebook.ipynb` in a box; the executed notebook lands in `scratch/executed.ipynb`
    and what the notebook wrote to `out/` in `scratch/out/`."""
    from autograder import cgroups

    level = level or isolation()
    scratch = scratch.resolve()
    group = cgroups.box_group(limits.memory_bytes, limits.processes, limits.cpus)
    config = {
        "level": level,
        "scratch": str(scratch),
        "root": str(scratch.parent / "root"),
        "python": sys.executable,
        "python_roots": _python_roots(),
        "limits": asdict(limits),
        "probe": probe,
        "this_file": str(Path(__file__).resolve()),
        "cgroup_procs": group.procs if group else [],
    }
    Path(config["root"]).mkdir(exist_ok=True)
    log_path = scratch.parent / "box.log"
    start = time.monotonic()
    cpu = None
    try:
        if probe or os.environ.get("AUTOGRADER_LAUNCHER", "1") == "0":
            returncode, timed_out = _run_direct(config, log_path, limits.notebook_s + GRACE_S)
        else:
            returncode, timed_out, cpu = _launcher().run(config, log_path, limits.notebook_s + GRACE_S)
    finally:
        if group is not None:
            group.kill()
            cpu = group.cpu_seconds() or cpu
            group.remove()
    wall = time.monotonic() - start
    try:
        with open(log_path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4000))
            tail = f.read().decode("utf-8", "replace")
    except OSError:
        tail = ""
    return BoxResult(returncode, timed_out or returncode == TIMED_OUT, wall, tail, cpu)


def remove_tree(path: Path) -> None:
    """Delete a folder a student's code may have shaped: unreadable (chmod 000) folders, trees too
    deep for recursion or for path names, links (removed, never followed), files of other users.
    Each pass moves the subfolders of one level up to the top, so it needs two open folders at
    most and no recursion."""
    import errno
    import stat

    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    except OSError:
        os.unlink(path)  # a link or a file where a folder was expected
        return
    moved = 0
    try:
        os.fchmod(top, 0o700)
        while names := os.listdir(top):
            for name in names:
                info = os.lstat(name, dir_fd=top)
                if not stat.S_ISDIR(info.st_mode):
                    os.unlink(name, dir_fd=top)
                    continue
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=top) \
                    if info.st_mode & 0o500 == 0o500 else None
                if sub is None:  # unreadable: make it ours to read (we own it or are root)
                    os.chmod(name, 0o700, dir_fd=top, follow_symlinks=False)
                    continue
                try:
                    os.fchmod(sub, 0o700)
                    for child in os.listdir(sub):
                        if stat.S_ISDIR(os.lstat(child, dir_fd=sub).st_mode):
                            while True:  # a name not taken at the top (the student chose names too)
                                moved += 1
                                try:
                                    os.rename(child, f".up{moved}", src_dir_fd=sub, dst_dir_fd=top)
                                    break
                                except OSError as exc:
                                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                                        raise
                        else:
                            os.unlink(child, dir_fd=sub)
                finally:
                    os.close(sub)
                os.rmdir(name, dir_fd=top)
    finally:
        os.close(top)
    os.rmdir(path)


def _run_direct(config: dict, log_path: Path, timeout: float) -> tuple[int | None, bool]:
    command = [sys.executable, "-S", "-E", config["this_file"], json.dumps(config)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=BASE_ENV,
                                cwd="/", start_new_session=True)
        try:
            proc.wait(timeout=timeout)
            return proc.returncode, False
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the box's PID 1 dies with it (parent-death signal)
            except ProcessLookupError:
                pass
            proc.wait()
            return proc.returncode, True


class _Launcher:
    """The parent's handle on the launcher process: one request line per box, answers by id."""

    def __init__(self, preload: list[str]):
        import tempfile

        self.folder = tempfile.mkdtemp(prefix="ag-launcher-")
        self.preloaded = set(preload)
        with open(os.path.join(self.folder, "launcher.log"), "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-S", "-E", str(Path(__file__).resolve()), "--launcher", json.dumps(preload)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd="/", start_new_session=True,
                env=dict(BASE_ENV, **box_env(BOX_DIR, "/tmp")))
        self.lock = threading.Lock()        # the table of waiting boxes (the reader takes it briefly)
        self.send_lock = threading.Lock()   # the request pipe (a writer may wait on it; the reader never does)
        self.waiting: dict[int, dict] = {}
        self.next_id = 0
        self.reader = threading.Thread(target=self._read, daemon=True, name="box-launcher")
        self.reader.start()

    def alive(self) -> bool:
        return self.proc.poll() is None and self.reader.is_alive()

    def _send(self, message: dict) -> None:
        with self.send_lock:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()

    def _read(self) -> None:
        for line in self.proc.stdout:
            message = json.loads(line)
            with self.lock:
                slot = self.waiting.get(message["id"])
            if slot is not None:
                slot.update(message)
                if "exit" in message:
                    slot["done"].set()
        with self.lock:  # the launcher is gone: every box still waiting gets no answer
            for slot in self.waiting.values():
                slot["done"].set()

    def preload(self, modules: list[str]) -> None:
        new = [m for m in modules if m not in self.preloaded]
        if new:
            self.preloaded |= set(new)
            self._send({"op": "preload", "id": -1, "modules": new})

    def run(self, config: dict, log_path: Path, timeout: float) -> tuple[int | None, bool, float | None]:
        slot = {"done": threading.Event()}
        with self.lock:
            ident = self.next_id
            self.next_id += 1
            self.waiting[ident] = slot
        try:
            self._send({"op": "run", "id": ident, "config": config, "log": str(log_path)})
            timed_out = not slot["done"].wait(timeout)
            if timed_out:
                self._send({"op": "kill", "id": ident})
                slot["done"].wait(10)
            return slot.get("exit"), timed_out, slot.get("cpu_s")
        except (OSError, ValueError):  # the launcher died under us
            return None, False, None
        finally:
            with self.lock:
                self.waiting.pop(ident, None)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


_LAUNCHER: _Launcher | None = None
_LAUNCHER_LOCK = threading.Lock()
_PRELOAD = ["numpy", "IPython.core.interactiveshell", "traitlets.config"]


def _launcher() -> _Launcher:
    global _LAUNCHER
    with _LAUNCHER_LOCK:
        if _LAUNCHER is None or not _LAUNCHER.alive():
            _LAUNCHER = _Launcher(_PRELOAD)
            import atexit

            atexit.register(_LAUNCHER.close)
        return _LAUNCHER


def warm_up(modules: list[str] = ()) -> None:
    """Start the launcher now (it overlaps the grader's own start-up) with `modules` preloaded
    besides NumPy and IPython: the third-party modules the chapters' setup cells import."""
    if os.environ.get("AUTOGRADER_LAUNCHER", "1") == "0":
        return
    _launcher().preload([m for m in modules if m not in _PRELOAD])


# -- the launcher (a process of its own; standard library until it forks a box) --------------

def _launcher_main(preload: list[str]) -> int:
    import selectors
    import traceback

    here = os.path.dirname(os.path.abspath(__file__))
    import site  # the venv, so that the preloaded modules are the box's own

    site.main()
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here]

    def load(modules):
        import importlib

        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 -- a box imports it itself then, and sees the error
                traceback.print_exc()

    load(preload)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, int] = {}   # host pid -> request id
    by_id: dict[int, int] = {}

    def reply(message: dict) -> None:
        os.write(1, json.dumps(message).encode() + b"\n")

    def reap() -> None:
        while children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            ident = children.pop(pid, None)
            if ident is not None:
                by_id.pop(ident, None)
                reply({"id": ident, "exit": _exit_code(status), "cpu_s": usage.ru_utime + usage.ru_stime})

    def start(ident: int, config: dict, log: str) -> None:
        pid = os.fork()
        if pid == 0:
            code = SETUP_FAILED
            try:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.closerange(3, 1 << 16)
                os.setsid()
                code = _launch(config)
            except BaseException:  # noqa: BLE001 -- report, never return into the launcher's loop
                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        children[pid] = ident
        by_id[ident] = pid
        reply({"id": ident, "pid": pid})

    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    pending = b""
    while True:
        for key, _ in selector.select():
            if key.fd == wake_r:
                try:
                    while os.read(wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
                reap()
                continue
            data = os.read(0, 1 << 20)
            if not data:  # the grader is gone: so are its boxes
                for pid in list(children):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                return 0
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                message = json.loads(line)
                if message["op"] == "run":
                    start(message["id"], message["config"], message["log"])
                elif message["op"] == "kill" and message["id"] in by_id:
                    try:  # the box's PID 1 follows (parent-death signal), and the namespace with it
                        os.kill(by_id[message["id"]], signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                elif message["op"] == "preload":
                    load(message["modules"])
        reap()


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


# -- building the box (in a fresh single-threaded process: the launcher's child or the script) --

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x2000000, 0x4000000, 0x8000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_SECUREBITS = 1, 24, 28
PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 36, 38, 47, 4
SECUREBITS = 0xEF  # noroot, no_setuid_fixup, no_cap_ambient_raise and keep_caps off, each locked
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
SAFE_OUTPUT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
MAX_OUTPUT_FILES = 10_000
MAX_INODES = 50_000  # files and folders per tmpfs: a million empty files would cost the supervisor dearly
MAX_EXECUTED_BYTES = 64 << 20
# The scratch folder's layout (`assemble.populate_scratch`): every entry is bound into the box
# read-only, except `out/` (a fresh tmpfs) and these, which the harness reads and deletes before
# any student code runs (the MAC key and seeds; the trusted grader's own case inputs): they are
# copied into the box's tmpfs, owned by the box's user.
CONSUMED = frozenset({"secrets.json", "inputs"})
EXECUTED_IN_BOX = BOX_DIR + "/.run/executed.ipynb"


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(libc, source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None):
    def enc(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    _check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _bind_readonly(libc, source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))
    _mount(libc, source, target, None, MS_BIND | MS_REC)
    # A read-only remount must keep the flags the original mount is locked with (user namespaces).
    st = os.statvfs(source)
    kept = st.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept)


def _launch(config: dict) -> int:
    """Build the box around this process and run the notebook in it; -> the exit status."""
    libc = _libc()
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent-death signal")
    for procs in config["cgroup_procs"]:  # first: everything from here on counts against the box
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    level = config["level"]
    if level == "none":
        _check(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "subreaper")
        return _supervise(libc, config, None, os.getuid())
    outer_uid, outer_gid = os.getuid(), os.getgid()
    uid = BOX_UID_BASE + os.getpid() if level == "namespaces" else 0
    scratch_fd = os.open(config["scratch"], os.O_RDONLY | os.O_DIRECTORY)
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
    _check(libc.unshare(flags | (CLONE_NEWUSER if level == "userns" else 0)), "unshare")
    if level == "userns":
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {outer_uid} 1"), ("gid_map", f"0 {outer_gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    pid = os.fork()
    if pid:  # outside the box's PID namespace: wait for its PID 1
        os.close(scratch_fd)
        _, status = os.waitpid(pid, 0)
        return _exit_code(status)
    code = SETUP_FAILED
    try:  # PID 1 of the box
        _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent-death signal")
        _build_root(libc, config, uid)
        code = _supervise(libc, config, scratch_fd, uid)
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _copy_owned(source: str, target: str, uid: int) -> None:
    import shutil

    if os.path.isdir(source):
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target)
    for folder, dirs, files in os.walk(target):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.lchown(name, uid, uid)


def _build_root(libc, config: dict, uid: int) -> None:
    root, scratch = config["root"], config["scratch"]
    quota = int(config["limits"]["scratch_bytes"])
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
    # A private /tmp first: the venv may itself live under /tmp (a CI clone), and its bind below
    # must land on top of this tmpfs, not be hidden under it.
    os.makedirs(root + "/tmp", mode=0o755)
    quota_options = f"size={quota},nr_inodes={MAX_INODES}"
    _mount(libc, "tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"{quota_options},mode=1777")
    for top in ("/bin", "/lib", "/lib64", "/lib32", "/libx32", "/sbin"):
        if os.path.islink(top):
            os.symlink(os.readlink(top), root + top)
        elif os.path.isdir(top):
            _bind_readonly(libc, top, root + top)
    for path in ["/usr", "/etc", *config["python_roots"]]:
        _bind_readonly(libc, path, root + path)
    # The box's working folder: a tmpfs (the quota) with the harness bound read-only into it.
    box = root + BOX_DIR
    os.makedirs(box, mode=0o755)
    _mount(libc, "tmpfs", box, "tmpfs", MS_NOSUID | MS_NODEV, f"{quota_options},mode=755,uid={uid},gid={uid}")
    for name in sorted(os.listdir(scratch)):
        source = os.path.join(scratch, name)
        if name == "out" or os.path.islink(source):
            continue
        if name in CONSUMED:  # the harness reads these, then deletes them before any student code
            _copy_owned(source, os.path.join(box, name), uid)
        else:
            _bind_readonly(libc, source, os.path.join(box, name))
    # What comes back has quotas of its own, so that junk in the working folder cannot crowd out
    # the record of the run: `out/` (the outcomes) and `.run/` (the executed notebook).
    for name, size in (("out", quota), (".run", MAX_EXECUTED_BYTES)):
        os.mkdir(f"{box}/{name}", 0o755)
        _mount(libc, "tmpfs", f"{box}/{name}", "tmpfs", MS_NOSUID | MS_NODEV,
               f"size={size},nr_inodes={MAX_INODES},mode=755,uid={uid},gid={uid}")
    os.makedirs(root + "/dev", mode=0o755)
    _mount(libc, "tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777")
    os.chmod(root + "/dev", 0o755)
    for dev in ("null", "zero", "full", "random", "urandom"):
        open(root + "/dev/" + dev, "w").close()
        _mount(libc, "/dev/" + dev, root + "/dev/" + dev, None, MS_BIND)
    os.makedirs(root + "/dev/shm", mode=0o1777)
    _mount(libc, "tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, root + "/dev/" + name)
    os.makedirs(root + "/proc", mode=0o555)
    _mount(libc, "proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # pivot_root(".", ".") stacks the old root under the new one; detaching it makes it unreachable.
    import platform

    os.chdir(root)
    _check(libc.syscall(SYS_PIVOT_ROOT[platform.machine()], b".", b"."), "pivot_root")
    _check(libc.umount2(b".", MNT_DETACH), "detach old root")
    os.chdir("/")


class _Deadline(Exception):
    pass


def _supervise(libc, config: dict, scratch_fd: int | None, uid: int) -> int:
    """Start the student's process, stop it at the time limit, end everything it started, and copy
    the results out. Runs as the box's PID 1 (or, without namespaces, as a subreaper)."""
    namespaced = scratch_fd is not None
    workdir = BOX_DIR if namespaced else config["scratch"]
    log = None
    if namespaced:  # the student's own output stays in the box, within its quota
        log = os.open(BOX_DIR + "/.box.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    student = os.fork()
    if student == 0:
        code = SETUP_FAILED
        try:
            if namespaced:
                os.close(scratch_fd)
                os.dup2(log, 1)
                os.dup2(log, 2)
                os.close(log)
            os.setsid()
            _become_student(libc, config, uid)
            os.chdir(workdir)
            code = _probe(config) if config["probe"] else _run_notebook(workdir, config)
        except BaseException:  # noqa: BLE001
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    if log is not None:
        os.close(log)

    def deadline(signum, frame):
        raise _Deadline

    status, timed_out = None, False
    signal.signal(signal.SIGALRM, deadline)
    signal.setitimer(signal.ITIMER_REAL, float(config["limits"]["notebook_s"]))
    try:
        while status is None:  # reaping orphans as they come: PID 1's duty
            pid, st = os.waitpid(-1, 0)
            if pid == student:
                status = st
    except _Deadline:
        timed_out = True
    except ChildProcessError:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    _end_everything(student, namespaced)
    if namespaced:
        _copy_out(scratch_fd, int(config["limits"]["scratch_bytes"]))
    if timed_out:
        return TIMED_OUT
    return _exit_code(status) if status is not None else SETUP_FAILED


def _end_everything(student: int, namespaced: bool) -> None:
    """Nothing the student started outlives the run (a daemon, a `setsid` child, a fork bomb)."""
    for _ in range(500):
        if namespaced and os.getpid() == 1:
            targets = [-1]  # as PID 1: every other process of this namespace
        else:  # a subreaper: our children, and the orphans that came to us
            try:
                targets = {student, *map(int, Path(f"/proc/self/task/{os.getpid()}/children").read_text().split())}
            except OSError:
                targets = [student]
        for pid in targets:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return
        time.sleep(0.01)


def _copy_out(scratch_fd: int, budget: int) -> None:
    """Regular files only (`executed.ipynb`, `out/*`), by safe names, within the quota, into the
    host's scratch folder, which the box could never see; and the tail of the box's own log."""
    import stat

    def copy(src: str, dst_dir: int, name: str, room: int) -> int:
        try:
            fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return 0
        try:
            size = os.fstat(fd).st_size
            if not stat.S_ISREG(os.fstat(fd).st_mode) or size > room:
                return 0
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dst_dir)
            try:
                copied = 0
                while copied < size and (chunk := os.read(fd, min(1 << 20, size - copied))):
                    os.write(out, chunk)
                    copied += len(chunk)
                return copied
            finally:
                os.close(out)
        except OSError:
            return 0
        finally:
            os.close(fd)

    used = copy(EXECUTED_IN_BOX, scratch_fd, "executed.ipynb", budget)
    try:
        out_fd = os.open("out", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=scratch_fd)
        names = sorted(os.listdir(BOX_DIR + "/out"))[:MAX_OUTPUT_FILES]
    except OSError:
        out_fd, names = None, []
    for name in names:
        if set(name) <= SAFE_OUTPUT and not name.startswith(".") and len(name) <= 100:
            used += copy(f"{BOX_DIR}/out/{name}", out_fd, name, budget - used)
    if out_fd is not None:
        os.close(out_fd)
    try:
        with open(BOX_DIR + "/.box.log", "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 8000))
            tail = f.read()
        if tail:
            os.write(2, b"--- the box's own output (tail) ---\n" + tail)
    except OSError:
        pass


def _become_student(libc, config: dict, uid: int) -> None:
    import resource

    level = config["level"]
    if level != "none":
        import ctypes
        import platform

        for cap in range(64):  # the bounding set: nothing can ever be regained by an exec
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
                break  # EINVAL: past the last capability this kernel knows
        if level == "namespaces":
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)  # a user of its own: no capabilities left, its own process count
        else:  # root of its own user namespace: drop every capability, for good
            _check(libc.prctl(PR_SET_SECUREBITS, SECUREBITS, 0, 0, 0), "securebits")
            header = (ctypes.c_uint32 * 2)(0x20080522, 0)
            data = (ctypes.c_uint32 * 6)()
            _check(libc.syscall(SYS_CAPSET[platform.machine()], header, data), "capset")
            libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    limits = config["limits"]
    cpu = int(limits["notebook_s"]) + 30
    for which, value in ((resource.RLIMIT_AS, limits["memory_bytes"]),
                         (resource.RLIMIT_CPU, cpu),
                         (resource.RLIMIT_FSIZE, limits["file_bytes"]),
                         (resource.RLIMIT_NPROC, limits["processes"]),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))


def _probe(config: dict) -> int:
    """The box works only if this very file (the repository) is out of sight."""
    if not os.path.exists(config["this_file"]):
        with open("out/probe.ok", "w") as f:
            f.write("the repository is hidden")
    return 0


def _run_notebook(workdir: str, config: dict) -> int:
    tmp = "/tmp" if config["level"] != "none" else os.path.join(workdir, ".tmp")
    os.makedirs(tmp, exist_ok=True)
    os.environ.clear()
    os.environ.update(box_env(workdir, tmp))
    # The venv's site-packages (found from sys.prefix) join sys.path only now, with the repository
    # out of sight (the launcher imported `site` before any student code existed); IPython runs
    # the cells in this process (a Jupyter kernel and its ZMQ client cost two more interpreters
    # and seconds of start-up per notebook, for nothing here).
    if "site" not in sys.modules:
        import site

        site.main()
    # sys.path[0] is this file's folder (autograder/): out with it; the scratch folder goes first.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [workdir] + [p for p in sys.path if p and os.path.abspath(p) != here and p != workdir]
    _forget_editable_installs()
    executed = EXECUTED_IN_BOX if config["level"] != "none" else os.path.join(workdir, "executed.ipynb")
    return run_cells(os.path.join(workdir, "notebook.ipynb"), executed,
                     float(config["limits"]["cell_s"]))


def _forget_editable_installs() -> None:
    """An editable install of the course package (`pip install -e .`, as `make setup` does) adds an
    import hook that maps `solutions` to the repository. Inside the box the repository is out of
    sight anyway (namespaces); without namespaces the hook would hand a submission the reference,
    so it goes, with the path entries it added."""
    def editable(hook) -> bool:  # a finder class, an instance or a bound method of the hook's module
        return str(getattr(hook, "__module__", None) or type(hook).__module__).startswith("__editable__")

    sys.meta_path[:] = [f for f in sys.meta_path if not editable(f)]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not editable(h)]
    for name in [m for m in sys.modules if m.startswith("__editable__")]:
        del sys.modules[name]
    sys.path_importer_cache.clear()


class CellTimeout(BaseException):
    """Raised in a cell that runs past its time (BaseException: `except Exception` cannot eat it)."""


def run_cells(notebook: str, executed: str, cell_s: float) -> int:
    """Run a notebook's code cells in one IPython shell, recording each cell's output and error,
    and saving the executed notebook after every cell (a run killed later keeps what it did).
    Plain JSON, not nbformat: validating the notebook at every save cost a second per chapter."""
    import contextlib
    import io

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    with open(notebook) as f:
        nb = json.load(f)
    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.xmode = "Plain"
    shell = InteractiveShell.instance(config=config)

    def alarm(signum, frame):
        raise CellTimeout(f"this cell ran longer than {cell_s:g} s and was stopped")

    def save() -> None:  # atomically, even if the student's code forked copies of this process
        part = f"{executed}.{os.getpid()}.part"
        with open(part, "w") as f:
            json.dump(nb, f)
        os.replace(part, executed)

    signal.signal(signal.SIGALRM, alarm)
    code_cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    for count, cell in enumerate(code_cells):
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        buffer = io.StringIO()
        error = None
        try:
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                signal.setitimer(signal.ITIMER_REAL, cell_s)
                try:
                    result = shell.run_cell(source, store_history=False, silent=False)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            error = result.error_in_exec or result.error_before_exec
        except BaseException as exc:  # noqa: BLE001 -- the alarm may land outside the user's code
            error = exc
        text = buffer.getvalue()[-100_000:]
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text}] if text else []
        if error is not None:
            cell["outputs"].append({"output_type": "error", "ename": type(error).__name__,
                                    "evalue": str(error)[:2000], "traceback": []})
        cell["execution_count"] = count + 1
        save()
    return 0



if __name__ == "__main__":
    if sys.argv[1] == "--launcher":
        sys.exit(_launcher_main(json.loads(sys.argv[2])))
    sys.exit(_launch(json.loads(sys.argv[1])))
