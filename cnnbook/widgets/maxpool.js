// Where does the gradient of a pooling layer go? Three grids: the input x with the window of the
// chosen output, the pooled output y, and dx = the gradient that reaches x when every output
// receives dy = 1. Max pooling routes each dy to the first maximum of its window (row-major ties);
// average pooling spreads it evenly. Overlapping windows (stride < kernel) add up their shares.
// The output to inspect is chosen by clicking it or from the "output" menu (keyboard).

import { frame, label, plainNumber, range, select, setOptions, setter, showPicture, svgStart } from "./_ui.js";

const CELL = 36;
const CHAR = 7.5;   // width of a character of the 13px titles, generously: titles never overlap

export function geometry(H, W, k, s) {
  return { oh: Math.floor((H - k) / s) + 1, ow: Math.floor((W - k) / s) + 1 };
}

export function winner(x, i, j, k, s) {
  // [row, col] of the first largest entry of window (i, j), in row-major order
  let best = [i * s, j * s];
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const r = i * s + a, c = j * s + b;
      if (x[r][c] > x[best[0]][best[1]]) best = [r, c];
    }
  }
  return best;
}

export function pool(x, k, s, mode) {
  // -> { y, dx }: the pooled output and the gradient for dy = 1 everywhere
  const H = x.length, W = x[0].length, { oh, ow } = geometry(H, W, k, s);
  const y = [], dx = x.map((row) => row.map(() => 0));
  for (let i = 0; i < oh; i++) {
    y.push([]);
    for (let j = 0; j < ow; j++) {
      if (mode === "max") {
        const [r, c] = winner(x, i, j, k, s);
        y[i].push(x[r][c]);
        dx[r][c] += 1;
      } else {
        let sum = 0;
        for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
          sum += x[i * s + a][j * s + b];
          dx[i * s + a][j * s + b] += 1 / (k * k);
        }
        y[i].push(sum / (k * k));
      }
    }
  }
  return { y, dx };
}

function grid(svg, values, left, top, title, fill, tag) {
  // values: 2D array; fill(r, c) -> colour; tag: data attribute for clicks
  let out = `<text x="${left}" y="${top - 10}" font-size="13">${title}</text>`;
  values.forEach((row, r) => row.forEach((v, c) => {
    out += `<rect ${tag ? `data-out="${r},${c}" style="cursor:pointer"` : ""} x="${left + c * CELL}" y="${top + r * CELL}" width="${CELL}" height="${CELL}" fill="${fill(r, c)}" stroke="#888" stroke-width="0.7"/>`;
    out += `<text ${tag ? `data-out="${r},${c}" style="cursor:pointer"` : ""} x="${left + c * CELL + CELL / 2}" y="${top + r * CELL + CELL / 2 + 5}" text-anchor="middle" font-size="13">${plainNumber(v)}</text>`;
  }));
  return svg + out;
}

/** Width a grid of `cells` columns takes with its `title` above it. */
function panelWidth(cells, title) {
  return Math.max(cells * CELL, Math.ceil(title.length * CHAR));
}

function render({ model, el }) {
  const { bar, picture, text } = frame(el, "cnnbook-maxpool", "Where the gradient of pooling goes");
  text.style.minHeight = "3em";
  const mode = select([["max", "max pooling"], ["avg", "average pooling"]]);
  const k = range(1, 4), s = range(1, 4);
  const output = select([]);
  const shuffle = document.createElement("button");
  shuffle.textContent = "new input";
  const small = { valueWidth: "1.2em" };
  bar.append(label("pooling", mode), label("kernel", k, { ...small, valueText: (v) => `${v} by ${v} window` }), label("stride", s, small), label("output", output),
    shuffle);

  function update() {
    const x = model.get("x"), H = x.length, W = x[0].length;
    const kk = Math.min(model.get("kernel"), H, W), ss = model.get("stride"), m = model.get("mode");
    const { y, dx } = pool(x, kk, ss, m);
    const { oh, ow } = geometry(H, W, kk, ss);
    let [si, sj] = model.get("selected");
    si = Math.min(Math.max(0, si), oh - 1);
    sj = Math.min(Math.max(0, sj), ow - 1);
    mode.value = m; k.max = Math.min(4, H, W); k.value = kk; s.value = ss;
    k.showValue(); s.showValue();
    const [wr, wc] = m === "max" ? winner(x, si, sj, kk, ss) : [-1, -1];
    const inWindow = (r, c) => r >= si * ss && r < si * ss + kk && c >= sj * ss && c < sj * ss + kk;

    setOptions(output, y.flatMap((row, r) => row.map((v, c) => [`${r},${c}`, `y[${r}, ${c}] = ${plainNumber(v)}`])), `${si},${sj}`);
    const titles = ["input x", `output y (${oh}×${ow})`, "dx when every dy = 1"];
    const top = 40, gap = 40, left1 = 10;
    const left2 = left1 + panelWidth(W, titles[0]) + gap, left3 = left2 + panelWidth(ow, titles[1]) + gap;
    const width = left3 + panelWidth(W, titles[2]) + 10, height = top + Math.max(H, oh) * CELL + 10;
    let svg = svgStart(width, height);
    svg = grid(svg, x, left1, top, titles[0], (r, c) => (r === wr && c === wc ? "#f4a261"
      : inWindow(r, c) ? "#ffe8b0" : "#fff"), false);
    svg += `<rect x="${left1 + sj * ss * CELL}" y="${top + si * ss * CELL}" width="${kk * CELL}" height="${kk * CELL}" fill="none" stroke="#d08c00" stroke-width="3"/>`;
    svg = grid(svg, y, left2, top, titles[1], (r, c) => (r === si && c === sj ? "#9fd3ff" : "#f4f8fb"), true);
    const most = Math.max(...dx.flat(), 1e-12);
    svg = grid(svg, dx, left3, top, titles[2], (r, c) => (dx[r][c] === 0 ? "#fff"
      : `rgba(42, 157, 143, ${0.15 + 0.75 * dx[r][c] / most})`), false);
    if (m === "max") {
      svg += `<rect x="${left3 + wc * CELL + 2}" y="${top + wr * CELL + 2}" width="${CELL - 4}" height="${CELL - 4}" fill="none" stroke="#e76f51" stroke-width="3"/>`;
    } else {
      svg += `<rect x="${left3 + sj * ss * CELL}" y="${top + si * ss * CELL}" width="${kk * CELL}" height="${kk * CELL}" fill="none" stroke="#e76f51" stroke-width="3"/>`;
    }
    svg += "</svg>";
    const reached = dx.flat().filter((v) => v > 0).length;
    const how = `${m === "max" ? "Max" : "Average"} pooling, ${kk}×${kk} windows, stride ${ss}`;
    showPicture(picture, svg, `${how}. Three grids. Input x, ${H}×${W}, with the ${kk}×${kk} window of output y[${si}, ${sj}] ` +
      `outlined${m === "max" ? ` and its maximum x[${wr}, ${wc}] = ${plainNumber(x[wr][wc])} marked` : ""}; the pooled output y, ` +
      `${oh}×${ow}; and the gradient dx, which reaches ${reached} of the ${H * W} input pixels.`);

    const overlap = ss < kk ? " Windows overlap (stride < kernel), so a pixel can collect the gradient of several outputs." : "";
    const skipped = (H - kk) % ss !== 0 || (W - kk) % ss !== 0 || ss > kk
      ? " Pixels that no window covers get no gradient at all." : "";
    const values = y.map((row) => row.map(plainNumber).join(", ")).join("; ");
    text.textContent = `${how}: output y (${oh}×${ow}) = ${values}. ` + (m === "max"
      ? `y[${si}, ${sj}] = ${plainNumber(y[si][sj])} is x[${wr}, ${wc}], the first maximum of its window: the switch sends all of dy[${si}, ${sj}] there and 0 to the other ${kk * kk - 1} pixels.${overlap}${skipped}`
      : `y[${si}, ${sj}] = ${plainNumber(y[si][sj])} is the mean of ${kk * kk} pixels: each of them receives dy[${si}, ${sj}] / ${kk * kk}.${overlap}${skipped}`);
  }

  const set = setter(model);
  mode.addEventListener("change", () => set("mode", mode.value));
  k.addEventListener("input", () => set("kernel", Number(k.value)));
  s.addEventListener("input", () => set("stride", Number(s.value)));
  output.addEventListener("change", () => set("selected", output.value.split(",").map(Number)));
  shuffle.addEventListener("click", () => {
    // a new input whose pooled output differs, so that what is announced changes too
    const x = model.get("x"), k = Math.min(model.get("kernel"), x.length, x[0].length);
    const before = JSON.stringify(pool(x, k, model.get("stride"), model.get("mode")).y);
    let next = x;
    for (let tries = 0; tries < 50; tries++) {
      next = x.map((row) => row.map(() => Math.floor(Math.random() * 10)));
      if (JSON.stringify(pool(next, k, model.get("stride"), model.get("mode")).y) !== before) break;
    }
    set("x", next);
  });
  picture.addEventListener("click", (event) => {
    const where = event.target.dataset && event.target.dataset.out;
    if (where) set("selected", where.split(",").map(Number));
  });
  for (const name of ["x", "kernel", "stride", "mode", "selected"]) model.on(`change:${name}`, update);
  update();
}

export default { render };
