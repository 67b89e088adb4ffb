"""Every chapter of the contract is a well-formed nbgrader source notebook (AUTHORING.md).

Executing them is the book build's job (`make book` runs every notebook and fails on any error);
the student versions and full marks are proven by the grader's end-to-end test.
"""

import re
import subprocess
import sys

import pytest

from tools.check_chapter import COURSE, ROOT, structure_problems

CHAPTERS = re.findall(r"^\|\s*`(\d\d_[a-z0-9_]+)`", COURSE.read_text(), re.M)


def test_contract_lists_eleven_chapters():
    assert len(CHAPTERS) == 11


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_notebook_is_well_formed(chapter):
    import nbformat

    path = ROOT / "chapters" / f"{chapter}.ipynb"
    assert path.exists(), f"{path} is missing"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert structure_problems(nb, chapter) == []


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_is_in_the_book(chapter):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"chapters/{chapter}" in toc


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_version_does_not_import_this_chapters_reference(chapter):
    """Outside hidden tests, no cell may import the reference of the chapter's own graded functions."""
    import nbformat

    from tools.check_chapter import contract_functions, student_version

    nb = student_version(nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4))
    own = set(contract_functions(chapter))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            m = re.match(r"\s*from solutions(?:\.\w+)? import (.+)", line)
            names = set(re.findall(r"\w+", m.group(1))) if m else set()
            assert not names & own, f"{chapter}: a cell imports {names & own} from solutions: {line!r}"
            assert not re.search(r"\bsolutions\.(" + "|".join(own) + r")\b", line), \
                f"{chapter}: a cell uses the reference of its own graded function: {line!r}"


def test_contract_status_reports_everything_in_place():
    tool = ROOT.parent / "shared" / "tools" / "contract_status"
    result = subprocess.run([sys.executable, str(tool), str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]

