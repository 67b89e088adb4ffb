"""What the grader knows about the course: chapters, their cells, specs and the reference.

A chapter's *trusted* parts come from its source notebook `chapters/<id>.ipynb` (setup cells,
the visible part of each test cell, the points); a submission contributes only its solution cells.
Notebooks are read tolerantly: a submission may be any bytes at all.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S)
SOLUTION_BLOCK = re.compile(r"^([ \t]*)### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.M | re.S)
TOP_LEVEL_DEF = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.M)
MAX_NOTEBOOK_BYTES = 20 << 20
# The grader parses a submission's code in its own process (the screen): at most this much per
# cell bounds that parse to about a second and 100 MB whatever the source (a 1 MB cell of nested
# lists took 10 s and 600 MB), and no honest solution comes near it (they are a few KB).
MAX_CODE_CELL_CHARS = 100_000


class NotebookError(ValueError):
    """A submission that cannot be read as a notebook; the message says why, for the student."""


@dataclass(frozen=True)
class Cell:
    kind: str                 # 'code', 'markdown', 'raw'
    source: str
    nbgrader: dict            # the cell's nbgrader metadata ({} when none)
    tags: tuple[str, ...] = ()
    cell_id: str | None = None  # nbformat 4.5's cell id (kept by Jupyter; a new cell gets a new one)

    @property
    def grade_id(self) -> str | None:
        gid = self.nbgrader.get("grade_id")
        return gid if isinstance(gid, str) else None


def read_cells(data: bytes) -> list[Cell]:
    """The cells of a notebook file's bytes; NotebookError for anything that is not one."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"the notebook file is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise NotebookError(f"the file is not a valid notebook (not valid JSON: {exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError("the file is not a valid notebook (it has no list of cells)")
    if not nb["cells"]:
        raise NotebookError("the notebook has no cells")
    cells = []
    for raw in nb["cells"]:
        if not isinstance(raw, dict):
            continue
        source = raw.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            source = ""
        meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
        nbg = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
        tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
        kind = raw.get("cell_type") if raw.get("cell_type") in ("code", "markdown", "raw") else "raw"
        if kind == "code" and len(source) > MAX_CODE_CELL_CHARS:
            raise NotebookError(f"a code cell holds {len(source):,} characters, more than the grader reads "
                                f"({MAX_CODE_CELL_CHARS:,}: a solution is a few hundred lines at most)")
        cell_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        cells.append(Cell(kind, source, nbg, tuple(t for t in tags if isinstance(t, str)), cell_id))
    return cells


def defined_names(source: str) -> list[str]:
    """Names of the top-level `def`/`class` lines of a cell (works on code that does not parse)."""
    return TOP_LEVEL_DEF.findall(source)


def visible_part(test_source: str) -> str:
    """A test cell without its hidden block: what students see, and what the grader runs."""
    return HIDDEN_BLOCK.sub("", test_source)


def stubbed_solution(solution_source: str) -> str:
    """A solution cell as nbgrader's generate step releases it: each marked block becomes its stub,
    indented like the markers. (`release` runs nbgrader itself; this is for fast checks and tests.)"""
    return SOLUTION_BLOCK.sub(lambda m: f"{m[1]}# YOUR CODE HERE\n{m[1]}raise NotImplementedError()\n",
                              solution_source)


@dataclass(frozen=True)
class Exercise:
    name: str        # the graded function (or class)
    grade_id: str    # of its solution cell


@dataclass(frozen=True)
class TestCell:
    grade_id: str
    points: float
    source: str      # visible part only
    function: str | None


@dataclass(frozen=True)
class WrittenAnswer:
    grade_id: str
    points: float


@dataclass
class Chapter:
    """The trusted structure of one chapter, read from its source notebook."""

    id: str
    path: Path
    setup: list[str] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)
    tests: list[TestCell] = field(default_factory=list)
    written: list[WrittenAnswer] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list)  # ('solution', name) | ('test', grade_id)
    # name -> what the student reads before writing it: the markdown since the previous graded cell
    # and the solution cell as released (its `def` line and docstring)
    statements: dict[str, str] = field(default_factory=dict)
    cell_ids: set[str] = field(default_factory=set)  # ids of every cell of the source notebook
    sources: list[str] = field(default_factory=list)  # every code cell's source, in order
    released: dict[str, str] = field(default_factory=dict)  # name -> its solution cell as released (the stub)

    @property
    def max_score(self) -> float:
        return float(sum(t.points for t in self.tests))

    @property
    def written_max_score(self) -> float:
        return float(sum(w.points for w in self.written))


def _points(nbg: dict) -> float:
    try:
        return float(nbg.get("points", 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def load_chapter(path: Path) -> Chapter:
    chapter = Chapter(id=path.stem, path=path)
    current: str | None = None
    prose: list[str] = []
    for cell in read_cells(path.read_bytes()):
        nbg = cell.nbgrader
        if cell.cell_id:
            chapter.cell_ids.add(cell.cell_id)
        if cell.kind == "code":
            chapter.sources.append(cell.source)
        if cell.kind == "markdown" and not nbg.get("grade"):
            prose.append(cell.source)
        if cell.kind == "code" and "setup" in cell.tags:
            chapter.setup.append(cell.source)
        elif cell.kind == "code" and nbg.get("solution") and not nbg.get("grade"):
            names = defined_names(cell.source)
            name = cell.grade_id if cell.grade_id in names else (names[0] if names else None)
            if name is None:
                raise ValueError(f"{path}: solution cell {cell.grade_id!r} defines no function")
            chapter.exercises.append(Exercise(name, cell.grade_id or name))
            chapter.order.append(("solution", name))
            chapter.released[name] = stubbed_solution(cell.source)
            chapter.statements[name] = "\n\n".join(prose + [chapter.released[name]])
            prose = []
            current = name
        elif cell.kind == "code" and nbg.get("grade"):
            prose = []
            gid = cell.grade_id or f"test_{len(chapter.tests)}"
            named = gid[5:] if gid.startswith("test_") else None
            function = named if named in {e.name for e in chapter.exercises} else current
            chapter.tests.append(TestCell(gid, _points(nbg), visible_part(cell.source), function))
            chapter.order.append(("test", gid))
        elif cell.kind == "markdown" and nbg.get("grade") and nbg.get("solution"):
            chapter.written.append(WrittenAnswer(cell.grade_id or f"answer_{len(chapter.written)}", _points(nbg)))
    return chapter


def _load_module(ref: str) -> ModuleType:
    """A module by dotted name, or by the path of a .py file (for test fixtures)."""
    if ref.endswith(".py"):
        path = Path(ref).resolve()
        name = f"_autograder_loaded_{path.stem}"
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        return sys.modules[name]
    return importlib.import_module(ref)


@dataclass
class Course:
    """Where chapters, specs and the reference live. The defaults are the book's own; tests point
    them at a fixture chapter."""

    chapters_dir: Path = REPO / "chapters"
    spec_files: list[Path] = field(default_factory=list)  # spec modules; default autograder/specs/ch*.py
    reference: str = "solutions"
    _chapters: dict = field(default_factory=dict, repr=False)
    _specs: dict | None = field(default=None, repr=False)
    spec_errors: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.chapters_dir = Path(self.chapters_dir).resolve()
        if not self.spec_files:
            self.spec_files = sorted((REPO / "autograder" / "specs").glob("*.py"))
        self.spec_files = [Path(p).resolve() for p in self.spec_files if Path(p).name != "__init__.py"]

    def chapter_ids(self) -> list[str]:
        return sorted(p.stem for p in self.chapters_dir.glob("*.ipynb"))

    def chapter(self, chapter_id: str) -> Chapter | None:
        if chapter_id not in self._chapters:
            path = self.chapters_dir / f"{chapter_id}.ipynb"
            self._chapters[chapter_id] = load_chapter(path) if path.is_file() else None
        return self._chapters[chapter_id]

    def specs(self) -> dict:
        """name -> (Spec, module name inside the box). A spec module that fails to import is
        recorded in `spec_errors` and its functions are left without a spec (graded 0)."""
        if self._specs is None:
            self._specs = {}
            for path in self.spec_files:
                module_name = f"autograder.specs.{path.stem}"
                try:
                    if path.parent == REPO / "autograder" / "specs":
                        module = importlib.import_module(module_name)
                    else:
                        module = _load_module(str(path))
                except Exception as exc:  # noqa: BLE001 -- one broken spec module must not stop grading
                    self.spec_errors[path.name] = f"{type(exc).__name__}: {exc}"
                    continue
                for spec in getattr(module, "SPECS", ()):
                    self._specs[spec.name] = (spec, module_name)
        return self._specs

    def reference_function(self, name: str):
        return getattr(_load_module(self.reference), name)


STUDENT_ANSWER = "YOUR ANSWER HERE"


def student_notebook(notebook: dict) -> dict:
    """The student version of a source notebook (a dict, the JSON of an .ipynb), as nbgrader's
    generate step makes it, without its checksums: solution code stubbed (`stubbed_solution`),
    written answers emptied, hidden tests cut (`visible_part`), outputs cleared. Input unchanged.

    The book serves this version for download, Binder and Colab, and `make lab` opens it;
    `python -m autograder release` runs nbgrader itself for the version instructors hand out."""
    out = json.loads(json.dumps(notebook))
    for cell in out.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if meta.get("solution"):
            source = stubbed_solution(source) if cell.get("cell_type") == "code" else STUDENT_ANSWER
        if cell.get("cell_type") == "code":
            source = visible_part(source)
            cell["outputs"], cell["execution_count"] = [], None
        cell["source"] = source
    return out
