"""Every page of the built book, in a real browser: it loads cleanly and shows what it should."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import DESKTOP, PHONE, ROOT, book_pages, screenshot

pytestmark = pytest.mark.browser

PAGES = book_pages()
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
# The pages a reader lands on first: screenshots at desktop and phone widths.
MAIN_PAGES = [p for p in PAGES if p.startswith("book/")] + CHAPTERS[:1] + [p for p in CHAPTERS if "04_conv2d" in p]


def draws_figures(path: str) -> bool:
    """Whether the chapter's source plots with matplotlib (then the page must show figures)."""
    source = ROOT / path.replace(".html", ".ipynb")
    cells = json.loads(source.read_text())["cells"] if source.exists() else []
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return "plt." in code or "matplotlib" in code


def shot_name(path: str) -> str:
    return path.removesuffix(".html").replace("/", "__")


def test_the_book_was_built():
    assert "book/intro.html" in PAGES, "no built book: run `make book`"


@pytest.mark.parametrize("path", PAGES + ["search.html?q=convolution"])
def test_page_loads_cleanly(open_page, path):
    page, log = open_page(path)
    assert not log.problems(), "\n".join(log.problems())
    # Executed outputs hold no error: no traceback, no exercise left unimplemented.
    outputs = " ".join(page.locator(".cell_output").all_inner_texts())
    for bad in ("Traceback (most recent call last)", "NotImplementedError"):
        assert bad not in outputs, f"{path} shows {bad!r} in a cell output"
    assert page.locator(".output.traceback, .output.error").count() == 0
    # Every saved widget view rendered (the html-manager puts it just before its script tag).
    unrendered = page.evaluate("""() => [...document.querySelectorAll(
        "script[type='application/vnd.jupyter.widget-view+json']")].filter(s => {
            const view = s.previousElementSibling;
            return !view || !view.classList.contains('widget-subarea') || view.children.length === 0;
        }).length""")
    assert unrendered == 0, f"{path}: {unrendered} widget(s) did not render"
    # Every image on the page arrived and decoded.
    broken = page.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                           ".map(i => i.src)")
    assert not broken, f"{path}: images that did not load: {broken}"


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_shows_math_figures_and_no_hidden_tests(open_page, path):
    page, _ = open_page(path)
    assert page.locator("mjx-container").count() > 0, f"{path}: no rendered math"
    assert page.locator("span.math, div.math").filter(has_not=page.locator("mjx-container")).count() == 0, \
        f"{path}: math left as raw TeX"
    figures = page.locator(".cell_output img, figure img")
    if draws_figures(path):
        assert figures.count() > 0, f"{path}: plots, but shows no figure"
    for i in range(figures.count()):
        box = figures.nth(i).bounding_box()
        assert box and box["width"] > 50 and box["height"] > 50, f"{path}: figure {i} is not visible"
    text = page.content()
    assert "BEGIN HIDDEN TESTS" not in text and "check_hidden" not in text, f"{path} shows hidden tests"


@pytest.mark.parametrize("path", CHAPTERS)
def test_solutions_are_folded_behind_a_toggle(open_page, path):
    page, _ = open_page(path)
    toggles = page.locator("details.hide.above-input")
    solutions = [i for i in range(toggles.count()) if "Show solution" in toggles.nth(i).inner_text()]
    if not solutions:
        pytest.skip(f"{path} has no graded exercise")
    first = toggles.nth(solutions[0])
    assert not first.evaluate("d => d.open"), "a solution is shown unfolded"
    first.locator("summary").click()
    assert first.evaluate("d => d.open")
    assert "def " in first.inner_text() or "class " in first.inner_text()


def test_search_finds_a_chapter(open_page):
    page, log = open_page("search.html?q=kernel")
    page.wait_for_selector("#search-results li", timeout=30_000)
    assert page.locator("#search-results li").count() > 0
    assert not log.problems(), "\n".join(log.problems())


@pytest.mark.parametrize("path", MAIN_PAGES)
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_screenshot(open_page, path, width):
    page, log = open_page(path, DESKTOP if width == "desktop" else PHONE)
    shot = screenshot(page, f"{shot_name(path)}-{width}")
    assert shot.stat().st_size > 10_000
    # Nothing sticks out sideways on a phone except inside scrolling boxes.
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{path} is {overflow}px wider than a {width} screen"
