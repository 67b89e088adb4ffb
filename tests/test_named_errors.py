"""Scoring version 2 grades only the bad arguments an exercise statement names (COURSE.md, "Scoring").

For every chapter: each case on which the reference raises carries the statement's own words for
that error (`Case.error`), and those words are in the statement the student reads (the prose since
the previous graded cell and the released solution cell); valid-input cases carry at least 80% of
every function's points, whatever the grading seed.
"""

from __future__ import annotations

import re

import pytest

import solutions
from autograder.course import Course
from autograder.spec import VALID_SHARE, all_specs, case_weights, run_case

COURSE = Course()
SPECS = all_specs()
GRADED = [(cid, ex.name) for cid in COURSE.chapter_ids() for ex in COURSE.chapter(cid).exercises
          if ex.name in SPECS and SPECS[ex.name].judge is None]


def normalized(text: str) -> str:
    """Markdown and LaTeX markup out, so that words match however they are typeset."""
    text = text.replace("\\times", "x").replace("\\dots", "...")
    text = re.sub(r"[`$*\\]", "", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def statement(cid: str, name: str) -> str:
    """What the student reads before writing `name`. An exercise introduced together with the one
    before it ("Write both") shares that one's prose."""
    chapter = COURSE.chapter(cid)
    names = [ex.name for ex in chapter.exercises]
    text = chapter.statements[name]
    i = names.index(name)
    while i > 0 and text.lstrip().startswith(("def ", "class ")):  # no prose of its own
        i -= 1
        text = chapter.statements[names[i]] + "\n\n" + text
    return text


@pytest.mark.parametrize("cid, name", GRADED, ids=[n for _, n in GRADED])
def test_every_graded_error_is_named_in_the_statement(cid, name):
    spec = SPECS[name]
    reference = getattr(solutions, name)
    text = normalized(statement(cid, name))
    unnamed, absent = [], []
    for case in spec.make_cases():
        raises = run_case(reference, spec, case).kind == "raised"
        if raises and not case.error:
            unnamed.append(case.label)
        elif case.error and normalized(case.error) not in text:
            absent.append(case.error)
    assert not unnamed, f"{name}: bad-argument cases with no statement words: {unnamed}"
    assert not absent, f"{name}: the statement does not say {sorted(set(absent))}"


@pytest.mark.parametrize("seed", ["cnn-course-2026", "another term", 7])
def test_valid_inputs_carry_at_least_80_percent_for_any_seed(seed):
    for _, name in GRADED:
        spec = SPECS[name]
        cases = spec.make_cases(seed)
        outcomes = [run_case(getattr(solutions, name), spec, case) for case in cases]
        weights = case_weights(cases, outcomes)
        valid = sum(w for w, o in zip(weights, outcomes) if o.kind != "raised")
        assert sum(weights) == 1 and valid >= VALID_SHARE, name
