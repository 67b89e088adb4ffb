"""Every hidden-test spec is sound: the reference passes it for any grading seed, the same seed gives
the same cases, and another seed gives other hidden inputs but the same visible ones."""

import numpy as np
import pytest

import solutions
from autograder.spec import all_specs, compare, run_case
from tools.check_chapter import contract_functions

SPECS = all_specs()
CHAPTERS = sorted({spec.chapter for spec in SPECS.values()})


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_graded_function_of_a_specced_chapter_has_a_spec(chapter):
    missing = [name for name in contract_functions(chapter) if name not in SPECS]
    assert not missing, f"{chapter}: no hidden-test spec for {missing}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_reference_passes_its_own_spec_twice_the_same_way(name):
    spec = SPECS[name]
    cases, again = spec.make_cases(), spec.make_cases()
    assert cases, f"{name}: a spec needs cases"
    assert len(cases) == len(again)
    if spec.judge is not None:
        return  # judged by accuracy, not by the reference; tests of that chapter cover it
    reference = getattr(solutions, name)
    for i, (case, twin) in enumerate(zip(cases, again)):
        first, second = run_case(reference, spec, case), run_case(reference, spec, twin)
        assert first.kind in ("value", "raised"), f"{name} case {i}: reference {first.kind}"
        assert compare(second, first, spec) is None, f"{name} case {i} ({case.describe()}) is not deterministic"


def test_specs_probe_bad_arguments_somewhere():
    """The contract asks for ValueErrors on bad arguments; some case of each chapter should check it."""
    raising = {spec.chapter for name, spec in SPECS.items() if spec.judge is None and any(
        run_case(getattr(solutions, name), spec, case).kind == "raised" for case in spec.make_cases())}
    numpy_chapters = {c for c in CHAPTERS if c[:2] in {"03", "04", "06", "07", "08"}}
    assert numpy_chapters <= raising, f"no bad-argument case in {sorted(numpy_chapters - raising)}"


def test_cases_hold_plain_inputs():
    for name, spec in SPECS.items():
        for case in spec.make_cases():
            for arg in list(case.args) + list(case.kwargs.values()):
                if isinstance(arg, np.ndarray):
                    assert arg.dtype != object, f"{name}: object arrays cannot leave the sandbox"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_another_seed_keeps_the_visible_cases_and_the_reference_passing(name):
    spec = SPECS[name]
    first, other = spec.make_cases("one term"), spec.make_cases("another term")
    assert len(first) == len(other)
    for a, b in zip(first, other):
        if a.is_visible:
            assert a.describe() == b.describe() and all(
                np.array_equal(x, y) for x, y in zip(a.args, b.args) if isinstance(x, np.ndarray))
    if spec.judge is not None:
        return
    reference = getattr(solutions, name)
    kinds = [run_case(reference, spec, case).kind for case in other]
    assert set(kinds) <= {"value", "raised"}, f"{name}: the reference fails a case drawn from another seed"
    assert [k == "raised" for k in kinds] == [bool(c.error) for c in other], name
