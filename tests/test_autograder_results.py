"""The class-level bookkeeping, without running a box: finding submissions, recording grades."""

from __future__ import annotations

import csv
import json
import os

import pytest

from autograder import cgroups
from autograder.grade import copy_of, discover
from autograder.results import JOURNAL, Results, escape_cell, recorded_keys, unescape_cell

CHAPTERS = ["03_conv1d", "04_conv2d"]


def record(student: str, assignment: str = "04_conv2d", score: float = 1.0, **extra) -> dict:
    return dict(student=student, assignment=assignment, score=score, max_score=4.0, written_max_score=2.0,
                status="graded", reason="", tests=[], flags=[], flagged=False) | extra


def rows(out) -> dict[tuple[str, str], dict]:
    with open(out / "grades.csv", newline="") as f:
        return {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "'=x", "plain", ""])
def test_formula_cells_are_escaped_and_read_back_as_they_were(text):
    escaped = escape_cell(text)
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unescape_cell(escaped) == text


def test_every_result_is_in_the_files_as_it_arrives_and_a_killed_run_replays_its_journal(tmp_path):
    store = Results(tmp_path).load()
    store.add(record("ann"))
    assert rows(tmp_path)[("ann", "04_conv2d")]["score"] == "1"
    # A run killed after journalling a result, before the files were rewritten:
    (tmp_path / JOURNAL).write_text(json.dumps(record("bob", score=3)) + "\n" + '{"student": "half')
    assert recorded_keys(tmp_path) == {("ann", "04_conv2d"), ("bob", "04_conv2d")}
    again = Results(tmp_path).load()
    assert rows(tmp_path)[("bob", "04_conv2d")]["score"] == "3" and again.has(("ann", "04_conv2d"))
    again.close()
    assert not (tmp_path / JOURNAL).exists()


def test_a_regrade_updates_its_rows_keeps_the_others_and_the_instructors_columns_and_backs_up(tmp_path):
    with open(tmp_path / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "score", "max_score", "written_score", "comment"])
        writer.writerow(["ann", "04_conv2d", "1", "4", "2", "see me"])
        writer.writerow(["'=evil", "04_conv2d", "0", "4", "1", ""])
        writer.writerow(["cat", "03_conv1d", "2", "2", "", "hand-made row, no record"])
    store = Results(tmp_path).load()
    store.add(record("ann", score=4))
    store.add(record("=evil", reason="-"))
    store.add(record("bob", score=2))
    store.close()
    found = rows(tmp_path)
    assert set(found) == {("ann", "04_conv2d"), ("'=evil", "04_conv2d"), ("cat", "03_conv1d"), ("bob", "04_conv2d")}
    assert (found[("ann", "04_conv2d")]["score"], found[("ann", "04_conv2d")]["written_score"],
            found[("ann", "04_conv2d")]["comment"]) == ("4", "2", "see me")
    assert found[("cat", "03_conv1d")]["comment"] == "hand-made row, no record"
    assert found[("'=evil", "04_conv2d")]["reason"] == "'-"
    [backup] = (tmp_path / "backups").glob("grades-*.csv")
    assert "see me" in backup.read_text() and "bob" not in backup.read_text()
    assert {(r["student"], r["score"]) for r in json.loads((tmp_path / "grades.json").read_text())} == \
        {("ann", 4), ("=evil", 1), ("bob", 2)}


def test_a_result_that_arrives_twice_is_one_row(tmp_path):
    store = Results(tmp_path).load()
    store.add(record("ann", score=1))
    store.add(record("ann", score=1))
    store.close()
    assert len(rows(tmp_path)) == 1


def test_copies_are_named_after_what_they_copy():
    assert copy_of("04_conv2d") == ("04_conv2d", ())
    assert copy_of("04_conv2d (1)") == ("04_conv2d", (1,))
    assert copy_of("04_conv2d-Copy2") == ("04_conv2d", (2,))
    assert copy_of("04_conv2d-v2 (1)") == ("04_conv2d", (2, 1))
    assert copy_of("04_conv2d_final") == ("04_conv2d", (1,))


def _nb(path, text="{}"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_submissions_are_found_deliberately_and_each_case_gets_a_row(tmp_path):
    sub = tmp_path / "submitted"
    _nb(sub / "ann" / "04_conv2d" / "04_conv2d.ipynb")
    _nb(sub / "ann" / "04_conv2d" / "04_conv2d (1).ipynb")
    _nb(sub / "bob" / "04_conv2d" / "04_conv2d-v1.ipynb")
    _nb(sub / "bob" / "04_conv2d" / "04_conv2d-v2.ipynb")
    _nb(sub / "bob" / "04_conv2d" / ".ipynb_checkpoints" / "04_conv2d-checkpoint.ipynb")
    _nb(sub / "cat" / "03_conv1d.ipynb")                      # beside the chapter folders
    _nb(sub / "cat" / "04_conv2d" / "mine.ipynb")              # the only notebook, another name
    _nb(sub / "cat" / "homework.ipynb")                        # named after no chapter
    _nb(sub / "dan" / "04_conv2d" / "a.ipynb")
    _nb(sub / "dan" / "04_conv2d" / "b.ipynb")
    (sub / "dan" / "03_conv1d").mkdir()
    _nb(sub / "eve" / "04_conv2d" / "04_conv2d.ipynb")
    _nb(sub / "eve" / "04_conv2d.ipynb")                       # also beside the folder: not graded
    _nb(sub / "stray.ipynb")
    (sub / "fay" / "04_conv2d").mkdir(parents=True)
    (sub / "fay" / "04_conv2d" / "04_conv2d.ipynb").symlink_to("/etc/passwd")
    (sub / "gus").symlink_to(tmp_path)
    found = {s.key: s for s in discover(sub, CHAPTERS)}
    assert found[("ann", "04_conv2d")].path.name == "04_conv2d.ipynb"
    assert "not graded: 04_conv2d (1).ipynb" in found[("ann", "04_conv2d")].note
    assert found[("bob", "04_conv2d")].path.name == "04_conv2d-v2.ipynb"
    assert "latest copy" in found[("bob", "04_conv2d")].note
    assert found[("cat", "03_conv1d")].file == "cat/03_conv1d.ipynb" and "outside" in found[("cat", "03_conv1d")].note
    assert found[("cat", "04_conv2d")].path.name == "mine.ipynb" and "only notebook" in found[("cat", "04_conv2d")].note
    assert found[("cat", "homework.ipynb")].path is None
    assert found[("dan", "04_conv2d")].path is None and "several notebooks" in found[("dan", "04_conv2d")].note
    assert found[("dan", "03_conv1d")].path is None and "no notebook" in found[("dan", "03_conv1d")].note
    assert found[("eve", "04_conv2d")].path.parent.name == "04_conv2d"
    assert "outside the chapter folder, not graded: eve/04_conv2d.ipynb" in found[("eve", "04_conv2d")].note
    assert found[("(none)", "stray.ipynb")].path is None
    assert found[("fay", "04_conv2d")].path is None and "symbolic links" in found[("fay", "04_conv2d")].note
    assert found[("gus", "*")].path is None and "link" in found[("gus", "*")].note


def test_a_notebook_over_the_size_limit_is_rejected_without_being_read(tmp_path):
    big = tmp_path / "s" / "ann" / "04_conv2d" / "04_conv2d.ipynb"
    big.parent.mkdir(parents=True)
    with open(big, "wb") as f:
        f.truncate(21 << 20)
    [s] = discover(tmp_path / "s", CHAPTERS)
    assert s.path is None and "larger than 20 MiB" in s.note


def _fake_v2(tmp_path, controllers="cpu memory pids io", procs=""):
    base = tmp_path / "cg"
    base.mkdir()
    (base / "cgroup.controllers").write_text(controllers)
    (base / "cgroup.subtree_control").write_text("")
    (base / "cgroup.procs").write_text(procs)
    return base


def test_cgroup_v2_is_used_only_when_its_controllers_are_delegated(tmp_path, monkeypatch):
    base = _fake_v2(tmp_path, controllers="cpu io")
    assert "no memory, pids controller" in cgroups._v2(str(base), "").reason
    base.rename(tmp_path / "old")
    base = _fake_v2(tmp_path, procs=f"{os.getpid()}\n1\n")
    monkeypatch.setattr(cgroups, "_related", lambda pid: pid == os.getpid())
    assert "other than the grader's" in cgroups._v2(str(base), "").reason


def test_cgroup_v2_steps_the_grader_aside_into_a_leaf_to_hand_controllers_to_boxes(tmp_path):
    base = _fake_v2(tmp_path, procs=f"{os.getpid()}\n{os.getppid()}\n")
    found = cgroups._v2(str(base), "")
    assert found.version == 2 and found.parents == {"unified": base}
    assert (base / "grader" / "cgroup.procs").read_text() == str(os.getppid())  # the last one written
    assert (base / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"


def test_a_code_cell_too_large_to_screen_cheaply_is_refused_with_the_reason():
    from autograder.course import MAX_CODE_CELL_CHARS, NotebookError, read_cells

    cell = {"cell_type": "code", "source": ("x = " + "[" * 150 + "]" * 150 + "\n") * (MAX_CODE_CELL_CHARS // 300 + 1),
            "metadata": {}}
    nb = json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
    with pytest.raises(NotebookError, match="more than the grader reads"):
        read_cells(nb)


def test_files_a_worker_sends_back_land_only_in_their_own_students_folders(tmp_path):
    pytest.importorskip("distributed")
    from autograder.cluster import write_files

    files = {"feedback/ann/04_conv2d.html": b"ok", "runs/ann/04_conv2d/out/x.json": b"{}",
             "received/ann/04_conv2d/04_conv2d.ipynb": b"{}", "runs/bob/04_conv2d/x": b"another student",
             "../escape": b"x", "/etc/owned": b"x", "runs/ann/../../escape": b"x", "grades.csv": b"forged",
             "received/ann/03_conv1d/03_conv1d.ipynb": b"another chapter", "feedback/ann/03_conv1d.html": b"x"}
    write_files(tmp_path, "ann", "04_conv2d", files)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["feedback/ann/04_conv2d.html", "received/ann/04_conv2d/04_conv2d.ipynb",
                       "runs/ann/04_conv2d/out/x.json"]
