"""The book's widgets compute what the reference computes, in JavaScript and in Python.

A widget's JavaScript does its own arithmetic (the static book has no kernel), so each compute
function is held to `solutions`: the text the browser runs (the widget's `_esm`) is written to a
temporary `.mjs` file, a small Node driver imports it by `file://` URL, calls the exported function
on seeded random cases read as JSON from stdin, and prints the results as JSON. The Python helpers
that say what a widget draws (`symbols()`, `field_size()`, `values()`, ...) are held to the
reference by hypothesis. Node.js is needed for the first kind only; without it they are skipped.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnbook.widgets
from cnnbook.widgets import esm
from cnnbook.widgets.banded import MAX_D, MODES, BandedMatrix
from cnnbook.widgets.channels import KERNELS, ChannelMixer
from cnnbook.widgets.fgsm import FGSMExplorer
from cnnbook.widgets.maxpool import PoolingGradient
from cnnbook.widgets.receptive import DILATIONS, ReceptiveFieldExplorer
from cnnbook.widgets.sliding1d import PADDING_MODES, SlidingWindow1D
from cnnbook.widgets.transposed import TransposedConvExplorer
from solutions import (
    avgpool2d_backward,
    avgpool2d_forward,
    conv1d,
    conv2d,
    conv2d_forward,
    conv_output_size,
    conv_transpose2d,
    corr1d,
    corr2d,
    fgsm,
    maxpool2d_backward,
    maxpool2d_forward,
    receptive_field,
    sharing_matrix,
)

WIDGETS = cnnbook.widgets.HERE
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="needs Node.js to run the widgets' JavaScript")
CASES = 40  # random settings per JavaScript function
seeds = st.integers(0, 2**32 - 1)
few = settings(max_examples=20, deadline=None)


def assert_close(actual, expected, **kwargs):
    """Equal to float64 rounding: the JavaScript and the reference sum the same terms."""
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, **kwargs)

# -- the reference, arranged as each widget draws it ----------------------------------------------


def slide_reference(x, w, padding: str, stride: int, flip: bool) -> np.ndarray:
    """corr1d, or conv1d when the kernel is flipped; the widget keeps int paddings as digit strings."""
    padding = int(padding) if padding.isdigit() else padding
    return (conv1d if flip else corr1d)(np.asarray(x), np.asarray(w), padding=padding, stride=stride)


def matrix_of(names, values) -> np.ndarray:
    """The weight matrix whose cell holds `values[index]` where `names` has a `w<index>`, 0 where None."""
    return np.array([[0.0 if n is None else values[int(n[1:])] for n in row] for row in names])


def cone_reference(n_inputs: int, kernel: int, stride: int, dilations, unit: int) -> tuple[list[int], list[int]]:
    """(layer sizes, inputs feeding `unit` of the top layer), by running the stack with all-ones
    kernels over every one-hot input at once: an input feeds the unit iff the unit's value is > 0."""
    x = np.eye(n_inputs).reshape(n_inputs, 1, 1, n_inputs)
    sizes = [n_inputs]
    for d in dilations:
        x = conv2d(x, np.ones((1, 1, 1, kernel)), stride=(1, stride), dilation=(1, d))
        sizes.append(x.shape[-1])
    return sizes, np.flatnonzero(x[:, 0, 0, unit]).tolist()


def pool_reference(x, kernel: int, stride: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(y, dx) of max or average pooling of one `(H, W)` map when every output receives dy = 1."""
    forward, backward = {"max": (maxpool2d_forward, maxpool2d_backward),
                         "avg": (avgpool2d_forward, avgpool2d_backward)}[mode]
    x = np.asarray(x, dtype=np.float64)[None, None]
    y = forward(x, kernel, stride)
    return y[0, 0], backward(np.ones_like(y), x, kernel, stride)[0, 0]


def mix_reference(photo, weights, bias: float, kernel) -> np.ndarray:
    """One filter `weights[c] * kernel` per colour channel, plus `bias`, over an `(H, W, 3)` photo."""
    x = np.asarray(photo, dtype=np.float64).transpose(2, 0, 1)[None]
    w = np.asarray(weights, dtype=np.float64)[None, :, None, None] * np.asarray(kernel)[None, None]
    return conv2d_forward(x, w, np.array([bias]))[0, 0]


def transposed_reference(n: int, kernel: int, stride: int, padding: int) -> tuple[np.ndarray, np.ndarray]:
    """(pairs landing on each output pixel, which of the n*n inputs reach it) with all-ones kernels:
    the first is the transposed convolution of an all-ones input, the second of every one-hot input."""
    ones = np.ones((1, 1, kernel, kernel))
    counts = conv_transpose2d(np.ones((1, 1, n, n)), ones, stride=stride, padding=padding)[0, 0]
    reach = conv_transpose2d(np.eye(n * n).reshape(n * n, 1, n, n), ones, stride=stride, padding=padding)[:, 0]
    return counts, reach > 0


def transposed_settings(draw_int) -> tuple[int, int, int, int]:
    """(n, kernel, stride, padding) within the widget's limits and with a non-empty output."""
    while True:
        n, k, s = draw_int(2, 5), draw_int(1, 5), draw_int(1, 3)
        p = draw_int(0, k - 1)
        if (n - 1) * s - 2 * p + k > 0:
            return n, k, s, p


# -- running the JavaScript -------------------------------------------------------------------------

DRIVER = r"""
import { readFileSync } from "node:fs";

const rows = (m) => m.map((row) => Array.from(row));
const ADAPTERS = {
  load: (m) => ({ exports: Object.keys(m).sort(), render: typeof m.default.render }),
  sliding1d: (m, c) => m.compute(c.x, c.w, c.padding, c.stride, c.flip).y,
  banded: (m, c) => {
    const s = m.structure(c.mode, c.D, c.K);
    const grid = (f) => Array.from({ length: s.rows }, (_, i) => Array.from({ length: s.cols }, (_, j) => f(i, j)));
    return { names: grid(s.name), params: grid(s.param), count: s.count };
  },
  receptive: (m, c) => {
    const g = m.geometry(c.layers, c.kernel, c.stride, c.dilation);
    const unit = Math.floor(c.where * g.sizes[c.layers]);
    const drawn = g.sizes[0] <= 400;  // wider stacks are described, not drawn
    const inputs = drawn ? [...m.cone(g, c.kernel, c.layers, unit)[0]].sort((a, b) => a - b) : null;
    return { field: g.field, dil: g.dil, sizes: g.sizes, unit, inputs };
  },
  maxpool: (m, c) => m.pool(c.x, c.kernel, c.stride, c.mode),
  channels: (m, c) => {
    const r = m.mix(c.image, c.height, c.width, c.weights, c.bias, m.KERNELS[c.kernel]);
    return { out: rows(r.out), parts: r.parts.map(rows), kernel: m.KERNELS[c.kernel] };
  },
  transposed: (m, c) => {
    const g = m.geometry(c.n, c.kernel, c.stride, c.padding);
    const each = (side, f) => Array.from({ length: side }, (_, r) => Array.from({ length: side }, (_, q) => f(r, q)));
    return {
      out: g.out, counts: m.contributions(g),
      sources: each(g.out, (r, q) => m.sources(g, r, q).map(([i, j]) => i * c.n + j)),
      big: each(g.big, (u, v) => { const [kind, i, j] = m.bigCell(g, u, v); return kind === "pixel" ? c.x[i][j] : 0; }),
    };
  },
  playground: (m, c) => {
    const length = m.outputLength(c.n, c.k, c.stride, m.paddingAmounts(c.padding, c.k, c.dilation), c.dilation);
    try {
      const r = m.corr2d(Float64Array.from(c.image), c.h, c.w, c.kernel, c.stride, c.padding, c.dilation);
      return { length, shape: [r.oh, r.ow], values: Array.from(r.values) };
    } catch (error) { return { length, error: error.message }; }
  },
  fgsm: (m, c) => m.attacked(c.x, c.sign, c.eps),
};

const module = await import(process.argv[2]);
const adapt = ADAPTERS[process.argv[3]];
const cases = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(cases.map((c) => adapt(module, c))));
"""


def run_js(tmp_path, filename: str, adapter: str, cases: list) -> list:
    """`ADAPTERS[adapter]` of the driver applied to each case, on the module the browser runs."""
    # playground.js is not built with esm() (it is another widget's business); the others are
    source = (WIDGETS / filename).read_text() if filename == "playground.js" else esm(filename)
    module, driver = tmp_path / f"{adapter}.mjs", tmp_path / "driver.mjs"
    module.write_text(source)
    driver.write_text(DRIVER)
    result = subprocess.run([NODE, str(driver), module.as_uri(), adapter], input=json.dumps(cases),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert len(answers) == len(cases)
    return answers


def random_settings(seed: int):
    """(rng, draw_int(low, high) with both ends included) from one seed."""
    rng = np.random.default_rng(seed)
    return rng, lambda low, high: int(rng.integers(low, high + 1))


def seeded(make_case):
    """A hypothesis strategy of the cases `make_case(draw_int, rng)` makes from a drawn seed."""
    def make(seed):
        rng, draw_int = random_settings(seed)
        return make_case(draw_int, rng)
    return seeds.map(make)


# -- the shared prelude -----------------------------------------------------------------------------

WIDGET_CLASSES = {"banded.js": BandedMatrix, "receptive.js": ReceptiveFieldExplorer, "sliding1d.js": SlidingWindow1D,
                  "maxpool.js": PoolingGradient, "channels.js": ChannelMixer, "transposed.js": TransposedConvExplorer,
                  "fgsm.js": FGSMExplorer}


@pytest.mark.parametrize("filename, widget", WIDGET_CLASSES.items())
def test_esm_is_one_self_contained_module(filename, widget):
    text = widget._esm
    assert isinstance(text, str) and text == esm(filename)
    assert (WIDGETS / "_ui.js").read_text() in text
    assert "export default { render }" in text
    # a blob: URL resolves no import, and the built book embeds this text as it is
    assert not re.search(r"^\s*import[\s{*'\"]", text, re.MULTILINE)


def test_esm_refuses_what_a_blob_url_cannot_load(tmp_path, monkeypatch):
    monkeypatch.setattr(cnnbook.widgets, "HERE", tmp_path)
    (tmp_path / "_ui.js").write_text("export function label() {}\nexport function range() {}\n")
    (tmp_path / "ok.js").write_text('import {\n  label, range,\n} from "./_ui.js";\nexport default {};\n')
    assert esm("ok.js").endswith("// ---- ok.js ----\nexport default {};\n")
    (tmp_path / "unknown.js").write_text('import { label, frame } from "./_ui.js";\n')
    with pytest.raises(ValueError, match=r"unknown.js imports \['frame'\]"):
        esm("unknown.js")
    (tmp_path / "other.js").write_text('import { label } from "./_ui.js";\nimport { x } from "./x.js";\n')
    with pytest.raises(ValueError, match="other than _ui.js"):
        esm("other.js")


@needs_node
def test_every_esm_loads_in_node_without_a_page(tmp_path):
    """No name is declared twice across prelude and module, and nothing touches the DOM on import."""
    for filename in WIDGET_CLASSES:
        (got,) = run_js(tmp_path, filename, "load", [{}])
        assert got["render"] == "function", filename
        assert {"frame", "label", "range"} <= set(got["exports"]), filename


# -- sliding1d: corr1d / conv1d ---------------------------------------------------------------------

def sliding_case(draw_int, rng) -> dict:
    n = draw_int(1, 16)
    return {"x": rng.standard_normal(n).tolist(), "w": rng.standard_normal(draw_int(1, n)).tolist(),
            "padding": str(rng.choice([*PADDING_MODES, "0", "1", "3"])), "stride": draw_int(1, 4),
            "flip": bool(rng.integers(2))}


@needs_node
def test_sliding1d_js_is_corr1d_and_conv1d(tmp_path):
    rng, draw_int = random_settings(3)
    cases = [sliding_case(draw_int, rng) for _ in range(CASES)]
    for case, got in zip(cases, run_js(tmp_path, "sliding1d.js", "sliding1d", cases), strict=True):
        assert_close(got, slide_reference(**case), err_msg=str(case))
    assert {c["flip"] for c in cases} == {False, True}


@few
@given(seeded(sliding_case))
def test_sliding1d_values_are_corr1d_and_conv1d(case):
    widget = SlidingWindow1D(**case)
    assert_close(widget.values(), slide_reference(**case))


# -- banded: from a dense layer to sharing_matrix ---------------------------------------------------

def check_weight_matrix(mode: str, D: int, K: int, names, params, count: int, rng) -> None:
    """The banded matrix is sharing_matrix; the shared one is Toeplitz and, kept to offsets
    0..K-1, its first D-K+1 rows are the banded one; the count is the number of distinct weights."""
    used = {p for row_n, row_p in zip(names, params) for n, p in zip(row_n, row_p) if n is not None}
    assert count == len(used) == {"dense": D * D, "shared": 2 * D - 1, "banded": K}[mode]
    w = rng.standard_normal(K)
    if mode == "banded":
        np.testing.assert_array_equal(matrix_of(names, w), sharing_matrix(w, D))
    if mode == "shared":
        offsets = np.asarray(params) - (D - 1)  # param id of v[j - i]
        np.testing.assert_array_equal(offsets, np.subtract.outer(-np.arange(D), -np.arange(D)))
        local = np.where((offsets >= 0) & (offsets < K), w[np.clip(offsets, 0, K - 1)], 0.0)
        np.testing.assert_array_equal(local[:D - K + 1], sharing_matrix(w, D))


@needs_node
def test_banded_js_weight_matrix_is_the_reference(tmp_path):
    rng, draw_int = random_settings(4)
    cases = []
    for _ in range(CASES):
        D = draw_int(3, MAX_D)
        cases.append({"mode": str(rng.choice(MODES)), "D": D, "K": draw_int(1, min(7, D))})
    for case, got in zip(cases, run_js(tmp_path, "banded.js", "banded", cases), strict=True):
        check_weight_matrix(**case, names=got["names"], params=got["params"], count=got["count"], rng=rng)
        widget = BandedMatrix(**case)  # the Python side names the same cells
        assert got["names"] == widget.symbols() and got["count"] == widget.parameter_count()


@few
@given(st.sampled_from(MODES), st.integers(3, MAX_D), st.data())
def test_banded_symbols_are_the_reference(mode, D, data):
    K = data.draw(st.integers(1, D))
    widget = BandedMatrix(mode=mode, D=D, K=K)
    names = widget.symbols()
    if mode == "banded":
        w = np.random.default_rng(D * 10 + K).standard_normal(K)
        np.testing.assert_array_equal(matrix_of(names, w), sharing_matrix(w, D))
        assert widget.parameter_count() == K
    else:
        assert widget.parameter_count() == len({n for row in names for n in row})


# -- receptive: receptive_field and the cone of inputs ----------------------------------------------

@needs_node
def test_receptive_js_fields_and_cones_are_the_reference(tmp_path):
    rng, draw_int = random_settings(5)
    cases = [{"layers": draw_int(1, 6), "kernel": draw_int(1, 7), "stride": draw_int(1, 3),
              "dilation": str(rng.choice(DILATIONS)), "where": float(rng.random())} for _ in range(CASES)]
    drawn = 0
    for case, got in zip(cases, run_js(tmp_path, "receptive.js", "receptive", cases), strict=True):
        L, k, s = case["layers"], case["kernel"], case["stride"]
        widget = ReceptiveFieldExplorer(layers=L, kernel=k, stride=s, dilation=case["dilation"])
        assert got["dil"] == widget.dilations()
        assert got["field"][1:] == [receptive_field([k] * l, [s] * l, got["dil"][:l]) for l in range(1, L + 1)]
        assert got["field"][L] == widget.field_size()
        if got["inputs"] is not None:
            drawn += 1
            sizes, inputs = cone_reference(got["sizes"][0], k, s, got["dil"], got["unit"])
            assert got["sizes"] == sizes and got["inputs"] == inputs, case
            assert inputs[-1] - inputs[0] + 1 == got["field"][L]  # the field spans the cone
    assert drawn > CASES // 2


@few
@given(st.integers(1, 6), st.integers(1, 7), st.integers(1, 3), st.sampled_from(DILATIONS))
def test_receptive_field_size_is_the_reference(layers, kernel, stride, dilation):
    widget = ReceptiveFieldExplorer(layers=layers, kernel=kernel, stride=stride, dilation=dilation)
    expected = receptive_field([kernel] * layers, [stride] * layers, widget.dilations())
    assert widget.field_size() == expected


# -- maxpool: pooling and where its gradient goes ---------------------------------------------------

def pooling_case(draw_int, rng) -> dict:
    H, W = draw_int(2, 8), draw_int(2, 8)
    # small integers, so that windows often hold ties: the gradient goes to the first maximum
    return {"x": rng.integers(0, 5, size=(H, W)).tolist(), "kernel": draw_int(1, min(4, H, W)),
            "stride": draw_int(1, 4), "mode": str(rng.choice(["max", "avg"]))}


@needs_node
def test_maxpool_js_pooling_and_gradient_are_the_reference(tmp_path):
    rng, draw_int = random_settings(6)
    cases = [pooling_case(draw_int, rng) for _ in range(CASES)]
    for case, got in zip(cases, run_js(tmp_path, "maxpool.js", "maxpool", cases), strict=True):
        y, dx = pool_reference(**case)
        assert_close(got["y"], y, err_msg=str(case))
        assert_close(got["dx"], dx, err_msg=str(case))


@few
@given(seeded(pooling_case))
def test_pooling_widget_helpers_are_the_reference(case):
    widget = PoolingGradient(**case)
    y, dx = pool_reference(**case)
    assert_close(widget.pooled(), y)
    assert_close(widget.routed_gradient(), dx)


# -- channels: one filter over three channels -------------------------------------------------------

def channels_case(draw_int, rng) -> dict:
    H, W = draw_int(3, 10), draw_int(3, 10)
    return {"image": np.round(rng.random(H * W * 3), 3).tolist(), "height": H, "width": W,
            "weights": rng.uniform(-1, 1, 3).tolist(), "bias": float(rng.uniform(-1, 1)),
            "kernel": str(rng.choice(list(KERNELS)))}


@needs_node
def test_channels_js_mix_is_a_multichannel_correlation(tmp_path):
    rng, draw_int = random_settings(7)
    cases = [channels_case(draw_int, rng) for _ in range(CASES)]
    for case, got in zip(cases, run_js(tmp_path, "channels.js", "channels", cases), strict=True):
        photo = np.reshape(case["image"], (case["height"], case["width"], 3))
        kernel = KERNELS[case["kernel"]]
        np.testing.assert_array_equal(got["kernel"], kernel)
        assert_close(got["out"], mix_reference(photo, case["weights"], case["bias"], kernel))
        for c in range(3):
            assert_close(got["parts"][c], case["weights"][c] * corr2d(photo[:, :, c], kernel))


@few
@given(seeded(channels_case))
def test_channel_mixer_output_is_the_reference(case):
    photo = np.reshape(case["image"], (case["height"], case["width"], 3))
    widget = ChannelMixer(photo=photo, weights=case["weights"], bias=case["bias"], kernel=case["kernel"])
    np.testing.assert_array_equal(widget.photo(), photo)
    w, b = widget.filter()
    assert w.shape == (1, 3, *KERNELS[case["kernel"]].shape) and b.shape == (1,)
    expected = mix_reference(photo, case["weights"], case["bias"], KERNELS[case["kernel"]])
    assert_close(widget.output(), expected)


# -- transposed: overlap counts and the zero-inserted input -----------------------------------------

@needs_node
def test_transposed_js_counts_sources_and_zero_insertion_are_the_reference(tmp_path):
    rng, draw_int = random_settings(8)
    cases = []
    for _ in range(CASES):
        n, k, s, p = transposed_settings(draw_int)
        cases.append({"n": n, "kernel": k, "stride": s, "padding": p, "x": rng.standard_normal((n, n)).tolist()})
    for case, got in zip(cases, run_js(tmp_path, "transposed.js", "transposed", cases), strict=True):
        n, k, s, p = case["n"], case["kernel"], case["stride"], case["padding"]
        counts, reach = transposed_reference(n, k, s, p)
        assert got["out"] == counts.shape[0] == TransposedConvExplorer(n, k, s, p).output_side()
        np.testing.assert_array_equal(got["counts"], counts)
        for r in range(got["out"]):
            for c in range(got["out"]):
                assert got["sources"][r][c] == np.flatnonzero(reach[:, r, c]).tolist(), (case, r, c)
        # a stride-1 correlation with the flipped kernel over the zero-inserted input is conv_transpose2d
        x, w = np.array(case["x"]), rng.standard_normal((k, k))
        expected = conv_transpose2d(x[None, None], w[None, None], stride=s, padding=p)[0, 0]
        np.testing.assert_allclose(corr2d(np.array(got["big"]), w[::-1, ::-1]), expected, rtol=1e-10, atol=1e-12)


@few
@given(seeds)
def test_transposed_widget_helpers_are_the_reference(seed):
    rng, draw_int = random_settings(seed)
    n, k, s, p = transposed_settings(draw_int)
    widget = TransposedConvExplorer(n=n, kernel=k, stride=s, padding=p)
    counts, _ = transposed_reference(n, k, s, p)
    np.testing.assert_array_equal(widget.contributions(), counts)
    x, w = rng.standard_normal((n, n)), rng.standard_normal((k, k))
    expected = conv_transpose2d(x[None, None], w[None, None], stride=s, padding=p)[0, 0]
    np.testing.assert_allclose(corr2d(widget.zero_inserted(x), w[::-1, ::-1]), expected, rtol=1e-10, atol=1e-12)


# -- playground (read-only here): what playground.js exports ----------------------------------------

@needs_node
def test_playground_js_output_size_and_corr2d_are_the_reference(tmp_path):
    rng, draw_int = random_settings(9)
    cases = []
    for _ in range(CASES):
        h, w, kh, kw = draw_int(1, 10), draw_int(1, 10), draw_int(1, 5), draw_int(1, 5)
        cases.append({"image": rng.standard_normal(h * w).tolist(), "h": h, "w": w, "n": h, "k": kh,
                      "kernel": rng.standard_normal((kh, kw)).tolist(), "stride": draw_int(1, 4),
                      "dilation": draw_int(1, 3), "padding": [0, 1, 3, "valid", "same", "full"][draw_int(0, 5)]})
    fits = 0
    for case, got in zip(cases, run_js(tmp_path, "playground.js", "playground", cases), strict=True):
        options = {"stride": case["stride"], "padding": case["padding"], "dilation": case["dilation"]}
        try:
            expected = corr2d(np.reshape(case["image"], (case["h"], case["w"])), np.array(case["kernel"]), **options)
        except ValueError:
            assert "error" in got, case
            continue
        fits += 1
        assert got["length"] == conv_output_size(case["n"], case["k"], **options) == expected.shape[0]
        assert_close(np.reshape(got["values"], got["shape"]), expected)
    assert fits > CASES // 2


# -- fgsm: the attacked image ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fgsm_explorer():
    """An explorer built with the reference `fgsm` on a tiny linear classifier of 6x6 images."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 10))
    images = torch.randint(0, 256, (3, 1, 6, 6)) / 255.0  # whole grey levels survive the widget's bytes
    labels = torch.tensor([1, 7, 3])
    eps_values = [0.0, 0.05, 0.1, 0.3]
    return FGSMExplorer.from_model(model, images, labels, fgsm, eps_values=eps_values), model, images, labels


def test_fgsm_explorer_attacked_image_is_the_reference(fgsm_explorer):
    widget, model, images, labels = fgsm_explorer
    assert len(widget.probabilities) == 3 and len(widget.probabilities[0]) == 4
    for digit in range(3):
        for e, eps in enumerate(widget.eps_values):
            widget.digit, widget.eps_index = digit, e
            expected = fgsm(model, images, labels, eps)[digit, 0].double().numpy()
            np.testing.assert_allclose(widget.attacked(), expected, atol=1e-6)


@needs_node
def test_fgsm_js_attacked_image_is_the_pythons(tmp_path, fgsm_explorer):
    widget = fgsm_explorer[0]
    shape = (len(widget.labels), widget.height, widget.width)
    images = np.frombuffer(base64.b64decode(widget.images_b64), np.uint8).reshape(shape) / 255
    signs = np.frombuffer(base64.b64decode(widget.signs_b64), np.uint8).reshape(shape) - 1.0
    cases = [{"digit": d, "eps_index": e, "x": images[d].ravel().tolist(), "sign": signs[d].ravel().tolist(),
              "eps": eps} for d in range(shape[0]) for e, eps in enumerate(widget.eps_values)]
    for case, got in zip(cases, run_js(tmp_path, "fgsm.js", "fgsm", cases), strict=True):
        widget.digit, widget.eps_index = case["digit"], case["eps_index"]
        np.testing.assert_array_equal(np.reshape(got, shape[1:]), widget.attacked())


# -- bad arguments never reach the browser ----------------------------------------------------------

@pytest.mark.parametrize("widget, kwargs, message", [
    (BandedMatrix, {"mode": "sparse"}, "mode must be one of"),
    (BandedMatrix, {"D": 13}, "D must be between"),
    (BandedMatrix, {"D": 5, "K": 6}, "K must be between"),
    (ReceptiveFieldExplorer, {"layers": 7}, "layers must be between"),
    (ReceptiveFieldExplorer, {"dilation": "3"}, "dilation must be one of"),
    (SlidingWindow1D, {"x": [1.0, 2.0], "w": [1.0, 2.0, 3.0]}, "w must hold"),
    (SlidingWindow1D, {"x": [1.0, 2.0], "w": [1.0], "stride": 0}, "stride must be"),
    (SlidingWindow1D, {"x": [1.0, 2.0], "w": [1.0], "padding": "middle"}, "padding must be"),
    (PoolingGradient, {"x": [[1, 2, 3]]}, "rectangular grid"),
    (PoolingGradient, {"mode": "median"}, "mode must be one of"),
    (ChannelMixer, {"photo": np.zeros((4, 4)), "kernel": "3x3 blur"}, "photo must be"),
    (ChannelMixer, {"photo": np.zeros((4, 4, 3)), "kernel": "5x5"}, "kernel must be one of"),
    (TransposedConvExplorer, {"stride": 4}, "stride must be"),
    (TransposedConvExplorer, {"kernel": 2, "padding": 2}, "padding must be at most"),
    (FGSMExplorer, {"images": np.zeros((1, 2, 2)), "signs": np.full((1, 2, 2), 2.0),
                    "probabilities": np.zeros((1, 1, 2)), "eps_values": [0.1], "labels": [0]}, "signs must be"),
])
def test_widgets_refuse_bad_arguments(widget, kwargs, message):
    with pytest.raises(ValueError, match=message):
        widget(**kwargs)


# -- playground: what the page carries ---------------------------------------------------------------

def test_playground_sends_its_photos_as_bytes():
    """The browser gets each photo's pixels as base64 bytes (not a JSON list: a quarter of the
    page weight), and decodes exactly the pixels Python holds."""
    from cnnbook.widgets.playground import KernelPlayground

    widget = KernelPlayground(size=16)
    assert set(widget.photos_b64) == set(widget.photos)
    for name, pixels in widget.photos.items():
        assert list(base64.b64decode(widget.photos_b64[name])) == list(pixels)
    state = widget.get_state()
    assert "photos_b64" in state and "photos" not in state
    widget.photos = {"flat": [7] * 256}
    assert base64.b64decode(widget.photos_b64["flat"]) == bytes([7] * 256)
