"""Writes `chapters/99_fixture.ipynb`: a tiny chapter shaped like the book's (AUTHORING.md), so the
grader can be tested without the real chapters. Run it again after editing; the notebook is committed."""

from pathlib import Path

import nbformat

SOLUTION = {"solution": True, "grade": False, "locked": False, "schema_version": 3}
TEST = {"solution": False, "grade": True, "locked": True, "schema_version": 3}


def code(source, nbgrader=None, tags=()):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def exercise(name, body, visible, points):
    solution = code(body, dict(SOLUTION, grade_id=name))
    test = code(visible + "### BEGIN HIDDEN TESTS\nfrom autograder.spec import check_hidden  # noqa: E402\n\n"
                f"check_hidden({name!r}, {name})\n### END HIDDEN TESTS\n",
                dict(TEST, grade_id=f"test_{name}", points=points))
    return [solution, test]


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("(ch-fixture)=\n# 99. A fixture chapter\n\nFor the grader's tests."),
        code("import numpy as np\n\nfrom cnnbook.feedback import expect_close, expect_equal, expect_raises",
             tags=["setup"]),
        code("import time\n\nimport cnnbook\n\n# a demonstration that is slow unless the grader runs it\n"
             "time.sleep(0.1 if cnnbook.QUICK else 30)"),
        *exercise("moving_sum", '''def moving_sum(x, k):
    """Sums of the `k`-long windows of the 1D array `x` (valid positions only)."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    if k < 1 or k > len(x):
        raise ValueError(f"window length {k} must be between 1 and len(x) = {len(x)}")
    return np.array([x[i:i + k].sum() for i in range(len(x) - k + 1)])
    ### END SOLUTION
''', 'expect_close(moving_sum(np.array([1., 2., 3., 4.]), 2), [3., 5., 7.], "moving_sum(x, 2)")\n'
     'expect_raises(ValueError, moving_sum, np.ones(3), 4, what="moving_sum(x, 4) on 3 samples")\n', 2),
        *exercise("scale", '''def scale(x, a):
    """`a * x` as a new float array."""
    ### BEGIN SOLUTION
    return a * np.asarray(x, dtype=float)
    ### END SOLUTION
''', 'expect_close(scale(np.array([1., 2.]), 3.0), [3., 6.], "scale(x, 3)")\n', 1),
        *exercise("count_params", '''def count_params(n_in, n_out, bias=True):
    """Weights (and biases) of a dense layer from `n_in` to `n_out` units."""
    ### BEGIN SOLUTION
    return n_in * n_out + (n_out if bias else 0)
    ### END SOLUTION
''', 'expect_equal(count_params(3, 2), 8, "count_params(3, 2)")\n', 1),
        nbformat.v4.new_markdown_cell("**Question.** Why does a moving sum ignore the order of its window?"),
        nbformat.v4.new_markdown_cell("YOUR ANSWER HERE"),
    ]
    nb.cells[-1].metadata["nbgrader"] = {"solution": True, "grade": True, "locked": False, "points": 2,
                                         "grade_id": "why_order", "schema_version": 3}
    return nb


if __name__ == "__main__":
    nbformat.write(build(), Path(__file__).parent / "chapters" / "99_fixture.ipynb")
