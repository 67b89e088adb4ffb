"""A class graded as an instructor grades it, on the fixture chapter: attacks on the box beside
honest students, a grader killed with SIGKILL mid-class and run again, a regrade into the same
output, submissions left in odd places."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.course import REPO, Course
from autograder.grade import grade_class
from autograder.results import recorded_keys
from tests.submissions import builders

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent / "fixture_course"
CHAPTER = "99_fixture"
FULL = 4.0
POINTS = {"moving_sum": 2, "scale": 1, "count_params": 1}
LIMITS = sandbox.Limits(cell_s=4, notebook_s=40)
COURSE_ARGS = ["--chapters", str(HERE / "chapters"), "--specs", str(HERE / "fixture_specs.py"),
               "--reference", str(HERE / "fixture_reference.py")]

# Attacks on the box (the functions themselves are wrong: each attacker earns nothing, whether the
# screen stops it before the box or the box contains it). None may move an honest score.
ATTACKS = {
    # Outcomes forged under the names the harvest writes, claiming every case returned 0.
    "outcome_forger": "_n = '{name}'\n_fake = '{{\"name\": \"' + _n + '\", \"complete\": true, \"cases\": ' + "
                      "'[{{\"kind\": \"value\", \"value\": {{\"t\": \"float\", \"v\": \"0.0\"}}}}]}}'\n"
                      "np.savetxt('o' + 'ut/' + _n + '.js' + 'on', [0], fmt=_fake)\n",
    # 80 MB at a time until the box's quota says no.
    "disk_filler": "for _i in range(100):\n    try:\n        np.zeros(10**7).tofile('junk' + str(_i))\n"
                   "    except OSError:\n        break\n",
    # A process per loop turn, forever (`os` alone makes the screen flag it; the box stops it too).
    "fork_bomb": "import os\nfor _i in range(10**6):\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    # One CPU, for as long as the cell may run.
    "cpu_hog": "_x = 0\nfor _i in range(10**10):\n    _x += _i\n",
}


# An honest student whose solution takes a while (a slow loop): the class is still being graded
# when a test interrupts it.
SLOW = "_warm = 0\nfor _i in range(4 * 10**6):\n    _warm += _i\n"


def slow_student(source: dict) -> bytes:
    nb = json.loads(builders.reference_student(source))
    cell = builders.solution_cells(nb)[0]
    cell["source"] = SLOW + builders._src(cell)
    return builders.dump(nb)


def fixture_course() -> Course:
    return Course(chapters_dir=HERE / "chapters", spec_files=[HERE / "fixture_specs.py"],
                  reference=str(HERE / "fixture_reference.py"))


def _sources():
    source = json.loads((HERE / "chapters" / f"{CHAPTER}.ipynb").read_text())
    return source, builders.emulate_release(source)


def put(root: Path, student: str, data: bytes, name: str | None = None) -> Path:
    path = root / student / CHAPTER / (name or f"{CHAPTER}.ipynb")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def honest_class(root: Path) -> dict[str, float]:
    """Students whose scores are known: -> student -> score."""
    source, released = _sources()
    expected = {}
    for i in range(2):
        put(root, f"honest_{i}", builders.reference_student(source))
        expected[f"honest_{i}"] = FULL
    for name, points in POINTS.items():
        put(root, f"buggy_{name}", builders.buggy_student(source, name))
        expected[f"buggy_{name}"] = FULL - points
    put(root, "blank", builders.blank_student(released))
    expected["blank"] = 0.0
    return expected


def rows(out: Path) -> dict[tuple[str, str], dict]:
    with open(out / "grades.csv", newline="") as f:
        return {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}


def test_attacks_on_the_box_beside_honest_students_move_no_honest_score(tmp_path):
    expected = honest_class(tmp_path / "submitted")
    _, released = _sources()
    for family, prelude in ATTACKS.items():
        put(tmp_path / "submitted", family, builders.dump(builders.with_bodies(released, builders.WRONG, prelude)))
    results = {r.student: r for r in grade_class(tmp_path / "submitted", tmp_path / "out", jobs=2,
                                                 course=fixture_course(), limits=LIMITS)}
    assert {s: results[s].score for s in expected} == expected
    assert all(not results[s].flagged for s in expected)
    assert {s: results[s].score for s in ATTACKS} == dict.fromkeys(ATTACKS, 0.0)
    written = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written < 50 << 20  # the disk filler's junk stayed in its box


def _grade_cli(submissions: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.Popen([sys.executable, "-m", "autograder", *COURSE_ARGS, "grade", str(submissions),
                             "--out", str(out), "--jobs", "2", "--cell-timeout", "4", "--timeout", "40", *extra],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_grader_killed_mid_class_and_run_again_ends_with_the_grades_of_an_uninterrupted_run(tmp_path):
    submissions = tmp_path / "submitted"
    honest_class(submissions)
    source, released = _sources()
    put(submissions, "broken_syntax", builders.syntax_error(released))
    put(submissions, "copy_only", builders.reference_student(source), f"{CHAPTER} (1).ipynb")
    for i in range(4):
        put(submissions, f"slow_{i}", slow_student(source))
    grade_class(submissions, tmp_path / "whole", jobs=2, course=fixture_course(), limits=LIMITS)
    whole = (tmp_path / "whole" / "grades.csv").read_text()

    out = tmp_path / "killed"
    first = _grade_cli(submissions, out)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:
        try:
            done = sum(1 for line in (out / "grades.csv").read_text().splitlines()[1:] if line)
        except OSError:
            done = 0
        if done >= 2:
            break
        time.sleep(0.05)
    assert first.poll() is None, "the class was graded before it could be killed"
    first.send_signal(signal.SIGKILL)
    first.communicate()
    partial = rows(out)
    finished = recorded_keys(out)  # grades.csv, and the journal's results not yet rewritten into it
    assert 2 <= len(partial) <= len(finished) < len(rows(tmp_path / "whole"))

    second = _grade_cli(submissions, out)
    stdout, stderr = second.communicate(timeout=600)
    assert second.returncode == 0, stderr[-3000:]
    assert (out / "grades.csv").read_text() == whole
    for key, row in partial.items():  # what the killed run finished was kept, not graded again
        assert json.loads((out / "grades.json").read_text()) and rows(out)[key] == row
    assert f"{len(rows(out)) - len(finished)} graded in this run" in stdout


def test_resume_grades_only_what_has_no_result_and_a_regrade_merges(tmp_path):
    submissions = tmp_path / "submitted"
    expected = honest_class(submissions)
    out = tmp_path / "out"
    course = fixture_course()
    first = {r.student: r for r in grade_class(submissions, out, jobs=2, course=course, limits=LIMITS)}
    with open(out / "grades.csv", newline="") as f:  # the instructor fills in a written score by hand
        table = list(csv.reader(f))
    column = table[0].index("written_score")
    for line in table[1:]:
        line[column] = "1.5"
    with open(out / "grades.csv", "w", newline="") as f:
        csv.writer(f).writerows(table)

    again = {r.student: r for r in grade_class(submissions, out, jobs=2, course=course, limits=LIMITS)}
    assert {s: r.wall_s for s, r in again.items()} == {s: r.wall_s for s, r in first.items()}  # nothing regraded

    source, _ = _sources()  # buggy_scale fixes the bug and is regraded alone
    put(submissions, "buggy_scale", builders.reference_student(source))
    regraded = {r.student: r for r in grade_class(submissions, out, jobs=2, course=course, limits=LIMITS,
                                                  regrade=["buggy_scale/99_fixture"])}
    assert regraded["buggy_scale"].score == FULL
    assert {s: r.wall_s for s, r in regraded.items() if s != "buggy_scale"} == \
        {s: r.wall_s for s, r in first.items() if s != "buggy_scale"}
    table = rows(out)
    assert {s for s, _ in table} == set(expected)
    assert all(r["written_score"] == "1.5" for r in table.values())
    assert list((out / "backups").glob("grades-*.csv"))


def test_odd_submissions_each_get_a_row_that_says_what_happened(tmp_path, capsys):
    submissions = tmp_path / "submitted"
    source, released = _sources()
    reference = builders.reference_student(source)
    put(submissions, "two_copies", reference)
    put(submissions, "two_copies", builders.blank_student(released), f"{CHAPTER} (1).ipynb")
    put(submissions, "versions", builders.blank_student(released), f"{CHAPTER}-v1.ipynb")
    put(submissions, "versions", reference, f"{CHAPTER}-v2.ipynb")
    (submissions / "loose").mkdir()
    (submissions / "loose" / f"{CHAPTER}.ipynb").write_bytes(reference)
    (submissions / "loose" / "notes.ipynb").write_bytes(reference)
    (submissions / "linked" / CHAPTER).mkdir(parents=True)
    (submissions / "linked" / CHAPTER / f"{CHAPTER}.ipynb").symlink_to(HERE / "chapters" / f"{CHAPTER}.ipynb")
    grade_class(submissions, tmp_path / "out", jobs=2, course=fixture_course(), limits=LIMITS, progress=True)
    bar = capsys.readouterr().err
    assert "grading" in bar and "3/3" in bar and "failed=0" in bar  # done, failed, (time left)
    table = rows(tmp_path / "out")
    assert float(table[("two_copies", CHAPTER)]["score"]) == FULL
    assert "not graded" in table[("two_copies", CHAPTER)]["note"]
    assert float(table[("versions", CHAPTER)]["score"]) == FULL
    assert table[("versions", CHAPTER)]["file"].endswith("-v2.ipynb")
    assert float(table[("loose", CHAPTER)]["score"]) == FULL and "outside" in table[("loose", CHAPTER)]["note"]
    assert table[("loose", "notes.ipynb")]["status"] == "rejected"
    assert table[("linked", CHAPTER)]["status"] == "rejected" and "link" in table[("linked", CHAPTER)]["reason"]
