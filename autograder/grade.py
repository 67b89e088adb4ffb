"""Grade a class: every `SUBMISSIONS/<student>/<id>/<id>.ipynb`, `jobs` at a time.

Per submission (`grade_submission`), scoring version 2 (COURSE.md, "Scoring"):
1. keep the file as received (`OUT/received/...`), then read it tolerantly;
2. find the student's cells (solution cells and the code cells they added) and screen them
   (`screen`): what looks suspicious is *flagged* for a human, never scored;
3. run them in a box (`assemble`, `sandbox`, `harvest`) as the notebook does, with each graded
   function's hidden cases drawn from the grading seed and its forbidden operations unavailable
   (`guard`); the box returns outcomes, never verdicts;
4. judge every hidden case here, outside the box (`judge`): a test cell's points are shared over
   its function's cases (valid inputs carry at least 80%; only the bad arguments the statement
   names count), and a function that used a forbidden operation earns nothing, alone;
5. keep the executed notebook and outcomes (`OUT/runs/...`) and write the feedback page, which
   shows each case's points and what was wrong.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from pathlib import Path

from autograder import feedback, outcomes, sandbox
from autograder import results as results_store
from autograder.assemble import (
    build_notebook,
    plan_cells,
    populate_scratch,
    provided_names,
    solutions_module,
    student_cells,
)
from autograder.course import MAX_NOTEBOOK_BYTES, Chapter, Course, NotebookError, read_cells, visible_part
from autograder.harvest import save_inputs
from autograder.judge import CaseVerdict, ReferenceBroken, ReferenceCache, judge_cases
from autograder.screen import flags as screen_flags
from autograder.screen import transformed
from autograder.spec import DEFAULT_SEED, function_seed

SAFE_NAME = re.compile(r"^(?!\.)[^/\\\x00-\x1f\x7f]{1,100}$")  # any folder name but ., .., hidden, or odd bytes
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_EXECUTED_BYTES = 64 << 20
NAME_ERROR = re.compile(r"NameError: name '(\w+)' is not defined")


@dataclass
class TestResult:
    grade_id: str
    function: str | None
    points: float
    max_points: float
    visible_source: str
    messages: list[str] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)  # per hidden case: label, points, max_points, message, hint


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    written_max_score: float = 0.0
    status: str = "graded"          # 'graded' or 'failed' (could not be graded at all)
    reason: str = ""                # why it failed or stopped: for student and summary
    flags: list[str] = field(default_factory=list)  # for a human to review; never change the score
    tests: list[TestResult] = field(default_factory=list)
    written: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    isolation: str = ""
    seed: str = ""

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def student_notes(self) -> list[str]:
        notes = [self.reason] if self.reason else []
        if self.flags:
            more = f" (+{len(self.flags) - 8} more)" if len(self.flags) > 8 else ""
            notes.append("Flagged for review by an instructor (your score above is not changed by this): "
                         + "; ".join(self.flags[:8]) + more)
        return notes


@dataclass
class Settings:
    course: Course
    out: Path
    limits: sandbox.Limits
    isolation: str
    references: ReferenceCache
    seed: str = DEFAULT_SEED


def _copy_regular_files(src: Path, dst: Path, keep: re.Pattern, budget: int = 1 << 30) -> None:
    """Archive what the box wrote (names matching `keep`, up to `budget` bytes in all), without
    following links the student may have planted."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.iterdir()) if src.is_dir() and not src.is_symlink() else []:
        if not keep.fullmatch(path.name) or budget <= 0:
            continue
        try:
            data = outcomes.read_plain_file(path, min(budget, MAX_EXECUTED_BYTES))
        except outcomes.Unreadable:
            continue
        budget -= len(data)
        (dst / path.name).write_bytes(data)


def _executed_setup(scratch: Path) -> dict[str, str | None]:
    """setup cell id -> its error, from the trusted cells' executed notebook."""
    try:
        nb = json.loads(outcomes.read_plain_file(scratch / "executed.ipynb", MAX_EXECUTED_BYTES))
        cells = nb["cells"]
    except (outcomes.Unreadable, ValueError, KeyError, TypeError, RecursionError):
        return {}
    found = {}
    for cell in cells if isinstance(cells, list) else []:
        try:
            tag = cell["metadata"]["autograder"]
            if cell.get("execution_count") is not None and tag.get("role") in ("setup", "boot", "provide"):
                errors = [o for o in cell.get("outputs", []) if isinstance(o, dict) and o.get("output_type") == "error"]
                found[str(tag.get("id"))] = (ANSI.sub("", f"{errors[0].get('ename')}: {errors[0].get('evalue')}")[:500]
                                             if errors else None)
        except (KeyError, TypeError, AttributeError):
            continue
    return found


def _clean(text: object, limit: int = 2000) -> str:
    return ANSI.sub("", str(text))[:limit]


def _normalized(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def tampered_tests(chapter: Chapter, cells: list) -> list[str]:
    """Test cells of the release that the submission deleted or edited. They are never run from the
    submission (the grader runs its own copy), but the attempt is worth a human's look."""
    submitted = {c.grade_id: c.source for c in cells if c.kind == "code" and c.grade_id}
    found = []
    for t in chapter.tests:
        if t.grade_id not in submitted:
            found.append(f"test cell {t.grade_id} was deleted")
        elif _normalized(visible_part(submitted[t.grade_id])) != _normalized(t.source):
            found.append(f"test cell {t.grade_id} was edited")
    return found


def grade_submission(student: str, assignment: str, path: Path, s: Settings) -> SubmissionResult:
    start = time.monotonic()
    result = SubmissionResult(student, assignment, isolation=s.isolation, seed=str(s.seed))
    try:
        return _grade(result, path, s)
    finally:
        result.score = round(float(sum(t.points for t in result.tests)), 6)
        result.wall_s = time.monotonic() - start
        _write_feedback(result, s.out)


def _grade(result: SubmissionResult, path: Path, s: Settings) -> SubmissionResult:
    student, assignment = result.student, result.assignment
    if not (SAFE_NAME.match(student) and SAFE_NAME.match(assignment)):
        result.status, result.reason = "failed", "the student or assignment folder name has odd characters"
        return result
    chapter = s.course.chapter(assignment)
    if chapter is None:
        result.status, result.reason = "failed", f"there is no chapter named {assignment!r}"
        return result
    result.max_score, result.written_max_score = chapter.max_score, chapter.written_max_score
    result.tests = [TestResult(t.grade_id, t.function, 0.0, t.points, t.source) for t in chapter.tests]
    try:
        data = outcomes.read_plain_file(path, 64 << 20)
    except outcomes.Unreadable as exc:
        result.status, result.reason = "failed", f"the submission could not be read ({exc})"
        return result
    received = s.out / "received" / student / assignment / f"{assignment}.ipynb"
    received.parent.mkdir(parents=True, exist_ok=True)
    received.write_bytes(data)
    try:
        cells = read_cells(data)
    except NotebookError as exc:
        result.reason = f"Not graded: {exc}."
        for t in result.tests:
            t.messages.append(str(exc))
        return result
    answers = {c.grade_id: c.source for c in cells if c.kind == "markdown" and c.grade_id}
    result.written = [{"grade_id": w.grade_id, "max_points": w.points, "answer": answers.get(w.grade_id, "")}
                      for w in chapter.written]

    result.flags += tampered_tests(chapter, cells)
    mine = student_cells(chapter, cells)
    specs = s.course.specs()
    problems: dict[str, list[str]] = {ex.name: [] for ex in chapter.exercises}
    for ex in chapter.exercises:
        if mine.solutions[ex.name].source is None:
            problems[ex.name].append(f"no solution cell defines `{ex.name}` (keep its `def` line)")
        elif ex.name not in specs:
            problems[ex.name].append(f"`{ex.name}` has no hidden-test spec, so it cannot be graded "
                                     "automatically (instructor: see autograder/specs/)")
    result.flags += _screen(chapter, mine.cells, specs, problems)

    unanswered = {ex.name for ex in chapter.exercises if mine.solutions[ex.name].source is not None
                  and _normalized(mine.solutions[ex.name].source) == _normalized(chapter.released.get(ex.name, ""))}
    for name in unanswered:
        problems[name].append("not attempted: the solution cell is as released (it raises NotImplementedError)")
    graded = [ex.name for ex in chapter.exercises if ex.name in specs and ex.name not in unanswered
              and mine.solutions[ex.name].source is not None]
    if graded or any(c["role"] == "added" for c in mine.cells):
        manifest, visible, setup_errors, box = _run_in_box(chapter, mine, graded, s, result)
    else:  # nothing of the student's to run: no box (a blank notebook costs the class nothing)
        manifest, visible, setup_errors, box = None, [], {}, None
    if box is not None and box.timed_out:
        result.reason = (f"The notebook ran longer than {s.limits.notebook_s:g} s in all and was stopped; "
                         "what ran before that was graded.")
    broken_setup = [f"{k}: {v}" for k, v in setup_errors.items() if v]
    if broken_setup:  # the chapter's own cells failed in the box: the grader's problem, not the student's
        result.flags.append("the chapter's setup failed in the box: " + "; ".join(broken_setup)[:500])

    cell_notes = _cell_notes(visible, mine, chapter)
    for t in result.tests:
        record = next((c for c in visible if c.get("role") == "test" and c.get("id") == t.grade_id), None)
        if record is None and t.function in unanswered:
            pass
        elif record is None:
            t.messages.append("the visible test did not run" if manifest is not None else
                              "the visible test could not run (the notebook did not run)")
        elif record.get("error"):
            t.messages.append("visible test: " + _explain(_error_text(record["error"]), mine, chapter))
        if t.function is not None:
            t.messages += problems.get(t.function, [])
    for name in graded:
        _grade_function(name, specs[name][0], manifest, s, result, mine, chapter, cell_notes.get(name, []))
    for t in result.tests:
        if t.function is None or t.function not in specs:  # no spec: the visible test is the whole test
            ran_clean = any(c.get("role") == "test" and c.get("id") == t.grade_id and not c.get("error")
                            for c in visible)
            t.points = t.max_points if ran_clean and t.function is None else 0.0
    said = " ".join(m for t in result.tests for m in t.messages + [c["message"] or "" for c in t.cases])
    for marker, why in (("CellTimeout", f"a cell ran longer than {s.limits.cell_s:g} s and was stopped"),
                        ("MemoryError", f"it ran out of memory (limit {s.limits.memory_bytes / 2**30:g} GiB)")):
        if marker in said and why not in result.reason:
            result.reason = f"{result.reason} Stopped: {why}.".strip()
    return result


def _screen(chapter: Chapter, cells: list[dict], specs: dict, problems: dict[str, list[str]]) -> list[str]:
    """Flags for a human, from the source of every cell of the student's that the grader runs."""
    found = []
    for cell in cells:
        name = cell["id"] if cell["role"] == "solution" else f"your cell {cell['id'].removeprefix('cell_')}"
        spec = specs.get(cell["id"], (None, None))[0] if cell["role"] == "solution" else None
        try:
            families = spec.families if spec else ()
            found += [f"{name}: {f}" for f in screen_flags(cell["source"], chapter.setup, families)]
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            if cell["role"] == "solution":
                line = getattr(exc, "lineno", None)
                problems[cell["id"]].append(
                    f"the solution cell of `{cell['id']}` has a syntax error"
                    f"{f' on line {line}' if line else ''}: {getattr(exc, 'msg', exc)}")
    return found


def _cell_notes(visible: list[dict], mine, chapter: Chapter) -> dict[str, list[str]]:
    """Errors the student's own cells raised in the visible run (the student's notebook order), by
    the graded function whose solution they are or precede."""
    notes: dict[str, list[str]] = {}
    pending: list[str] = []
    for record in visible:
        if record.get("role") not in ("solution", "added") or not record.get("error"):
            if record.get("role") == "solution":
                notes.setdefault(str(record.get("id")), []).extend(pending)
                pending = []
            continue
        text = _explain(_error_text(record["error"]), mine, chapter)
        if record.get("role") == "solution":
            notes.setdefault(str(record.get("id")), []).extend(
                pending + [f"note: the solution cell of `{record.get('id')}` raised {text}"])
            pending = []
        else:
            pending.append(f"note: your cell above it raised {text}")
    return notes


def _error_text(error) -> str:
    if isinstance(error, list) and len(error) == 2:
        return _clean(f"{error[0]}: {error[1]}", 1000)
    return _clean(error, 1000)


def _explain(text: str, mine, chapter: Chapter) -> str:
    """A NameError that happens only in the grader says why the name is missing here."""
    match = NAME_ERROR.search(text)
    if not match:
        return text
    name = match.group(1)
    for why, source in mine.not_run:
        if _binds(source, name):
            return (f"{text} (in your notebook `{name}` comes from {why}, which the grader does not run; "
                    f"define it in a cell of your own or in the solution cell)")
    for source in chapter.sources:
        imports = re.search(rf"from solutions[\w.]* import [^\n]*\b{name}\b|import solutions", source)
        if imports and _binds(source, name):
            return (f"{text} (in your notebook `{name}` comes from the book's `solutions`, which stays out of "
                    f"the grader's box; define it yourself in a cell of your own or in the solution cell)")
    return text


def _binds(source: str, name: str) -> bool:
    import ast

    try:
        tree = ast.parse(transformed(source))
    except (SyntaxError, ValueError, RecursionError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (a.asname or a.name.split(".")[0]) == name for a in node.names):
            return True
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id == name:
            return True
    return False


# Advice by the kind of failure (never about the operation itself: a shape error gets no word on
# flipping the kernel).
HINTS = (
    ("expected shape", "the result has the wrong shape: count the outputs along each axis again"),
    ("expected a tuple", "return the results as a tuple, in the order the exercise gives"),
    ("expected it to raise", "raise ValueError for the bad arguments the exercise statement names"),
    ("returned one of its input arrays", "return a new array (`np.array(x)` copies, `x.copy()` too)"),
    ("an integer array", "compute in float64 (`np.asarray(x, dtype=float)`)"),
    ("expected an int", "return a Python int (`int(...)`)"),
    ("modified one of its input arrays", "work on a copy of the input"),
    ("did not finish", "the function is too slow or never returns on this input"),
)


def _hint(message: str | None) -> str:
    return next((hint for marker, hint in HINTS if message and marker in message), "")


def _grade_function(name: str, spec, manifest, s: Settings, result: SubmissionResult, mine,
                    chapter: Chapter, cell_notes: list[str]) -> None:
    tests = [t for t in result.tests if t.function == name]
    messages: list[str] = []
    verdicts: list[CaseVerdict] = []
    used_forbidden = None
    if manifest is None:
        messages.append("no hidden-test outcomes: the notebook did not run")
    else:
        try:
            recorded = outcomes.load(manifest, name)
        except outcomes.Unreadable as exc:
            messages.append(f"no hidden-test outcomes could be read ({exc})")
            if "altered" in str(exc) or "not among" in str(exc):
                result.flags.append(f"{name}: its recorded outcomes were altered inside the box ({exc})")
        else:
            if recorded.missing:
                messages.append(f"no function named `{name}` was defined when the hidden cases ran")
            try:
                verdicts = judge_cases(spec, recorded, s.references, s.seed)
            except ReferenceBroken:
                raise
            for note in recorded.notes:
                messages.append("note (hidden run): " + _explain(_clean(note), mine, chapter))
            refused = [r for r in recorded.records if r.get("kind") in ("family", "box")]
            forbidden = [v for v in verdicts if v.kind == "forbidden"]
            if forbidden or any(r.get("kind") == "family" for r in refused):
                what = next((v.message for v in forbidden), None) or \
                    f"it used {refused[0].get('what')}, which this exercise asks you to write yourself"
                used_forbidden = what
                result.flags.append(f"{name}: {what}")
            for r in recorded.records:
                if r.get("kind") == "flag" or (r.get("kind") == "box" and not forbidden):
                    result.flags.append(f"{name}: the box saw it {_clean(r.get('what'), 200)}"
                                        if r.get("kind") == "flag" else
                                        f"{name}: the box refused {_clean(r.get('what'), 200)}")
            disguised = outcomes.disguised_types(recorded.returned) if spec.judge is None else []
            if disguised:
                result.flags.append(f"{name} returns objects that are not arrays or numbers ({disguised[0]})")
            if recorded.problem:
                result.flags.append(f"{name}: {recorded.problem}")
    graded_weight = sum((v.weight for v in verdicts), Fraction(0))
    earned = sum((v.weight for v in verdicts if v.right), Fraction(0))
    share = Fraction(0) if used_forbidden or not graded_weight else earned / graded_weight
    for t in tests:
        t.points = round(float(t.max_points * share), 6) if not messages or verdicts else 0.0
        if used_forbidden:
            t.messages.insert(0, f"0 points for `{name}`: {used_forbidden}")
        wrong = [v for v in verdicts if v.weight and not v.right]
        right = sum(1 for v in verdicts if v.weight and v.right)
        total = sum(1 for v in verdicts if v.weight)
        if verdicts and not used_forbidden:
            first = f"; first wrong: hidden case {wrong[0].index} ({wrong[0].label}): {wrong[0].message}" \
                if wrong else ""
            t.messages.insert(0, f"{right} of {total} graded hidden cases right{first}")
        t.messages += messages + cell_notes
        t.cases = [{"index": v.index, "label": v.label, "max_points": round(float(t.max_points * v.weight), 4),
                    "points": 0.0 if used_forbidden or not v.right else round(float(t.max_points * v.weight), 4),
                    "graded": bool(v.weight), "bad_argument": v.bad_argument, "visible": v.visible,
                    "message": v.message, "hint": _hint(v.message)} for v in verdicts]


def _run_in_box(chapter: Chapter, mine, graded: list[str], s: Settings, result: SubmissionResult):
    """-> (manifest or None, visible-run records, setup errors, BoxResult or None)."""
    run_dir = s.out / "runs" / result.student / result.assignment
    shutil.rmtree(run_dir, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="ag-"))
    try:
        scratch = work / "scratch"
        specs = s.course.specs()
        key = os.urandom(32)
        functions = [{"name": n, "module": specs[n][1], "outside": specs[n][0].outside_cases} for n in graded]
        plan = {"chapter": chapter.id, "cells": plan_cells(chapter, mine), "functions": functions,
                "limits": {"cell_s": s.limits.cell_s, "notebook_s": s.limits.notebook_s}, "isolation": s.isolation}
        secrets = {"key": key.hex(), "seeds": {n: function_seed(s.seed, n) for n in graded}}
        module, provided = solutions_module(chapter, s.course) if provided_names(chapter, s.course) else (None, [])
        notebook = build_notebook(chapter, provided)
        populate_scratch(scratch, notebook, s.course.spec_files, plan, secrets, module)
        run_dir.mkdir(parents=True, exist_ok=True)  # what ran, archived from here: the box cannot swap it
        (run_dir / "notebook.ipynb").write_text(json.dumps(notebook))
        (run_dir / "plan.json").write_text(json.dumps(plan))
        for item in functions:
            if item["outside"]:
                spec = specs[item["name"]][0]
                save_inputs(str(scratch / "inputs"), item["name"], s.references.cases(spec, s.seed))
        sandbox.prepare_scratch_owner(scratch, s.isolation)
        box = sandbox.run_boxed(scratch, s.limits, level=s.isolation)
        setup_errors = _executed_setup(scratch)
        _copy_regular_files(scratch / "out", run_dir / "out", re.compile(r"[\w.]+\.json|\w+_\d+_\d+\.npy"))
        _copy_regular_files(scratch, run_dir, re.compile(r"executed\.ipynb"))
        (run_dir / "box.log").write_text(box.log)
        try:
            manifest = outcomes.Manifest(run_dir / "out", key)
        except outcomes.Unreadable as exc:
            if (run_dir / "out" / "manifest.json").exists():
                result.flags.append(f"the box's outcomes could not be trusted: {exc}")
            manifest = None
        visible = outcomes.visible_cells(manifest) if manifest is not None else []
        return manifest, visible, setup_errors, box
    finally:
        sandbox.remove_tree(work)


def _write_feedback(result: SubmissionResult, out: Path) -> None:
    if not (SAFE_NAME.match(result.student) and SAFE_NAME.match(result.assignment)):
        return
    page = out / "feedback" / result.student / f"{result.assignment}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(feedback.render(result))


# -- a whole class ------------------------------------------------------------------------------

COPY_SUFFIXES = (re.compile(r"\s*\((\d+)\)$"),                 # "04_conv2d (1)": a second download
                 re.compile(r"[-_ ]?copy\s*(\d*)$", re.I),      # "04_conv2d-Copy1": Jupyter's duplicate
                 re.compile(r"[-_ .]v(?:ersion)?\s*(\d+)$", re.I),  # "04_conv2d-v2", "04_conv2d_v2"
                 re.compile(r"[-_ ](final|latest|new|submit|submitted)$", re.I))


@dataclass(frozen=True)
class Submission:
    """What was found for one student and chapter: the notebook to grade (and why that one), or
    `path=None` and the reason it cannot be graded. Either way it becomes a row."""

    student: str
    assignment: str
    path: Path | None
    file: str = ""   # the notebook, relative to the submissions folder
    note: str = ""   # which file was chosen and why, what else was there; or why it was rejected

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.assignment)


def copy_of(stem: str) -> tuple[str, tuple[int, ...]]:
    """`04_conv2d-v2 (1)` -> ("04_conv2d", (2, 1)): the name a copy was made from, and its version
    (higher is later; the original is ())."""
    numbers = []
    while True:
        for pattern in COPY_SUFFIXES:
            match = pattern.search(stem)
            if match and match.start() > 0:
                numbers.append(int(number) if (number := match.group(1)).isdigit() else 1)
                stem = stem[:match.start()]
                break
        else:
            return stem, tuple(reversed(numbers))


def discover(submissions: Path, chapter_ids: list[str] | None = None) -> list[Submission]:
    """Every submission in `SUBMISSIONS/<student>/<id>/<id>.ipynb` (nbgrader's layout), found
    deliberately: a copy (`04_conv2d (1).ipynb`, `-Copy1`, `-v2`) when the folder has no
    `<id>.ipynb` (the latest copy), a notebook left beside the chapter folders (graded as its
    chapter when there is no folder for it), and a row that says why for anything that cannot be
    graded: a link (never followed), a folder without notebooks or with several unrelated ones, a
    notebook outside any student folder or named after no chapter, a file over the size limit."""
    known = set(chapter_ids or [])
    found: dict[tuple[str, str], Submission] = {}
    rejected: list[Submission] = []

    def rel(path: Path) -> str:
        return str(path.relative_to(submissions))

    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            rejected.append(Submission(entry.name, "*", None, entry.name,
                                       "a symbolic link in the submissions folder: links are never followed"))
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            rejected.append(Submission("(none)", entry.name, None, entry.name,
                                       "a notebook outside any student's folder (expected <student>/<id>/<id>.ipynb)"))
            continue
        if not entry.is_dir():
            continue
        student = entry.name
        loose: dict[str, list[tuple[tuple[int, ...], Path]]] = {}
        for item in sorted(entry.iterdir()):
            if item.name.startswith("."):
                continue
            if item.is_symlink():
                base = copy_of(item.name.removesuffix(".ipynb"))[0]
                rejected.append(Submission(student, base if base in known else item.name, None, rel(item),
                                           "a symbolic link: links are never followed; submit the file itself"))
            elif item.is_dir():
                found[(student, item.name)] = _choose_in_folder(student, item, rel)
            elif item.suffix == ".ipynb":
                base, version = copy_of(item.stem)
                if base in known:
                    loose.setdefault(base, []).append((version, item))
                else:
                    rejected.append(Submission(
                        student, item.name, None, rel(item),
                        f"a notebook named after no chapter ({item.name}), outside any chapter folder "
                        f"(expected {student}/<id>/<id>.ipynb)"))
        for base, items in loose.items():
            items.sort(key=lambda vp: (vp[0], vp[1].name))
            names = ", ".join(rel(p) for _, p in items)
            if (student, base) in found:  # the chapter folder wins; say what else there was
                s = found[(student, base)]
                found[(student, base)] = Submission(s.student, s.assignment, s.path, s.file, "; ".join(
                    filter(None, [s.note, f"also found outside the chapter folder, not graded: {names}"])))
            else:
                chosen = items[-1][1]
                others = [rel(p) for _, p in items[:-1]]
                found[(student, base)] = Submission(student, base, chosen, rel(chosen), "; ".join(filter(None, [
                    f"graded {rel(chosen)}, found outside a chapter folder (expected {student}/{base}/{base}.ipynb)",
                    f"not graded: {', '.join(others)}" if others else ""])))
    checked = []
    for s in found.values():
        if s.path is not None and s.path.stat().st_size > MAX_NOTEBOOK_BYTES:
            s = Submission(s.student, s.assignment, None, s.file,
                           f"{s.file} is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB; a chapter notebook is far smaller")
        checked.append(s)
    return sorted(checked + rejected, key=lambda s: s.key)


def _choose_in_folder(student: str, folder: Path, rel) -> Submission:
    cid = folder.name
    notebooks = [p for p in sorted(folder.iterdir()) if p.suffix == ".ipynb" and not p.name.startswith(".")]
    links = [rel(p) for p in notebooks if p.is_symlink()]
    files = [p for p in notebooks if not p.is_symlink() and p.is_file()]
    refused = f"refused (symbolic links are never followed): {', '.join(links)}" if links else ""
    canonical = folder / f"{cid}.ipynb"
    copies = sorted((copy_of(p.stem)[1], p.name, p) for p in files if copy_of(p.stem)[0] == cid and p != canonical)
    if canonical in files:
        chosen, why = canonical, ""
    elif copies:
        chosen = copies[-1][2]
        why = (f"graded {chosen.name}: there is no {cid}.ipynb in the folder, and it is "
               + ("the latest copy" if len(copies) > 1 else "a copy of it"))
    elif len(files) == 1:
        chosen, why = files[0], f"graded {files[0].name}: there is no {cid}.ipynb, and it is the only notebook there"
    else:
        what = (f"several notebooks and none named {cid}.ipynb: {', '.join(p.name for p in files)} "
                "(rename the one to grade)") if files else f"no notebook in the folder (expected {cid}.ipynb)"
        return Submission(student, cid, None, rel(folder), "; ".join(filter(None, [what, refused])))
    others = [p.name for p in files if p != chosen]
    note = "; ".join(filter(None, [why, f"also in the folder, not graded: {', '.join(others)}" if others else "",
                                   refused]))
    return Submission(student, cid, chosen, rel(chosen), note)


def _selected(s: Submission, selectors: list[str]) -> bool:
    """`--regrade STUDENT` or `--regrade STUDENT/CHAPTER`."""
    return any(sel in (s.student, f"{s.student}/{s.assignment}") for sel in selectors)


def digest_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(outcomes.read_plain_file(path, MAX_NOTEBOOK_BYTES + 1)).hexdigest()


def make_settings(course: Course, out: Path, limits: sandbox.Limits | None, level: str,
                  options: dict | None = None) -> Settings:
    """The settings every submission of a run is graded with (here, or on a cluster worker);
    `options`: further fields of `Settings` (a grading seed, say), the same for every submission."""
    return Settings(course, out, limits or sandbox.Limits(), level, ReferenceCache(course), **(options or {}))


def grade_class(submissions: Path, out: Path, jobs: int = 1, course: Course | None = None,
                limits: sandbox.Limits | None = None, progress: bool | None = None,
                scheduler: str | None = None, regrade: list[str] | None = None,
                client=None, options: dict | None = None) -> list[SubmissionResult]:
    """Grade every submission that has no result in `out` yet (or those `regrade` names: `STUDENT`
    or `STUDENT/CHAPTER`), with `jobs` boxes at a time here or on the Dask cluster at `scheduler`
    (or an existing `client`); -> every row of `out/grades.csv`, as results. `options` are further
    `Settings` fields for every submission; a result recorded with other values of them (another
    seed, say) counts as no result."""
    course = course or Course()
    out.mkdir(parents=True, exist_ok=True)
    store = results_store.Results(out).load()
    found = discover(submissions, course.chapter_ids())
    if regrade:
        found = [s for s in found if _selected(s, regrade)]
    else:  # a full run: rows rejected earlier for a layout that has since been fixed go
        now = {s.key for s in found}
        for key in [k for k, r in store.records.items() if r.get("status") == "rejected" and k not in now]:
            store.discard(key)
    todo, digests = [], {}
    for s in found:
        if s.path is None:
            record = _rejected_record(s)
            old = store.get(s.key)
            if old is None or (old.get("status"), old.get("note")) != ("rejected", s.note):
                store.add(record)
            continue
        try:
            digests[s.key] = digest_of(s.path)
        except outcomes.Unreadable:
            digests[s.key] = ""
        if regrade or not store.has(s.key, digests[s.key], options):
            todo.append(s)
    # Longest first, so that no slow notebook starts last and leaves the other jobs idle: chapters
    # that import torch (start-up, training) cost several times the NumPy ones.
    todo.sort(key=lambda s: (-_expected_cost(course, s.assignment), s.key))
    bar = _progress_bar(len(todo), progress)
    failed = 0

    def finished(result: SubmissionResult, s: Submission) -> None:
        nonlocal failed
        store.add(dict(result_record(result), file=s.file, note=s.note, digest=digests.get(s.key, "")))
        failed += result.status == "failed"
        if bar is not None:
            bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)

    try:
        if todo and (scheduler or client is not None):
            from autograder.cluster import grade_on_cluster

            grade_on_cluster(todo, course, limits or sandbox.Limits(), out, finished,
                             scheduler=scheduler, client=client, options=options)
        elif todo:
            _grade_here(todo, course, out, jobs, limits, finished, options)
    finally:
        if bar is not None:
            bar.close()
        store.close()
    return [result_from_record(r) for r in store.rows()]


def _grade_here(todo: list[Submission], course: Course, out: Path, jobs: int, limits, finished,
                options: dict | None = None) -> None:
    level = sandbox.isolation()
    warning = sandbox.isolation_warning(level)
    if warning:
        print(warning, file=sys.stderr)
    sandbox.warm_up(setup_imports(course, {s.assignment for s in todo}))
    course.specs()  # import every spec module now, to report the broken ones before grading
    for name, error in course.spec_errors.items():
        print(f"WARNING: spec module {name} failed to import: {error}", file=sys.stderr)
    settings = make_settings(course, out, limits, level, options)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_grade_safely, s.student, s.assignment, s.path, settings): s for s in todo}
        for future in as_completed(futures):  # here, in this one thread: the store needs no lock
            finished(future.result(), futures[future])


def setup_imports(course: Course, assignments: set[str]) -> list[str]:
    """Third-party modules the chapters' setup cells import (the box's launcher preloads them)."""
    found = set()
    for cid in assignments:
        try:
            chapter = course.chapter(cid)
        except Exception:  # noqa: BLE001 -- an unreadable chapter is graded (and fails) like any other
            continue
        for source in chapter.setup if chapter else []:
            found |= set(re.findall(r"^\s*(?:from|import)\s+(\w+)", source, re.M))
    return sorted(found - {"cnnbook", "solutions", "autograder", "__future__"} - set(sys.stdlib_module_names))


def _progress_bar(total: int, progress: bool | None):
    if not total or not (progress if progress is not None else sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="notebook", desc="grading", dynamic_ncols=True)


def _expected_cost(course: Course, assignment: str) -> int:
    try:
        chapter = course.chapter(assignment)
    except Exception:  # noqa: BLE001 -- an unreadable chapter is graded (and fails) like any other
        return 0
    return 0 if chapter is None else 1 + 3 * any("torch" in src for src in chapter.setup)


def _grade_safely(student: str, assignment: str, path: Path, s: Settings) -> SubmissionResult:
    try:
        return grade_submission(student, assignment, path, s)
    except Exception as exc:  # noqa: BLE001 -- a grader bug on one submission must not stop the class
        result = SubmissionResult(student, assignment, status="failed", isolation=s.isolation,
                                  reason=f"internal grader error: {type(exc).__name__}: {exc}")
        return result


def _rejected_record(s: Submission) -> dict:
    result = SubmissionResult(s.student, s.assignment, status="rejected", reason=f"Not graded: {s.note}.")
    return dict(result_record(result), file=s.file, note=s.note, digest="")


def result_record(result: SubmissionResult) -> dict:
    """A result as the JSON record kept in grades.json (and sent back by a cluster worker)."""
    return dict(asdict(result), flagged=result.flagged)


def result_from_record(record: dict) -> SubmissionResult:
    names = {f.name for f in fields(SubmissionResult)}
    test_names = {f.name for f in fields(TestResult)}
    result = SubmissionResult(**{k: v for k, v in record.items() if k in names and k != "tests"})
    result.tests = [TestResult(**{k: v for k, v in t.items() if k in test_names}) for t in record.get("tests", [])]
    return result


CSV_COLUMNS = results_store.GRADER_COLUMNS


def write_reports(results: list[SubmissionResult], out: Path) -> None:
    """grades.csv and grades.json for these results, merged into what `out` already holds."""
    store = results_store.Results(out).load()
    for r in results:
        store.add(result_record(r))
    store.close()


def summary(results: list[SubmissionResult], wall_s: float, jobs: int, graded_now: int | None = None,
            where: str = "") -> str:
    failed = [r for r in results if r.status == "failed"]
    rejected = [r for r in results if r.status == "rejected"]
    flagged = [r for r in results if r.flagged]
    stopped = [r for r in results if r.status == "graded" and r.reason and not r.flagged]
    students = len({r.student for r in results})
    level = next((r.isolation for r in results if r.isolation), "") or sandbox.isolation()
    graded = len(results) - len(failed) - len(rejected)
    now = f"; {graded_now} graded in this run" if graded_now is not None else ""
    lines = [f"graded {graded} of {len(results)} submissions ({students} students){now}, "
             f"in {wall_s:.1f} s {where or f'with {jobs} job(s)'}, isolation: {level}",
             f"failed: {len(failed)}   rejected: {len(rejected)}   flagged: {len(flagged)}   "
             f"stopped or unreadable: {len(stopped)}"]
    for r in failed:
        lines.append(f"  FAILED   {r.student}/{r.assignment}: {r.reason}")
    for r in rejected:
        lines.append(f"  REJECTED {r.student}/{r.assignment}: {r.reason}")
    for r in stopped:
        lines.append(f"  NOTE     {r.student}/{r.assignment}: {r.reason}")
    for r in flagged:
        lines.append(f"  FLAGGED  {r.student}/{r.assignment}: {'; '.join(r.flags[:3])}"
                     + (f" (+{len(r.flags) - 3} more)" if len(r.flags) > 3 else ""))
    return "\n".join(lines)
