"""Students get student notebooks: the download and launch buttons of a chapter serve its student
version, never the source notebook with every model answer and hidden test in it.

- **Launch buttons** (Binder, Colab, a JupyterHub): the theme points them at the page's own source,
  `chapters/<id>.ipynb`; they are rewritten to `student/<id>.ipynb`, the student version committed
  beside it (`tools/student_notebooks.py` writes it; a test keeps it up to date).
- **Download** (`_sources/chapters/<id>.ipynb`, which Sphinx copies from the source): replaced after
  the build by `autograder.course.student_notebook` of the chapter.

The page itself keeps its folded model answers (`nbgrader_cells`): the book is open.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from autograder.course import student_notebook

CHAPTER_PATH = re.compile(r"(?<!\w)chapters/(\d\d_[a-z0-9_]+)\.ipynb")


def student_url(url: str) -> str:
    """A launch URL with the chapter's notebook path swapped for its student version's (any
    `chapters/<id>.ipynb` in it, whether plain or inside a quoted query parameter)."""
    url = CHAPTER_PATH.sub(r"student/\1.ipynb", url)
    return re.sub(r"chapters%2F(\d\d_[a-z0-9_]+)\.ipynb", r"student%2F\1.ipynb", url)


def _on_page_context(app, pagename, templatename, context, doctree) -> None:
    if not pagename.startswith("chapters/"):
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                if "url" in button:
                    button["url"] = student_url(button["url"])


def _on_build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for path in (Path(app.outdir) / "_sources" / "chapters").glob("*.ipynb"):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(student_notebook(notebook), indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")


def setup(app):
    # after the theme's own handler (priority 501), which builds the launch buttons
    app.connect("html-page-context", _on_page_context, priority=600)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
