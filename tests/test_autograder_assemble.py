"""What the box runs: trusted cells around the student's solution cells, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from autograder.assemble import build_notebook, find_solutions
from autograder.course import load_chapter, read_cells
from tests.submissions import builders

FIXTURE = Path(__file__).parent / "fixture_course" / "chapters" / "99_fixture.ipynb"


def _submission(nb: dict):
    return read_cells(json.dumps(nb).encode())


def test_only_solution_cells_come_from_the_submission():
    chapter = load_chapter(FIXTURE)
    source = json.loads(FIXTURE.read_text())
    hostile = json.loads(builders.edit_tests(builders.emulate_release(source)))
    hostile["cells"].append({"cell_type": "code", "source": "np.allclose = lambda *a: True", "metadata": {}})
    found = find_solutions(chapter, _submission(hostile))
    nb = build_notebook(chapter, {n: s.source for n, s in found.items()}, {n: "m" for n in found})
    roles = [c.metadata["autograder"]["role"] for c in nb.cells]
    assert roles == ["setup"] + ["solution", "test"] * 3 + ["harvest"] * 3
    tests = [c.source for c in nb.cells if c.metadata["autograder"]["role"] == "test"]
    assert tests == [t.source for t in chapter.tests]  # the chapter's own, whatever the submission says
    assert all("check_hidden" not in t and "HIDDEN" not in t for t in tests)
    assert not any("np.allclose" in c.source for c in nb.cells)
    assert "time.sleep" not in "".join(c.source for c in nb.cells)  # demonstrations never run


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
