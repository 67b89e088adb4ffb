"""Accessibility of the built book in Chromium.

- axe-core (npm, `node_modules/axe-core`, offline) audits every page against WCAG 2.1 A and AA, in
  the light and the dark theme; a critical or serious violation inside the page's content (the
  `<article>`: prose, code cells, figures, widgets) fails. What axe finds in the theme's chrome
  (header, sidebars) is written to `test-artifacts/axe-theme.json` and does not fail.
- Every image in a page's content is a captioned `<figure>` whose alt text says what it shows.
- Every widget is operated by keyboard alone: each control is reached with Tab, changed with arrow
  keys, Enter or typing, and the widget's result changes and is announced (its live region's
  text) and its picture's label follows.
- At phone width nothing but a scrolling box is wider than the screen, and a widget picture that
  must scroll says so; on paper nothing is cut off.

Each page is loaded once per module (`audit`), so the checks cost one page load each.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, ROOT, book_pages

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")
# What the dark theme changes is colour: in dark mode only these rules run again (the others
# would find what they found in light mode, at twice the time).
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
PAGES = book_pages()
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
CONTENT = "article.bd-article"
WIDGET = ".cnnbook-widget, .cnnpg"
FILE_NAME = re.compile(r"(^|/)[\w.-]+\.(png|jpe?g|gif|svg|webp)$|_images/", re.IGNORECASE)

# Node targets of axe's violations, and whether each lies in the page's own content.
CLASSIFY = """(violations) => violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => {
        const el = document.querySelector(n.target[0]);
        return { target: n.target.join(' '), own: !!(el && el.closest('CONTENT')), html: n.html.slice(0, 160) };
    }),
}))""".replace("CONTENT", CONTENT)


def run_axe(page, colours_only: bool = False) -> list[dict]:
    """axe's WCAG 2.1 A/AA violations on the page, or only those of its colour rules."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    run_only = {"type": "rule", "values": COLOUR_RULES} if colours_only else {"type": "tag", "values": AXE_TAGS}
    violations = page.evaluate(
        "(runOnly) => axe.run(document, {runOnly, resultTypes: ['violations']}).then(r => r.violations)", run_only)
    return page.evaluate(CLASSIFY, violations)


def set_theme(page, mode: str) -> None:
    """The theme's light or dark mode, as its switch sets it (attributes on <html>)."""
    page.evaluate("(m) => { const d = document.documentElement.dataset; d.theme = m; d.mode = m;"
                  " localStorage.setItem('theme', m); localStorage.setItem('mode', m); }", mode)
    page.wait_for_timeout(100)


@pytest.fixture(scope="module")
def audits():
    return {}


@pytest.fixture
def audit(audits, open_page):
    """`audit(path)`: axe in light and dark mode and the page's images, from one load of the page."""
    def _audit(path: str) -> dict:
        if path not in audits:
            page, log = open_page(path)
            result = {"problems": log.problems()}
            for mode in ("light", "dark"):
                set_theme(page, mode)
                result[mode] = run_axe(page, colours_only=mode == "dark")
            result["images"] = page.evaluate("""(content) => [...document.querySelectorAll(content + ' img')].map(i => {
                const figure = i.closest('figure'), caption = figure && figure.querySelector('figcaption');
                return { src: i.getAttribute('src'), alt: i.getAttribute('alt'),
                         caption: caption ? caption.innerText.trim() : null };
            })""", CONTENT)
            audits[path] = result
        return audits[path]
    return _audit


def theme_findings(audits: dict) -> dict:
    found: dict[str, dict] = {}
    for path, result in audits.items():
        for mode in ("light", "dark"):
            for v in result[mode]:
                for node in v["nodes"]:
                    if not node["own"]:
                        entry = found.setdefault(f"{v['id']} ({v['impact']})", {"help": v["help"], "where": {}})
                        entry["where"].setdefault(node["target"], set()).add(f"{path} {mode}")
    return {k: {"help": v["help"], "where": {t: sorted(p) for t, p in v["where"].items()}} for k, v in found.items()}


@pytest.fixture(scope="module", autouse=True)
def report_theme_findings(audits):
    yield
    if audits:
        path = ARTIFACTS / "axe-theme.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(theme_findings(audits), indent=1, sort_keys=True))


@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_nothing_serious_in_the_content(audit, path):
    result = audit(path)
    bad = [f"{mode}: {v['id']} ({v['impact']}: {v['help']}) at {node['target']}: {node['html']}"
           for mode in ("light", "dark") for v in result[mode] if v["impact"] in BLOCKING
           for node in v["nodes"] if node["own"]]
    assert not bad, f"{path}:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", CHAPTERS)
def test_every_figure_has_alt_text_and_a_caption(audit, path):
    images = audit(path)["images"]
    bad = [f"{i['src']}: alt {i['alt']!r}, caption {i['caption']!r}" for i in images
           if not (i["alt"] or "").strip() or FILE_NAME.search(i["alt"] or "") or i["alt"] == i["src"]
           or not i["caption"]]
    assert not bad, f"{path}: {len(bad)} of {len(images)} figures lack alt text or a caption " \
        "(cell metadata mystnb.figure.caption and mystnb.image.alt, AUTHORING.md):\n" + "\n".join(bad)


# -- widgets, by keyboard alone -----------------------------------------------------------------

WIDGET_PAGES = []
for _path in PAGES:
    _file = ROOT / _path.replace(".html", ".ipynb")
    _md = ROOT / _path.replace(".html", ".md")
    _source = _file.read_text() if _file.exists() else _md.read_text() if _md.exists() else ""
    if "cnnbook.widgets" in _source:
        WIDGET_PAGES.append(_path)

# What a widget says: its live regions' text and its images' names.
SAYS = """(root) => ({
    status: [...root.querySelectorAll('[role=status]')].map(e => e.textContent.trim()).join(' | '),
    images: [...root.querySelectorAll('[role=img]')].map(e => e.getAttribute('aria-label')).join(' | '),
})"""
CONTROLS = "input, select, button, textarea, [tabindex]:not([tabindex='-1'])"


def says(root) -> dict:
    return root.evaluate(SAYS)


def wait_until_says_otherwise(page, root, before: dict, timeout_ms: int = 3000) -> dict:
    deadline = timeout_ms
    while deadline > 0:
        now = says(root)
        if now["status"] != before["status"]:
            return now
        page.wait_for_timeout(50)
        deadline -= 50
    return says(root)


def tab_through(page, root) -> list[int]:
    """Indices (in `CONTROLS` order) of the widget's controls that Tab reaches, from its first."""
    controls = root.locator(CONTROLS)
    controls.first.focus()
    reached = []
    for _ in range(controls.count() + 5):
        index = root.evaluate(f"(r) => [...r.querySelectorAll(\"{CONTROLS}\")].indexOf(document.activeElement)")
        if index < 0:
            break
        reached.append(index)
        page.keyboard.press("Tab")
    return reached


def operate(page, root, control) -> tuple[dict, dict, str]:
    """Change `control` with the keyboard; (what the widget said before, after, the keys pressed)."""
    kind = control.evaluate("(c) => c.tagName.toLowerCase() + ':' + (c.type || '')")
    control.focus()
    before = says(root)
    if kind in ("input:range", "select:select-one"):
        attempts = ["ArrowRight", "ArrowLeft"] if kind == "input:range" else ["ArrowDown", "ArrowUp"]
    elif kind == "input:number":
        attempts = ["ArrowUp", "ArrowDown"]
    elif kind.startswith("button"):
        attempts = ["Enter"]
    else:
        attempts = []
    for key in attempts:
        page.keyboard.press(key)
        if kind == "input:number":
            page.keyboard.press("Tab")  # a number field reports its change when it loses focus
            control.focus()
        after = wait_until_says_otherwise(page, root, before)
        if after["status"] != before["status"]:
            return before, after, key
    return before, says(root), "+".join(attempts)


@pytest.mark.parametrize("path", WIDGET_PAGES)
def test_every_widget_works_by_keyboard_and_announces_its_result(open_page, path):
    page, log = open_page(path, DESKTOP)
    roots = page.locator(f"{CONTENT} :is({WIDGET})")
    roots.first.wait_for(timeout=30_000)
    page.wait_for_timeout(300)  # anywidgets render one by one
    assert roots.count() > 0, f"{path} imports cnnbook.widgets but shows no widget"
    for w in range(roots.count()):
        root = roots.nth(w)
        name = root.get_attribute("aria-label")
        assert name, f"{path}: widget {w} has no name"
        assert root.locator("[role=status]").count() > 0, f"{path}: {name} has no live region"
        assert says(root)["status"], f"{path}: {name} states no result"
        controls = root.locator(CONTROLS)
        enabled = [i for i in range(controls.count()) if controls.nth(i).is_enabled()
                   and controls.nth(i).evaluate("(c) => !c.classList.contains('cnnbook-picture')")]
        reached = tab_through(page, root)
        missing = [i for i in enabled if i not in reached]
        assert not missing, f"{path}: {name}: Tab does not reach controls {missing}"
        # last first: the choice of what to inspect (output, unit, pixel) comes after the settings
        for i in reversed(enabled):
            control = controls.nth(i)
            if control.evaluate("(c) => c.type === 'range'"):
                assert control.get_attribute("aria-valuetext"), f"{path}: {name}: slider {i} has no aria-valuetext"
            if control.evaluate("(c) => (c.tagName === 'SELECT' && c.options.length < 2)"
                                " || (c.type === 'range' && c.min === c.max)"):
                continue  # one choice only: nothing to change
            before, after, keys = operate(page, root, control)
            if control.evaluate("(c) => c.tagName === 'BUTTON' && c.textContent === 'stop'"):
                page.keyboard.press("Enter")  # an animation: stop it again
            label = control.evaluate("(c) => (c.labels && c.labels[0] ? c.labels[0].textContent : '')"
                                     " || c.getAttribute('aria-label') || c.textContent")
            assert after["status"] != before["status"], \
                f"{path}: {name}: {keys} on control {i} ({label.strip()!r}) changed nothing announced"
            if before["images"]:
                assert after["images"] != before["images"], \
                    f"{path}: {name}: {keys} on {label.strip()!r} left the picture's description as it was"
    assert not log.problems(), "\n".join(log.problems())


def test_fgsm_eps_slider_says_eps(open_page):
    pages = [p for p in WIDGET_PAGES if "inside_a_cnn" in p]
    if not pages:
        pytest.skip("no page shows the FGSM explorer")
    page, _ = open_page(pages[0])
    slider = page.locator(".cnnbook-fgsm input[type=range]")
    slider.focus()
    page.keyboard.press("End")
    text = slider.get_attribute("aria-valuetext")
    assert re.fullmatch(r"eps \d\.\d\d", text), text
    assert text != f"eps {slider.input_value()}", "the slider announces its step, not eps"


def test_kernel_cell_edited_by_keyboard(open_page):
    page, _ = open_page("book/playground.html")
    root = page.locator(".cnnpg")
    before = says(root)
    cell = page.locator(".cnnpg-cell[data-row='1'][data-col='1']")
    cell.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("7")
    page.keyboard.press("Tab")
    after = wait_until_says_otherwise(page, root, before)
    assert after["status"] != before["status"] and "your kernel" in after["status"], after


# -- layout: a phone, a printer -----------------------------------------------------------------

LAYOUT_PAGES = CHAPTERS + ["book/playground.html"]
CLIPPED = """() => [...document.querySelectorAll('article pre, article mjx-container[display=true]')]
    .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 2)
    .map(e => e.tagName + ': ' + e.textContent.slice(0, 60))"""


@pytest.fixture(scope="module")
def layouts():
    return {}


@pytest.fixture
def layout(layouts, open_page):
    """`layout(path)`: what overflows at phone width, and what is cut off in print, from one load."""
    def _layout(path: str) -> dict:
        if path not in layouts:
            page, _ = open_page(path, PHONE)
            result = {"overflow": page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")}
            result["wide_math"] = page.evaluate("""() => [...document.querySelectorAll('mjx-container[display=true]')]
                .filter(m => m.scrollWidth > m.clientWidth + 1
                             && !['auto', 'scroll'].includes(getComputedStyle(m).overflowX))
                .map(m => m.textContent.slice(0, 60))""")
            result["cut_pictures"] = page.evaluate("""() => [...document.querySelectorAll('.cnnbook-picture')]
                .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => ({
                    marked: p.classList.contains('cnnbook-cut'), focusable: p.tabIndex === 0,
                    hint: !!p.nextElementSibling && getComputedStyle(p.nextElementSibling).display !== 'none' }))""")
            # paper: A4 less margins is about 720 CSS pixels wide
            page.set_viewport_size({"width": 720, "height": 1000})
            page.emulate_media(media="print")
            try:  # book/static/print.js shrinks wide equations when the media changes to print
                page.wait_for_function(f"() => ({CLIPPED})().length === 0", timeout=3_000)
            except PlaywrightTimeout:
                pass
            result["clipped_in_print"] = page.evaluate(CLIPPED)
            layouts[path] = result
        return layouts[path]
    return _layout


@pytest.mark.parametrize("path", LAYOUT_PAGES)
def test_phone_width_scrolls_only_inside_boxes_and_says_so(layout, path):
    result = layout(path)
    assert result["overflow"] <= 1, f"{path} is {result['overflow']}px wider than a phone"
    assert not result["wide_math"], f"{path}: display equations cut off at phone width: {result['wide_math']}"
    for picture in result["cut_pictures"]:
        assert picture == {"marked": True, "focusable": True, "hint": True}, f"{path}: {picture}"


@pytest.mark.parametrize("path", LAYOUT_PAGES)
def test_print_cuts_off_no_code_or_math(layout, path):
    clipped = layout(path)["clipped_in_print"]
    assert not clipped, f"{path}: cut off in print:\n" + "\n".join(clipped)


@pytest.mark.parametrize("path", [p for p in WIDGET_PAGES if "pooling" in p])
def test_maxpool_titles_do_not_overlap(open_page, path):
    page, _ = open_page(path)
    for kernel in range(1, 5):
        boxes = page.evaluate("""() => [...document.querySelectorAll('.cnnbook-maxpool svg text')]
            .filter(t => t.getAttribute('font-size') === '13' && !t.hasAttribute('text-anchor'))
            .map(t => { const b = t.getBBox(); return [b.x, b.x + b.width, b.y, b.y + b.height]; })""")
        titles = [b for b in boxes if b[2] < 40]
        assert len(titles) == 3, titles
        titles.sort()
        for (a, b) in zip(titles, titles[1:]):
            assert a[1] < b[0], f"titles overlap at kernel {kernel}: {titles}"
        slider = page.locator(".cnnbook-maxpool input[type=range]").first
        slider.focus()
        page.keyboard.press("ArrowRight")
