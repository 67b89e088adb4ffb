"""What the box holds: trusted cells around the student's cells, which travel as data."""

from __future__ import annotations

import json
from pathlib import Path

from autograder.assemble import (
    build_notebook,
    find_solutions,
    plan_cells,
    provided_names,
    solutions_module,
    student_cells,
)
from autograder.course import Course, load_chapter, read_cells
from tests.submissions import builders

FIXTURE = Path(__file__).parent / "fixture_course" / "chapters" / "99_fixture.ipynb"


def _submission(nb: dict):
    return read_cells(json.dumps(nb).encode())


def test_only_the_students_own_cells_come_from_the_submission():
    chapter = load_chapter(FIXTURE)
    source = json.loads(FIXTURE.read_text())
    hostile = json.loads(builders.edit_tests(builders.emulate_release(source)))
    hostile["cells"].append({"cell_type": "code", "source": "np.allclose = lambda *a: True", "metadata": {},
                             "id": "added-by-student"})
    mine = student_cells(chapter, _submission(hostile))
    planned = plan_cells(chapter, mine)
    roles = [c["role"] for c in planned]
    assert roles == ["solution", "test"] * 3 + ["added"]
    tests = [c["source"] for c in planned if c["role"] == "test"]
    assert tests == [t.source for t in chapter.tests]  # the chapter's own, whatever the submission says
    assert all("check_hidden" not in t and "HIDDEN" not in t for t in tests)
    assert "time.sleep" not in json.dumps(planned)  # demonstrations never run
    nb = build_notebook(chapter, [])
    assert [c.metadata["autograder"]["role"] for c in nb.cells] == ["boot", "setup", "grade"]
    assert "np.allclose" not in json.dumps(nb)  # student code is never a cell of the notebook itself


def test_a_helper_in_a_cell_of_its_own_runs_before_the_solution():
    chapter = load_chapter(FIXTURE)
    nb = json.loads(builders.reference_student(json.loads(FIXTURE.read_text())))
    at = next(i for i, c in enumerate(nb["cells"]) if "def scale" in builders._src(c))
    nb["cells"].insert(at, {"cell_type": "code", "metadata": {}, "id": "my-helper",
                            "source": "def _times(a, x):\n    return a * np.asarray(x, dtype=float)\n"})
    planned = plan_cells(chapter, student_cells(chapter, _submission(nb)))
    ids = [c["id"] for c in planned]
    assert ids.index(f"cell_{at}") == ids.index("scale") - 1


def test_edited_demonstrations_are_not_run_but_remembered():
    chapter = load_chapter(FIXTURE)
    nb = json.loads(builders.reference_student(json.loads(FIXTURE.read_text())))
    demo = next(c for c in nb["cells"] if "time.sleep" in builders._src(c))
    demo["source"] = builders._src(demo) + "\nhelper = 3\n"
    mine = student_cells(chapter, _submission(nb))
    assert all("time.sleep" not in c["source"] for c in mine.cells)
    assert any("edited" in why for why, _ in mine.not_run)


def test_solutions_are_found_by_grade_id_then_by_def_line():
    chapter = load_chapter(FIXTURE)
    nb = builders.emulate_release(json.loads(FIXTURE.read_text()))
    for cell in builders.solution_cells(nb):
        if builders.function_name(cell) == "scale":
            cell["metadata"] = {}  # lost its nbgrader metadata
    copy = "def count_params(a, b, bias=True):\n    return 0"
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": copy})
    found = find_solutions(chapter, _submission(nb))
    assert found["moving_sum"].how_found == "grade_id"
    assert found["scale"].how_found == "def line"
    assert found["count_params"].how_found == "grade_id"  # the nbgrader cell wins over a later copy
    nb["cells"] = [c for c in nb["cells"] if "moving_sum" not in builders._src(c) or c["cell_type"] != "code"]
    assert find_solutions(chapter, _submission(nb))["moving_sum"].source is None


def test_the_chapter_structure_is_read_from_the_source():
    chapter = load_chapter(FIXTURE)
    assert [e.name for e in chapter.exercises] == ["moving_sum", "scale", "count_params"]
    assert [(t.grade_id, t.points, t.function) for t in chapter.tests] == [
        ("test_moving_sum", 2, "moving_sum"), ("test_scale", 1, "scale"), ("test_count_params", 1, "count_params")]
    assert chapter.max_score == 4 and chapter.written_max_score == 2


def test_the_box_gets_other_chapters_answers_that_a_chapter_imports_never_its_own():
    course = Course()
    chapter = course.chapter("07_channels")
    names = provided_names(chapter, course)
    assert "corr2d" in names and names["corr2d"] == "04_conv2d"
    assert not set(names) & {e.name for e in chapter.exercises}
    source, provided = solutions_module(chapter, course)
    namespace: dict = {}
    exec(compile(source, "solutions.py", "exec"), namespace)
    import numpy as np

    import solutions

    x, w = np.random.default_rng(0).normal(size=(6, 7)), np.ones((2, 3))
    assert np.allclose(namespace["corr2d"](x, w, padding="same"), solutions.corr2d(x, w, padding="same"))
    assert "conv2d_forward" not in namespace and "conv2d_forward" not in source.split("def corr2d")[0][-200:]
