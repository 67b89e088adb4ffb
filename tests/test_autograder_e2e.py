"""The whole flow on the book's own chapters, as an instructor runs it, in one go:

    python -m autograder release --out R
    python -m autograder grade S --out G --jobs 2

The class: the reference answers (every chapter, full marks), the blank release (every chapter, 0),
buggy students (one function off by one on every value: they lose exactly that function's share of
valid-input cases, and keep its bad-argument cases, scoring version 2), one hostile student per
family and one broken file per kind (0; the hostile ones flagged). Prints a wall-time summary.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time

import pytest

from autograder.course import REPO, Course
from autograder.judge import ReferenceCache
from autograder.release import leaks
from autograder.spec import DEFAULT_SEED, case_weights
from tests.submissions import builders

pytestmark = pytest.mark.slow
N_BUGGY = 3


def _ready_chapters(course: Course) -> list[str]:
    """Chapters whose every exercise has a spec (others cannot be graded yet)."""
    specs = course.specs()
    return [cid for cid in course.chapter_ids()
            if course.chapter(cid).exercises and all(e.name in specs for e in course.chapter(cid).exercises)]


def _isolated_function(course: Course, cid: str) -> str | None:
    """A plain graded function no other cell of the chapter mentions: breaking it breaks only it."""
    chapter = course.chapter(cid)
    source = json.loads(chapter.path.read_text())
    graded = builders.solution_cells(source) + builders.test_cells(source)  # the cells the grader runs
    texts = [builders._src(c) for c in graded]
    specs = course.specs()
    for ex in chapter.exercises:
        spec = specs[ex.name][0]
        mentions = sum(1 for t in texts if ex.name in t)
        tests = [t for t in chapter.tests if t.function == ex.name]
        if spec.judge is None and mentions == 2 and len(tests) == 1 and f"def {ex.name}(" in "".join(texts):
            return ex.name
    return None


def _autograder(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)


def test_release_then_grade_a_class(tmp_path, capsys):
    course = Course()
    chapters = _ready_chapters(course)
    assert chapters, "no chapter is ready to grade"
    start = time.monotonic()
    made = _autograder("release", "--out", str(tmp_path / "release"))
    release_s = time.monotonic() - start
    assert made.returncode == 0, made.stderr[-3000:]
    for cid in course.chapter_ids():
        assert leaks(tmp_path / "release" / cid / f"{cid}.ipynb") == [], cid

    class_dir = tmp_path / "submitted"
    expected: dict[tuple[str, str], float] = {}
    flagged: set[tuple[str, str]] = set()

    def submit(student: str, cid: str, data: bytes, score: float, hostile: bool = False) -> None:
        path = class_dir / student / cid / f"{cid}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expected[(student, cid)] = score
        if hostile:
            flagged.add((student, cid))

    sources = {cid: json.loads(course.chapter(cid).path.read_text()) for cid in chapters}
    released = {cid: json.loads((tmp_path / "release" / cid / f"{cid}.ipynb").read_text()) for cid in chapters}
    for cid in chapters:
        submit("reference", cid, builders.reference_student(sources[cid]), course.chapter(cid).max_score)
        submit("blank", cid, builders.blank_student(released[cid]), 0)
    candidates = [(cid, name) for cid in chapters if (name := _isolated_function(course, cid))]
    buggy = candidates[::max(1, len(candidates) // N_BUGGY)][:N_BUGGY]  # spread over the course
    references = ReferenceCache(course)
    for i, (cid, name) in enumerate(buggy):
        spec = course.specs()[name][0]
        cases, outcomes = references.cases(spec, DEFAULT_SEED), references.outcomes(spec, DEFAULT_SEED)
        valid = sum(w for w, o in zip(case_weights(cases, outcomes), outcomes) if o.kind == "value")
        lost = sum(t.points for t in course.chapter(cid).tests if t.function == name) * valid
        submit(f"buggy_{i}_{name}", cid, builders.buggy_student(sources[cid], name),
               round(float(course.chapter(cid).max_score - lost), 6))
    # Hostile families on a NumPy chapter and on a torch one (where `import torch` is allowed).
    targets = [c for c in ("03_conv1d", "09_gpu_torch") if c in chapters] or chapters[:1]
    target = targets[0]
    for cid in targets:
        for family, build in builders.HOSTILE.items():
            submit(f"hostile_{family}", cid, build(released[cid]), 0, hostile=True)
    for kind, build in builders.BROKEN.items():
        submit(f"broken_{kind}", target, build(released[target]), 0)

    start = time.monotonic()
    graded = _autograder("grade", str(class_dir), "--out", str(tmp_path / "out"), "--jobs", "2",
                         "--cell-timeout", "20", "--timeout", "60")
    grade_s = time.monotonic() - start
    with capsys.disabled():
        print(f"\n[autograder end to end] {len({s for s, _ in expected})} students, {len(expected)} notebooks "
              f"({len(chapters)} chapters; buggy: {', '.join(n for _, n in buggy)}; hostile on {', '.join(targets)}, "
              f"broken on {target})\n"
              f"  release of {len(course.chapter_ids())} chapters: {release_s:.1f} s\n"
              f"  grading with 2 jobs: {grade_s:.1f} s\n" + graded.stdout)
    assert graded.returncode == 0, graded.stderr[-3000:]
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert rows.keys() == expected.keys()
    wrong = {k: (rows[k]["score"], v, rows[k]["reason"][:200]) for k, v in expected.items()
             if abs(float(rows[k]["score"]) - v) > 1e-4}
    assert not wrong, wrong
    assert {k for k, r in rows.items() if r["flagged"]} >= flagged
    assert not any(rows[("reference", cid)]["flagged"] or rows[("blank", cid)]["flagged"] for cid in chapters)
