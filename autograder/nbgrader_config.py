"""nbgrader's own configuration, for instructors who run nbgrader and formgrader directly.

nbgrader reads `nbgrader_config.py` from the working folder and from Jupyter's config path, so
point the latter here (with the venv's bin first on PATH: nbgrader shells out to `alembic`):

    export JUPYTER_CONFIG_PATH=$PWD/autograder PYTHONPATH=$PWD
    nbgrader generate_assignment 03_conv1d
    nbgrader autograde 03_conv1d          # submitted/<student>/03_conv1d/03_conv1d.ipynb
    nbgrader generate_feedback 03_conv1d
    nbgrader export                       # grades.csv: automatic, written and total points
    jupyter lab                           # formgrader, for the written answers

nbgrader expects `source/<id>/<id>.ipynb`; the book keeps `chapters/<id>.ipynb`, so loading this
file links the former to the latter under `_build/nbgrader_source/`. nbgrader's working folders
(release/, submitted/, autograded/, feedback/, gradebook.db) sit at the repository root, where git
ignores them. Native autograde runs the hidden tests in the student's kernel (nbgrader's own flow,
through `check_hidden`); `python -m autograder grade` is the sandboxed, tamper-resistant path.
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Where nbgrader's folders and gradebook go: the repository root unless told otherwise.
ROOT = Path(os.environ.get("CNNBOOK_NBGRADER_ROOT", REPO))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograder.gradebook import BookExport, OverwriteCells  # noqa: E402
from autograder.release import COURSE_ID, SOURCE_DIRECTORY, link_sources  # noqa: E402

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = COURSE_ID
c.CourseDirectory.source_directory = SOURCE_DIRECTORY
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'gradebook.db'}"
link_sources(REPO / "chapters", ROOT / SOURCE_DIRECTORY)

# Autograde: nbgrader's checks of the submitted cells, without a false "checksum has changed" for
# every test cell whose hidden block the release removed (nbgrader issue 1961); `nbgrader export`
# writes automatic and written points beside nbgrader's columns.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput", "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec", OverwriteCells, "nbgrader.preprocessors.CheckCellMetadata",
]
c.ExportApp.plugin_class = BookExport

# Timeouts for the native autograde (ipykernel 7 ignores nbgrader's interrupt: a cell past its
# limit ends that notebook's run, and the other students are still graded).
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
