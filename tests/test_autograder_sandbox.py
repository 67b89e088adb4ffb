"""The box itself, with raw notebooks (no screening): what a student's code can and cannot do."""

from __future__ import annotations

import json
import os
import time

import nbformat
import pytest

from autograder import sandbox

pytestmark = pytest.mark.slow
LIMITS = sandbox.Limits(cell_s=3, notebook_s=40, memory_bytes=2 << 30)


def run(tmp_path, *cells: str, limits: sandbox.Limits = LIMITS):
    """Box the cells; -> (BoxResult, [(stdout, error name) per cell that ran])."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, scratch / "notebook.ipynb")
    sandbox.prepare_scratch_owner(scratch, sandbox.isolation())
    box = sandbox.run_boxed(scratch, limits)
    ran = []
    if (scratch / "executed.ipynb").exists():
        for cell in json.loads((scratch / "executed.ipynb").read_text() or '{"cells": []}')["cells"]:
            if cell.get("execution_count") is None:
                continue
            text = "".join("".join(o.get("text", "")) for o in cell["outputs"] if o["output_type"] == "stream")
            err = next((o["ename"] for o in cell["outputs"] if o["output_type"] == "error"), None)
            ran.append((text.strip(), err))
    return box, ran


needs_namespaces = pytest.mark.skipif(sandbox.isolation() == "none", reason="no Linux namespaces here")


@needs_namespaces
def test_the_repository_the_network_and_other_files_are_out_of_reach(tmp_path):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(sandbox.__file__)))
    neighbour = tmp_path / "other_student.txt"
    neighbour.write_text("someone else's work")
    box, ran = run(
        tmp_path,
        f"import os\nprint(os.path.exists({repo + '/solutions'!r}), os.path.exists({repo + '/chapters'!r}))",
        f"print(os.path.exists({str(neighbour)!r}))",
        "import importlib.util\nprint(importlib.util.find_spec('solutions') is None)",
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    print('online')\n"
        "except OSError:\n    print('offline')",
        "print(os.getuid() != 0 or os.path.exists('/etc/shadow') is False)",
        "try:\n    open('/usr/owned', 'w')\n    print('wrote /usr')\nexcept OSError:\n    print('read-only')",
    )
    assert box.returncode == 0, box.log
    assert [out for out, _ in ran] == ["False False", "False", "True", "offline", "True", "read-only"]


def test_an_editable_install_of_the_course_does_not_reach_into_the_box(tmp_path):
    # `make setup` installs the course package editable into the venv the box runs; even with no
    # namespaces at all (the weakest level), its import hook must not hand out the reference.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import importlib.util\nprint(importlib.util.find_spec('solutions') is None)")]
    nbformat.write(nb, scratch / "notebook.ipynb")
    box = sandbox.run_boxed(scratch, LIMITS, level="none")
    executed = json.loads((scratch / "executed.ipynb").read_text())
    assert box.returncode == 0, box.log
    assert executed["cells"][0]["outputs"][0]["text"].strip() == "True"


def test_each_cell_has_a_time_limit_and_the_rest_still_runs(tmp_path):
    start = time.monotonic()
    box, ran = run(tmp_path, "while True:\n    pass", "import time\ntime.sleep(60)",
                   "try:\n    time.sleep(60)\nexcept Exception:\n    print('caught')", "print('after')")
    assert [err for _, err in ran] == ["CellTimeout", "CellTimeout", "CellTimeout", None]
    assert ran[-1][0] == "after" and time.monotonic() - start < 60


def test_memory_is_limited(tmp_path):
    box, ran = run(tmp_path, "import numpy as np\nx = np.ones(2**29)", "y = bytearray(3 << 30)", "print('alive')")
    assert [err for _, err in ran] == ["MemoryError", "MemoryError", None]


def test_the_whole_notebook_has_a_time_limit(tmp_path):
    limits = sandbox.Limits(cell_s=30, notebook_s=12)
    start = time.monotonic()
    box, ran = run(tmp_path, "print('first')", "import time\ntime.sleep(60)", "print('never')", limits=limits)
    assert box.timed_out and time.monotonic() - start < 30
    assert ran in ([("first", None)], [])  # [] only when start-up alone took 12 s on a loaded machine


@pytest.mark.parametrize("crash", ["import os\nos._exit(3)", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                                   "import sys\nsys.exit(1)"])
def test_a_crash_ends_the_run_and_keeps_what_ran(tmp_path, crash):
    box, ran = run(tmp_path, "print('before')", crash, "print('after?')")
    assert ran[0] == ("before", None)
    assert not box.timed_out


def test_a_fork_bomb_is_contained(tmp_path):
    limits = sandbox.Limits(cell_s=5, notebook_s=25, processes=64)
    box, ran = run(tmp_path, "import os\nfor _ in range(1000):\n    try:\n        os.fork()\n"
                             "    except OSError:\n        break", limits=limits)
    assert box.returncode is not None  # the parent got control back
