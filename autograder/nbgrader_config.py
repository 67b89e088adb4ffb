"""nbgrader's own configuration, for instructors who run nbgrader and formgrader directly.

From the repository root (with the venv's bin first on PATH: nbgrader shells out to `alembic`):

    nbgrader generate_assignment 03_conv1d --config autograder/nbgrader_config.py
    nbgrader autograde 03_conv1d --config autograder/nbgrader_config.py
    nbgrader export --config autograder/nbgrader_config.py
    jupyter lab  (with this file copied or linked as ./nbgrader_config.py, for formgrader)

nbgrader expects `source/<id>/<id>.ipynb`; the book keeps `chapters/<id>.ipynb`, so loading this
file links the former to the latter under `_build/nbgrader_source/`. nbgrader's working folders
(release/, submitted/, autograded/, feedback/, gradebook.db) sit at the repository root, where git
ignores them. Native autograde runs the hidden tests in the student's kernel (nbgrader's own flow,
through `check_hidden`); `python -m autograder grade` is the sandboxed, tamper-resistant path.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograder.release import COURSE_ID, link_sources  # noqa: E402

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

c.CourseDirectory.root = str(REPO)
c.CourseDirectory.course_id = COURSE_ID
c.CourseDirectory.source_directory = "_build/nbgrader_source"
c.CourseDirectory.db_url = f"sqlite:///{REPO / 'gradebook.db'}"
link_sources(REPO / "chapters", REPO / "_build" / "nbgrader_source")

# Timeouts for the native autograde (ipykernel 7 ignores nbgrader's interrupt: a cell past its
# limit ends that notebook's run, and the other students are still graded).
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.allow_errors = True
