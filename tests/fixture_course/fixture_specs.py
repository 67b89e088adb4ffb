"""Hidden tests of the fixture chapter (as a chapter author would write them)."""

import numpy as np

from autograder.spec import Case, Spec


def moving_sum_cases():
    rng = np.random.default_rng(99)
    cases = [Case((np.array([1.0, 2.0, 3.0, 4.0]), 2), label="visible")]
    cases += [Case((rng.normal(size=n), k), label=f"{n} samples, window {k}") for n, k in ((7, 1), (7, 3), (5, 5))]
    cases += [Case((np.ones(3), 4), label="window longer than x"), Case((np.ones(3), 0), label="window 0")]
    return cases


def scale_cases():
    rng = np.random.default_rng(98)
    return [Case((rng.normal(size=(2, 3)), a), label=f"a={a}") for a in (0.0, -1.5, 2.0)]


def count_params_cases():
    return [Case((3, 2)), Case((784, 10)), Case((5, 4), {"bias": False})]


SPECS = [
    Spec("moving_sum", "99_fixture", moving_sum_cases, forbidden=("convolve", "correlate", "cumsum")),
    Spec("scale", "99_fixture", scale_cases),
    Spec("count_params", "99_fixture", count_params_cases),
]
