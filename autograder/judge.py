"""Judge recorded outcomes against the reference, in the trusted process.

The reference's outcomes are computed once per function (the cases are deterministic) and reused
for every student. A function's verdict is None (right on every case) or one sentence for the
student's feedback naming the first failing case.
"""

from __future__ import annotations

import threading

from autograder.course import Course
from autograder.spec import Outcome, Spec, compare, failure, run_case


class ReferenceBroken(RuntimeError):
    """The reference itself could not be run: an instructor's problem, never a student's zero."""


class ReferenceCache:
    def __init__(self, course: Course):
        self.course = course
        self._lock = threading.Lock()
        self._cache: dict[str, list[Outcome]] = {}

    def outcomes(self, spec: Spec) -> list[Outcome]:
        with self._lock:
            if spec.name not in self._cache:
                try:
                    reference = self.course.reference_function(spec.name)
                except Exception as exc:  # noqa: BLE001 -- reported as a grading failure
                    raise ReferenceBroken(f"no reference for {spec.name}: {type(exc).__name__}: {exc}") from exc
                self._cache[spec.name] = [run_case(reference, spec, case) for case in spec.cases()]
            return self._cache[spec.name]


def verdict(spec: Spec, got: list[Outcome], complete: bool, references: ReferenceCache) -> str | None:
    cases = spec.cases()
    for i, case in enumerate(cases):
        if i >= len(got):
            why = "it did not finish (it ran out of time or memory, or the kernel died)" if not complete \
                else "no outcome was recorded"
            return f"hidden case {i} ({case.describe()}): {why}"
        if spec.judge is not None:
            msg = failure(got[i])
            if msg is None:
                try:
                    msg = spec.judge(got[i].value, case)
                except Exception as exc:  # noqa: BLE001 -- a value the judge cannot handle is wrong
                    msg = f"the result could not be judged ({type(exc).__name__}: {exc})"
        else:
            msg = compare(got[i], references.outcomes(spec)[i], spec)
        if msg is not None:
            return f"hidden case {i} ({case.describe()}): {msg}"
    if len(got) > len(cases):
        return "more outcomes were recorded than there are cases"
    return None
