"""Show nbgrader notebooks as book pages: hidden tests removed, model solutions folded away.

A chapter notebook is at once the book page and nbgrader's source notebook (AUTHORING.md). Before
MyST-NB parses (and executes) a chapter, this extension rewrites the notebook it reads:

- every `### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS` block is cut out of every code cell, so
  hidden tests are neither shown nor run in the book (the visible tests and their output stay); a
  cell left empty is removed from the page;
- every solution cell (nbgrader metadata `solution: true`) gets the `hide-input` tag and the
  prompts "Show solution" / "Hide solution", so its code sits behind a toggle; the
  `### BEGIN SOLUTION` / `### END SOLUTION` marker lines are dropped.

The notebook the page offers for download is the chapter's student version (`student_links`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# The grader's own cut: the book shows exactly the visible tests that the grader runs.
from autograder.course import visible_part

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*(\n|$)", re.MULTILINE)
SHOW_SOLUTION, HIDE_SOLUTION = "Show solution", "Hide solution"


def strip_hidden_tests(source: str) -> str:
    """`source` without its hidden-test blocks (markers included) and the blank lines they leave."""
    if source.count(HIDDEN_BEGIN) != source.count(HIDDEN_END):
        raise ValueError(f"unbalanced hidden-test markers ({source.count(HIDDEN_BEGIN)} "
                         f"'{HIDDEN_BEGIN}', {source.count(HIDDEN_END)} '{HIDDEN_END}') in:\n{source}")
    stripped = visible_part(source)
    if HIDDEN_BEGIN in stripped or HIDDEN_END in stripped:
        raise ValueError(f"hidden-test markers out of order in:\n{source}")
    return stripped.rstrip() if stripped != source else source


def strip_solution_markers(source: str) -> str:
    """`source` without the `### BEGIN/END SOLUTION` lines (the code between them stays)."""
    return SOLUTION_MARKER.sub("", source)


def is_solution_cell(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def book_notebook(notebook: dict) -> dict:
    """A copy of the notebook as the book shows it (see the module docstring); input unchanged."""
    out = json.loads(json.dumps(notebook))
    for cell in out.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        stripped = strip_hidden_tests(source)
        if source.strip() and not stripped.strip():
            # a test cell of hidden tests only: nothing left to show
            cell.setdefault("metadata", {}).setdefault("tags", []).append("remove-cell")
        source = stripped
        if is_solution_cell(cell):
            source = strip_solution_markers(source)
            metadata = cell.setdefault("metadata", {})
            tags = metadata.setdefault("tags", [])
            if "hide-input" not in tags:
                tags.append("hide-input")
            metadata.setdefault("mystnb", {}).update(
                code_prompt_show=SHOW_SOLUTION, code_prompt_hide=HIDE_SOLUTION)
        cell["source"] = source
    return out


def book_notebook_text(text: str) -> str:
    return json.dumps(book_notebook(json.loads(text)), indent=1, ensure_ascii=False) + "\n"


# -- Sphinx hooks ---------------------------------------------------------------------------

def _on_source_read(app, docname: str, source: list[str]) -> None:
    if Path(app.env.doc2path(docname)).suffix == ".ipynb":
        try:
            source[0] = book_notebook_text(source[0])
        except ValueError as err:
            from sphinx.errors import ExtensionError

            raise ExtensionError(f"{docname}: {err}") from err


def setup(app):
    app.connect("source-read", _on_source_read)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
