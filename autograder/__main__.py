"""`python -m autograder release [--out DIR]` and `python -m autograder grade SUBMISSIONS ...`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autograder import sandbox, use_own_tools
from autograder.course import Course


def _course(args) -> Course:
    specs = [Path(p) for p in args.specs] if args.specs else []
    if specs:  # extra spec files come on top of the book's own
        specs = sorted((Path(__file__).parent / "specs").glob("*.py")) + specs
    return Course(chapters_dir=Path(args.chapters), spec_files=specs, reference=args.reference)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    parser.add_argument("--chapters", default=str(Path(__file__).resolve().parent.parent / "chapters"),
                        help="folder of source notebooks <id>.ipynb (default: the book's chapters/)")
    parser.add_argument("--specs", nargs="*", default=None, help="extra spec modules (.py files)")
    parser.add_argument("--reference", default="solutions", help="reference module or .py file")
    sub = parser.add_subparsers(dest="command", required=True)

    rel = sub.add_parser("release", help="student versions of every chapter: OUT/<id>/<id>.ipynb")
    rel.add_argument("--out", default="release")
    rel.add_argument("ids", nargs="*", help="chapter ids (default: all)")

    gr = sub.add_parser("grade", help="grade SUBMISSIONS/<student>/<id>/<id>.ipynb")
    gr.add_argument("submissions")
    gr.add_argument("--out", default="grading")
    gr.add_argument("--jobs", type=int, default=2)
    gr.add_argument("--cell-timeout", type=float, default=sandbox.Limits.cell_s, help="seconds per cell")
    gr.add_argument("--timeout", type=float, default=sandbox.Limits.notebook_s, help="seconds per notebook")
    gr.add_argument("--memory", type=float, default=4.0, help="GiB of address space per notebook")
    args = parser.parse_args(argv)
    use_own_tools()

    course = _course(args)
    if args.command == "release":
        from autograder.release import release

        start = time.monotonic()
        written = release(Path(args.out), course, args.ids or None)
        print(f"released {len(written)} chapters into {args.out}/ in {time.monotonic() - start:.1f} s")
        return 0

    from autograder.grade import grade_class, summary

    submissions = Path(args.submissions)
    if not submissions.is_dir():
        parser.error(f"{submissions} is not a folder of <student>/<id>/<id>.ipynb")
    if args.jobs < 1 or args.cell_timeout <= 0 or args.timeout <= 0 or args.memory <= 0:
        parser.error("--jobs, --cell-timeout, --timeout and --memory must be positive")
    limits = sandbox.Limits(cell_s=args.cell_timeout, notebook_s=args.timeout,
                            memory_bytes=int(args.memory * (1 << 30)))
    start = time.monotonic()
    results = grade_class(submissions, Path(args.out), jobs=args.jobs, course=course, limits=limits)
    print(summary(results, time.monotonic() - start, args.jobs))
    print(f"grades: {Path(args.out) / 'grades.csv'}   feedback: {Path(args.out) / 'feedback'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
