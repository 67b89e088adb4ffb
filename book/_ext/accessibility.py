"""What a screen-reader user needs from the HTML that MyST-NB writes: real figures and honest toggles.

**Figures.** A code cell that draws describes its figure in its metadata (AUTHORING.md):

    "mystnb": {"figure": {"caption": "...", "name": "fig-..."}, "image": {"alt": "..."}}

MyST-NB (1.4) wraps *every* display output of such a cell in its own figure with that caption and
name, so a cell that shows two images, or an image and a value, makes two figures with one name
(a duplicate-target warning, which fails the build) and captions a string. Here a cell's images go
into **one** numbered `<figure>` with one `<figcaption>`, placed where the first image was; the
cell's other outputs (printed text, values) stay outside it, before or after. `image.alt` is a
string for every image of the cell, or a list with one string per image, in order. A build
warning (an error under `-W`) names a cell whose figure metadata has no caption, no alt text, no
image to describe, or too few alt texts.

**Toggles.** A folded cell's `<summary>` carries `aria-label="Toggle hidden content"` in MyST-NB,
so a screen reader announces something other than the "Show solution" a reader sees (axe:
label-content-name-mismatch). The summary here has no `aria-label`: its name is its visible text.
"""

from __future__ import annotations

import copy
from html import escape

from sphinx.util import logging

logger = logging.getLogger(__name__)

CELL_KEY = "mystnb"  # MyST-NB's nb_cell_metadata_key (its default)
OUTPUTS_WITH_DATA = ("display_data", "execute_result")


def shows_image(output: dict) -> bool:
    """Whether a notebook output is an image (a display with an `image/*` bundle)."""
    return output.get("output_type") in OUTPUTS_WITH_DATA and any(
        mime.startswith("image/") for mime in output.get("data", {}))


def figure_problems(metadata: dict, outputs: list[dict]) -> list[str]:
    """What is wrong with a cell's figure metadata given its outputs (empty: nothing)."""
    figure = metadata.get(CELL_KEY, {}).get("figure")
    if not figure:
        return []
    problems = []
    images = sum(map(shows_image, outputs))
    alt = metadata.get(CELL_KEY, {}).get("image", {}).get("alt")
    if not str(figure.get("caption", "")).strip():
        problems.append("its figure has no caption")
    if not figure.get("name"):
        problems.append("its figure has no name (fig-...) to refer to it by")
    if not alt or (isinstance(alt, list) and not all(str(a).strip() for a in alt)):
        problems.append("its image has no alt text (mystnb.image.alt)")
    if images == 0:
        problems.append("it describes a figure but shows no image")
    if isinstance(alt, list) and images and len(alt) != images:
        problems.append(f"it shows {images} image(s) but gives {len(alt)} alt texts")
    return problems


def without_figure(metadata: dict, alt: str | None = None) -> dict:
    """A copy of a cell's metadata with no figure options, and with `alt` as its image alt text."""
    plain = copy.deepcopy(metadata)
    options = plain.get(CELL_KEY, {})
    options.pop("figure", None)
    if alt is not None:
        options.setdefault("image", {})["alt"] = alt
    return plain


def _patch_myst_nb() -> None:
    """Render a figure cell's images into one figure (see the module docstring)."""
    from myst_nb import sphinx_
    from myst_nb.core.render import create_figure_context

    renderer = sphinx_.SphinxNbRenderer
    if getattr(renderer, "_one_figure_per_cell", False):
        return
    render_outputs = renderer._render_nb_cell_code_outputs

    def _render_nb_cell_code_outputs(self, token, outputs):
        metadata = token.meta["metadata"]
        figure = metadata.get(CELL_KEY, {}).get("figure") if isinstance(metadata.get(CELL_KEY), dict) else None
        if not figure:
            return render_outputs(self, token, outputs)
        alt = metadata[CELL_KEY].get("image", {}).get("alt")
        alts = alt if isinstance(alt, list) else None
        first = next((i for i, output in enumerate(outputs) if shows_image(output)), len(outputs))
        images = [output for output in outputs[first:] if shows_image(output)]
        rest = [output for output in outputs[first:] if not shows_image(output)]
        line = token.map[0] if token.map else 0
        try:
            token.meta["metadata"] = without_figure(metadata, None if alts is None else "")
            render_outputs(self, token, outputs[:first])
            if images:
                with create_figure_context(self, figure, line):
                    for i, image in enumerate(images):
                        if alts is not None:
                            token.meta["metadata"] = without_figure(metadata, str(alts[min(i, len(alts) - 1)]))
                        render_outputs(self, token, [image])
                token.meta["metadata"] = without_figure(metadata, None if alts is None else "")
            render_outputs(self, token, rest)
        finally:
            token.meta["metadata"] = metadata

    render_cell = renderer.render_nb_cell_code

    def render_nb_cell_code(self, token):
        tags = token.meta["metadata"].get("tags", [])
        if not {"remove-output", "remove_output"} & set(tags):
            _, outputs = self._get_nb_code_cell_outputs(token)
            for problem in figure_problems(token.meta["metadata"], outputs):
                logger.warning(f"code cell {token.meta['index']}: {problem}",
                               location=self.sphinx_env.docname)
        return render_cell(self, token)

    renderer._render_nb_cell_code_outputs = _render_nb_cell_code_outputs
    renderer.render_nb_cell_code = render_nb_cell_code
    renderer._one_figure_per_cell = True


# -- toggles -------------------------------------------------------------------------------------

def visit_hidden_cell(self, node) -> None:
    """MyST-NB's `visit_HideCellInput` without the `aria-label` that hides the visible text."""
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def depart_hidden_cell(self, node) -> None:
    self.body.append("</details>\n")


def _override_toggles(app) -> None:
    from myst_nb.sphinx_ import HideCodeCellNode

    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_hidden_cell))


def setup(app):
    _patch_myst_nb()
    # after myst_nb has registered its own visitor (extensions set up in order; this one is local)
    app.connect("builder-inited", _override_toggles)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
