"""Widgets of the book: one module per widget (`from cnnbook.widgets.playground import KernelPlayground`).

Each widget is an anywidget whose JavaScript sits next to its Python module. The UI helpers they
share live in `_ui.js`; `esm()` builds a widget's `_esm` text from the two.
"""

from __future__ import annotations

import pathlib
import re

HERE = pathlib.Path(__file__).parent
SHARED = "_ui.js"
# `import { a, b } from "./_ui.js";` on lines of its own (it may span several)
_SHARED_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./_ui\.js";[ \t]*\n?', re.MULTILINE)
_EXPORT = re.compile(r"^export\s+(?:function|const|let|class)\s+(\w+)", re.MULTILINE)


def esm(filename: str) -> str:
    """The `_esm` of the widget module `filename`: `_ui.js`, then the module without its import of it.

    anywidget runs `_esm` from a `blob:` URL, where a relative import cannot resolve, so the shared
    helpers travel inside the text; that text is what the built book embeds in the widget state.
    Raises `ValueError` when the module imports a name `_ui.js` does not export, or imports
    anything else.
    """
    shared = (HERE / SHARED).read_text(encoding="utf-8")
    own = (HERE / filename).read_text(encoding="utf-8")
    wanted = {name.strip() for names in _SHARED_IMPORT.findall(own) for name in names.split(",") if name.strip()}
    missing = wanted - set(_EXPORT.findall(shared))
    if missing:
        raise ValueError(f"{filename} imports {sorted(missing)}, which {SHARED} does not export")
    body = _SHARED_IMPORT.sub("", own)
    if re.search(r"^\s*import[\s{*'\"]", body, re.MULTILINE):
        raise ValueError(f"{filename} imports a module other than {SHARED}, which a blob: URL cannot load")
    return f"// ---- {SHARED}: shared helpers ----\n{shared}\n// ---- {filename} ----\n{body}"
