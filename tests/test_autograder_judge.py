"""The verdict on recorded outcomes, case by case (scoring version 2)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.course import Course
from autograder.judge import ReferenceCache, judge_cases, verdict
from autograder.outcomes import Recorded
from autograder.spec import DEFAULT_SEED, Case, Outcome, case_weights

HERE = Path(__file__).parent / "fixture_course"
COURSE = Course(chapters_dir=HERE / "chapters", spec_files=[HERE / "fixture_specs.py"],
                reference=str(HERE / "fixture_reference.py"))
REFERENCES = ReferenceCache(COURSE)
SPEC = COURSE.specs()["moving_sum"][0]


def _right() -> list[Outcome]:
    return [Outcome(o.kind, value=o.value, error=o.error) for o in REFERENCES.outcomes(SPEC, DEFAULT_SEED)]


def _judge(got: list[Outcome], complete: bool = True):
    return judge_cases(SPEC, Recorded(outcomes=got, complete=complete), REFERENCES, DEFAULT_SEED)


def test_the_reference_outcomes_are_right():
    assert verdict(SPEC, Recorded(outcomes=_right(), complete=True), REFERENCES, DEFAULT_SEED) is None
    assert all(v.right for v in _judge(_right()))


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_one_wrong_case_is_named_and_costs_only_its_share(data):
    got = _right()
    i = data.draw(st.integers(0, len(got) - 1))
    if got[i].kind == "value":
        wrong = np.array(got[i].value, dtype=float)
        j = data.draw(st.integers(0, wrong.size - 1))
        wrong.flat[j] += data.draw(st.sampled_from([1e-3, -1.0, np.nan, 1e9]))
        got[i] = Outcome("value", value=wrong)
    else:
        got[i] = Outcome("value", value=np.zeros(1))  # returned where it had to raise
    verdicts = _judge(got)
    assert [v.index for v in verdicts if not v.right] == [i]
    assert verdicts[i].message is not None
    earned = sum(v.weight for v in verdicts if v.right)
    assert earned == 1 - verdicts[i].weight


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 5))
def test_missing_cases_earn_nothing(n):
    verdicts = _judge(_right()[:n], complete=False)
    assert all(v.right for v in verdicts[:n]) and all("did not finish" in v.message for v in verdicts[n:])


def test_the_wrong_exception_a_mutation_or_a_forbidden_operation_is_wrong():
    got = _right()
    raising = [i for i, o in enumerate(got) if o.kind == "raised"]
    got[raising[0]] = Outcome("raised", error=(("TypeError", "Exception"), "nope"))
    assert "expected ValueError" in _judge(got)[raising[0]].message
    got = _right()
    got[0] = Outcome("mutated")
    assert "modified one of its input arrays" in _judge(got)[0].message
    got[0] = Outcome("forbidden", error=(("ForbiddenOperation",), "np.convolve"))
    assert "np.convolve" in _judge(got)[0].message


def test_the_contract_checks_are_real():
    got = _right()
    valid = next(i for i, o in enumerate(got) if o.kind == "value")
    got[valid] = Outcome("value", value=np.asarray(got[valid].value).astype(np.int64))
    assert "integer array" in _judge(got)[valid].message
    got[valid] = Outcome("value", value=_right()[valid].value, same_object=True)
    assert "input arrays itself" in _judge(got)[valid].message


def _weights(kinds: str, named: str) -> list[Fraction]:
    cases = [Case((), error="the words" if n == "y" else None) for n in named]
    return case_weights(cases, [Outcome("raised" if k == "r" else "value") for k in kinds])


def test_valid_cases_carry_at_least_four_fifths_and_unnamed_errors_nothing():
    assert _weights("vvvv", "nnnn") == [Fraction(1, 4)] * 4
    assert _weights("vvvvr", "nnnny") == [Fraction(1, 5)] * 5                 # exactly 80%: equal shares
    w = _weights("vvrr", "nnyy")
    assert sum(w[:2]) == Fraction(4, 5) and w[2] == w[3] == Fraction(1, 10)  # errors capped at 20%
    assert _weights("vvr", "nnn") == [Fraction(1, 2), Fraction(1, 2), 0]      # not named: not graded
    assert sum(_weights("vrrrrrr", "nyyyyyy")) == 1
    visible = case_weights([Case((), label="visible: the notebook's example"), Case(())],
                           [Outcome("value"), Outcome("value")])
    assert visible == [0, 1]  # the visible test's own inputs are public: no points
