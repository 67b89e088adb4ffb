"""Run one untrusted notebook in a box of its own.

The parent (trusted) prepares a scratch folder holding `notebook.ipynb` and the few packages the
notebook may import, then calls `run_boxed`. This file is also the program that runs *inside* the
box (`python sandbox.py BOX CONFIG`): it must import nothing but the standard library before it
has closed the box, because the repository is out of sight afterwards.

Isolation, strongest first (`isolation()` picks the strongest this machine allows):

- "namespaces" (running as root): new network, mount, PID, IPC and UTS namespaces (`unshare`);
  a fresh root made of read-only binds of the system, the Python install and the venv, the
  scratch folder at /sandbox, private /tmp, /dev and /proc; `pivot_root` into it, so the
  repository, `solutions/`, the gradebook and other students' folders do not exist; then the
  process drops to user `nobody` with no capabilities and no_new_privs.
- "userns" (not root, but unprivileged user namespaces allowed): the same, inside a user namespace.
- "none": rlimits, a temp cwd and a bare PYTHONPATH only; the grader warns that network and files
  are not isolated.

In every mode: rlimits (address space, CPU, file size, processes), a per-cell timeout (SIGALRM
raises `CellTimeout` in the cell, the rest still runs) and a whole-notebook limit (the parent kills the box).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

NOBODY = 65534
BOX_DIR = "/sandbox"  # where the scratch folder appears inside a namespaced box


@dataclass(frozen=True)
class Limits:
    cell_s: float = 30.0          # one cell; it is stopped and the rest goes on
    notebook_s: float = 180.0     # the whole run; the parent kills the box after this
    memory_bytes: int = 4 << 30   # RLIMIT_AS of the kernel
    file_bytes: int = 256 << 20   # largest file it may write
    processes: int = 512          # RLIMIT_NPROC (counts threads; shared by all boxes as nobody)


@dataclass
class BoxResult:
    returncode: int | None
    timed_out: bool
    wall_s: float
    log: str  # the tail of the box's stderr, for the instructor (never shown to the student)


# -- the parent's side ------------------------------------------------------------------------

_ISOLATION: str | None = None


def _unshare_args(level: str) -> list[str]:
    args = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--ipc", "--uts"]
    if level == "userns":
        args.insert(1, "--user")
        args.insert(2, "--map-root-user")
    return args


def isolation(refresh: bool = False) -> str:
    """The strongest mode that works here, found by boxing `true` once per process."""
    global _ISOLATION
    if _ISOLATION is not None and not refresh:
        return _ISOLATION
    forced = os.environ.get("AUTOGRADER_ISOLATION")
    if forced:
        _ISOLATION = forced
        return forced
    import shutil
    import tempfile

    _ISOLATION = "none"
    if sys.platform.startswith("linux") and shutil.which("unshare"):
        for level in (["namespaces"] if os.geteuid() == 0 else []) + ["userns"]:
            with tempfile.TemporaryDirectory(prefix="ag-probe-") as tmp:
                scratch = Path(tmp) / "scratch"
                scratch.mkdir()
                prepare_scratch_owner(scratch, level)
                result = run_boxed(scratch, Limits(notebook_s=30), level=level, probe=True)
                if result.returncode == 0 and (scratch / "probe.ok").exists():
                    _ISOLATION = level
                    break
    return _ISOLATION


def isolation_warning(level: str) -> str | None:
    if level == "none":
        return ("WARNING: this system does not allow Linux namespaces (unshare); submissions run "
                "with rlimits and timeouts only, WITH network access and able to read files the "
                "grading user can read. Grade untrusted work on a machine that allows them.")
    return None


def prepare_scratch_owner(scratch: Path, level: str) -> None:
    """In root mode the box runs as nobody, who must own its scratch folder (and only that)."""
    if level == "namespaces":
        for path in [scratch, *scratch.rglob("*")]:
            os.lchown(path, NOBODY, NOBODY)


def _python_roots() -> list[str]:
    """Folders the box needs read-only to run this venv's Python: the venv and its base install."""
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    return sorted(r for r in roots if not r.startswith("/usr/"))


def run_boxed(scratch: Path, limits: Limits, level: str | None = None, probe: bool = False) -> BoxResult:
    """Run `scratch/notebook.ipynb` in a box; the executed notebook lands in `scratch/executed.ipynb`."""
    level = level or isolation()
    config = {
        "level": level,
        "scratch": str(scratch.resolve()),
        "root": str(scratch.resolve().parent / "root"),
        "python": sys.executable,
        "python_roots": _python_roots(),
        "limits": asdict(limits),
        "probe": probe,
        "this_file": str(Path(__file__).resolve()),
    }
    Path(config["root"]).mkdir(exist_ok=True)
    command = [sys.executable, "-S", "-E", str(Path(__file__).resolve()), json.dumps(config)]
    if level != "none":
        command = _unshare_args(level) + command
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    log_path = scratch.parent / "box.log"
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                cwd=str(scratch), start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=limits.notebook_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
    wall = time.monotonic() - start
    tail = log_path.read_bytes()[-4000:].decode("utf-8", "replace")
    return BoxResult(proc.returncode, timed_out, wall, tail)


def _kill_group(proc: subprocess.Popen) -> None:
    # The box's init is PID 1 of its PID namespace: killing it takes every process inside along.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


# -- inside the box ---------------------------------------------------------------------------

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}


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


def _bind_readonly(libc, path: str, root: str) -> None:
    target = root + path
    os.makedirs(target, mode=0o755, exist_ok=True)
    _mount(libc, path, target, None, MS_BIND | MS_REC)
    # A read-only remount must keep the flags the original mount is locked with (user namespaces).
    st = os.statvfs(path)
    kept = st.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept)


def _build_root(libc, config: dict) -> None:
    root = config["root"]
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
    # A private /tmp first: the venv may itself live under /tmp (a CI clone), and its bind below
    # must land on top of this tmpfs, not be hidden under it.
    os.makedirs(root + "/tmp", mode=0o755)
    _mount(libc, "tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=1777")
    for top in ("/bin", "/lib", "/lib64", "/lib32", "/libx32", "/sbin"):
        if os.path.islink(top):
            os.symlink(os.readlink(top), root + top)
        elif os.path.isdir(top):
            _bind_readonly(libc, top, root)
    for path in ["/usr", "/etc", *config["python_roots"]]:
        _bind_readonly(libc, path, root)
    os.makedirs(root + BOX_DIR, mode=0o755)
    _mount(libc, config["scratch"], root + BOX_DIR, None, MS_BIND)
    _mount(libc, None, root + BOX_DIR, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV)
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


def _set_limits(limits: dict) -> None:
    import resource

    cpu = int(limits["notebook_s"]) + 30
    for which, value in ((resource.RLIMIT_AS, limits["memory_bytes"]),
                         (resource.RLIMIT_CPU, cpu),
                         (resource.RLIMIT_FSIZE, limits["file_bytes"]),
                         (resource.RLIMIT_NPROC, limits["processes"]),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))


def _drop_privileges(libc) -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _box_main(config: dict) -> int:
    level = config["level"]
    if level in ("namespaces", "userns"):
        libc = _libc()
        _build_root(libc, config)
        workdir = BOX_DIR
        if level == "namespaces":
            _drop_privileges(libc)
        else:
            _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    else:
        workdir = config["scratch"]
    os.chdir(workdir)
    if config["probe"]:  # the box works only if this very file (the repository) is out of sight
        if not os.path.exists(config["this_file"]):
            Path("probe.ok").write_text("the repository is hidden")
        return 0
    _set_limits(config["limits"])
    return _run_notebook(workdir, config)


def _run_notebook(workdir: str, config: dict) -> int:
    tmp = "/tmp" if config["level"] != "none" else os.path.join(workdir, ".tmp")
    os.makedirs(tmp, exist_ok=True)
    os.environ.clear()
    os.environ.update({
        "PATH": os.path.dirname(config["python"]) + ":/usr/bin:/bin",
        "HOME": workdir, "PYTHONPATH": workdir, "TMPDIR": tmp, "LANG": "C.UTF-8",
        "IPYTHONDIR": os.path.join(tmp, "ipython"), "JUPYTER_RUNTIME_DIR": os.path.join(tmp, "rt"),
        "JUPYTER_CONFIG_DIR": os.path.join(tmp, "jcfg"), "MPLCONFIGDIR": os.path.join(tmp, "mpl"),
        "MPLBACKEND": "Agg", "CNNBOOK_QUICK": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
    })
    # The venv's site-packages (found from sys.prefix) join sys.path only now, with the repository
    # out of sight; IPython runs the cells in this process (a Jupyter kernel and its ZMQ client
    # cost two more interpreters and seconds of start-up per notebook, for nothing here).
    import site

    site.main()
    # sys.path[0] is this file's folder (autograder/): out with it; the scratch folder goes first.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [workdir] + [p for p in sys.path if p and os.path.abspath(p) != here]
    _forget_editable_installs()
    return run_cells(os.path.join(workdir, "notebook.ipynb"), os.path.join(workdir, "executed.ipynb"),
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
    sys.exit(_box_main(json.loads(sys.argv[1])))
