"""Lighter pages without losing a pixel: the book's figures, re-encoded losslessly after each build.

Matplotlib writes RGBA PNGs at 100 dpi with zlib's default effort. Every figure of the book is
opaque, and many use at most 256 colours, so at the end of an HTML build each image in
`_build/html/_images` is rewritten as the smallest of: RGB instead of opaque RGBA, a palette image
when it has at most 256 colours, and Pillow's `optimize` pass; a file is replaced only when the
result is smaller and decodes to exactly the same pixels. A sidecar (`.page_weight.json`) records
the files already done, so a rebuild redoes only figures Sphinx copied afresh.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

SIDECAR = ".page_weight.json"


def same_pixels(a, b) -> bool:
    from PIL import ImageChops

    a, b = a.convert("RGBA"), b.convert("RGBA")
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


def smallest_png(data: bytes) -> bytes:
    """The smallest lossless re-encoding of the PNG `data` (or `data` itself)."""
    from PIL import Image

    original = Image.open(io.BytesIO(data))
    original.load()
    candidates = [original]
    image = original
    if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")
        candidates.append(image)
    if image.mode in ("RGB", "L") and image.getcolors(256) is not None:
        candidates.append(image.convert("P", palette=Image.Palette.ADAPTIVE, colors=256))
    best = data
    for candidate in candidates:
        buffer = io.BytesIO()
        candidate.save(buffer, "PNG", optimize=True)
        encoded = buffer.getvalue()
        if len(encoded) < len(best) and same_pixels(original, Image.open(io.BytesIO(encoded))):
            best = encoded
    return best


def optimise_images(folder: Path) -> tuple[int, int]:
    """Re-encode the PNGs of `folder` not done yet; returns (bytes before, bytes after) of those."""
    sidecar = folder / SIDECAR
    try:
        done = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        done = {}
    before = after = 0
    for path in sorted(folder.glob("*.png")):
        stat = path.stat()
        if done.get(path.name) == [stat.st_size, int(stat.st_mtime)]:
            continue
        data = path.read_bytes()
        smaller = smallest_png(data)
        before, after = before + len(data), after + len(smaller)
        if smaller is not data:
            path.write_bytes(smaller)
        stat = path.stat()
        done[path.name] = [stat.st_size, int(stat.st_mtime)]
    sidecar.write_text(json.dumps(done, indent=0, sort_keys=True))
    return before, after


def _on_build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    folder = Path(app.outdir) / "_images"
    if folder.is_dir():
        before, after = optimise_images(folder)
        if before:
            logger.info(f"page_weight: figures re-encoded losslessly, {before:,} -> {after:,} bytes")


def setup(app):
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
