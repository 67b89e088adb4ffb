"""Visible-test helpers give messages a student can act on."""

import numpy as np
import pytest

from cnnbook.feedback import CheckFailed, expect_close, expect_equal, expect_raises, expect_unchanged


def test_expect_close_passes_and_says_so(capsys):
    expect_close(np.array([1.0, 2.0]), [1.0, 2.0], "f(x)")
    assert "ok  f(x)" in capsys.readouterr().out


@pytest.mark.parametrize("got, fragment, value_hint", [
    (None, "forget `return`", False),
    (np.zeros(3), "expected shape (2,), got (3,)", False),
    (np.array([1.0, 5.0]), "index (1,): expected 2, got 5", True),
])
def test_expect_close_explains_failures_with_a_hint_of_their_kind(got, fragment, value_hint):
    """The hint about values (a flipped kernel) is given for wrong values only: a shape error is
    told about shapes."""
    with pytest.raises(CheckFailed, match=r"f\(x\)") as info:
        expect_close(got, [1.0, 2.0], "f(x)", hint="did you flip the kernel?")
    assert fragment in str(info.value)
    assert ("Hint: did you flip" in str(info.value)) == value_hint
    if got is not None and not value_hint:
        assert "Hint: count the outputs" in str(info.value)


def test_expect_equal_and_raises():
    expect_equal((2, 3), (2, 3), "shape")
    with pytest.raises(CheckFailed, match="expected 5, got 4"):
        expect_equal(4, 5, "size")
    # an array where a tuple is expected fails as a check, not with numpy's "truth value is ambiguous"
    for got in (np.array([6, 28, 28]), np.array([[6, 28, 28], [6, 14, 14]])):
        with pytest.raises(CheckFailed, match=r"expected \(6, 28, 28\), got array"):
            expect_equal(got, (6, 28, 28), "shape")
    expect_raises(ValueError, lambda: (_ for _ in ()).throw(ValueError("stride must be positive")), what="f")
    with pytest.raises(CheckFailed, match="returned normally"):
        expect_raises(ValueError, lambda: 1, what="f")
    with pytest.raises(CheckFailed, match="empty message"):
        expect_raises(ValueError, lambda: (_ for _ in ()).throw(ValueError()), what="f")


def test_expect_unchanged_catches_in_place_edits():
    def double_in_place(x):
        x *= 2
        return x

    with pytest.raises(CheckFailed, match="modified in place"):
        expect_unchanged(double_in_place, np.ones(2), what="double")
    assert expect_unchanged(lambda x: x * 2, np.ones(2), what="double")[0] == 2
