// From a dense layer to a convolution, as a weight matrix. Three modes:
//   dense  -- every entry W[i][j] is its own parameter (D*D of them);
//   shared -- the same function at every position: W[i][j] = v[j-i] (Toeplitz, 2D-1 parameters);
//   banded -- shared and local: only v[0..K-1] = w[0..K-1] are non-zero, rows D-K+1 (valid): K parameters.
// Choosing a row lights up the weights that output uses and the inputs they multiply.

import { frame, label, range, select, setter, showPicture, svgStart } from "./_ui.js";

const CELL = 34;
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac", "#86bcb6", "#d37295", "#fabfd2", "#8cd17d", "#b6992d", "#499894"];

export function structure(mode, D, K) {
  // -> { rows, cols, name(i, j) or null for a structural zero, param(i, j) an id for the colour, count }
  if (mode === "dense") {
    return { rows: D, cols: D, name: (i, j) => `w${i},${j}`, param: (i, j) => i * D + j, count: D * D };
  }
  if (mode === "shared") {
    return { rows: D, cols: D, name: (i, j) => `v${j - i}`, param: (i, j) => j - i + D - 1, count: 2 * D - 1 };
  }
  return {
    rows: D - K + 1, cols: D,
    name: (i, j) => (j - i >= 0 && j - i < K ? `w${j - i}` : null),
    param: (i, j) => j - i, count: K,
  };
}

function colour(mode, id) {
  if (mode === "dense") {  // D*D different parameters: a different shade for each
    const h = (id * 137.508) % 360;
    return `hsl(${h}, 55%, 72%)`;
  }
  return PALETTE[id % PALETTE.length];
}

function render({ model, el }) {
  const { bar, picture, text } = frame(el, "cnnbook-banded", "From a dense layer to a convolution");
  const mode = select([["dense", "dense: no assumption"], ["shared", "shared: same function everywhere"],
    ["banded", "shared + local: a convolution"]]);
  const D = range(3, 12), K = range(1, 7), row = range(0, 0);  // update() sets K's and row's max
  bar.append(label("assumption", mode), label("inputs D", D), label("kernel K", K),
    label("output row", row, { valueText: (v) => `row ${v} of ${Number(row.max) + 1}, output y${v}` }));

  function update() {
    const m = model.get("mode"), d = model.get("D"), k = Math.min(model.get("K"), d);
    const s = structure(m, d, k);
    const i = Math.min(Math.max(0, model.get("row")), s.rows - 1);
    mode.value = m; D.value = d; K.max = d; K.value = k; K.disabled = m !== "banded";
    row.max = s.rows - 1; row.value = i;
    for (const r of [D, K, row]) r.showValue();
    const left = 60, top = 70, gap = 40;
    const width = left + s.cols * CELL + gap + CELL + 80;
    const height = top + s.rows * CELL + 20;
    let svg = svgStart(width, height);
    svg += `<text x="${left}" y="14" font-size="13">input x (as a row, one entry above each column)</text>`;
    for (let j = 0; j < s.cols; j++) {
      const used = s.name(i, j) !== null;
      svg += `<rect x="${left + j * CELL + 2}" y="24" width="${CELL - 4}" height="${CELL - 6}" rx="3" fill="${used ? "#ffe08a" : "#fff"}" stroke="#555" stroke-width="${used ? 2 : 1}"/>`;
      svg += `<text x="${left + j * CELL + CELL / 2}" y="${24 + CELL / 2}" text-anchor="middle" font-size="12">x${j}</text>`;
    }
    for (let r = 0; r < s.rows; r++) {
      svg += `<text x="${left - 8}" y="${top + r * CELL + CELL / 2 + 4}" text-anchor="end" font-size="12" fill="#666">row ${r}</text>`;
      for (let j = 0; j < s.cols; j++) {
        const name = s.name(r, j);
        const fill = name === null ? "#fff" : colour(m, s.param(r, j));
        const opacity = r === i || name === null ? 1 : 0.45;
        svg += `<rect data-row="${r}" x="${left + j * CELL}" y="${top + r * CELL}" width="${CELL}" height="${CELL}" fill="${fill}" fill-opacity="${opacity}" stroke="#999" stroke-width="0.5"/>`;
        svg += `<text data-row="${r}" x="${left + j * CELL + CELL / 2}" y="${top + r * CELL + CELL / 2 + 4}" text-anchor="middle" font-size="${m === "dense" ? 9 : 11}" fill="${name === null ? "#6b6b6b" : "#222"}">${name === null ? "0" : name}</text>`;
      }
      const yx = left + s.cols * CELL + gap;
      svg += `<rect data-row="${r}" x="${yx}" y="${top + r * CELL + 2}" width="${CELL}" height="${CELL - 4}" rx="3" fill="${r === i ? "#9fd3ff" : "#fff"}" stroke="#555" stroke-width="${r === i ? 2 : 1}"/>`;
      svg += `<text data-row="${r}" x="${yx + CELL / 2}" y="${top + r * CELL + CELL / 2 + 4}" text-anchor="middle" font-size="12">y${r}</text>`;
    }
    svg += `<rect x="${left - 2}" y="${top + i * CELL - 2}" width="${s.cols * CELL + 4}" height="${CELL + 4}" fill="none" stroke="#d08c00" stroke-width="3"/>`;
    svg += `<text x="${left + s.cols * CELL + gap - 4}" y="${top - 8}" font-size="13">output y</text>`;
    svg += "</svg>";
    const terms = [];
    for (let j = 0; j < s.cols; j++) if (s.name(i, j) !== null) terms.push(`${s.name(i, j)}·x${j}`);
    showPicture(picture, svg, `The weight matrix W of y = W x, ${s.rows} rows by ${s.cols} columns, in the ${m} mode: ` +
      `${s.count} different parameters${m === "banded" ? ", zeros outside a band of " + k + " diagonals" : ""}. ` +
      `Row ${i} is highlighted: y${i} = ${terms.join(" + ")}.`);
    const what = { dense: `${d}×${d} = ${s.count} parameters: every output has its own weights for every input`,
      shared: `2·${d} − 1 = ${s.count} parameters: W[i][j] = v[j−i] depends only on the offset j − i (constant diagonals)`,
      banded: `${s.count} parameters, whatever D: only offsets 0..${k - 1} are non-zero, and ${s.rows} = D − K + 1 outputs fit` };
    text.innerHTML = `y${i} = ${terms.join(" + ")}<br>${what[m]}.`;
  }

  const set = setter(model);
  mode.addEventListener("change", () => set("mode", mode.value));
  D.addEventListener("input", () => set("D", Number(D.value)));
  K.addEventListener("input", () => set("K", Number(K.value)));
  row.addEventListener("input", () => set("row", Number(row.value)));
  picture.addEventListener("click", (event) => {
    const r = event.target.dataset && event.target.dataset.row;
    if (r !== undefined) set("row", Number(r));
  });
  for (const name of ["mode", "D", "K", "row"]) model.on(`change:${name}`, update);
  update();
}

export default { render };
