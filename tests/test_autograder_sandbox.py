"""The box itself, with raw notebooks (no screening): what a student's code can and cannot do."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest

from autograder import sandbox

pytestmark = pytest.mark.slow
LIMITS = sandbox.Limits(cell_s=3, notebook_s=40, memory_bytes=2 << 30)


def run(tmp_path, *cells: str, limits: sandbox.Limits = LIMITS):
    """Box the cells; -> (BoxResult, [(stdout, error name) per cell that ran])."""
    scratch = tmp_path / "scratch"
    (scratch / "out").mkdir(parents=True, exist_ok=True)
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
        "try:\n    open('/etc/shadow').read()\n    print('read /etc/shadow')\nexcept OSError:\n    print(True)",
        "try:\n    open('/usr/owned', 'w')\n    print('wrote /usr')\nexcept OSError:\n    print('read-only')",
    )
    assert box.returncode == 0, box.log
    # With a user namespace alone the box is the grading user (mapped): it reads what that user reads.
    shadow = "True" if sandbox.isolation() == "namespaces" or os.geteuid() != 0 else "read /etc/shadow"
    assert [out for out, _ in ran] == ["False False", "False", "True", "offline", shadow, "read-only"]


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


@needs_namespaces
def test_the_harness_is_read_only_and_the_notebook_that_ran_cannot_be_swapped(tmp_path):
    (tmp_path / "scratch" / "cnnbook").mkdir(parents=True)
    (tmp_path / "scratch" / "cnnbook" / "__init__.py").write_text("")
    tries = "\n".join(f"try:\n    {action}\n    print('did', {action!r})\nexcept OSError:\n    pass" for action in (
        "open('notebook.ipynb', 'w')", "os.rename('notebook.ipynb', 'x')", "os.unlink('notebook.ipynb')",
        "open('cnnbook/__init__.py', 'a')", "open('cnnbook/new.py', 'w')", "os.chmod('notebook.ipynb', 0o777)"))
    box, ran = run(tmp_path, "import os\n" + tries + "\nprint('done')", "print('after')")
    assert [out for out, _ in ran] == ["done", "after"], ran
    assert "".join(json.loads((tmp_path / "scratch" / "notebook.ipynb").read_text())["cells"][0]["source"]) \
        .startswith("import os")


@needs_namespaces
def test_a_disk_filler_meets_the_scratch_quota_and_the_host_keeps_its_disk(tmp_path):
    limits = sandbox.Limits(cell_s=10, notebook_s=40, scratch_bytes=16 << 20)
    fill = """import os
for where in ('big', '/tmp/big', 'out/big.npy'):
    try:
        with open(where, 'wb') as f:
            for _ in range(200):
                f.write(bytes(1 << 20))
        print('wrote', where)
    except OSError as exc:
        print(exc.errno)"""
    box, ran = run(tmp_path, fill, "print('after')", limits=limits)
    assert ran[0][0].split() == ["28", "28", "28"] and ran[1] == ("after", None)  # ENOSPC, three times
    assert sum(p.stat().st_size for p in (tmp_path / "scratch").rglob("*") if p.is_file()) < 17 << 20


@needs_namespaces
def test_only_regular_files_by_safe_names_come_back_from_the_box(tmp_path):
    box, ran = run(tmp_path, "import os\nos.symlink('/etc/passwd', 'out/f_0_0.npy')\nos.mkfifo('out/pipe.json')\n"
                             "os.mkdir('out/sub')\nopen('out/ok.json', 'w').write('{}')\n"
                             "open('out/.hidden', 'w').write('x')\nopen('out/we ird', 'w').write('x')")
    assert sorted(p.name for p in (tmp_path / "scratch" / "out").iterdir()) == ["ok.json"]


@needs_namespaces
def test_nothing_the_box_started_outlives_it(tmp_path):
    token = f"ag-test-{os.getpid()}-{time.monotonic_ns()}"
    box, ran = run(tmp_path, "import subprocess, sys\n"
                             f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', {token!r}], "
                             "start_new_session=True)\n"
                             f"subprocess.Popen(['sh', '-c', 'sleep 300 &', {token!r}])\nprint('started')")
    assert ran == [("started", None)]
    alive = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if token.encode() in cmdline.read_bytes():
                alive.append(cmdline.parent.name)
        except OSError:
            pass
    assert alive == []


@needs_namespaces
def test_each_box_has_a_user_of_its_own_and_a_fork_bomb_starves_only_itself(tmp_path):
    """Two boxes at once: the bomb's process count is its own (a cgroup, or its own user id), so its
    classmate still starts processes and finishes."""
    from concurrent.futures import ThreadPoolExecutor

    bomb = sandbox.Limits(cell_s=8, notebook_s=30, processes=64)
    honest = "import os, subprocess, time\ntime.sleep(2)\nprint(os.getuid(), subprocess.run(['true']).returncode)"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with ThreadPoolExecutor(2) as pool:
        bombed = pool.submit(run, tmp_path / "a", "import os\nwhile True:\n    try:\n        os.fork()\n"
                                                  "    except OSError:\n        pass", limits=bomb)
        calm = pool.submit(run, tmp_path / "b", honest)
        (box_bomb, _), (_, ran_calm) = bombed.result(), calm.result()
    uid, code = ran_calm[0][0].split()
    assert code == "0" and box_bomb.returncode is not None
    if sandbox.isolation() == "namespaces":
        assert int(uid) >= sandbox.BOX_UID_BASE


needs_cgroups = pytest.mark.skipif(not __import__("autograder.cgroups").cgroups.hierarchy().version,
                                   reason="no cgroups here")


@needs_namespaces
@needs_cgroups
def test_a_box_gets_its_cpu_quota_however_many_processes_it_runs(tmp_path):
    """Four busy processes for 3 s in a box with a quota of half a CPU: the box's CPU time is what
    the quota allows (a neighbour's timed cell keeps the rest of the machine)."""
    limits = sandbox.Limits(cell_s=20, notebook_s=40, cpus=0.5)
    box, ran = run(tmp_path, "import multiprocessing as mp, time\n"
                             "def spin():\n    end = time.time() + 3\n    while time.time() < end:\n        pass\n"
                             "ps = [mp.Process(target=spin) for _ in range(4)]\n"
                             "[p.start() for p in ps]\n[p.join() for p in ps]\n"
                             "print('spun')", limits=limits)
    assert ran == [("spun", None)]
    assert box.cpu_s is not None and box.cpu_s < 0.5 * box.wall_s + 1.0


def test_hostile_trees_are_removed_without_following_links(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("instructor's")
    tree = tmp_path / "tree"
    deep = tree
    for _ in range(300):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "f").write_text("x")
    (tree / "locked" / "inner").mkdir(parents=True)
    (tree / "locked" / "inner" / "x").write_text("x")
    os.chmod(tree / "locked" / "inner", 0)
    os.chmod(tree / "locked", 0)
    (tree / "link").symlink_to(outside)
    (tree / "d" / "link").symlink_to(outside / "keep")
    (tree / ".up1").mkdir()
    (tree / ".up1" / "taken").write_text("a name the cleaner might have wanted")
    if os.geteuid() == 0:
        os.chown(tree / ".up1" / "taken", 65534, 65534)
    sandbox.remove_tree(tree)
    assert not tree.exists() and (outside / "keep").read_text() == "instructor's"


@needs_namespaces
def test_what_the_harness_consumes_can_be_deleted_and_nothing_else_can(tmp_path):
    scratch = tmp_path / "scratch"
    (scratch / "inputs").mkdir(parents=True)
    (scratch / "inputs" / "x.npy").write_bytes(b"held out")
    (scratch / "secrets.json").write_text('{"key": "k"}')
    (scratch / "plan.json").write_text("{}")
    box, ran = run(tmp_path, "import os, shutil\nprint(open('secrets.json').read())\nos.unlink('secrets.json')\n"
                             "shutil.rmtree('inputs')\ntry:\n    os.unlink('plan.json')\nexcept OSError:\n"
                             "    print('kept')\nprint(sorted(os.listdir('.')))")
    listing = "['.box.log', '.run', 'notebook.ipynb', 'out', 'plan.json']"
    assert ran[0][0].splitlines() == ['{"key": "k"}', "kept", listing]
    assert (scratch / "secrets.json").exists()  # the host's copy: never the box's to touch
