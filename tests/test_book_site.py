"""The built site in `_build/html` (`make book` first): complete, self-contained, and showing the
exercises as it should (solutions folded, hidden tests nowhere, visible tests with their output)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import nbgrader_cells  # noqa: E402
import offline_assets  # noqa: E402

HTML = Path(os.environ.get("CNNBOOK_BOOK_HTML", ROOT / "_build" / "html"))
pytestmark = pytest.mark.slow


def built_chapters() -> list[Path]:
    return sorted((HTML / "chapters").glob("*.html"))


@pytest.fixture(scope="module", autouse=True)
def built():
    if not (HTML / "book" / "intro.html").exists():
        pytest.fail(f"no built book in {HTML}: run `make book` first")


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_every_chapter_in_the_toc_was_built():
    from tests.test_book import toc_files

    if "CNNBOOK_BOOK_HTML" in os.environ:
        pytest.skip("checking a partial build")
    missing = [f for f in toc_files() if not (HTML / f"{f}.html").exists()]
    assert not missing


def test_no_page_loads_anything_from_the_network():
    offenders = {str(p.relative_to(HTML)): offline_assets.remote_loads(p.read_text(encoding="utf-8"))
                 for p in HTML.rglob("*.html")}
    assert not {page: tags for page, tags in offenders.items() if tags}


def test_hidden_tests_appear_nowhere():
    for path in list(HTML.rglob("*.html")) + list((HTML / "_sources").rglob("*.ipynb")) + [HTML / "searchindex.js"]:
        text = path.read_text(encoding="utf-8")
        assert "HIDDEN TESTS" not in text and "check_hidden" not in text, path


@pytest.mark.parametrize("page", built_chapters(), ids=lambda p: p.stem)
def test_solutions_folded_and_visible_tests_shown(page):
    source = json.loads((ROOT / "chapters" / f"{page.stem}.ipynb").read_text())
    shown = nbgrader_cells.book_notebook(source)
    solutions = [c for c in shown["cells"] if nbgrader_cells.is_solution_cell(c)]
    tests = [c for c in shown["cells"] if c["cell_type"] == "code"
             and c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    html = soup(page)
    folded = [d for d in html.select("details.hide.above-input") if "Show solution" in d.get_text()]
    assert len(folded) == len(solutions)
    # normalised code of each cell on the page -> the text of its output
    shown = {}
    for cell in html.select("div.cell"):
        code, output = cell.select_one(".cell_input pre"), cell.select_one(".cell_output")
        if code is not None:
            shown[" ".join(code.get_text().split())] = output.get_text() if output is not None else ""
    for cell in tests:
        code = " ".join(cell["source"].split())
        if code:
            assert code in shown, f"visible test not shown: {code[:80]}"
            # the model answer passes its visible tests, and the page shows it (cnnbook.feedback)
            assert "ok " in shown[code], f"visible test shows no passing output: {code[:80]}"


@pytest.mark.parametrize("page", built_chapters(), ids=lambda p: p.stem)
def test_launch_and_download_buttons_serve_the_student_version(page):
    html = page.read_text(encoding="utf-8")
    for target in ("mybinder.org/v2/gh/", "colab.research.google.com/github/"):
        assert target in html, f"{page.stem}: no launch button to {target}"
    launched = html.replace(f"_sources/chapters/{page.stem}.ipynb", "")  # the download, checked below
    assert f"student/{page.stem}.ipynb" in launched and f"chapters/{page.stem}.ipynb" not in launched
    assert "example.org" not in html  # no placeholder launch button
    assert f"_sources/chapters/{page.stem}.ipynb" in html, "no download-as-notebook button"
    downloaded = (HTML / "_sources" / "chapters" / f"{page.stem}.ipynb").read_text(encoding="utf-8")
    assert "raise NotImplementedError()" in downloaded
    assert "### BEGIN SOLUTION" not in downloaded and "HIDDEN TESTS" not in downloaded


@pytest.mark.parametrize("page", built_chapters(), ids=lambda p: p.stem)
def test_no_error_output(page):
    outputs = " ".join(o.get_text() for o in soup(page).select(".cell_output"))
    assert "Traceback" not in outputs and "NotImplementedError" not in outputs


def test_widget_assets_are_served_locally():
    vendor = HTML / "_static" / "vendor"
    for path in ("require.js", "anywidget/index.js", "html-manager/embed-amd.js", "mathjax/tex-chtml.js"):
        assert (vendor / path).stat().st_size > 1000, path
    playground = (HTML / "book" / "playground.html").read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-state+json" in playground
    assert '"_model_module": "anywidget"' in playground or '"_model_module":"anywidget"' in playground
