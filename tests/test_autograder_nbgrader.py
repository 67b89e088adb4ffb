"""nbgrader's own commands work on the book with `autograder/nbgrader_config.py`, on the state
`make release` leaves (no `--force`, no false "checksum has changed"), and nbgrader restores locked
test cells: a student who edits or deletes them gains nothing."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import pytest

from autograder.course import REPO, Course
from tests.submissions import builders

pytestmark = pytest.mark.slow


def test_native_generate_autograde_export(tmp_path):
    chapter = "03_conv1d" if "03_conv1d" in Course().chapter_ids() else Course().chapter_ids()[0]
    env = dict(os.environ, CNNBOOK_NBGRADER_ROOT=str(tmp_path), JUPYTER_CONFIG_PATH=str(REPO / "autograder"),
               PYTHONPATH=str(REPO), PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}")

    def run(*command, cwd=tmp_path) -> str:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stderr

    def nbgrader(*args) -> str:
        return run("nbgrader", *args)

    # `make release` into this course root, then nbgrader's own generate step finds nothing to redo.
    run(sys.executable, "-m", "autograder", "release", "--out", str(tmp_path / "release"), chapter, cwd=REPO)
    assert "Skipping existing assignment" in nbgrader("generate_assignment", chapter)
    released = json.loads((tmp_path / "release" / chapter / f"{chapter}.ipynb").read_text())
    source = json.loads((REPO / "chapters" / f"{chapter}.ipynb").read_text())
    for student, data in {"reference": builders.reference_student(source),
                          "blank": builders.blank_student(released),
                          "edits_tests": builders.edit_tests(released)}.items():
        path = tmp_path / "submitted" / student / chapter / f"{chapter}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
    log = nbgrader("autograde", chapter)
    # Per notebook, the warnings nbgrader logged while sanitizing it: only the edits are reported.
    changed = {m[0]: m[1] for m in re.findall(r"Sanitizing \S*submitted/(\w+)/(.*?)(?=Sanitizing|\Z)", log, re.S)}
    assert "checksum" not in changed["reference"] and "checksum" not in changed["blank"]
    assert "has changed" in changed["edits_tests"]
    nbgrader("export")
    rows = {r["student_id"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    auto = Course().chapter(chapter).max_score
    assert float(rows["reference"]["score"]) == auto  # written answers wait for a human
    assert float(rows["blank"]["score"]) == 0
    assert float(rows["edits_tests"]["score"]) == 0  # the emptied/deleted test cells were restored
    assert float(rows["reference"]["automatic_score"]) == auto and float(rows["reference"]["written_score"]) == 0
