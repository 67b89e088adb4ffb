"""The kernel playground on a static page, with no kernel: it computes in the browser, and what it
computes and prints is what the reference layer (`solutions.corr2d`) and the formula say."""

from __future__ import annotations

import numpy as np
import pytest

from solutions import conv_output_size, corr2d
from tests.browser.conftest import PHONE, screenshot

pytestmark = pytest.mark.browser

PAGE = "book/playground.html"


def grey_levels(values: np.ndarray, mode: str) -> np.ndarray:
    """What the widget draws for `values`, as in playground.js: 'clip' or 'signed' (0 -> mid-grey)."""
    if mode == "signed":
        scale = np.abs(values).max() or 1.0
        values = 0.5 + 0.5 * values / scale
    return np.rint(255 * np.clip(values, 0, 1))


def widget_state(page) -> dict:
    return page.evaluate("() => document.querySelector('.cnnpg').playground")


def output_pixels(page, shape) -> np.ndarray:
    rgba = page.evaluate("""() => {
        const c = document.querySelector("canvas[data-panel='output']");
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
    }""")
    return np.asarray(rgba, dtype=float).reshape(*shape, 4)[..., 0]


def check_against_reference(page) -> dict:
    """The widget's output, drawn pixels, printed size and formula agree with the reference."""
    state = widget_state(page)
    n = int(round(len(state["image"]) ** 0.5))
    image = np.asarray(state["image"]).reshape(n, n)
    kernel = np.asarray(state["kernel"], dtype=float)
    kw = dict(stride=state["stride"], padding=state["padding"], dilation=state["dilation"])
    expected = corr2d(image, kernel, **kw)
    got = np.asarray(state["output"]).reshape(state["shape"])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    sizes = [conv_output_size(n, k, **kw) for k in kernel.shape]
    assert list(expected.shape) == sizes
    size_text = page.locator(".cnnpg-size").inner_text()
    assert size_text == f"output size: {sizes[0]} × {sizes[1]}"
    formula = page.locator(".cnnpg-formula").inner_text().split("\n")
    assert formula[0].startswith("H′ = ⌊(") and formula[0].endswith(f"= {sizes[0]}")
    assert formula[1].startswith("W′ = ⌊(") and formula[1].endswith(f"= {sizes[1]}")
    drawn = output_pixels(page, expected.shape)
    assert np.abs(drawn - grey_levels(expected, state["mode"])).max() <= 1
    return {"shape": tuple(expected.shape), "pixels": drawn, "size_text": size_text}


def wait_for_change(page, before_text: str | None = None, before_output=None):
    page.wait_for_function(
        "([shape, first]) => { const s = document.querySelector('.cnnpg').playground;"
        " return s && (s.shape.join('x') !== shape || JSON.stringify(s.output) !== first); }",
        arg=[before_text, before_output], timeout=10_000)


@pytest.fixture
def playground(open_page):
    page, log = open_page(PAGE)
    page.wait_for_selector(".cnnpg canvas[data-panel='output']", timeout=30_000)
    page.wait_for_function("() => document.querySelector('.cnnpg').playground", timeout=30_000)
    yield page
    assert not log.problems(), "\n".join(log.problems())


def snapshot(page):
    state = widget_state(page)
    return "x".join(map(str, state["shape"])), page.evaluate(
        "() => JSON.stringify(document.querySelector('.cnnpg').playground.output)")


def test_first_render_matches_the_reference(playground):
    result = check_against_reference(playground)
    assert result["shape"] == (64, 64)  # Sobel x, padding 1: same size
    screenshot(playground, "playground-widget-desktop")


def test_editing_a_kernel_cell_changes_the_output(playground):
    before = check_against_reference(playground)
    cell = playground.locator(".cnnpg-cell[data-row='0'][data-col='0']")
    shape, first = snapshot(playground)
    cell.fill("3")
    cell.dispatch_event("change")
    wait_for_change(playground, shape, first)
    after = check_against_reference(playground)
    assert after["shape"] == before["shape"]
    assert np.abs(after["pixels"] - before["pixels"]).max() > 0, "the output image did not change"
    assert playground.locator("[data-control='preset']").input_value() == "custom"


@pytest.mark.parametrize("stride", [2, 3])
def test_stride_shrinks_the_output_as_the_formula_says(playground, stride):
    before = check_against_reference(playground)
    shape, first = snapshot(playground)
    playground.locator("[data-control='stride']").fill(str(stride))
    wait_for_change(playground, shape, first)
    after = check_against_reference(playground)
    assert after["shape"] == (conv_output_size(64, 3, stride, 1), conv_output_size(64, 3, stride, 1))
    assert after["size_text"] != before["size_text"]


@pytest.mark.parametrize("padding", [0, 3, "valid", "same", "full"])
def test_padding_changes_the_output_as_the_formula_says(playground, padding):
    # start from an unequal stride/dilation so that the padding modes give distinct sizes
    playground.locator("[data-control='dilation']").fill("2")
    shape, first = snapshot(playground)
    if isinstance(padding, int):
        playground.locator("[data-control='padding-mode']").select_option("number")
        playground.locator("[data-control='padding']").fill(str(padding))
    else:
        playground.locator("[data-control='padding-mode']").select_option(padding)
    wait_for_change(playground, shape, first)
    after = check_against_reference(playground)
    assert after["shape"][0] == conv_output_size(64, 3, 1, padding, 2)


def test_presets_kernel_size_and_photo(playground):
    for preset in ("Gaussian", "Laplacian", "identity"):
        shape, first = snapshot(playground)
        playground.locator("[data-control='preset']").select_option(preset)
        wait_for_change(playground, shape, first)
        check_against_reference(playground)
    shape, first = snapshot(playground)
    playground.locator("[data-control='kernel-cols']").select_option("5")
    wait_for_change(playground, shape, first)
    assert check_against_reference(playground)["shape"] == (64, 62)  # 3 x 5 kernel, padding 1
    shape, first = snapshot(playground)
    playground.locator("[data-control='photo']").select_option("coins")
    wait_for_change(playground, shape, first)
    check_against_reference(playground)


def test_playground_fits_a_phone(open_page):
    page, log = open_page(PAGE, PHONE)
    page.wait_for_selector(".cnnpg canvas[data-panel='output']", timeout=30_000)
    screenshot(page, "playground-widget-phone")
    assert not log.problems(), "\n".join(log.problems())
