"""The verdict on recorded outcomes: right only when every case matches the reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.course import Course
from autograder.judge import ReferenceCache, verdict
from autograder.spec import Outcome

HERE = Path(__file__).parent / "fixture_course"
COURSE = Course(chapters_dir=HERE / "chapters", spec_files=[HERE / "fixture_specs.py"],
                reference=str(HERE / "fixture_reference.py"))
REFERENCES = ReferenceCache(COURSE)
SPEC = COURSE.specs()["moving_sum"][0]


def _right() -> list[Outcome]:
    return [Outcome(o.kind, value=o.value, error=o.error) for o in REFERENCES.outcomes(SPEC)]


def test_the_reference_outcomes_are_right():
    assert verdict(SPEC, _right(), True, REFERENCES) is None


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_one_wrong_case_is_named(data):
    got = _right()
    i = data.draw(st.integers(0, len(got) - 1))
    if got[i].kind == "value":
        wrong = np.array(got[i].value, dtype=float)
        j = data.draw(st.integers(0, wrong.size - 1))
        wrong.flat[j] += data.draw(st.sampled_from([1e-3, -1.0, np.nan, 1e9]))
        got[i] = Outcome("value", value=wrong)
    else:
        got[i] = Outcome("value", value=np.zeros(1))  # returned where it had to raise
    msg = verdict(SPEC, got, True, REFERENCES)
    assert msg is not None and msg.startswith(f"hidden case {i} ")


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 5))
def test_missing_cases_earn_nothing(n):
    got = _right()[:n]
    msg = verdict(SPEC, got, False, REFERENCES)
    assert msg is not None and "did not finish" in msg


def test_the_wrong_exception_or_a_mutation_is_wrong():
    got = _right()
    raising = [i for i, o in enumerate(got) if o.kind == "raised"]
    got[raising[0]] = Outcome("raised", error=(("TypeError", "Exception"), "nope"))
    assert "expected ValueError" in verdict(SPEC, got, True, REFERENCES)
    got = _right()
    got[0] = Outcome("mutated")
    assert "modified one of its input arrays" in verdict(SPEC, got, True, REFERENCES)
