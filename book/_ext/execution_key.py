"""Re-execute a page when the code it imports changes, not only when its own cells do.

MyST-NB's cache (jupyter-cache) keys an executed notebook by its cells: after an edit to
`solutions/` or to a widget's JavaScript in `cnnbook/`, a page would keep showing outputs (and
widget code) from the old version. So before a page is parsed, this extension

- records every file of the packages the notebooks import as a Sphinx dependency of the page, so
  that changing one makes Sphinx read the page again, and
- writes a fingerprint of those files into the metadata of the page's first code cell, which
  jupyter-cache hashes: the same code finds the cached outputs, changed code runs again.

A rebuild with nothing changed still reads nothing and executes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

WATCHED_PACKAGES = ("cnnbook", "solutions")
WATCHED_SUFFIXES = (".py", ".js", ".css")
METADATA_KEY = "book_sources"


def watched_files(root: Path) -> list[Path]:
    return sorted(p for package in WATCHED_PACKAGES for p in (root / package).rglob("*")
                  if p.suffix in WATCHED_SUFFIXES and "__pycache__" not in p.parts)


def fingerprint(files: list[Path], root: Path) -> str:
    """A short hash of the files' names and contents (not their times)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def stamp_ipynb(text: str, key: str) -> str:
    notebook = json.loads(text)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell.setdefault("metadata", {})[METADATA_KEY] = key
            break
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


CODE_CELL = re.compile(r"^(```+|~~~+)\{code-cell\}[^\n]*\n", re.MULTILINE)


def stamp_myst(text: str, key: str) -> str:
    """Give the first `{code-cell}` of a MyST notebook the option `:book_sources: key`."""
    match = CODE_CELL.search(text)
    if match is None:
        return text
    return text[: match.end()] + f":{METADATA_KEY}: {key}\n" + text[match.end():]


def _on_source_read(app, docname: str, source: list[str]) -> None:
    path = Path(app.env.doc2path(docname))
    if path.suffix not in (".ipynb", ".md") or (path.suffix == ".md" and "{code-cell}" not in source[0]):
        return
    root = Path(app.srcdir)
    files = watched_files(root)
    for dependency in files:  # (a folder would count as changed on every build)
        app.env.note_dependency(str(dependency))
    key = fingerprint(files, root)
    source[0] = stamp_ipynb(source[0], key) if path.suffix == ".ipynb" else stamp_myst(source[0], key)


def setup(app):
    app.connect("source-read", _on_source_read)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
