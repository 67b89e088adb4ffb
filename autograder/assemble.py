"""Build the notebook the box runs: trusted cells around the student's solution cells.

    chapter setup cells | in chapter order: the student's solution cell / the chapter's visible
    test cell | one harvest cell per graded function

Everything but the solution cells comes from the trusted source notebook, so editing, emptying or
deleting test cells in a submission changes nothing. Each cell carries
`metadata.autograder = {"role": ..., "id": ...}` so the executed notebook can be read back.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.course import REPO, Cell, Chapter, defined_names

HARVEST = '''\
from autograder.harvest import harvest as _autograder_harvest
_autograder_harvest({module!r}, {name!r}, globals().get({name!r}), "out")
'''


@dataclass
class StudentSolution:
    name: str
    source: str | None      # None: no cell defines it
    how_found: str          # 'grade_id' | 'def line' | 'missing'


def find_solutions(chapter: Chapter, cells: list[Cell]) -> dict[str, StudentSolution]:
    """The submission's solution cell for each graded function: the cell with the exercise's
    grade_id if it defines the function, otherwise the last code cell that does."""
    found: dict[str, StudentSolution] = {}
    code = [c for c in cells if c.kind == "code"]
    for ex in chapter.exercises:
        by_id = [c for c in code if c.grade_id == ex.grade_id and ex.name in defined_names(c.source)]
        by_def = [c for c in code if ex.name in defined_names(c.source)
                  and not (c.nbgrader.get("grade") or c.nbgrader.get("locked"))]
        if by_id:
            found[ex.name] = StudentSolution(ex.name, by_id[-1].source, "grade_id")
        elif by_def:
            found[ex.name] = StudentSolution(ex.name, by_def[-1].source, "def line")
        else:
            found[ex.name] = StudentSolution(ex.name, None, "missing")
    return found


def _cell(source: str, role: str, ident: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["autograder"] = {"role": role, "id": ident}
    return cell


def build_notebook(chapter: Chapter, runnable: dict[str, str], spec_modules: dict[str, str]
                   ) -> nbformat.NotebookNode:
    """`runnable`: function name -> the student's solution source to run (screened already);
    `spec_modules`: function name -> the module holding its spec inside the box."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [_cell(src, "setup", f"setup_{i}") for i, src in enumerate(chapter.setup)]
    tests = {t.grade_id: t for t in chapter.tests}
    for kind, ident in chapter.order:
        if kind == "solution" and ident in runnable:
            cells.append(_cell(runnable[ident], "solution", ident))
        elif kind == "test":
            cells.append(_cell(tests[ident].source, "test", ident))
    for ex in chapter.exercises:
        if ex.name in runnable and ex.name in spec_modules:
            cells.append(_cell(HARVEST.format(module=spec_modules[ex.name], name=ex.name), "harvest", ex.name))
    nb.cells = cells
    return nb


def populate_scratch(scratch: Path, nb: nbformat.NotebookNode, spec_files: list[Path]) -> None:
    """The box's whole world: the notebook, `cnnbook`, and the spec machinery (never `solutions`)."""
    scratch.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, scratch / "notebook.ipynb")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "cnnbook", scratch / "cnnbook", ignore=ignore)
    package = scratch / "autograder"
    (package / "specs").mkdir(parents=True)
    (package / "__init__.py").write_text('"""The spec machinery, as the grader\'s box sees it."""\n')
    (package / "specs" / "__init__.py").write_text("")
    for name in ("spec.py", "harvest.py"):
        shutil.copy2(REPO / "autograder" / name, package / name)
    for path in spec_files:
        shutil.copy2(path, package / "specs" / path.name)
    (scratch / "out").mkdir()
