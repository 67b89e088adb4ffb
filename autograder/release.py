"""The student version of every chapter, by nbgrader's own generate step.

nbgrader wants `source/<id>/<id>.ipynb`; the book keeps `chapters/<id>.ipynb`. `link_sources`
bridges the two with symlinks under `_build/nbgrader_source/` (as `nbgrader_config.py` does), and
`release` runs `generate_assignment` for each chapter in one process (nbgrader's start-up costs
seconds), then checks that what came out has no solution and no hidden test left in it.

It runs in nbgrader's course root (the folder that holds `release/`, the repository for
`make release`), so nbgrader's own state is the release's: `gradebook.db` holds each chapter's
assignment, cells and checksums as released, and afterwards `nbgrader generate_assignment`,
`nbgrader autograde`, formgrader and `python -m autograder grade --gradebook` all work on it
without `--force`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from autograder.course import Course, read_cells

COURSE_ID = "cnn-book"
LEAKS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "check_hidden", "### END SOLUTION")


def link_sources(chapters_dir: Path, source_dir: Path, ids: list[str] | None = None) -> list[str]:
    """`source_dir/<id>/<id>.ipynb` -> `chapters_dir/<id>.ipynb` for every chapter; returns the ids."""
    ids = ids or sorted(p.stem for p in chapters_dir.glob("*.ipynb"))
    for cid in ids:
        link = source_dir / cid / f"{cid}.ipynb"
        link.parent.mkdir(parents=True, exist_ok=True)
        target = (chapters_dir / f"{cid}.ipynb").resolve()
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to(target)
    return ids


SOURCE_DIRECTORY = "_build/nbgrader_source"


def nbgrader_root() -> Path:
    """The course root `nbgrader_config.py` uses: $CNNBOOK_NBGRADER_ROOT, else the repository."""
    from autograder.course import REPO

    return Path(os.environ.get("CNNBOOK_NBGRADER_ROOT", REPO))


def nbgrader_config(root: Path):
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = SOURCE_DIRECTORY
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.so", "*.sqlite"]
    return c


def leaks(path: Path) -> list[str]:
    """Marker strings of solutions or hidden tests still present in a released notebook."""
    text = "\n".join(cell.source for cell in read_cells(path.read_bytes()))
    return [m for m in LEAKS if m in text]


def release(out: Path, course: Course | None = None, ids: list[str] | None = None,
            root: Path | None = None) -> list[Path]:
    """Write `out/<id>/<id>.ipynb` for every chapter; returns the notebooks written. nbgrader's
    state goes to the course root `root`: by default the folder holding `out` when `out` is named
    `release` (nbgrader's own layout), otherwise a temporary one (a release and nothing else)."""
    from nbgrader.apps import NbGraderAPI

    course = course or Course()
    ids = ids or course.chapter_ids()
    out = Path(out).resolve()
    if root is None and out.name == "release":
        root = out.parent
    written = []
    with tempfile.TemporaryDirectory(prefix="ag-release-") as tmp:
        base = Path(root).resolve() if root is not None else Path(tmp)
        link_sources(course.chapters_dir, base / SOURCE_DIRECTORY, ids)
        api = NbGraderAPI(config=nbgrader_config(base))
        for cid in ids:
            result = api.generate_assignment(cid, force=True, create=True)
            if not result.get("success"):
                raise RuntimeError(f"nbgrader generate_assignment {cid} failed:\n{result.get('error', '')}"
                                   f"\n{result.get('log', '')}")
            made = base / "release" / cid / f"{cid}.ipynb"
            if found := leaks(made):
                raise RuntimeError(f"the release of {cid} still contains {', '.join(found)}")
            target = out / cid / f"{cid}.ipynb"
            if target != made:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(made, target)
            written.append(target)
    return written
