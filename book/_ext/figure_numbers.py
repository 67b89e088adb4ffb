"""Number figures per chapter: "Fig. 4.2" is the second figure of chapter 4.

Sphinx numbers figures through the whole book ("Fig. 23") unless the table of contents numbers its
sections, which would also number every title (the chapters' titles carry their number already,
"4. Two-dimensional convolution", and a numbered toc of several parts restarts at 1 in each
part). So after Sphinx has assigned its numbers, each figure of `chapters/NN_*` gets
`(NN, its rank in the chapter)`: captions and `{numref}` links both read these numbers.
(Sphinx computes the numbers and the pages they changed in one method, which is wrapped here.)
"""

from __future__ import annotations

import re

CHAPTER = re.compile(r"^chapters/(\d+)_")


def per_chapter(numbers: dict[str, tuple[int, ...]], chapter: int) -> dict[str, tuple[int, ...]]:
    """Figure id -> (chapter, rank), ranks in the order of Sphinx's own numbers."""
    ordered = sorted(numbers, key=lambda figure_id: numbers[figure_id])
    return {figure_id: (chapter, rank) for rank, figure_id in enumerate(ordered, start=1)}


def renumber(toc_fignumbers: dict) -> None:
    """Sphinx's book-wide numbers -> per-chapter numbers, in place."""
    for docname, by_type in toc_fignumbers.items():
        match = CHAPTER.match(docname)
        if match:
            for figtype, numbers in by_type.items():
                by_type[figtype] = per_chapter(numbers, int(match.group(1)))


def setup(app):
    from sphinx.environment.collectors.toctree import TocTreeCollector

    assign = TocTreeCollector.assign_figure_numbers
    if not getattr(assign, "per_chapter", False):
        # Sphinx assigns the numbers and lists the pages whose numbers changed since the last build
        # in one method: renumber before that comparison, so an unchanged book rewrites no page.
        def assign_per_chapter(self, env):
            previous = env.toc_fignumbers
            assign(self, env)
            renumber(env.toc_fignumbers)
            return [d for d, numbers in env.toc_fignumbers.items() if numbers != previous.get(d)]

        assign_per_chapter.per_chapter = True
        TocTreeCollector.assign_figure_numbers = assign_per_chapter
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
