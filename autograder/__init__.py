"""Release student notebooks and grade a class's submissions (see `python -m autograder --help`)."""

import os
import sys


def use_own_tools() -> None:
    """Put this interpreter's `bin` folder first on PATH. nbgrader shells out to the tools installed
    beside it (`alembic`, for its gradebook), so `.venv/bin/python -m autograder ...` must work with
    a bare PATH, whichever shell (or cron job, or Dask worker) started it."""
    own = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if own not in path.split(os.pathsep):
        os.environ["PATH"] = own + (os.pathsep + path if path else "")
