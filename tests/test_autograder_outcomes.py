"""Outcomes leave the box as plain files and come back exactly, or not at all."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder import outcomes
from autograder.course import NotebookError, read_cells, visible_part
from autograder.harvest import harvest
from autograder.spec import Case, Spec

arrays = hnp.arrays(st.sampled_from([np.float64, np.int64]), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
plain = st.recursive(
    st.one_of(arrays, st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.booleans()),
    lambda inner: st.tuples(inner, inner), max_leaves=6)


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return type(a) is type(b) and (a == b or (a != a and b != b))


@settings(max_examples=40, deadline=None)
@given(value=plain)
def test_values_round_trip_through_the_files(tmp_path_factory, value):
    folder = tmp_path_factory.mktemp("out")
    spec = Spec("f", "x", cases=lambda: [Case((1,))], call=lambda fn, case: value)
    module = type("M", (), {"SPECS": [spec]})
    import sys

    sys.modules["_fake_specs"] = module
    harvest("_fake_specs", "f", lambda *a: None, str(folder))
    got, complete = outcomes.load(folder, "f")
    assert complete and len(got) == 1 and got[0].kind == "value"
    assert _same(got[0].value, value)


def test_raised_and_mutated_outcomes_round_trip(tmp_path):
    def bad(x, k):
        if k == 0:
            raise ValueError("k must be positive")
        x[0] = 99.0
        return x

    spec = Spec("g", "x", cases=lambda: [Case((np.ones(2), 0)), Case((np.ones(2), 1))])
    import sys

    sys.modules["_fake_specs2"] = type("M", (), {"SPECS": [spec]})
    harvest("_fake_specs2", "g", bad, str(tmp_path))
    got, _ = outcomes.load(tmp_path, "g")
    assert got[0].kind == "raised" and got[0].error[0][0] == "ValueError"
    assert got[1].kind == "mutated"


def test_links_pickles_and_junk_are_unreadable(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the reference")
    (tmp_path / "f.json").symlink_to(secret)
    with pytest.raises(outcomes.Unreadable):
        outcomes.load(tmp_path, "f")
    os.unlink(tmp_path / "f.json")
    np.save(tmp_path / "f_0_0.npy", np.array([object()], dtype=object), allow_pickle=True)
    record = {"name": "f", "cases": [{"kind": "value", "value": {"t": "array", "v": "f_0_0.npy"}}]}
    (tmp_path / "f.json").write_text(json.dumps(record))
    with pytest.raises(outcomes.Unreadable):
        outcomes.load(tmp_path, "f")
    for junk in ['{"name": "f", "cases": [{"kind": "value", "value": {"t": "array", "v": "../x.npy"}}]}',
                 '{"name": "f", "cases": [{"kind": "raised", "error": "boom"}]}',
                 '{"name": "f", "cases": 3}', "[]", "{"]:
        (tmp_path / "f.json").write_text(junk)
        with pytest.raises(outcomes.Unreadable):
            outcomes.load(tmp_path, "f")


@pytest.mark.parametrize("data, why", [
    (b"\xff\xfe", "not valid JSON"), (b"{", "not valid JSON"), (b"[1, 2]", "no list of cells"),
    (b'{"cells": {}}', "no list of cells"), (b'{"cells": []}', "no cells"),
])
def test_unreadable_notebooks_say_why(data, why):
    with pytest.raises(NotebookError, match=why):
        read_cells(data)


def test_odd_cells_are_read_tolerantly():
    cells = read_cells(json.dumps({"cells": [
        3, {"cell_type": "code", "source": ["def f(x):\n", "    return x\n", 7]},
        {"cell_type": "weird", "source": None, "metadata": {"nbgrader": "x", "tags": "setup"}}]}).encode())
    assert [c.kind for c in cells] == ["code", "raw"]
    assert cells[0].source == "def f(x):\n    return x\n" and cells[1].nbgrader == {}


def test_the_hidden_block_is_cut_out():
    cell = "a = 1\n### BEGIN HIDDEN TESTS\ncheck_hidden('f', f)\n### END HIDDEN TESTS\nb = 2\n"
    assert visible_part(cell) == "a = 1\nb = 2\n"
