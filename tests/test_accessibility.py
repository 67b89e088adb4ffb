"""The book's accessibility extensions without the book: figures from cell metadata, honest toggles,
and lossless lighter images (`book/_ext/accessibility.py`, `book/_ext/page_weight.py`).

A small notebook with stored outputs (no kernel runs) is built by Sphinx with MyST-NB and the
extension, and the HTML is read back: one numbered `<figure>` per cell, whatever the cell shows
besides its images.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import accessibility  # noqa: E402
import page_weight  # noqa: E402


def png(colour, size=(8, 6), mode="RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def image_output(colour) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(png(colour)).decode(), "text/plain": "<Figure>"}}


def text_output(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def value_output(text: str) -> dict:
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": text}}


def figure_meta(name: str, caption: str, alt) -> dict:
    return {"mystnb": {"figure": {"caption": caption, "name": name}, "image": {"alt": alt}}}


# -- figure metadata checks --------------------------------------------------------------------------

def test_figure_problems_names_what_is_missing():
    one = [image_output((1, 2, 3, 255))]
    assert accessibility.figure_problems(figure_meta("fig-a", "A caption.", "Alt."), one) == []
    assert accessibility.figure_problems({}, one) == []  # no figure: nothing to check
    problems = accessibility.figure_problems({"mystnb": {"figure": {"name": "fig-a"}}}, [])
    assert problems == ["its figure has no caption", "its image has no alt text (mystnb.image.alt)",
                        "it describes a figure but shows no image"]
    two = one + [image_output((4, 5, 6, 255))]
    assert accessibility.figure_problems(figure_meta("fig-a", "C.", ["only one"]), two) == \
        ["it shows 2 image(s) but gives 1 alt texts"]
    assert accessibility.figure_problems(figure_meta("fig-a", "C.", ["one", " "]), two) == \
        ["its image has no alt text (mystnb.image.alt)"]


def test_without_figure_keeps_everything_else():
    meta = {"tags": ["x"], **figure_meta("fig-a", "C.", ["a", "b"])}
    plain = accessibility.without_figure(meta, "b")
    assert plain == {"tags": ["x"], "mystnb": {"image": {"alt": "b"}}}
    assert meta["mystnb"]["figure"]["name"] == "fig-a"  # the original is untouched


# -- a real build ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> BeautifulSoup:
    from sphinx.application import Sphinx

    src = tmp_path_factory.mktemp("book")
    cells = [
        {"cell_type": "markdown", "id": "c0", "metadata": {},
         "source": "# Figures\n\n{numref}`fig-one`, {numref}`fig-two`."},
        {"cell_type": "code", "id": "c1", "metadata": figure_meta("fig-one", "One image.", "A red square."),
         "execution_count": 1, "source": "show()", "outputs": [image_output((255, 0, 0, 255))]},
        {"cell_type": "code", "id": "c2",
         "metadata": figure_meta("fig-two", "Two images, with text.", ["Green.", "Blue."]),
         "execution_count": 2, "source": "show2()",
         "outputs": [text_output("before\n"), image_output((0, 255, 0, 255)), text_output("between\n"),
                     image_output((0, 0, 255, 255)), value_output("'a value'")]},
        {"cell_type": "code", "id": "c3", "metadata": {"tags": ["hide-input"]}, "execution_count": 3,
         "source": "hidden = 1", "outputs": []},
    ]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (src / "figures.ipynb").write_text(json.dumps(notebook))
    (src / "index.md").write_text("# Book\n\n```{toctree}\nfigures\n```\n")
    (src / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['myst_nb', 'accessibility', 'page_weight']\n"
        "nb_execution_mode = 'off'\n"
        "numfig = True\n"
        "numfig_format = {'figure': 'Figure %s'}\n"
        "exclude_patterns = ['_build']\n")
    out = src / "_build"
    app = Sphinx(str(src), str(src), str(out), str(out / ".doctrees"), "html", status=None,
                 warning=io.StringIO(), warningiserror=True, freshenv=True)
    app.build()
    return BeautifulSoup((out / "figures.html").read_text(), "html.parser"), out


@pytest.mark.slow  # a Sphinx build
def test_one_numbered_figure_per_cell_with_its_alt_texts(built):
    html, _ = built
    figures = html.select("figure")
    assert [f.get("id") for f in figures] == ["fig-one", "fig-two"]
    assert [[i["alt"] for i in f.select("img")] for f in figures] == [["A red square."], ["Green.", "Blue."]]
    captions = [[span.get_text(strip=True) for span in f.select("figcaption span")] for f in figures]
    assert captions == [["Figure 1", "One image."], ["Figure 2", "Two images, with text."]]
    assert "Figure 1" in html.get_text() and "Figure 2" in html.get_text()  # {numref}s resolve


@pytest.mark.slow  # a Sphinx build
def test_other_outputs_stay_outside_the_figure_in_order(built):
    html, _ = built
    output = html.select("div.cell_output")[1]
    parts = [("figure" if child.name == "figure" else " ".join(child.get_text().split()))
             for child in output.find_all(recursive=False)]
    assert parts == ["before", "figure", "between", "'a value'"]


@pytest.mark.slow  # a Sphinx build
def test_toggle_is_named_by_its_visible_text(built):
    html, _ = built
    summary = html.select_one("details.hide > summary")
    assert not summary.has_attr("aria-label")
    assert summary.select_one("p.collapsed").get_text(strip=True) == "Show code cell source"


@pytest.mark.slow  # a Sphinx build
def test_images_of_the_build_were_made_lighter_losslessly(built):
    _, out = built
    images = sorted((out / "_images").glob("*.png"))
    assert len(images) == 3
    for path in images:
        with Image.open(path) as image:
            assert image.mode != "RGBA"  # opaque: stored without an alpha channel


# -- page weight --------------------------------------------------------------------------------------

@pytest.mark.parametrize("image", [
    Image.new("RGBA", (40, 30), (10, 20, 30, 255)),                        # opaque RGBA: RGB or palette
    Image.effect_noise((64, 64), 40).convert("RGB"),                         # many colours: RGB, optimised
    Image.new("RGBA", (40, 30), (10, 20, 30, 128)),                        # real transparency stays
])
def test_smallest_png_keeps_every_pixel(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = buffer.getvalue()
    smaller = page_weight.smallest_png(data)
    assert len(smaller) <= len(data)
    assert page_weight.same_pixels(image, Image.open(io.BytesIO(smaller)))


def test_optimise_images_does_each_file_once(tmp_path):
    (tmp_path / "a.png").write_bytes(png((1, 2, 3, 255), size=(50, 50)))
    before, after = page_weight.optimise_images(tmp_path)
    assert after < before
    assert page_weight.optimise_images(tmp_path) == (0, 0)  # nothing new
