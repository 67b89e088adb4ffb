"""The hidden-test machinery itself: outcomes, comparisons, forbidden identifiers."""

import numpy as np
import pytest

from autograder.spec import Case, Outcome, Spec, compare, forbidden_used, identifiers_used, run_case, to_plain


def spec(**kw):
    return Spec("f", "00_test", cases=lambda: [], **kw)


def outcome(fn, *args, s=None):
    return run_case(fn, s or spec(), Case(args))


def test_to_plain_reduces_numbers_arrays_and_tuples():
    value = to_plain((np.float32(1.5), 3, [1, 2], np.arange(4).reshape(2, 2)))
    assert value[0] == 1.5 and isinstance(value[0], float)
    assert value[1] == 3 and isinstance(value[1], int)
    assert value[2] == (1, 2) and value[3].dtype == np.int64 and value[3].shape == (2, 2)


def test_to_plain_rejects_objects():
    with pytest.raises(TypeError, match="expected an array"):
        to_plain(object())


def test_run_case_records_values_errors_and_mutation():
    assert outcome(lambda x: x * 2, np.ones(3)).kind == "value"
    raised = outcome(lambda x: (_ for _ in ()).throw(ValueError("bad stride")), np.ones(3))
    assert raised.kind == "raised" and raised.error[0][0] == "ValueError" and "bad stride" in raised.error[1]

    def scale_in_place(x):
        x *= 2
        return x

    assert outcome(scale_in_place, np.ones(3)).kind == "mutated"


def test_run_case_never_lets_the_function_touch_the_spec_inputs():
    x = np.ones(3)
    run_case(lambda a: a.fill(7) or a, spec(), Case((x,)))
    assert np.all(x == 1)


def test_compare_accepts_close_values_and_explains_differences():
    s = spec()
    expected = Outcome("value", value=np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert compare(Outcome("value", value=np.array([[1.0, 2.0], [3.0, 4.0 + 1e-12]])), expected, s) is None
    assert "shape (2, 2)" in compare(Outcome("value", value=np.zeros(4)), expected, s)
    msg = compare(Outcome("value", value=np.array([[1.0, 2.0], [3.0, 5.0]])), expected, s)
    assert "index (1, 1)" in msg and "expected 4" in msg and "got 5" in msg


def test_compare_tuples_and_exceptions():
    s = spec()
    pair = Outcome("value", value=(np.zeros(2), np.ones(2)))
    assert compare(Outcome("value", value=(np.zeros(2), np.ones(2))), pair, s) is None
    assert "result [1]" in compare(Outcome("value", value=(np.zeros(2), np.zeros(2))), pair, s)
    assert "tuple of 2" in compare(Outcome("value", value=np.zeros(2)), pair, s)
    raises = Outcome("raised", error=(("ValueError", "Exception"), "kernel too large"))
    assert compare(Outcome("raised", error=(("ValueError", "Exception"), "x")), raises, s) is None
    assert "returned normally" in compare(Outcome("value", value=1.0), raises, s)
    assert "raised IndexError" in compare(Outcome("raised", error=(("IndexError",), "oops")), pair, s)
    assert "modified" in compare(Outcome("mutated"), pair, s)


def test_fake_objects_cannot_pass_for_arrays():
    class Anything:
        shape = (2,)

        def __eq__(self, other):
            return True

    got = outcome(lambda: Anything())
    assert got.kind == "raised"  # to_plain refuses it, so it can never compare equal


def test_forbidden_identifiers_are_found_through_aliases_and_imports():
    source = "import numpy as n\nfrom scipy.signal import convolve2d\ndef f(x, w):\n    return n.convolve(x, w)\n"
    assert identifiers_used(source) >= {"numpy", "scipy", "signal", "convolve2d", "convolve"}
    assert forbidden_used(source, spec(forbidden=("convolve", "scipy", "torch"))) == ["convolve", "scipy"]
