"""Outcomes leave the box through a channel with a budget and come back exactly, or not at all.

The path of an outcome: a child's message (`harvest._message`) -> the zygote's reader with its
budget (`harvest._Channel`) -> files under a MAC (`harvest._Writer`) -> the trusted reader
(`outcomes.Manifest`, `outcomes.load`). A forged, altered or oversized outcome is unreadable.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder import harvest, outcomes
from autograder.course import NotebookError, read_cells, visible_part

arrays = hnp.arrays(st.sampled_from([np.float64, np.int64]), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
plain = st.recursive(
    st.one_of(arrays, st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.booleans()),
    lambda inner: st.tuples(inner, inner), max_leaves=6)
KEY = bytes(range(32))


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return type(a) is type(b) and (a == b or (a != a and b != b))


def _through_the_box(folder, messages: list[bytes], name: str = "f", status: str = "done"):
    """Feed a child's messages to the zygote's reader and writer; -> the trusted reader's view."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"".join(messages))  # small enough for the pipe's buffer
    os.close(write_end)
    channel = harvest._Channel(read_end)
    ended = channel.read(float("inf"), 0)
    os.close(read_end)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        writer = harvest._Writer({"key": KEY.hex()}, set())
        writer.function(name, channel, status if ended == "done" else ended, 1.5)
        writer.finish()
    finally:
        os.chdir(cwd)
    return outcomes.Manifest(folder / "out", KEY), ended, channel


def _case(i: int, value) -> bytes:
    found: list = []
    return harvest._message({"t": "case", "i": i, "kind": "value", "same": False,
                             "value": harvest.pack(value, found)}, found)


@settings(max_examples=40, deadline=None)
@given(value=plain)
def test_values_round_trip_through_the_channel_and_the_files(tmp_path_factory, value):
    folder = tmp_path_factory.mktemp("box")
    manifest, ended, _ = _through_the_box(folder, [_case(0, value), harvest._message({"t": "end"}, [])])
    got = outcomes.load(manifest, "f")
    assert ended == "done" and got.complete and got.cpu_s == 1.5
    assert len(got.outcomes) == 1 and got.outcomes[0].kind == "value"
    assert _same(got.outcomes[0].value, value)


def test_raised_mutated_and_forbidden_outcomes_round_trip(tmp_path):
    messages = [
        harvest._message({"t": "case", "i": 0, "kind": "raised", "error": [["ValueError", "Exception"], "k < 1"]}, []),
        harvest._message({"t": "case", "i": 1, "kind": "mutated"}, []),
        harvest._message({"t": "case", "i": 2, "kind": "forbidden", "error": [["ForbiddenOperation"], "np.convolve"]},
                         []),
        harvest._message({"t": "records", "items": [{"kind": "family", "what": "np.convolve", "case": 2}]}, []),
    ]
    manifest, _, _ = _through_the_box(tmp_path, messages)
    got = outcomes.load(manifest, "f")
    assert [o.kind for o in got.outcomes] == ["raised", "mutated", "forbidden"]
    assert got.outcomes[0].error[0][0] == "ValueError" and not got.complete
    assert got.records[0]["what"] == "np.convolve"


def test_an_altered_or_planted_file_is_unreadable(tmp_path):
    manifest, _, _ = _through_the_box(tmp_path, [_case(0, np.arange(3.0)), harvest._message({"t": "end"}, [])])
    out = tmp_path / "out"
    [array_file] = [p for p in out.iterdir() if p.suffix == ".npy"]
    np.save(array_file, np.arange(3.0) + 1)  # the right shape, other values: a forger's edit
    with pytest.raises(outcomes.Unreadable, match="altered"):
        outcomes.load(manifest, "f")
    (out / "g.json").write_text(json.dumps({"name": "g", "cases": []}))
    with pytest.raises(outcomes.Unreadable, match="not among"):
        outcomes.load(manifest, "g")
    with pytest.raises(outcomes.Unreadable, match="MAC"):
        outcomes.Manifest(out, b"another key")
    record = json.loads((out / "manifest.json").read_text())
    record["files"]["g.json"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(record))
    with pytest.raises(outcomes.Unreadable, match="MAC"):
        outcomes.Manifest(out, KEY)


def test_links_are_never_followed(tmp_path):
    manifest, _, _ = _through_the_box(tmp_path, [_case(0, 1.0)])
    secret = tmp_path / "secret.txt"
    secret.write_text("the reference")
    (tmp_path / "out" / "f.json").unlink()
    (tmp_path / "out" / "f.json").symlink_to(secret)
    with pytest.raises(outcomes.Unreadable):
        outcomes.load(manifest, "f")


@pytest.mark.parametrize("message, why", [
    (struct.pack(">II", harvest.MAX_FRAME_JSON + 1, 0), "oversized"),
    (struct.pack(">II", 2, 0) + b"{]", "malformed"),
    (harvest._message({"t": "case"}, [np.array(["a"], dtype=object)]), "malformed"),
    (struct.pack(">II", 40, 3) + json.dumps({"t": "case", "arrays": [["<f8", [9]]]}).encode().ljust(40) + b"abc",
     "malformed"),
])
def test_a_forged_message_cuts_the_channel(tmp_path, message, why):
    manifest, ended, channel = _through_the_box(tmp_path, [_case(0, 1.0), message])
    got = outcomes.load(manifest, "f")
    assert ended == "budget" and why in channel.problem and got.problem
    assert len(got.outcomes) == 1 and not got.complete  # what came before the forgery is kept


def test_the_budget_counts_arrays(tmp_path, monkeypatch):
    monkeypatch.setattr(harvest, "MAX_ARRAYS", 5)
    _, ended, channel = _through_the_box(tmp_path, [_case(i, (np.zeros(1),) * 2) for i in range(4)])
    assert ended == "budget" and "arrays" in channel.problem


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
