// UI helpers shared by the book's widgets. A widget module imports what it uses from "./_ui.js";
// `cnnbook.widgets.esm()` then puts this file in front of the widget's own text and drops that
// import, because anywidget runs `_esm` from a blob: URL, where a relative import cannot resolve.
// Everything here touches the DOM only when called, so the compute functions of a widget module
// still load and run in Node.

/** A widget's frame, appended to `el`: a bar for the controls, a picture, and a line of text under it. */
export function frame(el, className) {
  const root = document.createElement("div");
  root.className = className;
  root.style.fontFamily = "sans-serif";
  const bar = document.createElement("div");
  bar.style.margin = "4px 0 8px 0";
  const picture = document.createElement("div");
  picture.style.overflowX = "auto";
  const text = document.createElement("div");
  text.style.fontSize = "14px";
  root.append(bar, picture, text);
  el.append(root);
  return { root, bar, picture, text };
}

/** A range input with integer steps unless told otherwise. */
export function range(min, max, step = 1) {
  const input = document.createElement("input");
  Object.assign(input, { type: "range", min, max, step });
  return input;
}

/** A drop-down menu of `[value, text]` pairs. */
export function select(options) {
  const menu = document.createElement("select");
  for (const [value, text] of options) menu.append(new Option(text, value));
  return menu;
}

/** `text` in front of `input`. A range input also shows its value, kept current by an "input"
 * listener; call `input.showValue()` after setting the value from code. */
export function label(text, input, { showValue = input.type === "range", valueWidth = "1.5em", format = String } = {}) {
  const l = document.createElement("label");
  l.style.marginRight = "14px";
  l.append(text + " ", input);
  if (showValue) {
    const value = document.createElement("span");
    value.style.display = "inline-block";
    value.style.minWidth = valueWidth;
    input.showValue = () => { value.textContent = format(input.value); };
    input.addEventListener("input", input.showValue);
    l.append(" ", value);
  }
  return l;
}

/** `set(name, value)`: change a trait and send it to the kernel (when there is one). */
export function setter(model) {
  return (name, value) => { model.set(name, value); model.save_changes(); };
}

/** The opening tag of an SVG picture. */
export function svgStart(width, height) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`;
}

/** Size `canvas` to `w x h` and paint pixel `p` (row-major) the colour `rgb(p)` = [r, g, b] (0..255). */
export function paintPixels(canvas, h, w, rgb) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    const [r, g, b] = rgb(p);
    img.data[4 * p] = r;
    img.data[4 * p + 1] = g;
    img.data[4 * p + 2] = b;
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}
