"""Every visible test of a batched function checks a batch of at least two different examples.

For each batched graded function, the chapter's own visible test cell is run against *mutants* of
its model answer that only a batch of different examples can tell apart from the real thing:

- `first example for all`: every example of the batch replaced by the first one before the call
  (a function that processes only `x[0]`, or broadcasts the first result);
- `parameter gradients from the first example`: a backward pass whose weight (or gamma) gradients
  come from the first example only (issue 16: such a `conv2d_backward` passed every visible test).

The visible test must fail on each mutant (it raises the feedback helpers' AssertionError).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from autograder.course import Course, read_cells
from autograder.screen import transformed

COURSE = Course()
# function -> positions of its batched arguments (axis 0 is the batch)
BATCHED = {
    "flatten_images": (0,), "dense_forward": (0,), "softmax": (0,), "cross_entropy": (0, 1), "permute_pixels": (0,),
    "im2col": (0,),
    "maxpool2d_forward": (0,), "avgpool2d_forward": (0,), "l2pool2d_forward": (0,),
    "maxpool2d_backward": (0, 1), "avgpool2d_backward": (0, 1),
    "conv2d_forward": (0,), "conv2d_backward": (0, 1),
    "conv_transpose2d": (0,), "conv2d": (0,), "depthwise_conv2d": (0,), "separable_conv2d": (0,),
    "conv2d_torch": (0,),
    "softmax_cross_entropy": (0, 1), "batchnorm2d_forward": (0,), "batchnorm2d_backward": (0, 1),
    "saliency_map": (1, 2), "fgsm": (1, 2),
}
# backward passes whose results after dx are parameter gradients summed over the batch
PARAMETER_GRADIENTS = {"conv2d_backward", "batchnorm2d_backward"}


def _first_for_all(value):
    if not hasattr(value, "shape") or len(value.shape) == 0 or value.shape[0] < 2:
        return value
    if hasattr(value, "detach"):  # a tensor
        copy = value.detach().clone()
        copy[1:] = copy[0]
        return copy.requires_grad_(value.requires_grad) if copy.is_floating_point() else copy
    copy = np.array(value)
    copy[1:] = copy[0]
    return copy


def first_example_for_all(fn, positions):
    def mutant(*args, **kwargs):
        args = [_first_for_all(a) if i in positions else a for i, a in enumerate(args)]
        return fn(*args, **kwargs)
    return mutant


def parameter_gradients_from_the_first_example(fn, positions):
    def mutant(*args, **kwargs):
        full = fn(*args, **kwargs)
        first = fn(*[a[:1] if i in positions and hasattr(a, "shape") and len(a.shape) else a
                     for i, a in enumerate(args)], **kwargs)
        return (full[0], *first[1:])
    return mutant


def _chapter_of(name: str) -> str:
    return next(cid for cid in COURSE.chapter_ids() if name in {e.name for e in COURSE.chapter(cid).exercises})


def _model_answers(chapter) -> dict:
    """The namespace a chapter's test cells run in: its setup cells, then its model answers."""
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for source in chapter.setup:
            exec(compile(transformed(source), "setup", "exec"), namespace)
        for cell in read_cells(chapter.path.read_bytes()):
            if cell.kind == "code" and cell.nbgrader.get("solution") and not cell.nbgrader.get("grade"):
                exec(compile(transformed(cell.source), "solution", "exec"), namespace)
    return namespace


CASES = [(name, "first example for all") for name in BATCHED] + \
        [(name, "parameter gradients from the first example") for name in sorted(PARAMETER_GRADIENTS)]


@pytest.mark.parametrize("name, mutation", CASES, ids=[f"{n}-{m.split()[0]}" for n, m in CASES])
def test_the_visible_test_of_a_batched_function_tells_a_batch_from_its_first_example(name, mutation):
    chapter = COURSE.chapter(_chapter_of(name))
    namespace = _model_answers(chapter)
    make = first_example_for_all if mutation == "first example for all" else parameter_gradients_from_the_first_example
    namespace[name] = make(namespace[name], BATCHED[name])
    [test] = [t for t in chapter.tests if t.function == name]
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises((AssertionError, RuntimeError, ValueError)):
        exec(compile(transformed(test.source), test.grade_id, "exec"), namespace)


def test_every_batched_function_of_the_contract_is_listed():
    names = {e.name for cid in COURSE.chapter_ids() for e in COURSE.chapter(cid).exercises}
    assert set(BATCHED) <= names
    assert PARAMETER_GRADIENTS <= set(BATCHED)  # listed above, with their batched arguments


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_the_model_answer_passes_its_visible_test(name):
    chapter = COURSE.chapter(_chapter_of(name))
    namespace = _model_answers(chapter)
    [test] = [t for t in chapter.tests if t.function == name]
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(transformed(test.source), test.grade_id, "exec"), namespace)
