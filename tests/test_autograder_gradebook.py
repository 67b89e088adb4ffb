"""The safe grader's scores in nbgrader's gradebook: every autograded score is there, formgrader's
manual points for the written answers come out in the export, and a regrade keeps them."""

from __future__ import annotations

import csv

import pytest

from autograder.__main__ import main
from autograder.release import COURSE_ID, release
from tests.test_autograder_class import CHAPTER, COURSE_ARGS, FULL, POINTS, fixture_course, honest_class

pytestmark = pytest.mark.slow


def test_the_gradebook_holds_every_autograded_score_and_the_export_adds_formgraders_points(tmp_path):
    from nbgrader.api import Gradebook

    root = tmp_path / "course"
    release(root / "release", fixture_course())  # `make release`: nbgrader's state in the course root
    assert (root / "gradebook.db").exists()
    expected = honest_class(tmp_path / "submitted")
    grade = [*COURSE_ARGS, "grade", str(tmp_path / "submitted"), "--out", str(tmp_path / "grading"),
             "--cell-timeout", "4", "--timeout", "40", "--gradebook", str(root)]
    assert main(grade) == 0

    url = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(url, course_id=COURSE_ID) as gb:
        for student, score in expected.items():
            submission = gb.find_submission(CHAPTER, student)
            assert submission.code_score == score, student
            points = {g.name: g.auto_score for g in gb.find_submission_notebook(CHAPTER, CHAPTER, student).grades
                      if g.cell_type == "code"}
            assert sum(points.values()) == score and len(points) == len(POINTS)
            assert submission.needs_manual_grade  # the written answer waits for formgrader
        # formgrader: the instructor gives 1.5 of 2 for honest_0's written answer
        [written] = [g for g in gb.find_submission_notebook(CHAPTER, CHAPTER, "honest_0").grades
                     if g.cell_type == "markdown"]
        written.manual_score = 1.5
        written.needs_manual_grade = False
        gb.db.commit()
    assert (root / "autograded" / "honest_0" / CHAPTER / f"{CHAPTER}.ipynb").exists()

    assert main([*grade, "--regrade", "honest_0"]) == 0  # a regrade keeps formgrader's points
    assert main(["export", "--root", str(root), "--out", str(tmp_path / "final.csv")]) == 0
    with open(tmp_path / "final.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(expected)
    honest = rows["honest_0"]
    assert (float(honest["automatic_score"]), float(honest["written_score"]), float(honest["score"])) == \
        (FULL, 1.5, FULL + 1.5)
    assert float(honest["max_score"]) == FULL + 2 and not honest["needs_manual_grade"]
    buggy = rows["buggy_scale"]
    assert (float(buggy["automatic_score"]), float(buggy["written_score"]), buggy["needs_manual_grade"]) == \
        (FULL - POINTS["scale"], 0.0, "yes")


def test_grading_into_a_gradebook_without_the_chapter_says_to_release_it_first(tmp_path, capsys):
    honest_class(tmp_path / "submitted")
    (tmp_path / "empty").mkdir()
    code = main([*COURSE_ARGS, "grade", str(tmp_path / "submitted"), "--out", str(tmp_path / "grading"),
                 "--gradebook", str(tmp_path / "empty")])
    assert code == 1 and "run `make release`" in capsys.readouterr().err
