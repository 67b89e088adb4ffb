"""The safe grader's scores in nbgrader's gradebook, so that formgrader shows them.

    make release                                            # nbgrader's state: gradebook.db, release/
    python -m autograder grade submitted --out grading --gradebook
    jupyter lab                                             # formgrader: grade the written answers
    python -m autograder export                             # or: nbgrader export

- `sync` writes each graded submission into the gradebook `make release` created (nbgrader's own
  `generate_assignment` made its assignment, notebook and cells): the student, the submission,
  every test cell's automatic score (what the box earned), and for formgrader the submission as
  received with nbgrader's locked cells restored (`autograded/<student>/<id>/<id>.ipynb`).
  Written answers stay "needs manual grade" for formgrader; a score an instructor already gave
  there is never touched, so regrading keeps it.
- `export` writes one CSV from the gradebook with automatic, written and total points per student
  and chapter (nbgrader's own export columns first, so tools that read those keep working);
  `BookExport` is the same as an nbgrader export plugin (`autograder/nbgrader_config.py` selects
  it, so `nbgrader export` writes it too).
- `OverwriteCells` is nbgrader's autograde preprocessor, except that a test cell whose only
  difference from the gradebook's copy is the hidden block the release removed is restored
  silently: nbgrader otherwise logs "checksum has changed" for every test cell with hidden tests
  of every student (nbgrader issue 1961), which drowns the one log line that matters, a student's
  real edit of a test cell (still reported).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.preprocessors import OverwriteCells as NbgraderOverwriteCells

from autograder.release import COURSE_ID

EXPORT_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                  "raw_score", "late_submission_penalty", "score", "max_score",
                  "automatic_score", "automatic_max_score", "written_score", "written_max_score", "needs_manual_grade"]


def db_url(root: Path) -> str:
    """The gradebook of a course root, as `nbgrader_config.py` and `release` name it."""
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"


def sync(records: list[dict], root: Path, received: Path | None = None) -> tuple[int, list[str]]:
    """Graded records (grades.json) into the gradebook of `root`; `received` is the grader's
    `OUT/received` folder, the source of the notebooks formgrader shows. -> (submissions written,
    problems for the instructor)."""
    import warnings

    import nbformat
    from sqlalchemy.exc import SAWarning

    written, problems = 0, []
    with warnings.catch_warnings(), Gradebook(db_url(root), course_id=COURSE_ID) as gb:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session noise (its autograde prints it too)
        for record in records:
            student, assignment = record["student"], record["assignment"]
            if record.get("status") not in ("graded", "failed"):
                continue
            try:
                gb.find_notebook(assignment, assignment)
            except MissingEntry:
                problems.append(f"{assignment} is not in the gradebook {root / 'gradebook.db'}: run `make release` "
                                "(or nbgrader generate_assignment) for it first")
                continue
            gb.update_or_create_student(student)
            gb.update_or_create_submission(assignment, student)
            for test in record.get("tests", []):
                try:
                    grade = gb.find_grade(test["grade_id"], assignment, assignment, student)
                except MissingEntry:
                    problems.append(f"{student}/{assignment}: the gradebook has no test cell {test['grade_id']}")
                    continue
                grade.auto_score = float(test["points"])
                grade.needs_manual_grade = grade.manual_score is not None  # nbgrader's own rule
            gb.db.commit()
            written += 1
            if received is not None:
                _autograded_copy(gb, nbformat, root, received, student, assignment)
    return written, sorted(set(problems))


def _autograded_copy(gb: Gradebook, nbformat, root: Path, received: Path, student: str, assignment: str) -> None:
    """The notebook formgrader opens for manual grading: the submission with nbgrader's locked
    cells as the gradebook has them (a student's edit to a test cell is not what was graded)."""
    source = received / student / assignment / f"{assignment}.ipynb"
    try:
        nb = nbformat.reads(source.read_text(), as_version=4)
        nbformat.validate(nb)
    except Exception:  # noqa: BLE001 -- not a notebook: formgrader shows the scores without it
        return
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if not grade_id:
            continue
        try:
            kept = gb.find_source_cell(grade_id, assignment, assignment)
        except MissingEntry:
            continue
        if kept.locked:
            cell.source = kept.source
    target = Path(root) / "autograded" / student / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def export_rows(gb: Gradebook) -> list[dict]:
    rows = []
    for assignment in gb.assignments:
        for student in gb.students:
            try:
                s = gb.find_submission(assignment.name, student.id)
            except MissingEntry:
                continue
            penalty = s.late_submission_penalty or 0.0
            rows.append({
                "assignment": assignment.name, "duedate": assignment.duedate or "", "timestamp": s.timestamp or "",
                "student_id": student.id, "last_name": student.last_name or "", "first_name": student.first_name or "",
                "email": student.email or "", "raw_score": s.score, "late_submission_penalty": penalty,
                "score": s.score - penalty, "max_score": s.max_score,
                "automatic_score": s.code_score, "automatic_max_score": s.max_code_score,
                "written_score": s.written_score, "written_max_score": s.max_written_score,
                "needs_manual_grade": "yes" if s.needs_manual_grade else "",
            })
    return rows


def export(root: Path, to: Path) -> int:
    """One CSV: automatic, written and total points per student and chapter. -> rows written."""
    with Gradebook(db_url(root), course_id=COURSE_ID) as gb:
        rows = export_rows(gb)
    _write_export(rows, to)
    return len(rows)


def _write_export(rows: list[dict], to: Path) -> None:
    from autograder.results import escape_cell

    with open(to, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            writer.writerow([escape_cell(str(row[c])) for c in EXPORT_COLUMNS])


class BookExport(ExportPlugin):
    """`nbgrader export` with automatic and written points beside nbgrader's own columns."""

    def export(self, gradebook: Gradebook) -> None:
        rows = [r for r in export_rows(gradebook)
                if (not self.assignment or r["assignment"] in self.assignment)
                and (not self.student or r["student_id"] in self.student)]
        dest = Path(self.to or "grades.csv")
        self.log.info("Exporting automatic, written and total points to %s", dest)
        _write_export(rows, dest)


class OverwriteCells(NbgraderOverwriteCells):
    """nbgrader's, without the false "checksum has changed" of every test cell with hidden tests."""

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and cell.metadata.nbgrader.get("locked"):
            try:
                kept = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                kept = None
            if kept is not None and kept.locked and kept.cell_type == cell.cell_type:
                released = json.loads(json.dumps(cell))  # a copy, cut as the release cut it
                released["source"] = kept.source
                released = _as_node(released)
                ClearHiddenTests().preprocess_cell(released, {}, cell_index)
                if released.source == cell.source:  # the student left it as released
                    cell.source = kept.source
        return super().preprocess_cell(cell, resources, cell_index)


def _as_node(cell: dict):
    from nbformat import from_dict

    return from_dict(cell)
