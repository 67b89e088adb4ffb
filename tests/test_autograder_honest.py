"""Honest students, in every style the grading issue lists, on every chapter, get full marks and
no flag: plain loops, vectorised code, classes and dataclasses, chatty prints and odd names,
numeric tricks (FFT, column-major results), named tuples, scratch lines, helpers in cells of their
own, and the issue's own examples. Graded through the real box, once for the whole module.

`CNN_HONEST_STYLES=loops,chatty` grades only those styles (the full set takes a few minutes)."""

from __future__ import annotations

import json
import os

import pytest

from autograder import sandbox
from autograder.course import Course
from autograder.grade import grade_class
from tests.submissions import builders

pytestmark = pytest.mark.slow
COURSE = Course()
STYLES = [s for s in os.environ.get("CNN_HONEST_STYLES", ",".join(builders.HONEST_STYLES)).split(",") if s]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("honest")
    specs = COURSE.specs()
    for cid in COURSE.chapter_ids():
        chapter = COURSE.chapter(cid)
        if not chapter.exercises or not all(e.name in specs for e in chapter.exercises):
            continue  # a chapter whose new exercise has no spec yet cannot be graded in full
        source = json.loads(chapter.path.read_text())
        for style in STYLES:
            path = root / "submitted" / style / cid / f"{cid}.ipynb"
            path.parent.mkdir(parents=True)
            path.write_bytes(builders.honest_student(source, cid, style))
    results = grade_class(root / "submitted", root / "out", jobs=2, course=COURSE,
                          limits=sandbox.Limits(cell_s=30, notebook_s=300))
    return {(r.student, r.assignment): r for r in results}


def test_every_honest_style_gets_full_marks_on_every_chapter(graded):
    short = {key: (r.score, r.max_score, [m for t in r.tests for m in t.messages if t.points < t.max_points][:3])
             for key, r in graded.items() if r.score != r.max_score}
    assert not short, short


def test_no_honest_style_is_flagged(graded):
    flagged = {key: r.flags[:3] for key, r in graded.items() if r.flagged}
    assert not flagged, flagged


def test_every_style_ran_on_every_chapter(graded):
    assert {style for style, _ in graded} == set(STYLES)
    assert len(graded) == len(STYLES) * len({cid for _, cid in graded})
