"""Chapter 10's notebook answers against its hidden-test specs, and the training exercise's judge.

test_specs.py proves the reference in `solutions` passes every spec; here the notebook's own model
answers do too, and the judged training exercise (which has no reference) is checked both ways:
the model answer reaches the target, and answers that should fail do.
"""

import time

import nbformat
import numpy as np
import pytest

from autograder.spec import compare, get_spec, run_case
from autograder.specs import ch10_cnn
from tools.check_chapter import ROOT

CHAPTER = ROOT / "chapters" / "10_cnn.ipynb"


@pytest.fixture(scope="module")
def answers():
    """The notebook's setup and solution cells, run in one namespace: name -> model answer."""
    nb = nbformat.read(CHAPTER, as_version=4)
    namespace: dict = {}
    for cell in nb.cells:
        meta = cell.metadata
        if cell.cell_type == "code" and ("setup" in meta.get("tags", []) or meta.get("nbgrader", {}).get("solution")):
            exec(compile(cell.source, str(CHAPTER), "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", ["relu_forward", "relu_backward", "softmax_cross_entropy", "output_shapes",
                                  "batchnorm2d_forward", "batchnorm2d_backward"])
def test_model_answers_pass_the_hidden_specs(answers, name):
    import solutions

    spec = get_spec(name)
    for i, case in enumerate(spec.cases()):
        msg = compare(run_case(answers[name], spec, case), run_case(getattr(solutions, name), spec, case), spec)
        assert msg is None, f"{name} case {i} ({case.describe()}): {msg}"


def _judge(predicted, seconds):
    case = ch10_cnn.train_digit_classifier_cases()[0]
    return ch10_cnn.judge_train_digit_classifier((np.asarray(predicted), float(seconds)), case)


def test_judge_accepts_right_answers_and_names_what_is_wrong():
    y_test = ch10_cnn.train_digit_classifier_cases()[0].args[3]
    assert _judge(y_test, 1.0) is None
    almost = y_test.copy()
    almost[:60] = (almost[:60] + 1) % 10  # 94% right
    assert "below the target" in _judge(almost, 1.0)
    assert "limit" in _judge(y_test, ch10_cnn.TIME_LIMIT_S + 1)
    assert "one label per image" in _judge(y_test[:10], 1.0)


def test_the_call_refuses_a_classifier_that_returns_no_function():
    spec = get_spec("train_digit_classifier")
    outcome = run_case(lambda images, labels, seed=0: None, spec, spec.cases()[0])
    assert outcome.kind == "raised" and "must return a function" in outcome.error[1]


def test_the_call_never_shows_the_held_out_labels_to_the_student():
    seen = {}

    def spy(images, labels, seed=0):
        seen.update(n=len(images), labels=labels.copy(), seed=seed)
        return lambda new: np.zeros(len(new), dtype=int)

    spec = get_spec("train_digit_classifier")
    case = spec.cases()[0]
    predicted, _ = run_case(spy, spec, case).value
    assert seen["n"] == 4000 and seen["seed"] == 0 and np.array_equal(seen["labels"], case.args[1])
    assert predicted.shape == (1000,)


@pytest.mark.slow
def test_model_answer_of_the_training_exercise_meets_the_target_and_is_deterministic(answers):
    import torch

    threads = torch.get_num_threads()
    spec = get_spec("train_digit_classifier")
    case = spec.cases()[0]
    try:
        start = time.perf_counter()
        first = run_case(answers["train_digit_classifier"], spec, case)
        elapsed = time.perf_counter() - start
        second = run_case(answers["train_digit_classifier"], spec, case)
    finally:
        torch.set_num_threads(threads)
    assert first.kind == "value", first.error
    assert spec.judge(first.value, case) is None, f"{spec.judge(first.value, case)} ({elapsed:.1f} s)"
    assert np.array_equal(first.value[0], second.value[0])


@pytest.mark.slow
def test_the_executed_chapter_shows_no_progress_bars():
    """The book's build turns tqdm off (book/_ext/quiet_progress.py): no frozen bars on the page."""
    import json

    executed = ROOT / "_build" / "jupyter_execute" / "chapters" / "10_cnn.ipynb"
    if not executed.exists():
        pytest.skip("the book has not been built (make book)")
    for cell in json.loads(executed.read_text())["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = "".join(output.get("text", "")) + "".join(data.get("text/plain", ""))
            assert "application/vnd.jupyter.widget-view+json" not in data, cell.get("id")
            assert "it/s]" not in text and "0%|" not in text, cell.get("id")
