// Transposed-convolution explorer. Three grids: the small input, the larger output (each cell shows
// how many (input pixel, kernel tap) pairs land on it), and the same output computed the other way,
// as a stride-1 correlation with the flipped kernel over the input with s-1 zeros inserted between
// its pixels and k-1-p zeros of padding around it. Click an input pixel (or choose it in the
// "inspect" menu) to see the k x k patch it spreads over; click or choose an output pixel to see
// the window that computes it and the inputs in it.
// Input pixel (i, j) with tap (a, b) lands on uncropped output (s*i + a, s*j + b); padding p then
// cuts p rows and columns from every border.

import { frame, label, range, select, setOptions, setter, showPicture, svgStart } from "./_ui.js";

export function geometry(n, k, s, p) {
  const full = (n - 1) * s + k;            // output side before the padding is cut
  const out = full - 2 * p;                // output side: (n - 1) s - 2p + k
  const pad = k - 1 - p;                   // padding of the zero-inserted input
  const spread = (n - 1) * s + 1;          // zero-inserted input side
  return { n, k, s, p, full, out, pad, spread, big: spread + 2 * pad };
}

// counts[r][c]: pairs landing on output pixel (r, c) (cropped coordinates)
export function contributions(g) {
  const counts = Array.from({ length: g.out }, () => Array(g.out).fill(0));
  for (let i = 0; i < g.n; i++) for (let j = 0; j < g.n; j++)
    for (let a = 0; a < g.k; a++) for (let b = 0; b < g.k; b++) {
      const r = g.s * i + a - g.p, c = g.s * j + b - g.p;
      if (r >= 0 && r < g.out && c >= 0 && c < g.out) counts[r][c] += 1;
    }
  return counts;
}

// the input pixels (as [i, j]) that reach output pixel (r, c)
export function sources(g, r, c) {
  const found = [];
  for (let i = 0; i < g.n; i++) for (let j = 0; j < g.n; j++) {
    const a = r + g.p - g.s * i, b = c + g.p - g.s * j;
    if (a >= 0 && a < g.k && b >= 0 && b < g.k) found.push([i, j]);
  }
  return found;
}

// what sits at (u, v) of the padded, zero-inserted input: ["pixel", i, j] | ["inserted"] | ["pad"]
export function bigCell(g, u, v) {
  const y = u - g.pad, x = v - g.pad;
  if (y < 0 || x < 0 || y >= g.spread || x >= g.spread) return ["pad"];
  if (y % g.s || x % g.s) return ["inserted"];
  return ["pixel", y / g.s, x / g.s];
}

const NAMES = "abcdefghijklmnopqrstuvwxy";
const CELL = 26;

function blue(t) {
  // white (t = 0) to a mid blue (t = 1)
  const mix = (lo, hi) => Math.round(lo + (hi - lo) * t);
  return `rgb(${mix(255, 70)},${mix(255, 140)},${mix(255, 210)})`;
}

function grid(x0, y0, side, cellFn, title) {
  let svg = `<text x="${x0}" y="${y0 - 8}" font-size="12" fill="#333">${title}</text>`;
  for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) {
    const { fill, text, data, color } = cellFn(r, c);
    svg += `<rect x="${x0 + c * CELL}" y="${y0 + r * CELL}" width="${CELL}" height="${CELL}" fill="${fill}" ` +
      `stroke="#999" stroke-width="0.5" ${data || ""} style="cursor:pointer"/>`;
    if (text !== "") svg += `<text x="${x0 + c * CELL + CELL / 2}" y="${y0 + r * CELL + CELL / 2 + 4}" font-size="11" ` +
      `text-anchor="middle" fill="${color || "#222"}" pointer-events="none">${text}</text>`;
  }
  return svg;
}

function outline(x0, y0, r, c, h, w, color) {
  return `<rect x="${x0 + c * CELL}" y="${y0 + r * CELL}" width="${w * CELL}" height="${h * CELL}" fill="none" ` +
    `stroke="${color}" stroke-width="3" pointer-events="none"/>`;
}

function render({ model, el }) {
  const { bar, picture, text } = frame(el, "cnnbook-transposed", "Transposed convolution explorer");
  const size = range(2, 5), kernel = range(1, 5), stride = range(1, 3), padding = range(0, 4);
  const inspect = select([]);
  const small = { valueWidth: "1.2em" };
  bar.append(label("input side", size, small), label("kernel", kernel, small), label("stride", stride, small),
    label("padding", padding, small), label("inspect", inspect));

  function update() {
    const n = model.get("n"), k = model.get("kernel"), s = model.get("stride");
    const p = Math.min(model.get("padding"), k - 1);   // more would crop the zero-inserted input
    size.value = n; kernel.value = k; stride.value = s; padding.value = p;
    for (const r of [size, kernel, stride, padding]) r.showValue();
    const g = geometry(n, k, s, p);
    if (g.out <= 0) {
      picture.innerHTML = "";
      setOptions(inspect, [], "");
      text.innerHTML = `<span class="cnnbook-error">Padding ${p} leaves no output; lower it.</span>`;
      return;
    }
    const counts = contributions(g);
    const flat = counts.flat(), most = Math.max(...flat), least = Math.min(...flat);
    let inp = model.get("selected_input"), outSel = model.get("selected_output");
    if (inp < 0 || inp >= n * n) inp = -1;
    if (outSel < 0 || outSel >= g.out * g.out) outSel = -1;
    if (inp < 0 && outSel < 0) inp = Math.floor(n / 2) * n + Math.floor(n / 2);
    const [oi, oj] = outSel >= 0 ? [Math.floor(outSel / g.out), outSel % g.out] : [-1, -1];
    const feeding = new Set(outSel >= 0 ? sources(g, oi, oj).map(([i, j]) => i * n + j) : []);
    const choices = [];
    for (let id = 0; id < n * n; id++) choices.push([`input:${id}`, `input pixel ${NAMES[id]}`]);
    for (let id = 0; id < g.out * g.out; id++) {
      choices.push([`output:${id}`, `output pixel (${Math.floor(id / g.out)}, ${id % g.out})`]);
    }
    setOptions(inspect, choices, outSel >= 0 ? `output:${outSel}` : `input:${inp}`);

    const xA = 10, xB = xA + n * CELL + 50, xC = xB + g.out * CELL + 50, top = 36;
    const height = top + Math.max(n, g.out, g.big) * CELL + 12;
    const width = xC + g.big * CELL + 10;
    let svg = svgStart(width, height);
    svg += grid(xA, top, n, (r, c) => {
      const id = r * n + c;
      const lit = id === inp || feeding.has(id);
      return { fill: lit ? "#ffb000" : "#cfe3f7", text: NAMES[id], data: `data-input="${id}"` };
    }, `input ${n}×${n}`);
    svg += grid(xB, top, g.out, (r, c) => ({
      fill: blue(most ? counts[r][c] / most : 0), text: String(counts[r][c]), data: `data-output="${r * g.out + c}"`,
    }), `output ${g.out}×${g.out} (pairs per pixel)`);
    if (inp >= 0) {   // the patch this input pixel spreads over, clipped to the cropped output
      const i = Math.floor(inp / n), j = inp % n;
      const r0 = Math.max(0, s * i - p), c0 = Math.max(0, s * j - p);
      const r1 = Math.min(g.out, s * i - p + k), c1 = Math.min(g.out, s * j - p + k);
      if (r1 > r0 && c1 > c0) svg += outline(xB, top, r0, c0, r1 - r0, c1 - c0, "#e07b00");
    }
    if (outSel >= 0) svg += outline(xB, top, oi, oj, 1, 1, "#2a9d2a");
    svg += grid(xC, top, g.big, (u, v) => {
      const [kind, i, j] = bigCell(g, u, v);
      if (kind === "pixel") {
        const id = i * n + j;
        return { fill: id === inp || feeding.has(id) ? "#ffb000" : "#cfe3f7", text: NAMES[id], data: "" };
      }
      return { fill: kind === "pad" ? "#eeeeee" : "#ffffff", text: "0", color: "#666", data: "" };
    }, `zeros inserted (${s - 1}) and padded (${g.pad}): ${g.big}×${g.big}`);
    if (outSel >= 0) svg += outline(xC, top, oi, oj, k, k, "#2a9d2a");
    svg += "</svg>";

    const even = least === most ? "every output pixel receives the same number" :
      `output pixels receive between ${least} and ${most} contributions` +
      (k % s ? ` (kernel ${k} is not a multiple of stride ${s}: a checkerboard)` : " (only the border differs)");
    const selected = outSel >= 0
      ? `Output (${oi}, ${oj}) is the flipped kernel applied to the green ${k}×${k} window on the right: ` +
        `it reads input pixels ${[...feeding].map((id) => NAMES[id]).join(", ") || "none (only zeros)"}.`
      : `Input pixel ${NAMES[inp]} adds kernel × its value into the orange ${k}×${k} patch (click or inspect an ` +
        "output pixel to see which inputs reach it).";
    const where = outSel >= 0
      ? `output pixel (${oi}, ${oj}) is chosen: the ${k}×${k} window over the zero-inserted input that computes it ` +
        `holds input pixels ${[...feeding].map((id) => NAMES[id]).join(", ") || "none"}`
      : `input pixel ${NAMES[inp]} is chosen: it spreads over a ${k}×${k} patch of the output`;
    showPicture(picture, svg, `Three grids: the input, ${n}×${n}, pixels named a to ${NAMES[n * n - 1]}; the output, ` +
      `${g.out}×${g.out}, each pixel showing how many (input pixel, kernel tap) pairs land on it, from ${least} to ` +
      `${most}; and the input with ${s - 1} zero(s) inserted between pixels and ${g.pad} of padding, ` +
      `${g.big}×${g.big}. The ${where}.`);
    text.innerHTML = `Output side (n − 1)·s − 2p + k = (${n} − 1)·${s} − 2·${p} + ${k} = <b>${g.out}</b>; ${even}. ` +
      selected;
  }

  const set = setter(model);
  const reset = () => { set("selected_input", -1); set("selected_output", -1); };
  size.addEventListener("input", () => { set("n", Number(size.value)); reset(); });
  kernel.addEventListener("input", () => { set("kernel", Number(kernel.value)); reset(); });
  stride.addEventListener("input", () => { set("stride", Number(stride.value)); reset(); });
  padding.addEventListener("input", () => { set("padding", Number(padding.value)); reset(); });
  inspect.addEventListener("change", () => {
    const [which, id] = inspect.value.split(":");
    set(which === "input" ? "selected_output" : "selected_input", -1);
    set(which === "input" ? "selected_input" : "selected_output", Number(id));
  });
  picture.addEventListener("click", (event) => {
    const d = event.target.dataset || {};
    if (d.input !== undefined) { set("selected_output", -1); set("selected_input", Number(d.input)); }
    if (d.output !== undefined) { set("selected_input", -1); set("selected_output", Number(d.output)); }
  });
  for (const name of ["n", "kernel", "stride", "padding", "selected_input", "selected_output"]) {
    model.on(`change:${name}`, update);
  }
  update();
}

export default { render };
