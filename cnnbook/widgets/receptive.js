// Receptive-field explorer: a stack of 1D convolution layers drawn as rows of units, the input at
// the bottom. Click any unit to light up every unit below it that feeds it; the lit input units are
// its receptive field. Layer l has kernel k, stride s_l and dilation d_l; unit j of layer l reads
// units j*s_l + t*d_l (t = 0..k-1) of layer l-1.

import { frame, label, range, select, setter, showPicture, svgStart } from "./_ui.js";

const MAX_INPUTS = 400;   // wider stacks are described in words, not drawn

export function dilations(mode, L) {
  if (mode === "doubling") return Array.from({ length: L }, (_, l) => 2 ** l);
  return Array(L).fill(Number(mode) || 1);
}

export function geometry(L, k, stride, mode) {
  const strides = Array(L).fill(stride);
  const dil = dilations(mode, L);
  // receptive field and jump (distance in inputs between neighbouring units) of every layer
  const field = [1], jump = [1];
  for (let l = 0; l < L; l++) {
    field.push(field[l] + dil[l] * (k - 1) * jump[l]);
    jump.push(jump[l] * strides[l]);
  }
  // choose the number of top units so the input row is wide enough to show some context
  const sizesFor = (top) => {
    const n = [top];
    for (let l = L - 1; l >= 0; l--) n.unshift((n[0] - 1) * strides[l] + dil[l] * (k - 1) + 1);
    return n;
  };
  let top = 1, sizes = sizesFor(1);
  while (sizes[0] < 24 && top < 24) sizes = sizesFor(++top);
  return { strides, dil, field, jump, sizes };
}

// units of every layer that feed unit `unit` of layer `layer` (layer 0 is the input)
export function cone(g, k, layer, unit) {
  const sets = Array(layer + 1);
  sets[layer] = new Set([unit]);
  for (let l = layer; l > 0; l--) {
    const below = new Set();
    for (const j of sets[l]) for (let t = 0; t < k; t++) below.add(j * g.strides[l - 1] + t * g.dil[l - 1]);
    sets[l - 1] = below;
  }
  return sets;
}

function render({ model, el }) {
  const { bar, picture, text } = frame(el, "cnnbook-receptive", "Receptive field explorer");
  const layers = range(1, 6), kernel = range(1, 7), stride = range(1, 3);
  const dil = select([["1", "1 (none)"], ["2", "2 in every layer"], ["doubling", "1, 2, 4, 8, ..."]]);
  const layerPick = range(1, 1), unitPick = range(0, 0);  // update() sets their max
  const chosen = document.createElement("div");
  chosen.append(label("layer", layerPick, { valueText: (v) => `layer ${v} of ${layers.value}` }),
    label("unit", unitPick, { valueWidth: "2em", valueText: (v) => `unit ${v} of ${Number(unitPick.max) + 1}` }));
  bar.append(label("layers", layers), label("kernel", kernel), label("stride", stride), label("dilation", dil), chosen);

  function selected(g, L) {
    let layer = model.get("layer"), unit = model.get("unit");
    if (layer < 1 || layer > L) layer = L;
    if (unit < 0 || unit >= g.sizes[layer]) unit = Math.floor((g.sizes[layer] - 1) / 2);
    return [layer, unit];
  }

  function update() {
    const L = model.get("layers"), k = model.get("kernel"), s = model.get("stride"), mode = model.get("dilation");
    layers.value = L; kernel.value = k; stride.value = s; dil.value = mode;
    for (const r of [layers, kernel, stride]) r.showValue();
    const g = geometry(L, k, s, mode);
    const [layer, unit] = selected(g, L);
    layerPick.max = L; layerPick.value = layer;
    unitPick.max = g.sizes[layer] - 1; unitPick.value = unit;
    layerPick.showValue(); unitPick.showValue();
    const r = g.field[layer];
    const terms = [];
    for (let l = 0; l < layer; l++) terms.push(`${g.dil[l]}·${k - 1}·${g.jump[l]}`);
    const formula = `r = 1 + Σ d·(k−1)·(product of earlier strides) = 1 + ${terms.join(" + ")} = <b>${r}</b>`;
    if (g.sizes[0] > MAX_INPUTS) {
      picture.innerHTML = `<p class="cnnbook-error" style="color:#b00020;margin:4px">${g.sizes[0]} inputs are too many to draw; choose fewer layers or a smaller stride.</p>`;
      text.innerHTML = `Unit ${unit} of layer ${layer} sees ${r} inputs. ${formula}`;
      return;
    }
    const sets = cone(g, k, layer, unit);
    const width = Math.min(900, Math.max(420, g.sizes[0] * 18 + 120));
    const pitch = (width - 110) / g.sizes[0];
    const radius = Math.max(1.5, Math.min(7, pitch * 0.35));
    const rowGap = 58, top = 20, height = top + L * rowGap + 40;
    // unit j of layer l sits over the centre of its receptive field, so the cones are symmetric
    const xOf = (l, j) => 90 + pitch * (j * g.jump[l] + (g.field[l] - 1) / 2) + pitch / 2;
    const yOf = (l) => top + (L - l) * rowGap + 10;
    let svg = svgStart(width, height);
    for (let l = layer; l > 0; l--) {
      for (const j of sets[l]) {
        for (let t = 0; t < k; t++) {
          const i = j * g.strides[l - 1] + t * g.dil[l - 1];
          svg += `<line x1="${xOf(l, j)}" y1="${yOf(l)}" x2="${xOf(l - 1, i)}" y2="${yOf(l - 1)}" stroke="#d08c00" stroke-opacity="0.5" stroke-width="1"/>`;
        }
      }
    }
    for (let l = 0; l <= L; l++) {
      svg += `<text x="8" y="${yOf(l) + 4}" font-size="12" fill="#333">${l === 0 ? "input" : `layer ${l}`}</text>`;
      for (let j = 0; j < g.sizes[l]; j++) {
        const lit = l <= layer && sets[l].has(j);
        const chosen = l === layer && j === unit;
        const fill = chosen ? "#1f77b4" : lit ? (l === 0 ? "#ffb000" : "#9fd3ff") : "#ddd";
        svg += `<circle data-layer="${l}" data-unit="${j}" cx="${xOf(l, j)}" cy="${yOf(l)}" r="${chosen ? radius + 2 : radius}" fill="${fill}" stroke="#555" stroke-width="0.5" style="cursor:pointer"/>`;
      }
    }
    svg += "</svg>";
    const inputs = [...sets[0]].sort((a, b) => a - b);
    showPicture(picture, svg, `A stack of ${L} layer${L > 1 ? "s" : ""} over ${g.sizes[0]} inputs. Unit ${unit} of layer ` +
      `${layer} is chosen; the units that feed it are lit, down to inputs ${inputs[0]} to ${inputs[inputs.length - 1]}` +
      `${inputs.length < r ? ` (${inputs.length} of them, with holes)` : ""}: its receptive field of ${r} inputs.`);
    text.innerHTML = `Unit ${unit} of layer ${layer} (click any unit, or choose it above) sees <b>${r}</b> consecutive inputs` +
      `${sets[0].size < r ? `, of which it reads ${sets[0].size} (dilation leaves holes)` : ""}. ${formula}`;
  }

  const set = setter(model);
  const reset = () => { set("layer", -1); set("unit", -1); };
  layers.addEventListener("input", () => { set("layers", Number(layers.value)); reset(); });
  kernel.addEventListener("input", () => { set("kernel", Number(kernel.value)); reset(); });
  stride.addEventListener("input", () => { set("stride", Number(stride.value)); reset(); });
  dil.addEventListener("change", () => { set("dilation", dil.value); reset(); });
  layerPick.addEventListener("input", () => { set("layer", Number(layerPick.value)); set("unit", -1); });
  unitPick.addEventListener("input", () => { set("layer", Number(layerPick.value)); set("unit", Number(unitPick.value)); });
  picture.addEventListener("click", (event) => {
    const d = event.target.dataset || {};
    if (d.layer !== undefined && Number(d.layer) > 0) { set("layer", Number(d.layer)); set("unit", Number(d.unit)); }
  });
  for (const name of ["layers", "kernel", "stride", "dilation", "layer", "unit"]) model.on(`change:${name}`, update);
  update();
}

export default { render };
