"""Numbers in the prose are the executed outputs: no stale number in a sentence.

A markdown cell that quotes a computed number lists it in its metadata, `"pins": [...]`. Each pin is
either a string that appears both in the cell's text and in the text output of a code cell above it,
or a pair `[prose, output]` when the two spell the same value differently ("4,000" in a sentence,
"4000" printed). The outputs are those `make book` executed for the chapter as it is now (its
execution cache, `_build/.jupyter_cache`, matched the way the build matches it), so a change that
moves a printed number fails here until the sentence says the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "_build" / ".jupyter_cache"
CHAPTERS = sorted(p.stem for p in (REPO / "chapters").glob("*.ipynb"))


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _output_text(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(_text({"source": out.get("text", "")}))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(_text({"source": out.get("data", {}).get("text/plain", "")}))
    return "\n".join(parts)


def pins_of(cell: dict) -> list[tuple[str, str]]:
    pins = cell.get("metadata", {}).get("pins", [])
    return [(p, p) if isinstance(p, str) else (p[0], p[1]) for p in pins]


def unpinned(source_nb: dict, executed_nb: dict) -> list[str]:
    """Every pin of `source_nb` that its own text or the executed outputs above it do not hold.
    Executed cells are matched to source cells by cell id (the book may drop or add cells)."""
    outputs = {c.get("id"): _output_text(c) for c in executed_nb["cells"] if c["cell_type"] == "code"}
    problems, above = [], []
    for cell in source_nb["cells"]:
        if cell["cell_type"] == "code":
            above.append(outputs.get(cell.get("id"), ""))
            continue
        printed = "\n".join(above)
        for prose, output in pins_of(cell):
            if prose not in _text(cell):
                problems.append(f"pin {prose!r} is not in its cell's text: {_text(cell)[:80]!r}")
            elif output not in printed:
                problems.append(f"{prose!r} (output {output!r}) is printed by no code cell above: "
                                f"{_text(cell)[:80]!r}")
    return problems


def test_a_pin_must_be_printed_above_and_said_in_the_text():
    code = {"cell_type": "code", "id": "c1", "source": "print(4000)", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "trained on 4000 digits\n"}]}
    good = {"cell_type": "markdown", "source": "We trained on 4,000 digits.", "metadata": {"pins": [["4,000", "4000"]]}}
    stale = {"cell_type": "markdown", "source": "We trained on 5,000 digits.", "metadata": {"pins": ["5,000"]}}
    before = {"cell_type": "markdown", "source": "4000 digits", "metadata": {"pins": ["4000"]}}
    assert unpinned({"cells": [code, good]}, {"cells": [code]}) == []
    assert len(unpinned({"cells": [code, stale]}, {"cells": [code]})) == 1
    assert len(unpinned({"cells": [before, code]}, {"cells": [code]})) == 1  # printed only below


def executed(chapter: str) -> dict | None:
    """The chapter as `make book` last executed it, outputs included; None if the book's execution
    cache holds no run of the chapter's current code. (`_build/jupyter_execute/` is no substitute:
    a rebuild that finds the outputs in the cache writes the notebook there without them.)"""
    import sys

    import nbformat
    from jupyter_cache import get_cache

    sys.path.insert(0, str(REPO / "book" / "_ext"))
    try:
        import execution_key
        import nbgrader_cells
    finally:
        sys.path.pop(0)
    # the notebook exactly as the build hands it to the cache: hidden tests cut, sources stamped
    text = nbgrader_cells.book_notebook_text((REPO / "chapters" / f"{chapter}.ipynb").read_text())
    text = execution_key.stamp_ipynb(text, execution_key.fingerprint(execution_key.watched_files(REPO), REPO))
    try:
        _, merged = get_cache(CACHE).merge_match_into_notebook(nbformat.reads(text, as_version=4))
    except KeyError:
        return None
    return json.loads(nbformat.writes(merged))


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_prose_numbers_are_the_executed_outputs(chapter):
    run = executed(chapter) if CACHE.exists() else None
    assert run is not None, f"no executed run of {chapter}'s current code: build the book (make book) first"
    source = json.loads((REPO / "chapters" / f"{chapter}.ipynb").read_text())
    problems = unpinned(source, run)
    assert not problems, "\n".join(problems)
