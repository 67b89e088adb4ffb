"""Grade a class on a Dask distributed cluster: one task per submission, bytes in, results back.

    python -m autograder grade submitted --out grading --scheduler tls://scheduler.example.org:8786

- **No shared file system.** The instructor's process reads each notebook and sends its bytes;
  the course (chapter notebooks, spec files, a reference given as a file) goes to every worker once,
  with the worker plugin below. A worker grades in a temporary folder with the same box as a local run and sends
  back the record and every file of the run (feedback page, the submission as received, the
  executed notebook and outcomes), which the instructor's process writes into `--out`.
- **Workers prove they can box.** A worker plugin runs on every worker, now and whenever one joins
  or restarts: it probes the box (`sandbox.isolation_report`) and compares the worker's copy of
  the grader and reference with the instructor's. Only a worker that passes gets the resource
  `autograder-box` (one per worker thread) that grading tasks require; the others are listed,
  with the reason, and never get a submission.
- **Faults.** A worker that dies mid-task (killed, out of memory) has its tasks run elsewhere by
  the scheduler; a submission that kills every worker it runs on ends, after the scheduler's
  `distributed.scheduler.allowed-failures` retries (3 by default), as a failed row that says so.
  Every result is recorded (`results.Results`) the moment it arrives, so the instructor's process
  never loses one, and results are keyed by student and chapter, so a task that ran twice is one
  row. One task per box slot is in flight at a time, so a class of any size does not fill the
  scheduler's memory, and a worker's death (or a crashing neighbour) never counts against
  submissions that were merely queued there.
- **TLS.** A plain `tcp://` scheduler runs anyone's code (it executes what clients send it); between
  machines use `tls://` with certificates, configured the Dask way (`distributed.comm.tls.*` in a
  Dask config file or `DASK_DISTRIBUTED__COMM__TLS__...` variables: see autograder/README.md).
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder import sandbox
from autograder.course import REPO, Course

RESOURCE = "autograder-box"
PLUGIN_NAME = "autograder-box-check"
OUTPUT_FOLDERS = ("feedback", "received", "runs")


# -- what instructor and workers must agree on --------------------------------------------------

def _files_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(REPO) if path.is_relative_to(REPO) else path.name).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def code_digest(reference: str = "solutions") -> str:
    """The grader, the box's packages and the reference package: the same on every machine, or the
    same submission could earn different points on different workers."""
    paths = [p for folder in ("autograder", "cnnbook") for p in (REPO / folder).rglob("*.py")
             if "__pycache__" not in p.parts and "specs" not in p.relative_to(REPO).parts]
    if not reference.endswith(".py"):
        package = REPO / reference.split(".")[0]
        if package.is_dir():
            paths += [p for p in package.rglob("*.py") if "__pycache__" not in p.parts]
    return _files_digest(paths)


def course_bundle(course: Course, assignments: set[str]) -> dict:
    """Everything of the course a worker needs that is not code: the chapters graded, the spec
    files, and the reference when it is a file."""
    chapters = {cid: course.chapter(cid).path.read_bytes() for cid in sorted(assignments)
                if course.chapter(cid) is not None}
    specs = {p.name: p.read_bytes() for p in course.spec_files}
    reference = ({"file": Path(course.reference).name, "source": Path(course.reference).read_bytes()}
                 if course.reference.endswith(".py") else {"module": course.reference})
    h = hashlib.sha256()
    for name, data in [*sorted(chapters.items()), *sorted(specs.items())]:
        h.update(name.encode() + b"\0" + data)
    h.update(repr(sorted(reference.items())).encode())
    return {"chapters": chapters, "specs": specs, "reference": reference, "digest": h.hexdigest()[:16]}


# -- on a worker ----------------------------------------------------------------------------------

def check_worker(expected_digest: str, reference: str) -> dict:
    """Can this machine box a submission, and does it run the instructor's grader?"""
    report = sandbox.isolation_report()
    reasons = []
    if not report.can_isolate:
        reasons.append(f"cannot isolate a submission ({report.detail})")
    try:
        mine = code_digest(reference)
    except OSError as exc:
        mine = f"unreadable ({exc})"
    if mine != expected_digest:
        reasons.append("its copy of the grader or the reference differs from the instructor's "
                       f"(digest {mine[:12]} here, {expected_digest[:12]} there): deploy the same commit")
    return {"ok": not reasons, "isolation": str(report), "reasons": reasons, "host": os.uname().nodename}


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # grading on one machine needs no Dask
    WorkerPlugin = object


class BoxCheck(WorkerPlugin):
    """Runs on every worker (and every worker that joins or restarts later): a worker that passes
    `check_worker` gets the course (`bundle`) and offers one `autograder-box` per thread; one that
    fails offers none. (The scheduler keeps the plugin, so the course survives any worker's death;
    data scattered to workers would not.)"""

    name = PLUGIN_NAME

    def __init__(self, expected_digest: str, reference: str, bundle: dict | None = None):
        self.expected_digest = expected_digest
        self.reference = reference
        self.bundle = bundle

    async def setup(self, worker):
        import asyncio

        from distributed.core import Status

        report = await asyncio.get_running_loop().run_in_executor(None, self._check)
        worker.autograder_report = report
        await worker.set_resources(**{RESOURCE: worker.state.nthreads if report["ok"] else 0})
        if worker.status == Status.running:
            # The scheduler looks again at tasks that waited for a box (after every worker died,
            # say) only when a worker starts running: new resources alone do not wake them.
            worker.status = Status.paused
            worker.status = Status.running

    def _check(self) -> dict:
        report = check_worker(self.expected_digest, self.reference)
        if report["ok"] and self.bundle is not None:
            try:
                _worker_course(self.bundle)
            except Exception as exc:  # noqa: BLE001 -- a worker that cannot read the course grades nothing
                report = dict(report, ok=False, reasons=[f"cannot load the course ({type(exc).__name__}: {exc})"])
        return report


def worker_report(dask_worker) -> dict:
    return getattr(dask_worker, "autograder_report", {"ok": False, "reasons": ["the check has not run"]})


_STATE: dict[str, tuple] = {}
_STATE_LOCK = threading.Lock()


def _worker_course(bundle: dict):
    """The course and settings of a bundle, materialized once per worker process."""
    from autograder.grade import make_settings

    with _STATE_LOCK:
        if bundle["digest"] not in _STATE:
            folder = Path(tempfile.mkdtemp(prefix=f"ag-course-{bundle['digest']}-"))
            atexit.register(shutil.rmtree, folder, True)
            (folder / "chapters").mkdir(parents=True, exist_ok=True)
            (folder / "specs").mkdir(exist_ok=True)
            for cid, data in bundle["chapters"].items():
                (folder / "chapters" / f"{cid}.ipynb").write_bytes(data)
            for name, data in bundle["specs"].items():
                (folder / "specs" / name).write_bytes(data)
            reference = bundle["reference"].get("module")
            if reference is None:
                reference = str(folder / bundle["reference"]["file"])
                Path(reference).write_bytes(bundle["reference"]["source"])
            for name in [m for m in sys.modules if m.startswith("_autograder_loaded_")]:
                del sys.modules[name]  # spec and reference files of another bundle, by the same names
            course = Course(chapters_dir=folder / "chapters", reference=reference,
                            spec_files=sorted((folder / "specs").glob("*.py")))
            course.specs()
            sandbox.warm_up(_setup_imports(course))
            _STATE[bundle["digest"]] = (course, make_settings(course, folder / "out", None, sandbox.isolation()))
        return _STATE[bundle["digest"]]


def _setup_imports(course: Course) -> list[str]:
    from autograder.grade import setup_imports

    return setup_imports(course, set(course.chapter_ids()))


def grade_task(student: str, assignment: str, data: bytes, course_digest: str, limits: dict,
               options: dict | None = None) -> dict:
    """One submission, on a worker: -> {"record": ..., "files": {relative path: bytes}}."""
    from autograder.grade import _grade_safely, result_record

    if course_digest not in _STATE:
        raise RuntimeError(f"this worker has not loaded the course {course_digest} (its check failed?)")
    course, settings = _STATE[course_digest]
    settings = dataclasses.replace(settings, limits=sandbox.Limits(**limits), **(options or {}))
    with tempfile.TemporaryDirectory(prefix="ag-task-") as tmp:
        out = Path(tmp) / "out"
        path = Path(tmp) / "in" / f"{assignment}.ipynb"
        path.parent.mkdir()
        path.write_bytes(data)
        result = _grade_safely(student, assignment, path, dataclasses.replace(settings, out=out))
        files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
                 if p.is_file() and not p.is_symlink()}
    return {"record": result_record(result), "files": files, "host": os.uname().nodename}


# -- on the instructor's machine ----------------------------------------------------------------

def _safe_relative(student: str, assignment: str, name: str) -> Path | None:
    """A file a worker sent back goes under feedback/, received/ or runs/ of its own student."""
    path = Path(name)
    if path.is_absolute() or ".." in path.parts or len(path.parts) < 3:
        return None
    if path.parts[0] not in OUTPUT_FOLDERS or path.parts[1] != student:
        return None
    if path.parts[2] != (f"{assignment}.html" if path.parts[0] == "feedback" else assignment):
        return None
    return path


def write_files(out: Path, student: str, assignment: str, files: dict[str, bytes]) -> None:
    from autograder.grade import SAFE_NAME

    if not (SAFE_NAME.match(student) and SAFE_NAME.match(assignment)):
        return
    shutil.rmtree(out / "runs" / student / assignment, ignore_errors=True)
    for name, data in files.items():
        rel = _safe_relative(student, assignment, name)
        if rel is None:
            continue
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.part")
        part.write_bytes(data)
        os.replace(part, target)


def connect(scheduler: str):
    from distributed import Client

    if scheduler.startswith("tcp://") and not scheduler.startswith(("tcp://127.", "tcp://localhost", "tcp://[::1]")):
        print(f"WARNING: {scheduler} is a plain tcp:// scheduler: anyone who can reach it can run code on "
              "every worker. Use tls:// between machines (autograder/README.md).", file=sys.stderr)
    return Client(scheduler, timeout="30s")


def check_workers(client, reference: str, bundle: dict | None = None) -> dict[str, dict]:
    """Install the box check (and the course) on every worker; -> worker address -> report."""
    client.register_plugin(BoxCheck(code_digest(reference), reference, bundle), name=PLUGIN_NAME)
    return client.run(worker_report)


def _slots(client) -> int:
    """Box slots of the workers that passed the check, now (workers come, go and restart)."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    return sum(int(w.get("resources", {}).get(RESOURCE, 0)) for w in workers)


def grade_on_cluster(todo, course: Course, limits: sandbox.Limits, out: Path, finished,
                     scheduler: str | None = None, client=None, options: dict | None = None) -> None:
    """Grade `todo` (grade.Submission) on the cluster, calling `finished(result, submission)` in this
    thread as each result arrives."""
    from distributed import wait
    from distributed.scheduler import KilledWorker

    from autograder import outcomes
    from autograder.grade import SubmissionResult, result_from_record

    own = client is None
    client = client or connect(scheduler)
    try:
        bundle = course_bundle(course, {s.assignment for s in todo})
        reports = check_workers(client, course.reference, bundle)
        for address, report in sorted(reports.items()):
            state = "grades" if report.get("ok") else "REFUSED: " + "; ".join(report.get("reasons", []))
            print(f"worker {address} ({report.get('host', '?')}, {report.get('isolation', '?')}): {state}",
                  file=sys.stderr)
        if not any(r.get("ok") for r in reports.values()):
            raise RuntimeError("no worker of the cluster can grade (see the reasons above)")
        limits_dict = dataclasses.asdict(limits)
        queue = list(reversed(todo))  # the first (longest) comes off the end first
        in_flight: dict = {}
        lost: list[str] = []
        slots, counted = _slots(client), time.monotonic()

        def submit_next() -> None:
            s = queue.pop()
            try:
                data = outcomes.read_plain_file(s.path, 64 << 20)
            except outcomes.Unreadable as exc:
                failed = SubmissionResult(s.student, s.assignment, status="failed",
                                          reason=f"the submission could not be read ({exc})")
                finished(failed, s)
                return
            future = client.submit(grade_task, s.student, s.assignment, data, bundle["digest"], limits_dict,
                                   options, resources={RESOURCE: 1}, pure=False, priority=len(queue),
                                   key=f"grade-{_tag(s.student)}-{_tag(s.assignment)}-{os.urandom(4).hex()}")
            in_flight[future] = s

        def top_up() -> None:
            # One task per box slot: a worker never holds a queue of tasks that its death (or a
            # crashing neighbour's) would count against them.
            nonlocal slots, counted
            if time.monotonic() - counted > 2:
                slots, counted = _slots(client), time.monotonic()
            while queue and len(in_flight) < max(1, slots):
                submit_next()

        top_up()
        # No notebook takes longer than its limit and the box's grace: silence beyond that, with
        # tasks out, means no worker can take them (every finished result is saved already).
        patience = limits.notebook_s + sandbox.GRACE_S + 120
        while in_flight:
            try:
                wait(list(in_flight), timeout=patience, return_when="FIRST_COMPLETED")
            except TimeoutError:
                raise RuntimeError(f"no result from the cluster for {patience:.0f} s with {len(in_flight)} "
                                   "submission(s) out: are there workers that passed the check?") from None
            for future in [f for f in in_flight if f.done()]:
                s = in_flight.pop(future)
                try:
                    answer = future.result()
                except KilledWorker as exc:  # the submission's doing, every time it was tried
                    finished(SubmissionResult(s.student, s.assignment, status="failed",
                                              reason=_failure_reason(exc)), s)
                except Exception as exc:  # noqa: BLE001 -- the cluster's trouble: no row, so a rerun grades it
                    lost.append(f"{s.student}/{s.assignment} ({type(exc).__name__}: {exc})")
                else:
                    write_files(out, s.student, s.assignment, answer["files"])
                    finished(result_from_record(answer["record"]), s)
                future.release()
            top_up()
        if lost:
            raise RuntimeError(f"{len(lost)} submission(s) were not graded because of the cluster, e.g. "
                               f"{lost[0]}; run the same command again to grade them")
    finally:
        if own:
            client.close()


def _tag(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_." else "_" for c in name)[:40]


def _failure_reason(exc: Exception) -> str:
    return ("not graded: grading this submission ended its cluster worker every time it was tried "
            f"({exc}); an instructor should look at it")
