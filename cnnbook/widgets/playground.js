// The kernel playground's browser side: all the computing happens here, so the widget works the
// same in JupyterLab and in the static book (where no kernel exists). The Python side
// (playground.py) supplies the photos and presets and reads `output` / `output_shape` back.
//
// Conventions are the course's (COURSE.md): cross-correlation (no flip), zero padding,
// 'same' = total d*(k-1) with total // 2 before and the rest after, 'full' = d*(k-1) each side,
// output length floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1.

const PADDING_MODES = ["valid", "same", "full"];
const MAX_KERNEL = 7;
const MAX_STEP = 4;
const MAX_PADDING = 4;
const PIXEL = 3; // CSS pixels per image pixel, the same for input and output so sizes compare

// ---- pure functions ----------------------------------------------------------------------

/** Zero padding [before, after] along one axis for kernel length k and dilation d. */
export function paddingAmounts(padding, k, d) {
  const total = d * (k - 1);
  if (padding === "valid") return [0, 0];
  if (padding === "same") return [Math.floor(total / 2), total - Math.floor(total / 2)];
  if (padding === "full") return [total, total];
  return [padding, padding];
}

/** floor((n + before + after - d*(k-1) - 1) / s) + 1; at most 0 when the kernel does not fit. */
export function outputLength(n, k, s, [before, after], d) {
  return Math.floor((n + before + after - d * (k - 1) - 1) / s) + 1;
}

/** Cross-correlate image (Float64Array, h x w) with kernel rows; returns {values, oh, ow}. */
export function corr2d(image, h, w, kernel, stride, padding, dilation) {
  const kh = kernel.length, kw = kernel[0].length;
  const [top, bottom] = paddingAmounts(padding, kh, dilation);
  const [left, right] = paddingAmounts(padding, kw, dilation);
  const oh = outputLength(h, kh, stride, [top, bottom], dilation);
  const ow = outputLength(w, kw, stride, [left, right], dilation);
  if (oh < 1 || ow < 1) {
    throw new Error(`the dilated kernel (${dilation * (kh - 1) + 1} x ${dilation * (kw - 1) + 1}) ` +
      `is larger than the padded input (${h + top + bottom} x ${w + left + right})`);
  }
  const values = new Float64Array(oh * ow);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      let acc = 0;
      for (let a = 0; a < kh; a++) {
        const r = i * stride + a * dilation - top; // row in the unpadded image
        if (r < 0 || r >= h) continue; // a zero of the padding
        for (let b = 0; b < kw; b++) {
          const c = j * stride + b * dilation - left;
          if (c < 0 || c >= w) continue;
          acc += image[r * w + c] * kernel[a][b];
        }
      }
      values[i * ow + j] = acc;
    }
  }
  return { values, oh, ow };
}

/** Grey level 0..255 of an output value: 'clip' shows [0, 1]; 'signed' puts 0 at mid-grey. */
export function greyLevels(values, mode) {
  let scale = 1;
  if (mode === "signed") {
    scale = 0;
    for (const v of values) scale = Math.max(scale, Math.abs(v));
    scale = scale > 0 ? scale : 1;
  }
  return Array.from(values, (v) => {
    const g = mode === "signed" ? 0.5 + 0.5 * v / scale : v;
    return Math.round(255 * Math.min(1, Math.max(0, g)));
  });
}

/** The output-size formula for one axis, with the numbers filled in. */
function formulaText(axis, n, k, s, [before, after], d) {
  const pad = before === after ? `2·${before}` : `${before} + ${after}`;
  const out = outputLength(n, k, s, [before, after], d);
  return `${axis}′ = ⌊(${n} + ${pad} − ${d}·(${k} − 1) − 1) / ${s}⌋ + 1 = ${out}`;
}

function ordinal(n) {
  return { 2: "2nd", 3: "3rd" }[n] || `${n}th`;
}

/** The bytes of a base64 string, as a Uint8Array. */
export function decodeBytes(b64) {
  const raw = atob(b64);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function formatNumber(v) {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 10000) / 10000);
}

// ---- DOM helpers -------------------------------------------------------------------------

function make(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

function labelled(text, control, note) {
  return make("label", { class: "cnnpg-control" }, [make("span", { text }), control, note || ""]);
}

function slider(min, max, value) {
  return make("input", { type: "range", min, max, step: 1, value });
}

function select(options, value) {
  const node = make("select", {}, options.map((o) => make("option", { value: o, text: o })));
  node.value = value;
  return node;
}

function drawGrey(canvas, levels, h, w) {
  canvas.width = w;
  canvas.height = h;
  canvas.style.width = `${w * PIXEL}px`;
  canvas.style.height = `${h * PIXEL}px`;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  levels.forEach((g, i) => {
    img.data.set([g, g, g, 255], 4 * i);
  });
  ctx.putImageData(img, 0, 0);
}

// ---- the widget ----------------------------------------------------------------------------

function render({ model, el }) {
  const root = make("div", { class: "cnnpg", role: "group", "aria-label": "Kernel playground" });
  el.append(root);

  // controls
  const photos = () => model.get("photos_b64");  // name -> base64 of size*size bytes
  const photoSelect = select(Object.keys(photos()), model.get("photo"));
  const presetSelect = select([...Object.keys(model.get("presets")), "custom"], model.get("preset"));
  const rowsSelect = select([...Array(MAX_KERNEL).keys()].map((i) => String(i + 1)), "3");
  const colsSelect = select([...Array(MAX_KERNEL).keys()].map((i) => String(i + 1)), "3");
  // two controls under one visible label: each gets its own name
  rowsSelect.setAttribute("aria-label", "kernel rows");
  colsSelect.setAttribute("aria-label", "kernel columns");
  const strideSlider = slider(1, MAX_STEP, model.get("stride"));
  const paddingMode = select(["number", ...PADDING_MODES], "number");
  const paddingSlider = slider(0, MAX_PADDING, 0);
  paddingMode.setAttribute("aria-label", "padding mode");
  paddingSlider.setAttribute("aria-label", "padding, zeros on each side");
  const dilationSlider = slider(1, MAX_STEP, model.get("dilation"));
  const displaySelect = select(["clip", "signed"], model.get("display_mode"));
  const strideValue = make("output"), paddingValue = make("output"), dilationValue = make("output");
  for (const [node, name] of [[photoSelect, "photo"], [presetSelect, "preset"], [strideSlider, "stride"],
    [paddingMode, "padding-mode"], [paddingSlider, "padding"], [dilationSlider, "dilation"],
    [displaySelect, "display"], [rowsSelect, "kernel-rows"], [colsSelect, "kernel-cols"]]) {
    node.setAttribute("data-control", name);
  }

  // panels
  const inputCanvas = make("canvas", { class: "cnnpg-image", role: "img", "aria-label": "input photo", "data-panel": "input" });
  const outputCanvas = make("canvas", { class: "cnnpg-image", role: "img", "aria-label": "output image", "data-panel": "output" });
  // a group of labelled number inputs (not role=grid, whose cells would have to be gridcells)
  const grid = make("div", { class: "cnnpg-kernel", role: "group", "aria-label": "kernel" });
  const inputCaption = make("figcaption", { class: "cnnpg-caption" });
  const outputCaption = make("figcaption", { class: "cnnpg-caption" });
  // what a screen reader says after each change: the result in words
  const status = make("div", { class: "cnnpg-status", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  const sizeLine = make("div", { class: "cnnpg-size" });
  const formula = make("div", { class: "cnnpg-formula" });
  const errorLine = make("div", { class: "cnnpg-error", role: "alert" });

  root.append(
    make("div", { class: "cnnpg-controls" }, [
      labelled("photo", photoSelect),
      labelled("kernel", presetSelect),
      labelled("size", make("span", { class: "cnnpg-shape" }, [rowsSelect, " × ", colsSelect])),
      labelled("stride", strideSlider, strideValue),
      labelled("padding", make("span", { class: "cnnpg-shape" }, [paddingMode, paddingSlider]), paddingValue),
      labelled("dilation", dilationSlider, dilationValue),
      labelled("show output", displaySelect),
    ]),
    make("div", { class: "cnnpg-panels" }, [
      make("figure", { class: "cnnpg-panel" }, [inputCanvas, inputCaption]),
      make("div", { class: "cnnpg-op", text: "⋆" }),
      make("figure", { class: "cnnpg-panel" }, [grid, make("figcaption", { class: "cnnpg-caption", text: "kernel (edit any cell)" })]),
      make("div", { class: "cnnpg-op", text: "=" }),
      make("figure", { class: "cnnpg-panel" }, [outputCanvas, outputCaption]),
    ]),
    sizeLine, formula, errorLine, status,
  );

  function kernel() {
    return model.get("kernel");
  }

  function buildGrid() {
    const k = kernel();
    grid.replaceChildren();
    grid.style.gridTemplateColumns = `repeat(${k[0].length}, auto)`;
    grid.setAttribute("aria-label", `kernel, ${k.length} × ${k[0].length}: edit any cell`);
    const scale = Math.max(1e-12, ...k.flat().map(Math.abs));
    k.forEach((row, a) => row.forEach((v, b) => {
      const cell = make("input", {
        type: "number", step: "any", value: formatNumber(v), class: "cnnpg-cell",
        "aria-label": `kernel row ${a + 1} column ${b + 1}`, "data-row": a, "data-col": b,
      });
      // colour says sign and size: blue negative, red positive; a solid tint of white under dark
      // text, so the contrast is the same in a light and a dark theme (at least 7:1)
      const t = 0.45 * Math.abs(v) / scale;
      const hue = v >= 0 ? [220, 60, 40] : [40, 90, 220];
      const tint = (c) => Math.round(255 + (c - 255) * t);
      cell.style.backgroundColor = `rgb(${hue.map(tint).join(", ")})`;
      cell.style.color = "#111";
      cell.addEventListener("change", () => {
        const value = Number.parseFloat(cell.value);
        if (!Number.isFinite(value)) { cell.value = formatNumber(kernel()[a][b]); return; }
        const next = kernel().map((r) => r.slice());
        next[a][b] = value;
        model.set("kernel", next);
        model.set("preset", "custom");
        model.save_changes();
      });
      grid.append(cell);
    }));
    rowsSelect.value = String(k.length);
    colsSelect.value = String(k[0].length);
  }

  function resizeKernel() {
    const rows = Number(rowsSelect.value), cols = Number(colsSelect.value), k = kernel();
    // keep the old values centred in the new shape
    const dr = Math.floor((rows - k.length) / 2), dc = Math.floor((cols - k[0].length) / 2);
    const next = Array.from({ length: rows }, (_, a) => Array.from({ length: cols }, (_, b) => {
      const r = a - dr, c = b - dc;
      return r >= 0 && r < k.length && c >= 0 && c < k[0].length ? k[r][c] : 0;
    }));
    model.set("kernel", next);
    model.set("preset", "custom");
    model.save_changes();
  }

  function update() {
    const n = model.get("size");
    const pixels = decodeBytes(photos()[model.get("photo")]);
    const image = Float64Array.from(pixels, (p) => p / 255);
    const k = kernel();
    const stride = model.get("stride"), dilation = model.get("dilation"), padding = model.get("padding");
    const mode = model.get("display_mode");

    photoSelect.value = model.get("photo");
    presetSelect.value = model.get("preset");
    strideSlider.value = stride;
    dilationSlider.value = dilation;
    displaySelect.value = mode;
    paddingMode.value = typeof padding === "string" ? padding : "number";
    paddingSlider.disabled = typeof padding === "string";
    if (typeof padding !== "string") paddingSlider.value = padding;
    strideValue.textContent = String(stride);
    dilationValue.textContent = String(dilation);
    paddingValue.textContent = typeof padding === "string" ? "" : String(padding);
    strideSlider.setAttribute("aria-valuetext", `stride ${stride}: every ${stride === 1 ? "" : ordinal(stride) + " "}position`);
    dilationSlider.setAttribute("aria-valuetext", `dilation ${dilation}: taps ${dilation} pixel${dilation > 1 ? "s" : ""} apart`);
    paddingSlider.setAttribute("aria-valuetext", typeof padding === "string" ? `${padding} padding`
      : `${paddingSlider.value} zero${paddingSlider.value === "1" ? "" : "s"} on each side`);

    drawGrey(inputCanvas, pixels, n, n);
    inputCaption.textContent = `input ${n} × ${n}`;
    inputCanvas.setAttribute("aria-label", `input: the ${model.get("photo")} photo, ${n} × ${n} pixels`);

    const kh = k.length, kw = k[0].length;
    const rowPad = paddingAmounts(padding, kh, dilation), colPad = paddingAmounts(padding, kw, dilation);
    formula.replaceChildren(
      make("div", { text: formulaText("H", n, kh, stride, rowPad, dilation) }),
      make("div", { text: formulaText("W", n, kw, stride, colPad, dilation) }),
    );
    // what was computed and from what: on the root element for tests in a browser, in the
    // traits for Python (save_changes is a no-op without a kernel, as in the static book)
    const publish = (output, shape, error) => {
      root.dataset.outputShape = error ? "" : `${shape[0]}x${shape[1]}`;
      root.playground = { output, shape, image: Array.from(image), kernel: k, stride, padding, dilation, mode };
      model.set("error", error);
      model.set("output", output);
      model.set("output_shape", shape);
      model.save_changes();
    };
    let result;
    try {
      result = corr2d(image, n, n, k, stride, padding, dilation);
    } catch (err) {
      errorLine.textContent = err.message;
      outputCanvas.width = outputCanvas.height = 0;
      outputCanvas.setAttribute("aria-label", "output image: none");
      sizeLine.textContent = "output size: none";
      status.textContent = `No output: ${err.message}.`;
      publish([], [0, 0], err.message);
      return;
    }
    errorLine.textContent = "";
    const { values, oh, ow } = result;
    drawGrey(outputCanvas, greyLevels(values, mode), oh, ow);
    outputCaption.textContent = `output ${oh} × ${ow}`;
    sizeLine.textContent = `output size: ${oh} × ${ow}`;
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const preset = model.get("preset");
    const what = `the ${model.get("photo")} photo cross-correlated with ${preset === "custom" ? "your" : `the ${preset}`} ` +
      `kernel (${kh} × ${kw}), stride ${stride}, padding ${padding}, dilation ${dilation}; values from ` +
      `${formatNumber(lo)} to ${formatNumber(hi)}, drawn ${mode === "signed" ? "with zero as mid-grey" : "clipped to 0…1"}`;
    outputCanvas.setAttribute("aria-label", `output image, ${oh} × ${ow}: ${what}`);
    status.textContent = `Output ${oh} × ${ow}: ${what}.`;
    publish(Array.from(values), [oh, ow], "");
  }

  // control -> model
  photoSelect.addEventListener("change", () => { model.set("photo", photoSelect.value); model.save_changes(); });
  presetSelect.addEventListener("change", () => {
    const preset = model.get("presets")[presetSelect.value];
    if (!preset) return; // "custom" is only a label
    model.set("kernel", preset.kernel);
    model.set("display_mode", preset.display);
    model.set("preset", presetSelect.value);
    model.save_changes();
  });
  rowsSelect.addEventListener("change", resizeKernel);
  colsSelect.addEventListener("change", resizeKernel);
  strideSlider.addEventListener("input", () => { model.set("stride", Number(strideSlider.value)); model.save_changes(); });
  dilationSlider.addEventListener("input", () => { model.set("dilation", Number(dilationSlider.value)); model.save_changes(); });
  paddingSlider.addEventListener("input", () => { model.set("padding", Number(paddingSlider.value)); model.save_changes(); });
  paddingMode.addEventListener("change", () => {
    model.set("padding", paddingMode.value === "number" ? Number(paddingSlider.value) : paddingMode.value);
    model.save_changes();
  });
  displaySelect.addEventListener("change", () => { model.set("display_mode", displaySelect.value); model.save_changes(); });

  // model -> view (also when Python changes a trait)
  const onKernel = () => { buildGrid(); update(); };
  const onOther = () => update();
  model.on("change:kernel", onKernel);
  for (const name of ["photo", "preset", "stride", "padding", "dilation", "display_mode"]) {
    model.on(`change:${name}`, onOther);
  }
  buildGrid();
  update();

  return () => {
    model.off("change:kernel", onKernel);
    for (const name of ["photo", "preset", "stride", "padding", "dilation", "display_mode"]) {
      model.off(`change:${name}`, onOther);
    }
  };
}

export default { render };
