"""The book's configuration, its Sphinx extensions and the kernel playground, without building.

(`tests/test_book_site.py` checks the built site; `tests/browser/` drives it in Chromium.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import figure_numbers  # noqa: E402
import nbgrader_cells  # noqa: E402
import offline_assets  # noqa: E402
import student_links  # noqa: E402

from autograder.course import student_notebook  # noqa: E402

# The chapters of COURSE.md, in order.
CHAPTERS = ["01_mlp_on_images", "02_parameter_sharing", "03_conv1d", "04_conv2d", "05_toeplitz_backprop",
            "06_pooling", "07_channels", "08_conv_variants", "09_gpu_torch", "10_cnn", "11_inside_a_cnn"]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


# -- table of contents and configuration ------------------------------------------------------

def test_toc_lists_every_chapter_in_order():
    chapters = [f for f in toc_files() if f.startswith("chapters/")]
    assert chapters == [f"chapters/{c}" for c in CHAPTERS]


def test_toc_lists_the_books_own_pages():
    assert {"book/intro", "book/students", "book/instructors", "book/playground"} <= set(toc_files())


@pytest.mark.parametrize("entry", [f for f in toc_files() if not f.startswith("chapters/")])
def test_every_page_of_the_toc_exists(entry):
    assert (ROOT / f"{entry}.md").exists() or (ROOT / f"{entry}.ipynb").exists(), entry


def test_browser_assets_are_local():
    sphinx = config()["sphinx"]["config"]
    assert not sphinx["mathjax_path"].startswith(("http:", "https:", "//"))
    for path in sphinx["nb_ipywidgets_js"]:
        assert not path.startswith(("http:", "https:", "//")), path
    assert config()["launch_buttons"].get("thebe") is False  # thebe would load from a CDN


def test_build_is_strict_and_cached():
    assert config()["execute"]["execute_notebooks"] == "cache"
    makefile = (ROOT / "Makefile").read_text()
    assert "jupyter-book build . --warningiserror" in makefile


def test_npm_packages_are_pinned():
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    for name, version in package["dependencies"].items():
        assert version[0].isdigit(), f"{name} is not pinned: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    # the browser's anywidget must be the Python package's version
    import anywidget

    assert package["dependencies"]["anywidget"] == anywidget.__version__


def test_every_vendor_file_is_installed():
    files = offline_assets.vendor_files(ROOT / "node_modules")
    targets = {str(t) for t in files.values()}
    assert {"require.js", "anywidget/index.js", "html-manager/embed-amd.js", "mathjax/tex-chtml.js"} <= targets
    assert any(t.startswith("mathjax/output/chtml/fonts/") for t in targets)


# -- hidden tests and solutions ----------------------------------------------------------------

code_line = st.text(st.characters(codec="ascii", exclude_characters="\r\n#"), max_size=30)
code = st.lists(code_line, max_size=6).map("\n".join)


@given(before=code, hidden=code, after=code)
def test_hidden_tests_are_cut_out_and_nothing_else(before, hidden, after):
    block = f"{nbgrader_cells.HIDDEN_BEGIN}\n{hidden}\n{nbgrader_cells.HIDDEN_END}\n"
    source = f"{before}\n{block}{after}" if before else block + after
    stripped = nbgrader_cells.strip_hidden_tests(source)
    assert "HIDDEN TESTS" not in stripped
    assert stripped == (f"{before}\n{after}" if before else after).rstrip()
    assert nbgrader_cells.strip_hidden_tests(stripped) == stripped  # idempotent


@given(code)
def test_a_cell_without_hidden_tests_is_unchanged(source):
    assert nbgrader_cells.strip_hidden_tests(source) == source


@pytest.mark.parametrize("source", [
    "x = 1\n### BEGIN HIDDEN TESTS\ncheck()\n",
    "### END HIDDEN TESTS\nx = 1\n### BEGIN HIDDEN TESTS\n",
])
def test_broken_hidden_test_markers_raise(source):
    with pytest.raises(ValueError, match="hidden-test markers"):
        nbgrader_cells.strip_hidden_tests(source)


def _notebook():
    solution = {"solution": True, "grade": False, "locked": False, "grade_id": "corr1d", "schema_version": 3}
    test = {"solution": False, "grade": True, "locked": True, "points": 2, "grade_id": "test_corr1d",
            "schema_version": 3}
    return {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# 3. Title"},
        {"cell_type": "code", "metadata": {"nbgrader": solution}, "outputs": [], "execution_count": None,
         "source": ["def corr1d(x, w):\n", "    ### BEGIN SOLUTION\n", "    return x\n", "    ### END SOLUTION\n"]},
        {"cell_type": "code", "metadata": {"nbgrader": test}, "outputs": [], "execution_count": None,
         "source": "expect_close(corr1d(1, 2), 1)\n### BEGIN HIDDEN TESTS\ncheck_hidden('corr1d', corr1d)\n"
                   "### END HIDDEN TESTS\n"},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_book_notebook_folds_solutions_and_drops_hidden_tests():
    original = _notebook()
    snapshot = json.dumps(original)
    shown = nbgrader_cells.book_notebook(original)
    assert json.dumps(original) == snapshot, "the input notebook was modified"
    solution, test = shown["cells"][1], shown["cells"][2]
    assert solution["source"] == "def corr1d(x, w):\n    return x\n"
    assert "hide-input" in solution["metadata"]["tags"]
    assert solution["metadata"]["mystnb"]["code_prompt_show"] == "Show solution"
    assert test["source"] == "expect_close(corr1d(1, 2), 1)"
    assert "tags" not in test["metadata"]


def test_a_cell_of_hidden_tests_only_is_removed_from_the_page():
    notebook = _notebook()
    notebook["cells"][2]["source"] = "### BEGIN HIDDEN TESTS\ncheck_hidden('corr1d', corr1d)\n### END HIDDEN TESTS\n"
    cell = nbgrader_cells.book_notebook(notebook)["cells"][2]
    assert cell["source"] == "" and "remove-cell" in cell["metadata"]["tags"]


def test_the_downloaded_and_launched_notebook_is_the_student_version():
    student = student_notebook(_notebook())
    assert student["cells"][1]["source"] == "def corr1d(x, w):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert student["cells"][2]["source"] == "expect_close(corr1d(1, 2), 1)\n"


@pytest.mark.parametrize("url, expected", [
    ("https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/chapters/04_conv2d.ipynb",
     "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/student/04_conv2d.ipynb"),
    ("https://colab.research.google.com/github/o/r/blob/main/chapters/10_cnn.ipynb",
     "https://colab.research.google.com/github/o/r/blob/main/student/10_cnn.ipynb"),
    ("https://hub.example/hub/user-redirect/git-pull?repo=x&urlpath=lab%2Ftree%2Fr%2Fchapters%2F03_conv1d.ipynb",
     "https://hub.example/hub/user-redirect/git-pull?repo=x&urlpath=lab%2Ftree%2Fr%2Fstudent%2F03_conv1d.ipynb"),
    ("https://example.org/mychapters/03_conv1d.ipynb", "https://example.org/mychapters/03_conv1d.ipynb"),
])
def test_launch_buttons_open_the_student_version(url, expected):
    assert student_links.student_url(url) == expected


@pytest.mark.parametrize("chapter", sorted((ROOT / "chapters").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_chapter_reads_as_a_book_page(chapter):
    notebook = json.loads(chapter.read_text())
    shown = nbgrader_cells.book_notebook(notebook)
    text = json.dumps(shown)
    assert "HIDDEN TESTS" not in text and "check_hidden" not in text
    solutions = [c for c in shown["cells"] if nbgrader_cells.is_solution_cell(c)]
    assert all("hide-input" in c["metadata"]["tags"] for c in solutions)


# -- offline assets ----------------------------------------------------------------------------

@pytest.mark.parametrize("html", [
    '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>',
    '<script defer src="//unpkg.com/thebe"></script>',
    '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Lato" />',
    '<link href="https://example.org/a.css" rel="stylesheet">',
    '<img src="http://example.org/a.png">',
])
def test_remote_loads_are_found(html):
    assert len(offline_assets.remote_loads(html)) == 1


@pytest.mark.parametrize("html", [
    '<script src="../_static/vendor/require.js"></script>',
    '<a href="https://mybinder.org/v2/gh/x/y/main">Binder</a>',
    '<link rel="canonical" href="https://example.org/book/intro.html" />',
    '<script>const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"</script>',
])
def test_links_and_local_files_are_not_remote_loads(html):
    assert offline_assets.remote_loads(html) == []


# -- the kernel playground ----------------------------------------------------------------------

from cnnbook.widgets.playground import PRESETS, KernelPlayground, downscale  # noqa: E402
from solutions import conv_output_size, corr2d  # noqa: E402


@given(st.integers(1, 4), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_downscale_averages_whole_blocks(factor, size, seed):
    image = np.random.default_rng(seed).random((factor * size + 3, factor * size + 1))
    small = downscale(image, size)
    assert small.shape == (size, size)
    assert small.min() >= image.min() and small.max() <= image.max()
    if factor == 1:
        top, left = 1, 0
        np.testing.assert_array_equal(small, image[top:top + size, left:left + size])


def test_playground_images_are_exact_grey_levels():
    widget = KernelPlayground()
    for name, pixels in widget.photos.items():
        assert len(pixels) == widget.size ** 2 and all(0 <= p <= 255 for p in pixels), name
    assert widget.image.dtype == np.float64 and widget.image.shape == (64, 64)


@settings(max_examples=25, deadline=None)
@given(preset=st.sampled_from(sorted(PRESETS)), stride=st.integers(1, 4), dilation=st.integers(1, 4),
       padding=st.one_of(st.integers(0, 4), st.sampled_from(["valid", "same", "full"])))
def test_playground_expected_output_is_the_reference(preset, stride, dilation, padding):
    widget = KernelPlayground(preset=preset, stride=stride, dilation=dilation, padding=padding, size=32)
    expected = corr2d(widget.image, np.array(PRESETS[preset], dtype=float), stride=stride,
                      padding=padding, dilation=dilation)
    np.testing.assert_array_equal(widget.expected_output(), expected)
    assert expected.shape == (conv_output_size(32, 3, stride, padding, dilation),) * 2


@pytest.mark.parametrize("change, message", [
    ({"stride": 0}, "stride must be between"), ({"dilation": 9}, "dilation must be between"),
    ({"padding": -1}, "padding must be between"), ({"padding": "middle"}, "padding must be an int"),
    ({"kernel": [[1, 2], [3]]}, "different lengths"), ({"kernel": []}, "empty"),
    ({"kernel": [[float("nan")]]}, "not finite"), ({"photo": "lena"}, "not among"),
    ({"display_mode": "log"}, "display_mode"),
])
def test_playground_rejects_bad_values(change, message):
    widget = KernelPlayground(size=16)
    with pytest.raises(ValueError, match=message):
        for name, value in change.items():
            setattr(widget, name, value)


@pytest.mark.parametrize("kwargs, message", [
    ({"preset": "emboss"}, "unknown preset"), ({"photo": "lena"}, "not among"), ({"size": 4}, "size must be"),
])
def test_playground_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KernelPlayground(**kwargs)


def test_use_preset_sets_kernel_and_display():
    widget = KernelPlayground(size=16)
    widget.use_preset("Sobel y")
    assert widget.kernel == PRESETS["Sobel y"] and widget.preset == "Sobel y"
    assert widget.display_mode == "signed"


NODE_CHECK = r"""
const fs = require("fs");
const source = fs.readFileSync(process.argv[1], "utf8");
import("data:text/javascript," + encodeURIComponent(source)).then((m) => {
  const cases = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = cases.map((c) => {
    try {
      const r = m.corr2d(Float64Array.from(c.image), c.h, c.w, c.kernel, c.stride, c.padding, c.dilation);
      return { values: Array.from(r.values), shape: [r.oh, r.ow] };
    } catch (err) { return { error: err.message }; }
  });
  process.stdout.write(JSON.stringify(out));
});
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (make setup needs it too)")
def test_playground_javascript_matches_the_reference():
    """The browser's cross-correlation (playground.js) equals `solutions.corr2d` on random cases."""
    rng = np.random.default_rng(0)
    cases = []
    for _ in range(300):
        h, w = rng.integers(1, 12, size=2)
        kh, kw = rng.integers(1, 6, size=2)
        padding = [0, 1, 2, 3, "valid", "same", "full"][rng.integers(7)]
        cases.append({"image": rng.standard_normal(h * w).tolist(), "h": int(h), "w": int(w),
                      "kernel": rng.standard_normal((kh, kw)).tolist(), "stride": int(rng.integers(1, 4)),
                      "padding": padding, "dilation": int(rng.integers(1, 4))})
    result = subprocess.run(["node", "-e", NODE_CHECK, str(ROOT / "cnnbook" / "widgets" / "playground.js")],
                            input=json.dumps(cases), capture_output=True, text=True, timeout=60, check=True)
    answers = json.loads(result.stdout)
    fits = 0
    for case, got in zip(cases, answers, strict=True):
        image = np.reshape(case["image"], (case["h"], case["w"]))
        kwargs = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"])
        try:
            expected = corr2d(image, np.array(case["kernel"]), **kwargs)
        except ValueError:
            assert "error" in got, f"JS computed an output where the reference refuses: {kwargs}"
            continue
        fits += 1
        assert "error" not in got, got
        np.testing.assert_allclose(np.reshape(got["values"], got["shape"]), expected, rtol=1e-12, atol=1e-12)
    assert fits > 100  # the random cases mostly fit


# -- re-execution when imported code changes ------------------------------------------------------

import execution_key  # noqa: E402


@given(code)
def test_stamping_a_notebook_changes_metadata_only(source):
    notebook = _notebook()
    notebook["cells"][1]["source"] = source
    stamped = json.loads(execution_key.stamp_ipynb(json.dumps(notebook), "abc"))
    assert stamped["cells"][1]["metadata"][execution_key.METADATA_KEY] == "abc"
    assert [c["source"] for c in stamped["cells"]] == [c["source"] for c in notebook["cells"]]
    assert all(execution_key.METADATA_KEY not in c["metadata"] for c in stamped["cells"][2:])


def test_stamping_a_myst_notebook_adds_an_option_to_its_first_code_cell():
    text = "# Title\n\n```{code-cell} ipython3\nx = 1\n```\n\n```{code-cell} ipython3\ny = 2\n```\n"
    stamped = execution_key.stamp_myst(text, "abc")
    assert stamped == text.replace("ipython3\nx = 1", "ipython3\n:book_sources: abc\nx = 1")
    assert execution_key.stamp_myst("# no code\n", "abc") == "# no code\n"


def test_fingerprint_follows_content_not_time(tmp_path):
    (tmp_path / "cnnbook").mkdir()
    module = tmp_path / "cnnbook" / "a.py"
    module.write_text("x = 1\n")
    first = execution_key.fingerprint(execution_key.watched_files(tmp_path), tmp_path)
    module.touch()
    assert execution_key.fingerprint(execution_key.watched_files(tmp_path), tmp_path) == first
    module.write_text("x = 2\n")
    assert execution_key.fingerprint(execution_key.watched_files(tmp_path), tmp_path) != first


def test_figures_are_numbered_per_chapter():
    book_wide = {"chapters/04_conv2d": {"figure": {"fig-b": (9,), "fig-a": (8,)}},
                 "chapters/11_inside_a_cnn": {"figure": {"fig-c": (40,)}},
                 "book/playground": {"figure": {"fig-d": (41,)}}}
    figure_numbers.renumber(book_wide)
    assert book_wide == {"chapters/04_conv2d": {"figure": {"fig-a": (4, 1), "fig-b": (4, 2)}},
                         "chapters/11_inside_a_cnn": {"figure": {"fig-c": (11, 1)}},
                         "book/playground": {"figure": {"fig-d": (41,)}}}
