// UI helpers shared by the book's widgets. A widget module imports what it uses from "./_ui.js";
// `cnnbook.widgets.esm()` then puts this file in front of the widget's own text and drops that
// import, because anywidget runs `_esm` from a blob: URL, where a relative import cannot resolve.
// Everything here touches the DOM only when called, so the compute functions of a widget module
// still load and run in Node.
//
// Accessibility is built in: `frame()` gives every widget a named group, a picture exposed as one
// labelled image (`showPicture`) that shrinks to fit a narrow screen and says so when it still has
// to scroll, and a polite live region (`text`) that states the widget's result in words;
// `label()` names every control and gives sliders a value a person understands (`aria-valuetext`).

const STYLE_ID = "cnnbook-widget-style";
const MIN_SCALE = 0.7;   // a picture shrinks to 70% of its size at most, then scrolls sideways

// Pictures are drawn for a light background: in a dark theme they sit on a white card, so every
// colour keeps its contrast. Text outside the pictures takes the page's colours.
const STYLE = `
.cnnbook-widget { font-family: sans-serif; max-width: 100%; }
.cnnbook-widget button, .cnnbook-widget select, .cnnbook-widget input { font: inherit; font-size: 0.9em; }
.cnnbook-widget label { display: inline-block; margin: 2px 14px 2px 0; }
.cnnbook-picture { overflow-x: auto; background: #fff; color: #222; border-radius: 4px; max-width: 100%;
  background-image: linear-gradient(to right, #fff 30%, rgba(255,255,255,0)), linear-gradient(to left, #fff 30%, rgba(255,255,255,0)),
    radial-gradient(farthest-side at 0 50%, rgba(0,0,0,.3), rgba(0,0,0,0)), radial-gradient(farthest-side at 100% 50%, rgba(0,0,0,.3), rgba(0,0,0,0));
  background-position: left center, right center, left center, right center; background-repeat: no-repeat;
  background-size: 40px 100%, 40px 100%, 14px 100%, 14px 100%; background-attachment: local, local, scroll, scroll; }
.cnnbook-picture > svg { display: block; height: auto; }
.cnnbook-picture:focus-visible { outline: 3px solid #0a58ca; outline-offset: 2px; }
.cnnbook-scroll-hint { display: none; font-size: 12px; margin: 2px 0; }
.cnnbook-picture.cnnbook-cut + .cnnbook-scroll-hint { display: block; }
.cnnbook-result { font-size: 14px; margin-top: 4px; }
.cnnbook-error { color: #b00020; }
body[data-jp-theme-light="false"] .cnnbook-error { color: #ff8a80; }  /* the book's dark theme keeps widgets on a light card */
.cnnbook-sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
`;

/** Add the widgets' style sheet to the page once (the static book and JupyterLab alike). */
export function ensureStyle(doc = document) {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement("style");
  style.id = STYLE_ID;
  style.textContent = STYLE;
  doc.head.append(style);
}

/** A widget's frame, appended to `el`: a named group holding a bar for the controls, a picture,
 * a hint shown when the picture is cut off, and a live region for the result in words. */
export function frame(el, className, name) {
  ensureStyle();
  const root = document.createElement("div");
  root.className = `cnnbook-widget ${className}`;
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", name);
  const bar = document.createElement("div");
  bar.style.margin = "4px 0 8px 0";
  const picture = document.createElement("div");
  picture.className = "cnnbook-picture";
  const hint = document.createElement("p");
  hint.className = "cnnbook-scroll-hint";
  hint.textContent = "The picture is wider than the screen: scroll it sideways (or turn the phone) to see the rest.";
  const text = liveRegion("cnnbook-result");
  root.append(bar, picture, hint, text);
  el.append(root);
  watchOverflow(picture);
  return { root, bar, picture, text };
}

/** A polite live region: a screen reader reads its new text when the reader pauses. */
export function liveRegion(className = "") {
  const region = document.createElement("div");
  region.className = className;
  region.setAttribute("role", "status");
  region.setAttribute("aria-live", "polite");
  region.setAttribute("aria-atomic", "true");
  return region;
}

/** Mark `box` as cut off (a hint shows, and it takes keyboard focus so arrow keys scroll it)
 * whenever its content is wider than it, now and on every resize. */
export function watchOverflow(box) {
  const check = () => {
    const cut = box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle("cnnbook-cut", cut);
    if (cut) {
      box.tabIndex = 0;
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", "picture, scrolls sideways");
    } else {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  };
  if (typeof ResizeObserver !== "undefined") new ResizeObserver(check).observe(box);
  box.checkOverflow = check;
  return check;
}

/** Put the SVG text `svg` into `picture` as one image named `description` (its current result),
 * scaled down to fit the page's width, to `MIN_SCALE` at most. */
export function showPicture(picture, svg, description) {
  picture.innerHTML = svg;
  const node = picture.querySelector("svg");
  if (node) {
    const width = Number(node.getAttribute("width")), height = Number(node.getAttribute("height"));
    node.setAttribute("viewBox", `0 0 ${width} ${height}`);
    node.setAttribute("role", "img");
    node.setAttribute("aria-label", description);
    node.style.width = "100%";
    node.style.maxWidth = `${width}px`;
    node.style.minWidth = `${Math.round(width * MIN_SCALE)}px`;
  }
  if (picture.checkOverflow) picture.checkOverflow();
  return node;
}

/** A canvas exposed as an image named `description`. */
export function describeCanvas(canvas, description) {
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", description);
  return canvas;
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

/** Replace the options of `menu` by `[value, text]` pairs, keeping `value` selected. */
export function setOptions(menu, options, value) {
  const same = menu.options.length === options.length
    && options.every(([v, t], i) => menu.options[i].value === String(v) && menu.options[i].text === t);
  if (!same) menu.replaceChildren(...options.map(([v, t]) => new Option(t, v)));
  menu.value = String(value);
}

/** `text` in front of `input`. A range input also shows its value, kept current by an "input"
 * listener, and tells a screen reader that value in words: `valueText(value)` (default: the shown
 * value); call `input.showValue()` after setting the value from code. */
export function label(text, input, { showValue = input.type === "range", valueWidth = "1.5em", format = String,
  valueText = null } = {}) {
  const l = document.createElement("label");
  l.append(text + " ", input);
  const value = document.createElement("span");
  value.style.display = "inline-block";
  value.style.minWidth = valueWidth;
  value.setAttribute("aria-hidden", "true");  // the slider announces it itself
  input.showValue = () => {
    value.textContent = format(input.value);
    if (input.type === "range") input.setAttribute("aria-valuetext", (valueText || format)(input.value));
  };
  if (input.type === "range") input.addEventListener("input", input.showValue);
  if (showValue) l.append(" ", value);
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

/** A number as a person reads it: integers as they are, others to 2 decimals without trailing zeros. */
export function plainNumber(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
}
