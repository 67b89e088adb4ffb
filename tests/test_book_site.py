"""The built site in `_build/html` (`make book` first): complete, self-contained, and showing the
exercises as it should (solutions folded, hidden tests nowhere, visible tests with their output)."""

from __future__ import annotations

import json
import os
import re
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


# -- accessibility and weight of the pages (book/_ext/accessibility.py, page_weight.py) ------------

FILE_NAME = re.compile(r"(^|/)[\w.-]+\.(png|jpe?g|gif|svg|webp)$|_images/", re.IGNORECASE)


def content_pages() -> list[Path]:
    return sorted((HTML / "chapters").glob("*.html")) + sorted((HTML / "book").glob("*.html"))


@pytest.mark.parametrize("page", content_pages(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_toggles_are_named_by_what_they_show(page):
    html = soup(page)
    assert 'aria-label="Toggle hidden content"' not in str(html)
    for summary in html.select("details.hide > summary"):
        assert not summary.has_attr("aria-label")
        shown = summary.select_one("p.collapsed").get_text(strip=True)
        assert shown.startswith(("Show solution", "Show code cell")), shown


@pytest.mark.parametrize("page", built_chapters(), ids=lambda p: p.stem)
def test_every_figure_has_alt_text_and_a_numbered_caption(page):
    """Every image of a chapter is a numbered figure with a caption and alt text (the cell's
    `mystnb.figure` / `mystnb.image.alt` metadata, AUTHORING.md), never a file name."""
    article = soup(page).select_one("article.bd-article")
    bad = []
    for image in article.select("img"):
        figure = image.find_parent("figure")
        caption = figure.select_one("figcaption") if figure else None
        alt = image.get("alt", "").strip()
        if not alt or FILE_NAME.search(alt):
            bad.append(f"{image['src']}: alt text {alt!r}")
        elif caption is None or not caption.select_one(".caption-number") or not caption.get_text(strip=True):
            bad.append(f"{image['src']}: no numbered caption")
    assert not bad, f"{page.stem}: {len(bad)} of {len(article.select('img'))} figures:\n" + "\n".join(bad)


@pytest.mark.parametrize("page", content_pages(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_widget_runtime_does_not_block_the_first_paint(page):
    """require.js, its configuration and the html-manager load deferred, in that order."""
    scripts = [s for s in soup(page).select("script[src]")
               if any(name in s["src"] for name in ("vendor/require.js", "requirejs-config.js", "embed-amd.js"))]
    has_state = "application/vnd.jupyter.widget-state+json" in page.read_text(encoding="utf-8")
    assert bool(scripts) == has_state
    if scripts:
        names = [s["src"].split("?")[0].rsplit("/", 1)[-1] for s in scripts]
        assert names == ["require.js", "requirejs-config.js", "embed-amd.js"]
        assert all(s.has_attr("defer") for s in scripts), [str(s) for s in scripts]


def test_figures_are_stored_losslessly_smaller():
    """Every figure was through page_weight's lossless re-encoding: no opaque RGBA left."""
    from PIL import Image

    images = sorted((HTML / "_images").glob("*.png"))
    if not images:
        pytest.skip("no figures")
    done = json.loads((HTML / "_images" / ".page_weight.json").read_text())
    assert {p.name for p in images} <= set(done)
    for path in images:
        with Image.open(path) as image:
            opaque_rgba = image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255)
            assert not opaque_rgba, path.name
