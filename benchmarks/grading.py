"""`make bench-grade`: the grader's speed, as an instructor runs it, against plain nbgrader.

    python -m benchmarks.grading [--copies N] [--chapters ID ...] [--skip-nbgrader]

One class (the model answers and a student with one bug, on every chapter the grader can grade),
released with `python -m autograder release` and graded in one run, each time from a fresh
`python -m autograder grade` process into an empty output folder:

- with `--jobs 1` and `--jobs 2` on this machine,
- through a Dask `LocalCluster` on 127.0.0.1 of 1, then 2 workers (each started before the
  clock: a standing cluster, as a lab's would be; its workers load the course on the clock),
- and with plain `nbgrader autograde` on the same notebooks.

It prints seconds per notebook and each run's speed-up, then where a notebook's time goes: the
fixed start-up of a grading process (the interpreter, then importing the grader and the
reference), shared by the class, and per notebook the box (built, run, harvested) and everything
outside it (reading, screening, judging, writing). The target: at least 10x nbgrader's speed per
notebook with one job, and a cluster's throughput that grows with its workers. Times are wall
clock on a shared machine: the ratios, measured in the same run, are what to read.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                **extra)


def _timed(command: list[str], cwd: Path = REPO, **env: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=_env(**env), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:6])} ... failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def ready_chapters(course) -> list[str]:
    specs = course.specs()
    return [cid for cid in course.chapter_ids()
            if course.chapter(cid).exercises and all(e.name in specs for e in course.chapter(cid).exercises)]


def make_class(root: Path, chapters: list[str], copies: int) -> int:
    """The model answers and one buggy student per chapter, `copies` times: -> notebooks."""
    from autograder.course import Course
    from tests.submissions import builders

    course = Course()
    count = 0
    for cid in chapters:
        source = json.loads(course.chapter(cid).path.read_text())
        name = next(e.name for e in course.chapter(cid).exercises)
        for i in range(copies):
            for student, data in ((f"model_{i}", builders.reference_student(source)),
                                  (f"buggy_{i}", builders.buggy_student(source, name))):
                path = root / "submitted" / student / cid / f"{cid}.ipynb"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                count += 1
    return count


def grade_run(root: Path, name: str, *extra: str) -> float:
    out = root / f"out-{name}"
    shutil.rmtree(out, ignore_errors=True)
    return _timed([sys.executable, "-m", "autograder", "grade", str(root / "submitted"), "--out", str(out),
                   "--no-progress", *extra])


def nbgrader_run(root: Path, chapters: list[str]) -> float:
    """`nbgrader autograde <id>` for each chapter, in the course root `release` made."""
    total = 0.0
    for cid in chapters:
        total += _timed(["nbgrader", "autograde", cid], cwd=root,
                        CNNBOOK_NBGRADER_ROOT=str(root), JUPYTER_CONFIG_PATH=str(REPO / "autograder"))
    return total


def breakdown(root: Path) -> dict[str, float]:
    """Where the time goes, from one instrumented in-process run with one job."""
    from autograder import grade, sandbox

    start_s = min(_timed([sys.executable, "-c", "pass"]) for _ in range(3))
    imports_s = _timed([sys.executable, "-c", "import autograder.grade, solutions"]) - start_s
    boxes: list[float] = []
    real = sandbox.run_boxed

    def timed_box(*args, **kwargs):
        result = real(*args, **kwargs)
        boxes.append(result.wall_s)
        return result

    sandbox.run_boxed = timed_box
    try:
        results = grade.grade_class(root / "submitted", root / "out-breakdown", jobs=1)
    finally:
        sandbox.run_boxed = real
    n = len(results)
    box = sum(boxes) / max(1, len(boxes))
    return {"process start": start_s, "imports": imports_s, "box": box,
            "outside the box": sum(r.wall_s for r in results) / max(1, n) - box}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=1, help="copies of the class (default 1)")
    parser.add_argument("--chapters", nargs="*", help="chapter ids (default: every gradable chapter)")
    parser.add_argument("--skip-nbgrader", action="store_true")
    args = parser.parse_args()

    from autograder.course import Course
    from autograder.release import release

    chapters = args.chapters or ready_chapters(Course())
    root = Path(tempfile.mkdtemp(prefix="ag-bench-"))
    try:
        release(root / "release", Course(), chapters)
        n = make_class(root, chapters, args.copies)
        print(f"grading {n} notebooks ({', '.join(chapters)}) on {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}\n")
        runs: dict[str, float] = {}
        if not args.skip_nbgrader:  # nbgrader reads ROOT/submitted: the same notebooks
            runs["nbgrader autograde"] = nbgrader_run(root, chapters)
        runs["autograder --jobs 1"] = grade_run(root, "jobs1", "--jobs", "1")
        runs["autograder --jobs 2"] = grade_run(root, "jobs2", "--jobs", "2")
        from distributed import LocalCluster

        for workers in (1, 2):  # a fresh cluster each: every worker loads the course and its launcher
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=":0") as cluster:
                runs[f"autograder, {workers}-worker cluster"] = grade_run(
                    root, f"cluster{workers}", "--scheduler", cluster.scheduler_address)
        base = runs.get("nbgrader autograde")
        one = runs["autograder --jobs 1"]
        print(f"{'run':32s} {'wall s':>8s} {'s/notebook':>11s} {'vs nbgrader':>12s} {'vs 1 job':>9s}")
        for name, wall in runs.items():
            print(f"{name:32s} {wall:8.1f} {wall / n:11.2f} {f'{base / wall:.1f}x' if base else '-':>12s} "
                  f"{one / wall:8.2f}x")
        parts = breakdown(root)
        print(f"\nper grading process: interpreter start {parts['process start']:.2f} s, importing the grader "
              f"and the reference {parts['imports']:.2f} s (shared by the class: "
              f"{(parts['process start'] + parts['imports']) / n:.2f} s a notebook here)")
        print(f"per notebook (one job): box {parts['box']:.2f} s (built, run, harvested), outside the box "
              f"{parts['outside the box']:.2f} s (read, screen, judge, write)")
        growth = runs["autograder, 1-worker cluster"] / runs["autograder, 2-worker cluster"]
        print(f"\na cluster's throughput, 2 workers against 1: {growth:.2f}x (on {os.cpu_count()} CPUs)")
        if base:
            print(f"target: >= 10x nbgrader per notebook with one job: {base / one:.1f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
