// FGSM explorer. The model holds a few digits (bytes, 255 * pixel), the sign of each pixel's loss
// gradient (bytes, sign + 1), and the network's class probabilities on the attacked image for every
// eps of a grid. The attacked image is rebuilt here, clip(x + eps * sign, 0, 1), exactly as fgsm
// makes it, so the page needs no kernel: pick a digit, slide eps, watch the bars.

import { describeCanvas, ensureStyle, label, liveRegion, paintPixels, range, setter } from "./_ui.js";

const SCALE = 4;   // screen pixels per image pixel

function decode(b64) {
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export function attacked(x, sign, eps) {
  // x in [0, 1], sign in {-1, 0, 1}: the FGSM image, clipped to [0, 1]
  return x.map((v, i) => Math.min(1, Math.max(0, v + eps * sign[i])));
}

function paint(canvas, values, h, w, colour) {
  // one canvas pixel per image pixel, then scaled up without smoothing
  const small = paintPixels(document.createElement("canvas"), h, w, (p) => colour(values[p]));
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(small, 0, 0, w * SCALE, h * SCALE);
}

const grey = (v) => [255 * v, 255 * v, 255 * v].map(Math.round);
const signColour = (v) => (v > 0 ? [214, 96, 77] : v < 0 ? [67, 147, 195] : [247, 247, 247]);

function panel(title, h, w) {
  const box = document.createElement("div");
  box.style.cssText = "display:inline-block;margin:0 12px 6px 0;text-align:center;vertical-align:top";
  const caption = document.createElement("div");
  caption.style.cssText = "font-size:12px;margin-bottom:3px";
  caption.textContent = title;
  const canvas = document.createElement("canvas");
  canvas.width = w * SCALE;
  canvas.height = h * SCALE;
  canvas.style.border = "1px solid #bbb";
  box.append(caption, canvas);
  return { box, canvas, caption };
}

function render({ model, el }) {
  const h = model.get("height"), w = model.get("width");
  const labels = model.get("labels"), epsValues = model.get("eps_values");
  const size = h * w;
  const images = decode(model.get("images_b64")), signs = decode(model.get("signs_b64"));
  const pixels = (d) => Array.from(images.subarray(d * size, (d + 1) * size), (v) => v / 255);
  const signOf = (d) => Array.from(signs.subarray(d * size, (d + 1) * size), (v) => v - 1);

  ensureStyle();
  const root = document.createElement("div");
  root.className = "cnnbook-widget cnnbook-fgsm";
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "FGSM explorer: fooling a network with a small change");
  root.style.cssText = "font-size:13px;padding:6px";

  const controls = document.createElement("div");
  controls.style.marginBottom = "8px";
  const pick = document.createElement("select");
  labels.forEach((digit, d) => pick.add(new Option(`digit ${d + 1}: a '${digit}'`, String(d))));
  // the slider steps through eps_values; what it says (and shows) is eps itself
  const slider = range(0, epsValues.length - 1);
  slider.style.verticalAlign = "middle";
  const epsOf = (step) => `${epsValues[Number(step)].toFixed(2)}`;
  controls.append(label("image", pick),
    label("eps", slider, { valueWidth: "5.5em", format: (v) => `= ${epsOf(v)}`, valueText: (v) => `eps ${epsOf(v)}` }));

  const original = panel("original", h, w), change = panel("eps * sign(gradient)", h, w);
  const adversarial = panel("attacked image", h, w);
  const bars = document.createElement("div");
  bars.style.cssText = "display:inline-block;vertical-align:top;margin-left:6px";
  const verdict = liveRegion("cnnbook-result");
  verdict.style.cssText = "margin-top:4px;font-weight:bold";

  root.append(controls, original.box, change.box, adversarial.box, bars, verdict);
  el.append(root);

  function drawBars(p, truth, predicted) {
    const width = 180, row = 15;
    const order = p.map((q, k) => k).sort((a, b) => p[b] - p[a]).slice(0, 3);
    const said = order.map((k) => `${k}: ${p[k].toFixed(2)}`).join(", ");
    let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width + 60}" height="${row * p.length + 20}" font-size="11"` +
      ` role="img" aria-label="Class probabilities, largest first: ${said}; the true class is ${truth}." ` +
      `style="background:#fff;border-radius:4px">` +
      `<text x="0" y="11" fill="#333">class probabilities</text>`;
    p.forEach((q, k) => {
      const y = 18 + k * row;
      const fill = k === predicted ? (k === truth ? "#3b7a1a" : "#b0166b") : "#9e9e9e";
      svg += `<text x="0" y="${y + 10}" fill="#333">${k}${k === truth ? "*" : ""}</text>` +
        `<rect x="18" y="${y}" width="${Math.max(1, q * width)}" height="${row - 3}" fill="${fill}"/>` +
        `<text x="${22 + q * width}" y="${y + 10}" fill="#555">${q.toFixed(2)}</text>`;
    });
    bars.innerHTML = svg + "</svg>";
  }

  function update() {
    const d = model.get("digit"), e = model.get("eps_index");
    const eps = epsValues[e], x = pixels(d), sign = signOf(d);
    pick.value = String(d);
    slider.value = String(e);
    slider.showValue();
    paint(original.canvas, x, h, w, grey);
    paint(change.canvas, sign.map((s) => (eps > 0 ? s : 0)), h, w, signColour);
    paint(adversarial.canvas, attacked(x, sign, eps), h, w, grey);
    const p = model.get("probabilities")[d][e];
    const predicted = p.indexOf(Math.max(...p));
    drawBars(p, labels[d], predicted);
    const fooled = predicted !== labels[d];
    verdict.textContent = `eps ${eps.toFixed(2)}: true class ${labels[d]}, predicted ${predicted} ` +
      `(p = ${p[predicted].toFixed(2)})${fooled ? ": fooled" : ""}`;
    // white on a dark badge: the same contrast in a light and a dark theme
    verdict.style.cssText = "margin-top:4px;font-weight:bold;display:inline-block;padding:2px 8px;border-radius:4px;" +
      `color:#fff;background:${fooled ? "#b0166b" : "#3b7a1a"}`;
    const changed = sign.filter((v) => v !== 0).length;
    describeCanvas(original.canvas, `the original image, a handwritten ${labels[d]}, ${h}×${w} pixels`);
    describeCanvas(change.canvas, eps > 0 ? `the change: ${changed} pixels move by eps = ${eps.toFixed(2)}, up (red) or ` +
      "down (blue) as the sign of the loss gradient says" : "no change at eps 0");
    describeCanvas(adversarial.canvas, `the attacked image at eps ${eps.toFixed(2)}, which the network reads as a ` +
      `${predicted}`);
  }

  const set = setter(model);
  pick.addEventListener("change", () => set("digit", Number(pick.value)));
  slider.addEventListener("input", () => set("eps_index", Number(slider.value)));
  model.on("change:digit", update);
  model.on("change:eps_index", update);
  update();
}

export default { render };
