// The 1D sliding window of corr1d / conv1d, drawn as SVG. All the arithmetic happens here, so the
// widget stays live in the static book (no kernel): the model holds x, w, padding, stride, flip
// and the index of the output being computed.

import { frame, label, range, select, setter, showPicture, svgStart } from "./_ui.js";

const CELL = 46;     // width of one sample box, px
const GAP = 4;       // space between boxes
const PITCH = CELL + GAP;
const COLORS = { pad: "#f2f2f2", window: "#ffe08a", out: "#9fd3ff", done: "#dbeefc", line: "#d08c00" };

function paddingAmounts(mode, K) {
  const total = K - 1;  // 'same' and 'full' follow COURSE.md (PyTorch's rule for 'same')
  if (mode === "same") return [Math.floor(total / 2), total - Math.floor(total / 2)];
  if (mode === "full") return [total, total];
  if (/^\d+$/.test(String(mode))) return [Number(mode), Number(mode)];
  return [0, 0];
}

export function compute(x, w, mode, stride, flip) {
  const K = w.length;
  const [left, right] = paddingAmounts(mode, K);
  const xp = Array(left).fill(0).concat(x, Array(right).fill(0));
  const taps = flip ? w.slice().reverse() : w.slice();  // the kernel as it lies on the window
  const tapNames = taps.map((_, k) => (flip ? K - 1 - k : k));
  const n = xp.length < K ? 0 : Math.floor((xp.length - K) / stride) + 1;
  const y = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += taps[k] * xp[i * stride + k];
    y.push(s);
  }
  return { K, left, right, xp, taps, tapNames, y };
}

const fmt = (v) => (Math.abs(v - Math.round(v)) < 1e-9 ? String(Math.round(v)) : v.toFixed(2));

function box(x, y, w, h, fill, text, sub, opts = {}) {
  const dash = opts.dashed ? ' stroke-dasharray="4 3"' : "";
  const stroke = opts.stroke || "#555";
  return `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="4" fill="${fill}" stroke="${stroke}"` +
    ` stroke-width="${opts.bold ? 2.5 : 1}"${dash}/>` +
    `<text x="${x + w / 2}" y="${y + h / 2 + 5}" text-anchor="middle" font-size="14">${text}</text>` +
    (sub ? `<text x="${x + w / 2}" y="${y - 4}" text-anchor="middle" font-size="11" fill="#666">${sub}</text>` : "");
}

function draw(model) {
  const x = model.get("x"), w = model.get("w"), stride = Math.max(1, model.get("stride"));
  const flip = model.get("flip"), mode = model.get("padding");
  const c = compute(x, w, mode, stride, flip);
  const n = c.y.length;
  const i = Math.min(Math.max(0, model.get("index")), Math.max(0, n - 1));
  const width = Math.max(c.xp.length, 4) * PITCH + 120;
  const rowX = 30, rowW = 120, rowY = 230;
  const left0 = 100;  // x of the first padded input box
  let svg = svgStart(width, 300);
  svg += `<text x="8" y="${rowX + 28}" font-size="13" fill="#333">input x</text>`;
  svg += `<text x="8" y="${rowW + 28}" font-size="13" fill="#333">kernel</text>`;
  svg += `<text x="8" y="${rowY + 28}" font-size="13" fill="#333">output y</text>`;
  if (n === 0) {
    svg += `<text x="${left0}" y="${rowY + 28}" font-size="14" fill="#b00">the kernel is longer than the padded input: no output</text>`;
  }
  const start = i * stride;  // first padded index under the window
  c.xp.forEach((v, j) => {
    const isPad = j < c.left || j >= c.left + x.length;
    const inWindow = n > 0 && j >= start && j < start + c.K;
    const fill = inWindow ? COLORS.window : isPad ? COLORS.pad : "#fff";
    const name = isPad ? "pad" : `x${j - c.left}`;
    svg += box(left0 + j * PITCH, rowX, CELL, 40, fill, fmt(v), name, { dashed: isPad, bold: inWindow });
  });
  if (n > 0) {
    c.taps.forEach((v, k) => {
      svg += box(left0 + (start + k) * PITCH, rowW, CELL, 40, COLORS.window, fmt(v), `w${c.tapNames[k]}`, { bold: true });
    });
  }
  c.y.forEach((v, o) => {
    const cx = left0 + (o * stride + (c.K - 1) / 2) * PITCH;  // under the centre of its window
    const fill = o === i ? COLORS.out : o < i ? COLORS.done : "#fff";
    const text = o <= i ? fmt(v) : "?";
    if (o === i) {
      for (let k = 0; k < c.K; k++) {
        const from = left0 + (start + k) * PITCH + CELL / 2;
        svg += `<line x1="${from}" y1="${rowW + 40}" x2="${cx + CELL / 2}" y2="${rowY}" stroke="${COLORS.line}" stroke-width="1.5"/>`;
      }
    }
    svg += box(cx, rowY, CELL, 40, fill, text, `y${o}`, { bold: o === i });
  });
  svg += "</svg>";
  let formula = "";
  if (n > 0) {
    const terms = c.taps.map((t, k) => {
      const j = start + k;
      const name = j < c.left || j >= c.left + x.length ? "0" : `x${j - c.left}`;
      return `w${c.tapNames[k]}·${name}`;
    });
    const values = c.taps.map((t, k) => `${fmt(t)}·${fmt(c.xp[start + k])}`);
    formula = `y${i} = ${terms.join(" + ")} = ${values.join(" + ")} = <b>${fmt(c.y[i])}</b>`;
  }
  const description = n === 0
    ? `The input x (${x.length} values) and the kernel (${c.K} taps): the kernel is longer than the padded input, so there is no output.`
    : `The input x, ${x.length} values${c.left + c.right ? ` with ${c.left} + ${c.right} zeros of padding` : ""}; the kernel` +
      `${flip ? ", flipped," : ""} lying under the window of output ${i}; and the output y, ${n} values, of which ` +
      `the first ${i + 1} are computed: ${formula.replace(/<\/?b>/g, "")}.`;
  return { svg, formula, n, i, c, description };
}

function render({ model, el }) {
  const { bar, picture, text } = frame(el, "cnnbook-sliding1d", "The sliding window of a 1D convolution");
  // both lines are the result: the live region reads them together
  const formula = document.createElement("div"), info = document.createElement("div");
  formula.style.margin = "4px 0";
  info.style.fontSize = "13px";
  text.append(formula, info);

  const op = select([["corr", "cross-correlation (corr1d)"], ["conv", "convolution (conv1d: flip w)"]]);
  const pad = select(["valid", "same", "full"].map((m) => [m, m]));
  const stride = document.createElement("input");
  Object.assign(stride, { type: "number", min: 1, max: 4, step: 1 });
  stride.style.width = "3em";
  const index = range(0, 0);  // update() sets its max
  const play = document.createElement("button");
  play.textContent = "play";
  bar.append(label("operation", op), label("padding", pad), label("stride", stride),
    label("output", index, { showValue: false, valueText: (v) => `output y${v}, ${Number(v) + 1} of ${Number(index.max) + 1}` }),
    play);

  let timer = null;
  function update() {
    const d = draw(model);
    showPicture(picture, d.svg, d.description);
    formula.innerHTML = d.formula || "no output";
    op.value = model.get("flip") ? "conv" : "corr";
    pad.value = model.get("padding");
    stride.value = model.get("stride");
    index.max = Math.max(0, d.n - 1);
    index.value = d.i;
    index.showValue();
    const c = d.c;
    info.textContent = `${x().length} inputs, padding ${c.left} left + ${c.right} right, kernel ${c.K}, ` +
      `stride ${model.get("stride")}: floor((${x().length} + ${c.left + c.right} - ${c.K}) / ${model.get("stride")}) + 1 = ${d.n} outputs` +
      (model.get("flip") ? ". Convolution: the kernel lies on the window reversed (w" + (c.K - 1) + " first)." : ".");
  }
  const x = () => model.get("x");
  const set = setter(model);
  op.addEventListener("change", () => set("flip", op.value === "conv"));
  pad.addEventListener("change", () => { set("padding", pad.value); set("index", 0); });
  stride.addEventListener("change", () => { set("stride", Math.max(1, Math.min(4, Number(stride.value) || 1))); set("index", 0); });
  index.addEventListener("input", () => set("index", Number(index.value)));
  play.addEventListener("click", () => {
    if (timer) { clearInterval(timer); timer = null; play.textContent = "play"; return; }
    play.textContent = "stop";
    set("index", 0);
    timer = setInterval(() => {
      const n = draw(model).n;
      if (model.get("index") >= n - 1) { clearInterval(timer); timer = null; play.textContent = "play"; return; }
      set("index", model.get("index") + 1);
    }, 700);
  });
  for (const name of ["x", "w", "padding", "stride", "flip", "index"]) model.on(`change:${name}`, update);
  update();
  return () => { if (timer) clearInterval(timer); };
}

export default { render };
