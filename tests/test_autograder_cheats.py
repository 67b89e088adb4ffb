"""Each cheat family of the grading issue earns nothing for the function it cheats on, the other
functions keep their points, and a human is told (flags); a student who forgets one error check
loses only that case's share. Graded through the real box, once for the whole module."""

from __future__ import annotations

import csv
import json

import pytest

from autograder import sandbox
from autograder.course import Course
from autograder.grade import grade_class
from autograder.judge import ReferenceCache
from autograder.spec import DEFAULT_SEED, case_weights
from tests.submissions import builders

pytestmark = pytest.mark.slow
COURSE = Course()
SECRET = "a seed chosen after the submissions were in"


def _points(result, function: str) -> float:
    return sum(t.points for t in result.tests if t.function == function)


def _max(result, function: str) -> float:
    return sum(t.max_points for t in result.tests if t.function == function)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("cheats")
    sources = {cid: json.loads(COURSE.chapter(cid).path.read_text()) for cid in ("03_conv1d", "09_gpu_torch", "10_cnn")}
    students = {(family, cid): build(sources[cid]) for family, (cid, _, build) in builders.CHEATS.items()}
    students[("misses_one_check", "03_conv1d")] = builders.misses_one_error_check(sources["03_conv1d"])
    for (student, cid), data in students.items():
        path = root / "submitted" / student / cid / f"{cid}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
    limits = sandbox.Limits(cell_s=30, notebook_s=240)
    results = grade_class(root / "submitted", root / "out", jobs=2, course=COURSE, limits=limits)
    table = root / "table" / "table_from_the_public_seed" / "03_conv1d" / "03_conv1d.ipynb"
    table.parent.mkdir(parents=True)
    table.write_bytes(students[("table_from_the_public_seed", "03_conv1d")])
    secret = grade_class(root / "table", root / "out_secret", jobs=1, course=COURSE, limits=limits,
                         options={"seed": SECRET})
    return root, {r.student: r for r in results}, secret[0]


@pytest.mark.parametrize("family", sorted(builders.CHEATS))
def test_a_cheat_earns_nothing_for_its_function_and_is_flagged(graded, family):
    _, results, secret = graded
    cid, function, _ = builders.CHEATS[family]
    result = secret if family == "table_from_the_public_seed" else results[family]
    assert result.status == "graded" and result.assignment == cid
    assert _points(result, function) == 0, [t.messages for t in result.tests if t.function == function]
    assert result.flagged, family


@pytest.mark.parametrize("family", ["numpy_alias", "pickle_bytes", "spec_copy", "torch_alias", "torch_func_backward",
                                    "enable_grad_backward", "read_the_digits", "frames", "frames_to_the_originals"])
def test_the_other_functions_keep_their_points(graded, family):
    _, results, _ = graded
    cid, function, _ = builders.CHEATS[family]
    result = results[family]
    honest = {ex.name for ex in COURSE.chapter(cid).exercises} - {function}
    if function == "corr1d":
        honest -= {"conv1d"}  # the model conv1d calls corr1d: it uses the cheat too
    for name in honest:
        assert _points(result, name) == _max(result, name), (name, [t.messages for t in result.tests])


def test_forbidden_operations_are_refused_at_run_time_not_only_flagged(graded):
    _, results, _ = graded
    runtime = {"numpy_alias": "NumPy's correlate", "pickle_bytes": "NumPy's correlate",
               "torch_alias": "aten::", "torch_func_backward": "convolution_backward",
               "enable_grad_backward": "autograd switched on", "read_the_digits": "mnist_5k"}
    for family, marker in runtime.items():
        assert any(marker in f for f in results[family].flags), (family, results[family].flags)


def test_a_table_computed_at_home_works_only_with_the_public_seed(graded):
    """Why the seed must be secret: with the course's default seed, answers computed at home from
    the published specs and the reference are right (and only the flag for a large literal tells);
    with a seed chosen at grading time the table is worthless."""
    _, results, secret = graded
    public = results["table_from_the_public_seed"]
    assert _points(public, "corr1d") == _max(public, "corr1d")
    assert any("table of answers" in f for f in public.flags)
    assert _points(secret, "corr1d") == 0 and secret.seed == SECRET


def test_a_missed_error_check_costs_only_its_share(graded):
    _, results, _ = graded
    result = results["misses_one_check"]
    spec = COURSE.specs()["corr1d"][0]
    references = ReferenceCache(COURSE)
    cases = references.cases(spec, DEFAULT_SEED)
    weights = case_weights(cases, references.outcomes(spec, DEFAULT_SEED))
    stride0 = next(i for i, c in enumerate(cases) if c.kwargs.get("stride") == 0)
    assert weights[stride0] > 0
    expected = float(_max(result, "corr1d") * (1 - weights[stride0]))
    assert _points(result, "corr1d") == pytest.approx(expected, abs=1e-6)
    assert _points(result, "shift") == _max(result, "shift") and not result.flagged
    [test] = [t for t in result.tests if t.function == "corr1d"]
    wrong = [c for c in test.cases if c["graded"] and c["message"]]
    assert [c["index"] for c in wrong] == [stride0] and "expected it to raise ValueError" in wrong[0]["message"]
    assert wrong[0]["hint"] and wrong[0]["max_points"] > 0 and wrong[0]["points"] == 0


def test_grades_say_who_was_flagged(graded):
    root, results, _ = graded
    rows = {r["student"]: r for r in csv.DictReader(open(root / "out" / "grades.csv"))}
    assert all(rows[family]["flagged"] == "yes" for family in builders.CHEATS)
    assert rows["misses_one_check"]["flagged"] == ""
