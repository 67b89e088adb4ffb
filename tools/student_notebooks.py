"""Keep every chapter runnable wherever a student opens it, and write the student versions.

    python tools/student_notebooks.py           # update the chapters' install cells, write student/
    python tools/student_notebooks.py --check   # exit 1 if anything is out of date (what the tests check)

1. **The install cell.** The first code cell of every chapter installs the course package
   (`cnnbook`, `solutions`) from the repository when it is missing (Colab, a downloaded notebook)
   and does nothing when it is there (`make setup` installs it into `.venv`; Binder's `postBuild`
   too). The repository and branch come from `_config.yml` (`repository.url`, `repository.branch`),
   the one place a fork changes. The book page hides the cell (`remove-cell`); notebooks keep it.
2. **Student versions.** `student/<id>.ipynb` is `autograder.course.student_notebook` of each
   chapter: solutions stubbed, written answers emptied, hidden tests cut. The book's launch
   buttons (Binder, Colab) open these files, its download button serves the same version, and
   `make lab` copies them into the student's workspace.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from autograder.course import student_notebook  # noqa: E402

CHAPTERS = ROOT / "chapters"
STUDENT = ROOT / "student"
INSTALL_TAG = "install"
PACKAGE = "cnn-course-book"  # pyproject.toml's [project] name

INSTALL_CELL = '''\
# The course package (`cnnbook`, `solutions`). Set up with the book (`make setup`) or on Binder it
# is installed already and this cell does nothing; opened alone (Colab, a download), it installs it.
import importlib
import importlib.util
import subprocess
import sys

COURSE_REPOSITORY = "{url}"
if importlib.util.find_spec("cnnbook") is None:
    print(f"Installing the course package from {{COURSE_REPOSITORY}} (once, about a minute) ...")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet",
                           f"{package} @ git+{{COURSE_REPOSITORY}}@{branch}"])
    importlib.invalidate_caches()'''


def repository() -> tuple[str, str]:
    """(url, branch) of the course repository, from `_config.yml`."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def install_cell_source(url: str, branch: str) -> str:
    return INSTALL_CELL.format(url=url, branch=branch, package=PACKAGE)


def with_install_cell(notebook: dict, source: str) -> dict:
    """`notebook` with its install cell (the first code cell, tagged `install`) set to `source`."""
    nb = json.loads(json.dumps(notebook))
    cells = nb["cells"]
    cell = next((c for c in cells if INSTALL_TAG in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        cell = {"cell_type": "code", "execution_count": None, "id": "install-course-package",
                "metadata": {"tags": [INSTALL_TAG, "remove-cell"]}, "outputs": [], "source": ""}
        first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
        cells.insert(first_code, cell)
    cell["source"] = source.splitlines(keepends=True)
    return nb


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"  # as nbformat writes


def planned() -> dict[Path, str]:
    """Every file this tool writes, with the text it should hold."""
    install = install_cell_source(*repository())
    files = {}
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        chapter = with_install_cell(json.loads(path.read_text()), install)
        files[path] = _dump(chapter)
        files[STUDENT / path.name] = _dump(student_notebook(chapter))
    return files


def stale() -> list[Path]:
    return [p for p, text in planned().items() if not p.exists() or p.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what is out of date")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        for path in out_of_date:
            print(f"out of date: {path.relative_to(ROOT)}")
        if out_of_date:
            print("run `make student` (python tools/student_notebooks.py) and commit the result")
        return 1 if out_of_date else 0
    STUDENT.mkdir(exist_ok=True)
    for path, text in planned().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
