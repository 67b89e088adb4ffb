"""Check a chapter notebook the way the book, the grader and the students will meet it.

usage: python tools/check_chapter.py chapters/03_conv1d.ipynb [--quick] [--no-student]

1. Structure (AUTHORING.md): every graded function of the contract has one solution cell holding
   its `def`/`class` line and solution markers, followed by its test cell with points and hidden
   tests; grade ids are unique; a `setup`-tagged cell exists; no stored outputs.
2. The notebook runs top to bottom with the solutions in place and no error.
3. The student version (solution bodies -> `raise NotImplementedError()`, hidden tests removed,
   as nbgrader's generate step does) fails every graded test cell.
Exit status 0 when all three hold.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the grader's reading of cells lives in autograder/
    sys.path.insert(0, str(ROOT))

from autograder import use_own_tools  # noqa: E402
from autograder.course import defined_names, student_notebook  # noqa: E402

COURSE = ROOT.parent / "shared" / "COURSE.md"



def contract_functions(chapter_id: str) -> list[str]:
    for line in COURSE.read_text().splitlines():
        m = re.match(r"\|\s*`(\d\d_[a-z0-9_]+)`\s*\|[^|]*\|(.*)\|\s*$", line)
        if m and m.group(1) == chapter_id:
            return re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", m.group(2))
    raise SystemExit(f"{chapter_id} is not a chapter of {COURSE}")


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def structure_problems(nb, chapter_id: str) -> list[str]:
    problems = []
    cells = nb.cells
    ids = [nbgrader_meta(c).get("grade_id") for c in cells if nbgrader_meta(c)]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        problems.append(f"duplicate grade ids: {sorted(dupes)}")
    if not any("setup" in c.get("metadata", {}).get("tags", []) for c in cells):
        problems.append("no cell tagged `setup`")
    for i, c in enumerate(cells):
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count")):
            problems.append(f"cell {i} has stored outputs (commit notebooks clean)")
    for name in contract_functions(chapter_id):
        sol = [i for i, c in enumerate(cells) if c.cell_type == "code" and nbgrader_meta(c).get("solution")
               and name in defined_names(c.source)]
        if len(sol) != 1:
            problems.append(f"{name}: expected one solution cell with its def, found {len(sol)}")
            continue
        cell = cells[sol[0]]
        if "### BEGIN SOLUTION" not in cell.source:
            problems.append(f"{name}: solution cell lacks ### BEGIN/END SOLUTION markers")
        if nbgrader_meta(cell).get("grade_id") != name:
            problems.append(f"{name}: solution cell's grade_id should be {name!r}")
        nxt = cells[sol[0] + 1] if sol[0] + 1 < len(cells) else None
        meta = nbgrader_meta(nxt) if nxt is not None else {}
        if not (meta.get("grade") and not meta.get("solution") and meta.get("locked")):
            problems.append(f"{name}: the cell after its solution is not a locked graded test cell")
        elif meta.get("grade_id") != f"test_{name}" or not float(meta.get("points", 0)) > 0:
            problems.append(f"{name}: test cell needs grade_id 'test_{name}' and points > 0")
        elif "### BEGIN HIDDEN TESTS" not in nxt.source or f'check_hidden("{name}"' not in nxt.source:
            problems.append(f'{name}: test cell lacks hidden tests calling check_hidden("{name}", ...)')
    if not any(c.cell_type == "markdown" and nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("solution")
               for c in cells):
        problems.append("no written (manually graded) question")
    return problems


def student_version(nb):
    """What nbgrader's generate step makes of the source notebook (close enough to test with)."""
    return nbformat.from_dict(student_notebook(nb))


def execute(nb, path: Path, allow_errors: bool, quick: bool, timeout: int) -> tuple[object, float]:
    env_backup = dict(os.environ)
    os.environ["PYTHONPATH"] = str(ROOT)
    os.environ.setdefault("MPLBACKEND", "Agg")
    if quick:
        os.environ["CNNBOOK_QUICK"] = "1"
    start = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    return nb, time.perf_counter() - start


def error_of(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"[:300]
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--quick", action="store_true", help="set CNNBOOK_QUICK=1 (demos shrink)")
    parser.add_argument("--no-student", action="store_true", help="skip the student-version run")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    args = parser.parse_args()
    use_own_tools()
    path = args.notebook.resolve()
    nb = nbformat.read(path, as_version=4)
    ok = True

    problems = structure_problems(nb, path.stem)
    for p in problems:
        print(f"structure: {p}")
    ok &= not problems

    try:
        _, seconds = execute(copy.deepcopy(nb), path, allow_errors=False, quick=args.quick,
                                    timeout=args.timeout)
        print(f"reference run: ok in {seconds:.1f} s")
    except CellExecutionError as exc:
        print(f"reference run: FAILED\n{str(exc)[-2000:]}")
        ok = False

    if not args.no_student:
        student, seconds = execute(student_version(nb), path, allow_errors=True, quick=True, timeout=args.timeout)
        passed = [nbgrader_meta(c)["grade_id"] for c in student.cells
                  if nbgrader_meta(c).get("grade") and c.cell_type == "code" and not nbgrader_meta(c).get("solution")
                  and error_of(c) is None]
        print(f"student run: {seconds:.1f} s; graded test cells that pass on the blank version: {passed or 'none'}")
        ok &= not passed
        stray = [i for i, c in enumerate(student.cells) if error_of(c) and not nbgrader_meta(c).get("grade")
                 and "NotImplementedError" not in (error_of(c) or "")]
        if stray:
            print(f"student run: non-test cells failing for another reason than NotImplementedError: {stray}")
    print("OK" if ok else "PROBLEMS FOUND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
