"""Grade a whole class on the fixture chapter, through the real release and the real box.

One class, graded once (module fixture): the reference answers, the blank release, buggy students,
one student who used a library convolution, every hostile family and every broken file, and the
two notebooks of the grading issue's item 5 (a helper in a cell of its own; a name that only an
edited demonstration cell defines).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.course import Course
from autograder.grade import grade_class
from autograder.release import leaks, release
from tests.submissions import builders

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent / "fixture_course"
CHAPTER = "99_fixture"
POINTS = {"moving_sum": 2, "scale": 1, "count_params": 1}
HONEST_NUMPY = '''def moving_sum(x, k):
    """An honest student who reached for the library."""
    x = np.asarray(x, dtype=float)
    if k < 1 or k > len(x):
        raise ValueError("bad window")
    return np.convolve(x, np.ones(k), "valid")
'''


def fixture_course() -> Course:
    return Course(chapters_dir=HERE / "chapters", spec_files=[HERE / "fixture_specs.py"],
                  reference=str(HERE / "fixture_reference.py"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    course = fixture_course()
    [released_path] = release(root / "release", course)
    source = json.loads((HERE / "chapters" / f"{CHAPTER}.ipynb").read_text())
    released = json.loads(released_path.read_text())
    students = {"reference": builders.reference_student(source), "blank": builders.blank_student(released)}
    students |= {f"buggy_{name}": builders.buggy_student(source, name) for name in POINTS}
    students |= {f"hostile_{k}": f(released) for k, f in builders.HOSTILE.items()}
    students |= {f"broken_{k}": f(released) for k, f in builders.BROKEN.items()}
    honest = json.loads(builders.reference_student(source))
    for cell in builders.solution_cells(honest):
        if builders.function_name(cell) == "moving_sum":
            cell["source"] = HONEST_NUMPY
    students["honest_numpy"] = json.dumps(honest).encode()
    partly_fake = json.loads(builders.reference_student(source))
    for cell in builders.solution_cells(partly_fake):
        if builders.function_name(cell) == "scale":
            cell["source"] = builders.FAKE_SHAPE + "\n\ndef scale(x, a):\n    return _Result()\n"
    students["partly_fake"] = json.dumps(partly_fake).encode()
    own_cell = json.loads(builders.reference_student(source))
    at = next(i for i, c in enumerate(own_cell["cells"]) if "def scale" in builders._src(c))
    own_cell["cells"].insert(at, {"cell_type": "code", "metadata": {}, "id": "my-helper", "execution_count": None,
                                  "outputs": [],
                                  "source": "def _as_float(x):\n    return np.asarray(x, dtype=float)\n"})
    for cell in builders.solution_cells(own_cell):
        if builders.function_name(cell) == "scale":
            cell["source"] = "def scale(x, a):\n    return a * _as_float(x)\n"
    students["helper_in_own_cell"] = json.dumps(own_cell).encode()
    demo_name = json.loads(builders.reference_student(source))
    demo = next(c for c in demo_name["cells"] if "time.sleep" in builders._src(c))
    demo["source"] = builders._src(demo) + "\n\ndef _as_float(x):\n    return np.asarray(x, dtype=float)\n"
    for cell in builders.solution_cells(demo_name):
        if builders.function_name(cell) == "scale":
            cell["source"] = "def scale(x, a):\n    return a * _as_float(x)\n"
    students["name_from_a_demo"] = json.dumps(demo_name).encode()
    for student, data in students.items():
        path = root / "submitted" / student / CHAPTER / f"{CHAPTER}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
    limits = sandbox.Limits(cell_s=4, notebook_s=40)
    results = grade_class(root / "submitted", root / "out", jobs=2, course=course, limits=limits)
    return root, released_path, {r.student: r for r in results}


def test_the_release_has_no_solutions_or_hidden_tests_and_keeps_checksums(graded):
    _, released_path, _ = graded
    assert leaks(released_path) == []
    nb = json.loads(released_path.read_text())
    locked = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("locked")]
    assert locked and all("checksum" in c["metadata"]["nbgrader"] for c in locked)


def test_reference_gets_full_marks_and_blank_gets_zero(graded):
    _, _, results = graded
    assert results["reference"].score == results["reference"].max_score == sum(POINTS.values())
    assert results["blank"].score == 0 and not results["blank"].flagged
    assert results["reference"].written_max_score == 2 and results["reference"].written[0]["grade_id"] == "why_order"


@pytest.mark.parametrize("name", sorted(POINTS))
def test_a_buggy_function_loses_exactly_its_points(graded, name):
    result = graded[2][f"buggy_{name}"]
    assert result.score == sum(POINTS.values()) - POINTS[name]
    assert not result.flagged
    [failed] = [t for t in result.tests if t.points < t.max_points]
    assert failed.function == name and any("hidden case" in m for m in failed.messages)


@pytest.mark.parametrize("family", sorted(builders.HOSTILE))
def test_hostile_students_earn_nothing_and_are_flagged(graded, family):
    result = graded[2][f"hostile_{family}"]
    assert result.score == 0, [t.messages for t in result.tests]
    assert result.flagged


@pytest.mark.parametrize("kind", sorted(builders.BROKEN))
def test_broken_submissions_earn_nothing_with_a_reason(graded, kind):
    result = graded[2][f"broken_{kind}"]
    assert result.score == 0 and result.status == "graded"
    reasons = [result.reason] + [m for t in result.tests for m in t.messages]
    assert any(reasons), kind


def test_a_library_convolution_costs_that_function_alone(graded):
    """The box refuses np.convolve where the exercise is to write the convolution: that function
    earns nothing, the others keep their points, and a human is told."""
    result = graded[2]["honest_numpy"]
    assert result.score == POINTS["scale"] + POINTS["count_params"]
    assert result.flagged and any("convolve" in f for f in result.flags)
    [test] = [t for t in result.tests if t.function == "moving_sum"]
    assert test.points == 0 and "library" in " ".join(test.messages) + " ".join(result.flags)


def test_one_disguised_result_costs_that_function_alone(graded):
    result = graded[2]["partly_fake"]
    assert result.score == POINTS["moving_sum"] + POINTS["count_params"]
    assert result.flagged and any("_Result" in f for f in result.flags)


def test_a_helper_in_a_cell_of_its_own_runs_as_in_the_notebook(graded):
    result = graded[2]["helper_in_own_cell"]
    assert result.score == result.max_score and not result.flagged


def test_a_name_missing_only_in_the_grader_says_why(graded):
    result = graded[2]["name_from_a_demo"]
    [test] = [t for t in result.tests if t.function == "scale"]
    assert test.points == 0
    said = " ".join(test.messages)
    assert "_as_float" in said and "demonstration cell" in said and "does not run" in said


def test_grades_feedback_and_everything_needed_to_regrade_are_kept(graded):
    root, _, results = graded
    rows = list(csv.DictReader(open(root / "out" / "grades.csv")))
    assert len(rows) == len(results)
    assert {"student", "assignment", "score", "max_score", "written_max_score"} <= rows[0].keys()
    assert {r["student"]: float(r["score"]) for r in rows}["reference"] == 4
    page = (root / "out" / "feedback" / "buggy_scale" / f"{CHAPTER}.html").read_text()
    assert "test_scale" in page and "hidden case" in page and "0 / 1" in page
    for student in results:
        text = (root / "out" / "feedback" / student / f"{CHAPTER}.html").read_text()
        assert "check_hidden" not in text and "BEGIN HIDDEN" not in text
    assert not re.search(r"<script", (root / "out" / "feedback" / "hostile_fake_equal" / f"{CHAPTER}.html").read_text())
    assert (root / "out" / "received" / "reference" / CHAPTER / f"{CHAPTER}.ipynb").read_bytes() == \
        (root / "submitted" / "reference" / CHAPTER / f"{CHAPTER}.ipynb").read_bytes()
    run = root / "out" / "runs" / "reference" / CHAPTER
    assert (run / "executed.ipynb").exists() and (run / "out" / "moving_sum.json").exists()
    assert json.loads((root / "out" / "grades.json").read_text())[0]["tests"]
