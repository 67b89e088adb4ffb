"""No progress bars in the book's executed pages.

Training loops in `solutions.train` show tqdm progress bars, which help a student watching a
notebook run, but an executed page would keep them as frozen, half-drawn widgets. The kernels that
execute the book inherit this process's environment, so setting CNNBOOK_PROGRESS=0 here (unless
the caller set it) turns the bars off for the build only; Jupyter, where students run the
chapters, keeps them.
"""

from __future__ import annotations

import os

VARIABLE = "CNNBOOK_PROGRESS"


def setup(app):
    os.environ.setdefault(VARIABLE, "0")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
