"""The book's own helpers: offline data, feedback for visible tests, widgets.

Not graded and not the reference (that is `solutions`): this package is what the student
notebooks may import, and what the sandboxed grader copies next to a submission.
"""

import os

# Set by the grader and by quick test runs: demonstration cells that train or time things
# shrink their work when this is true, so grading a whole course stays fast.
QUICK = os.environ.get("CNNBOOK_QUICK", "") not in ("", "0")
