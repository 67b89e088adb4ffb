// Channel mixer: one filter of a convolution layer over a colour photo. The filter's slice for
// channel c is weight[c] times a chosen K x K kernel, plus one bias, so the output map is
// y = b + sum_c weight[c] * (x_c correlated with kernel) (valid padding). The three weighted
// channel maps and their sum are drawn next to the photo; sliders and presets change the filter.

import { describeCanvas, ensureStyle, label, liveRegion, paintPixels, range, select, setter } from "./_ui.js";

export const KERNELS = {
  "1x1 (no spatial extent)": [[1]],
  "3x3 blur": [[1 / 9, 1 / 9, 1 / 9], [1 / 9, 1 / 9, 1 / 9], [1 / 9, 1 / 9, 1 / 9]],
  "3x3 vertical edges (Sobel)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
  "3x3 horizontal edges (Sobel)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
};

export const PRESETS = {
  "grey": [[0.299, 0.587, 0.114], 0],
  "red − green": [[1, -1, 0], 0],
  "blue − yellow": [[-0.5, -0.5, 1], 0],
  "red only": [[1, 0, 0], 0],
};

// image: flat [H * W * 3] values in [0, 1], row-major, colour last. Returns
// { parts: [3][H'][W'] weighted channel maps, out: [H'][W'] their sum plus bias }.
export function mix(image, height, width, weights, bias, kernel) {
  const K = kernel.length, Ho = height - K + 1, Wo = width - K + 1;
  const parts = [0, 1, 2].map(() => Array.from({ length: Ho }, () => new Float64Array(Wo)));
  const out = Array.from({ length: Ho }, () => new Float64Array(Wo).fill(bias));
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
      let sum = 0;
      for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) sum += kernel[a][b] * image[((i + a) * width + j + b) * 3 + c];
      parts[c][i][j] = weights[c] * sum;
      out[i][j] += weights[c] * sum;
    }
  }
  return { parts, out };
}

function draw(canvas, map, scale) {
  // diverging colours: blue negative, white zero, red positive, scaled by `scale`
  const h = map.length, w = map[0].length;
  paintPixels(canvas, h, w, (p) => {
    const t = Math.max(-1, Math.min(1, map[Math.floor(p / w)][p % w] / (scale || 1)));
    return [t < 0 ? 255 * (1 + t) : 255, 255 * (1 - Math.abs(t)), t > 0 ? 255 * (1 - t) : 255];
  });
}

function drawPhoto(canvas, image, height, width) {
  paintPixels(canvas, height, width, (p) => [0, 1, 2].map((c) => 255 * image[p * 3 + c]));
}

function panel(title, size) {
  const box = document.createElement("div");
  box.style.display = "inline-block";
  box.style.margin = "0 10px 6px 0";
  box.style.textAlign = "center";
  box.style.fontSize = "12px";
  const canvas = document.createElement("canvas");
  canvas.style.width = canvas.style.height = `${size}px`;
  canvas.style.imageRendering = "pixelated";
  canvas.style.border = "1px solid #bbb";
  const caption = document.createElement("div");
  caption.textContent = title;
  box.append(canvas, caption);
  return { box, canvas, caption };
}

function slider(text, min, max, step) {
  const input = range(min, max, step);
  return { label: label(text, input, { valueWidth: "3em", format: (v) => Number(v).toFixed(2) }), input };
}

function extent(map) {
  let lo = Infinity, hi = -Infinity;
  for (const row of map) for (const v of row) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return `values from ${lo.toFixed(2)} to ${hi.toFixed(2)}`;
}

function render({ model, el }) {
  ensureStyle();
  const root = document.createElement("div");
  root.className = "cnnbook-widget cnnbook-channels";
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "Channel mixer: one filter over a colour photo");
  const set = setter(model);
  const presets = document.createElement("div");
  presets.style.margin = "4px 0";
  presets.append("filter presets: ");
  for (const name of Object.keys(PRESETS)) {
    const button = document.createElement("button");
    button.textContent = name;
    button.style.marginRight = "6px";
    button.addEventListener("click", () => {
      set("weights", PRESETS[name][0].slice()); set("bias", PRESETS[name][1]);
    });
    presets.append(button);
  }
  const controls = document.createElement("div");
  const sliders = ["red", "green", "blue"].map((c) => slider(`w_${c}`, -1, 1, 0.05));
  const bias = slider("bias b", -1, 1, 0.05);
  const kernel = select(Object.keys(KERNELS).map((name) => [name, name]));
  controls.append(...sliders.map((s) => s.label), bias.label, label("kernel", kernel));
  const pictures = document.createElement("div");
  const size = 150;
  const photo = panel("input x: 3 channels", size);
  const parts = ["red", "green", "blue"].map((c) => panel(`w_${c} · (x_${c} ⋆ k)`, size));
  const out = panel("output map y", size);
  pictures.append(photo.box, ...parts.map((p) => p.box), out.box);
  const text = liveRegion("cnnbook-result");
  root.append(presets, controls, pictures, text);
  el.append(root);

  function update() {
    const H = model.get("height"), W = model.get("width"), image = model.get("image");
    const weights = model.get("weights"), b = model.get("bias"), name = model.get("kernel");
    sliders.forEach((s, c) => { s.input.value = weights[c]; s.input.showValue(); });
    bias.input.value = b; bias.input.showValue();
    kernel.value = name;
    const k = KERNELS[name] || KERNELS["1x1 (no spatial extent)"];
    const result = mix(image, H, W, weights, b, k);
    let scale = 1e-9;
    for (const m of [...result.parts, result.out]) for (const row of m) for (const v of row) scale = Math.max(scale, Math.abs(v));
    drawPhoto(photo.canvas, image, H, W);
    result.parts.forEach((m, c) => draw(parts[c].canvas, m, scale));
    draw(out.canvas, result.out, scale);
    const K = k.length, colours = ["red", "green", "blue"];
    describeCanvas(photo.canvas, `the input photo, ${H}×${W} pixels, 3 colour channels`);
    result.parts.forEach((m, c) => describeCanvas(parts[c].canvas, `channel ${colours[c]} correlated with the ` +
      `${name} kernel, times w_${colours[c]} = ${weights[c].toFixed(2)}: ${extent(m)}`));
    describeCanvas(out.canvas, `the output map y, ${H - K + 1}×${W - K + 1}, the sum of the three plus b = ` +
      `${b.toFixed(2)}: ${extent(result.out)} (red positive, blue negative)`);
    text.textContent = `Filter w = (${weights.map((w) => w.toFixed(2)).join(", ")}), b = ${b.toFixed(2)}: the ` +
      `output map y has ${extent(result.out)}. `;
    text.innerHTML += `Output map ${H - K + 1}×${W - K + 1} (valid padding; red positive, blue negative, one colour scale ` +
      `for all four maps). This filter has ${3 * K * K} weights (3 channels × ${K}×${K}) and 1 bias: ` +
      `(K²C + 1) = ${3 * K * K + 1} parameters, whatever the size of the photo. A layer holds F such filters.`;
  }

  sliders.forEach((s, c) => s.input.addEventListener("input", () => {
    const weights = model.get("weights").slice();
    weights[c] = Number(s.input.value);
    set("weights", weights);
  }));
  bias.input.addEventListener("input", () => set("bias", Number(bias.input.value)));
  kernel.addEventListener("change", () => set("kernel", kernel.value));
  for (const name of ["weights", "bias", "kernel", "image"]) model.on(`change:${name}`, update);
  update();
}

export default { render };
