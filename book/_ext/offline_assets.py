"""Serve every script, style and font the book loads from `_build/html` itself: no CDN.

The browser libraries come from npm (`package.json`, installed into `node_modules/` by
`make setup`): require.js and the ipywidgets html-manager (static widgets), anywidget's AMD
module (the kernel playground), and MathJax. At the end of each build the files the pages need
are copied into `_static/vendor/` (only those that changed), and every page is checked for a
`<script>`, stylesheet or font that would still come from the network; one is a build warning,
so with `-W` the build fails.

`_config.yml` points MyST-NB's `nb_ipywidgets_js` and Sphinx's `mathjax_path` at these copies;
`book/static/requirejs-config.js` tells require.js where the widget modules live.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

# npm file or folder (relative to node_modules) -> where it goes under _static/vendor/
HTML_MANAGER = "@jupyter-widgets/html-manager/dist"
VENDOR = {
    "requirejs/require.js": "require.js",
    "anywidget/dist/index.js": "anywidget/index.js",
    f"{HTML_MANAGER}/embed-amd.js": "html-manager/embed-amd.js",
    f"{HTML_MANAGER}/libembed-amd.js": "html-manager/libembed-amd.js",
    "mathjax/es5/tex-chtml.js": "mathjax/tex-chtml.js",
    # what MathJax loads on demand: TeX extensions, fonts, the menu and accessibility parts
    "mathjax/es5/input": "mathjax/input",
    "mathjax/es5/output": "mathjax/output",
    "mathjax/es5/ui": "mathjax/ui",
    "mathjax/es5/a11y": "mathjax/a11y",
    "mathjax/es5/adaptors": "mathjax/adaptors",
    "mathjax/es5/sre": "mathjax/sre",
}
FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".eot", ".svg")  # the html-manager's icon fonts

# A reference the browser fetches by itself when the page loads (links a reader clicks are fine).
REMOTE_LOAD = re.compile(
    r"""<script[^>]*\bsrc=["'](?:https?:)?//[^"']+|"""
    r"""<link[^>]*\brel=["'](?:stylesheet|preload|modulepreload|icon)["'][^>]*\bhref=["'](?:https?:)?//[^"']+|"""
    r"""<link[^>]*\bhref=["'](?:https?:)?//[^"']+["'][^>]*\brel=["'](?:stylesheet|preload|modulepreload|icon)["']|"""
    r"""<img[^>]*\bsrc=["'](?:https?:)?//[^"']+|"""
    r"""@import\s+url\(["']?(?:https?:)?//[^)"']+""",
    re.IGNORECASE,
)


def vendor_files(node_modules: Path) -> dict[Path, Path]:
    """Every file to copy: source path -> path relative to `_static/vendor/`."""
    files: dict[Path, Path] = {}
    for source, target in VENDOR.items():
        path = node_modules / source
        if not path.exists():
            raise ExtensionError(f"{path} is missing: run `make setup` (it runs `npm ci`)")
        if path.is_dir():
            for item in path.rglob("*"):
                if item.is_file():
                    files[item] = Path(target) / item.relative_to(path)
        else:
            files[path] = Path(target)
    for font in sorted((node_modules / HTML_MANAGER).iterdir()):
        if font.suffix in FONT_SUFFIXES:
            files[font] = Path("html-manager") / font.name
    return files


def copy_if_changed(source: Path, target: Path) -> bool:
    """Copy unless `target` already has the same size and modification time."""
    if target.exists():
        a, b = source.stat(), target.stat()
        if a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime):
            return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return True


def remote_loads(html: str) -> list[str]:
    """The tags of `html` that make the browser fetch something from another host."""
    return [match.group(0) for match in REMOTE_LOAD.finditer(html)]


def _on_config_inited(app, config) -> None:
    vendor_files(Path(app.srcdir) / "node_modules")  # fail early, before hours of execution


def _on_build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    vendor = Path(app.outdir) / "_static" / "vendor"
    copied = sum(copy_if_changed(src, vendor / dst)
                 for src, dst in vendor_files(Path(app.srcdir) / "node_modules").items())
    if copied:
        logger.info(f"offline_assets: copied {copied} npm files into {vendor}")
    for page in sorted(Path(app.outdir).rglob("*.html")):
        for tag in remote_loads(page.read_text(encoding="utf-8")):
            logger.warning(f"{page.relative_to(app.outdir)} loads from the network: {tag[:160]}")


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """sphinx-thebe's inline `const THEBE_JS_URL = ...` script reaches every page twice (Sphinx
    does not see that `filename=None` and `filename=""` are the same inline script), and the second
    copy throws "already declared". Keep the first of identical scripts, in place (handlers that
    run later still add to the same list)."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # an inline script's filename is None or "" depending on how it was registered
        key = (getattr(script, "filename", script) or None,
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique


def setup(app):
    app.connect("config-inited", _on_config_inited)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
