"""Judge recorded outcomes against the reference, in the trusted process (scoring version 2).

The reference's outcomes are computed once per function and grading seed, and reused for every
student. Each hidden case gets a verdict and a share of the function's points (`case_weights`):
valid-input cases carry at least 80%, bad-argument cases the rest, and only the bad-argument cases
the exercise statement names count at all.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from fractions import Fraction

from autograder.course import Course
from autograder.outcomes import Recorded
from autograder.spec import Case, Outcome, Spec, case_weights, compare, failure, run_case


class ReferenceBroken(RuntimeError):
    """The reference itself could not be run: an instructor's problem, never a student's zero."""


@dataclass
class CaseVerdict:
    index: int
    label: str
    weight: Fraction          # this case's share of the function's points (0: not graded)
    bad_argument: bool        # the reference raises here (the student must raise ValueError)
    message: str | None       # None: right
    kind: str = ""            # the outcome's kind: value, raised, mutated, forbidden, missing
    visible: bool = False     # the visible test's own inputs (shown, worth no points)

    @property
    def right(self) -> bool:
        return self.message is None


class ReferenceCache:
    def __init__(self, course: Course):
        self.course = course
        self._lock = threading.Lock()
        self._cases: dict[tuple[str, str], list[Case]] = {}
        self._outcomes: dict[tuple[str, str], list[Outcome]] = {}

    def cases(self, spec: Spec, seed: str | int) -> list[Case]:
        key = (spec.name, str(seed))
        with self._lock:
            if key not in self._cases:
                self._cases[key] = spec.make_cases(seed)
            return self._cases[key]

    def outcomes(self, spec: Spec, seed: str | int) -> list[Outcome] | None:
        """The reference's outcomes on the cases (None for a spec judged without a reference)."""
        if spec.judge is not None:
            return None
        cases = self.cases(spec, seed)
        key = (spec.name, str(seed))
        with self._lock:
            if key not in self._outcomes:
                try:
                    reference = self.course.reference_function(spec.name)
                except Exception as exc:  # noqa: BLE001 -- reported as a grading failure
                    raise ReferenceBroken(f"no reference for {spec.name}: {type(exc).__name__}: {exc}") from exc
                self._outcomes[key] = [run_case(reference, spec, case) for case in cases]
            return self._outcomes[key]


def judge_cases(spec: Spec, recorded: Recorded, references: ReferenceCache, seed: str | int) -> list[CaseVerdict]:
    """A verdict for every hidden case of `spec`, with its share of the points."""
    cases = references.cases(spec, seed)
    expected = references.outcomes(spec, seed)
    weights = case_weights(cases, expected)
    got = recorded.outcomes
    verdicts = []
    for i, case in enumerate(cases):
        bad_argument = expected is not None and expected[i].kind == "raised"
        if i >= len(got):
            if recorded.status == "skipped":
                why = "not run: the notebook's time was used up before this function's turn"
            elif not recorded.complete and recorded.problem:
                why = f"not recorded: {recorded.problem}"
            elif not recorded.complete:
                why = "it did not finish (it ran out of time or memory, or the process died)"
            else:
                why = "no outcome was recorded"
            verdicts.append(CaseVerdict(i, case.describe(), weights[i], bad_argument, why, "missing", case.is_visible))
            continue
        outcome = got[i]
        if spec.judge is not None:
            msg = failure(outcome)
            if msg is None:
                value = outcome.value
                if isinstance(value, tuple) and len(value) == 2 and recorded.cpu_s > 0:
                    value = (value[0], recorded.cpu_s)  # the kernel's count, not the box's own
                try:
                    msg = spec.judge(value, case)
                except Exception as exc:  # noqa: BLE001 -- a value the judge cannot handle is wrong
                    msg = f"the result could not be judged ({type(exc).__name__}: {exc})"
        else:
            msg = compare(outcome, expected[i], spec)
        verdicts.append(CaseVerdict(i, case.describe(), weights[i], bad_argument, msg, outcome.kind, case.is_visible))
    return verdicts


def verdict(spec: Spec, recorded: Recorded, references: ReferenceCache, seed: str | int) -> str | None:
    """None when every graded case is right; otherwise the first wrong one, in a sentence."""
    for v in judge_cases(spec, recorded, references, seed):
        if v.weight and v.message:
            return f"hidden case {v.index} ({v.label}): {v.message}"
    if len(recorded.outcomes) > len(references.cases(spec, seed)):
        return "more outcomes were recorded than there are cases"
    return None
