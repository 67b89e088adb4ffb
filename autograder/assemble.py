"""What the box holds for one submission: a notebook of trusted cells, and the student's cells as data.

    notebook.ipynb   boot | the chapter's setup cells | the book's own names | grade
    plan.json        the cells to run in the notebook's order: the student's own cells (solution
                     cells and the code cells they added), and the chapter's visible test cells
    secrets.json     the MAC key and one seed per graded function (read, then deleted, before any
                     student code runs)
    inputs/          arguments of cases the trusted grader built itself (`Spec.outside_cases`)
    solutions.py     the box's own copy of the names the chapter's cells import from `solutions`:
                     other chapters' model answers, never this chapter's graded functions
    autograder/, cnnbook/   the spec machinery and the book's helpers (never the real `solutions`)

Everything but the student's cells comes from the trusted source notebook, so editing, emptying or
deleting test cells in a submission changes nothing. Each notebook cell carries
`metadata.autograder = {"role": ..., "id": ...}` so the executed notebook can be read back.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import REPO, Cell, Chapter, Course, defined_names

BOOT = "__import__('autograder.harvest').harvest.boot()\n"
PROVIDE = "__import__('autograder.harvest').harvest.provide({names!r})\n"
GRADE = "__import__('autograder.harvest').harvest.grade()\n"
MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)


@dataclass
class StudentSolution:
    name: str
    source: str | None      # None: no cell defines it
    how_found: str          # 'grade_id' | 'def line' | 'missing'


@dataclass
class StudentCells:
    """The submission's code that the grader runs, in the submission's order."""

    solutions: dict[str, StudentSolution]
    cells: list[dict] = field(default_factory=list)     # {"role", "id", "source"}: solution and added cells
    not_run: list[tuple[str, str]] = field(default_factory=list)  # (why, source) of code cells left out


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


def _normalized(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def student_cells(chapter: Chapter, cells: list[Cell]) -> StudentCells:
    """The student's solution cells and the code cells they added (a helper in a cell of its own
    above a solution, say), in the submission's order. A cell counts as added when the chapter's
    source has no cell with its id (Jupyter gives every new cell a new one) or, for a notebook
    without ids, no cell with its source. The chapter's own demonstrations are not run, edited or
    not: they are the book's, and the grader runs the chapter's trusted copy of its setup."""
    solutions = find_solutions(chapter, cells)
    chosen = {id(c) for c in cells if c.kind == "code" and any(
        s.source is not None and c.source == s.source for s in solutions.values())}
    known_sources = {_normalized(s) for s in chapter.sources}
    result = StudentCells(solutions)
    used: set[str] = set()
    for i, cell in enumerate(cells):
        if cell.kind != "code":
            continue
        name = next((n for n, s in solutions.items() if s.source is not None and cell.source == s.source
                     and n not in used), None)
        if name is not None and id(cell) in chosen:
            used.add(name)
            result.cells.append({"role": "solution", "id": name, "source": cell.source})
        elif cell.nbgrader.get("grade") or cell.nbgrader.get("solution") or "setup" in cell.tags:
            continue  # test cells (the chapter's own copy runs), setup (ditto), solution cells of nothing
        elif not cell.source.strip():
            continue
        elif (cell.cell_id and cell.cell_id in chapter.cell_ids) or \
                (not cell.cell_id and _normalized(cell.source) in known_sources):
            if _normalized(cell.source) not in known_sources:
                result.not_run.append(("a demonstration cell of the chapter that you edited", cell.source))
            else:
                result.not_run.append(("a demonstration cell of the chapter", cell.source))
        else:
            result.cells.append({"role": "added", "id": f"cell_{i}", "source": cell.source})
    return result


def plan_cells(chapter: Chapter, student: StudentCells) -> list[dict]:
    """The student's cells in their order, each graded function's visible test cell right after
    the last student cell that comes before the next solution (the chapter's order of tests)."""
    tests = {t.grade_id: t for t in chapter.tests}
    after: dict[str, list[str]] = {}  # function -> its visible test cells, in chapter order
    current = None
    for kind, ident in chapter.order:
        if kind == "solution":
            current = ident
        elif kind == "test" and current is not None:
            after.setdefault(current, []).append(ident)
    planned: list[dict] = []
    done: set[str] = set()
    for cell in student.cells:
        planned.append(cell)
        if cell["role"] == "solution":
            for gid in after.get(cell["id"], []):
                planned.append({"role": "test", "id": gid, "source": tests[gid].source})
                done.add(gid)
    for gid, test in tests.items():  # tests of functions with no solution cell still run (and fail)
        if gid not in done:
            planned.append({"role": "test", "id": gid, "source": test.source})
    return planned


def provided_names(chapter: Chapter, course: Course) -> dict[str, str]:
    """Names the chapter's own cells import from `solutions` that the box can give from its copy:
    other chapters' graded functions (name -> their chapter). This chapter's never."""
    own = {ex.name for ex in chapter.exercises}
    owners = {}
    for cid in course.chapter_ids():
        other = course.chapter(cid)
        for ex in other.exercises if other is not None and cid != chapter.id else []:
            owners.setdefault(ex.name, cid)
    found = {}
    from autograder.screen import transformed

    for source in chapter.sources:
        try:
            tree = ast.parse(transformed(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "solutions":
                for alias in node.names:
                    if alias.name in owners and alias.name not in own:
                        found[alias.name] = owners[alias.name]
    return found


def solutions_module(chapter: Chapter, course: Course) -> tuple[str, list[str]]:
    """The box's `solutions.py`: the model answers (from the source notebooks, which the tests prove
    equal to the reference) of the names `provided_names` finds, with the other answers of their
    chapter they call, each chapter's in a namespace of its own."""
    wanted = provided_names(chapter, course)
    by_chapter: dict[str, set[str]] = {}
    for name, cid in wanted.items():
        by_chapter.setdefault(cid, set()).add(name)
    parts = ['"""The grader\'s copy of the book\'s earlier answers that this chapter imports (model answers)."""\n']
    for cid, names in sorted(by_chapter.items()):
        other = course.chapter(cid)
        answers = _model_answers(other)
        needed = _closure(names, answers)
        code = "\n\n".join(answers[n] for n in needed)
        body = "\n".join(_imports_used(other.setup, code)) + "\n\n" + code
        module = f"_chapter_{re.sub(r'[^0-9a-z_]', '_', cid)}"
        parts.append(f"{module} = {{}}\nexec(compile({body!r}, 'solutions ({cid})', 'exec'), {module})\n"
                     + "".join(f"{n} = {module}[{n!r}]\n" for n in sorted(names)))
    return "\n".join(parts), sorted(wanted)


def _imports_used(setup: list[str], code: str) -> list[str]:
    """The import statements of a chapter's setup that bind a name `code` uses (chapter 10's
    `import torch` stays out of a copy of its NumPy `relu_backward`)."""
    found = []
    for source in setup:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                bound = [a.asname or a.name.split(".")[0] for a in node.names]
                if any(re.search(rf"\b{re.escape(name)}\b", code) for name in bound):
                    found.append(ast.unparse(node))
    return found


def _model_answers(chapter: Chapter) -> dict[str, str]:
    from autograder.course import read_cells

    answers = {}
    for cell in read_cells(chapter.path.read_bytes()):
        if cell.kind == "code" and cell.nbgrader.get("solution") and not cell.nbgrader.get("grade"):
            for name in defined_names(cell.source):
                answers[name] = textwrap.dedent(MARKERS.sub("", cell.source))
    return answers


def _closure(names: set[str], answers: dict[str, str]) -> list[str]:
    """`names` and every other answer of the chapter they mention, in the chapter's order."""
    needed, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in needed or name not in answers:
            continue
        needed.add(name)
        todo += [other for other in answers if other != name and re.search(rf"\b{other}\b", answers[name])]
    return [n for n in answers if n in needed]


def _cell(source: str, role: str, ident: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["autograder"] = {"role": role, "id": ident}
    return cell


def build_notebook(chapter: Chapter, provided: list[str]) -> nbformat.NotebookNode:
    """The trusted cells the box's runner executes (the student's cells are in the plan)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [_cell(BOOT, "boot", "boot")]
    cells += [_cell(src, "setup", f"setup_{i}") for i, src in enumerate(chapter.setup)]
    if provided:
        cells.append(_cell(PROVIDE.format(names=provided), "provide", "provide"))
    cells.append(_cell(GRADE, "grade", "grade"))
    nb.cells = cells
    return nb


def populate_scratch(scratch: Path, nb: nbformat.NotebookNode, spec_files: list[Path], plan: dict,
                     secrets: dict, solutions_source: str | None = None) -> None:
    """The box's whole world: the notebook, the plan, `cnnbook`, the spec machinery (never the real
    `solutions`)."""
    scratch.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, scratch / "notebook.ipynb")
    (scratch / "plan.json").write_text(json.dumps(plan))
    (scratch / "secrets.json").write_text(json.dumps(secrets))
    if solutions_source:
        (scratch / "solutions.py").write_text(solutions_source)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "cnnbook", scratch / "cnnbook", ignore=ignore)
    package = scratch / "autograder"
    (package / "specs").mkdir(parents=True)
    (package / "__init__.py").write_text('"""The spec machinery, as the grader\'s box sees it."""\n')
    (package / "specs" / "__init__.py").write_text("")
    for name in ("spec.py", "harvest.py", "guard.py"):
        shutil.copy2(REPO / "autograder" / name, package / name)
    for path in spec_files:
        shutil.copy2(path, package / "specs" / path.name)
    (scratch / "out").mkdir(exist_ok=True)
