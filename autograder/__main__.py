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
    gr.add_argument("--memory", type=float, default=4.0, help="GiB of memory per notebook (the whole box)")
    gr.add_argument("--seed", default=None,
                    help="draws the hidden inputs: keep it secret until grades are out (default: the course's "
                         "fixed seed, so that a regrade sees the same inputs; visible tests never change)")
    gr.add_argument("--scheduler", metavar="ADDRESS",
                    help="grade on a Dask distributed cluster (tls://host:8786; see autograder/README.md)")
    gr.add_argument("--regrade", action="append", metavar="STUDENT[/CHAPTER]", default=[],
                    help="grade these again (repeatable); without it, only what has no result yet is graded")
    gr.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="a progress bar (default: when stderr is a terminal)")
    gr.add_argument("--gradebook", nargs="?", const="", metavar="ROOT",
                    help="also write the scores into nbgrader's gradebook of the course root ROOT "
                         "(default: the one autograder/nbgrader_config.py uses), for formgrader")

    ex = sub.add_parser("export", help="automatic, written and total points per student and chapter, "
                                       "from nbgrader's gradebook, into one CSV")
    ex.add_argument("--root", default=None, help="nbgrader's course root (default: as nbgrader_config.py)")
    ex.add_argument("--out", default="final-grades.csv")
    args = parser.parse_args(argv)
    use_own_tools()

    if args.command == "export":
        from autograder.gradebook import export
        from autograder.release import nbgrader_root

        root = Path(args.root) if args.root else nbgrader_root()
        n = export(root, Path(args.out))
        print(f"{n} rows (student, chapter) from {root / 'gradebook.db'} into {args.out}")
        return 0

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
    out = Path(args.out)
    before = _graded_so_far(out)
    start = time.monotonic()
    try:
        options = {"seed": args.seed} if args.seed is not None else None
        results = grade_class(submissions, out, jobs=args.jobs, course=course, limits=limits,
                              progress=args.progress, scheduler=args.scheduler, regrade=args.regrade,
                              options=options)
    except (ConnectionError, OSError, RuntimeError, TimeoutError) as exc:
        if not args.scheduler:
            raise
        print(f"error: the cluster at {args.scheduler}: {exc}\n(every result that came back is in "
              f"{out / 'grades.csv'}; run the same command again to grade the rest)", file=sys.stderr)
        return 1
    now = sum(1 for r in results if r.status != "rejected" and (r.student, r.assignment) not in before) \
        if not args.regrade else None
    where = f"on the cluster at {args.scheduler}" if args.scheduler else ""
    print(summary(results, time.monotonic() - start, args.jobs, graded_now=now, where=where))
    if args.regrade:
        matched = {(r.student, r.assignment) for r in results}
        for selector in args.regrade:
            student, _, chapter = selector.partition("/")
            if not any(s == student and chapter in ("", a) for s, a in matched):
                print(f"warning: --regrade {selector} matches no submission", file=sys.stderr)
    print(f"grades: {out / 'grades.csv'}   feedback: {out / 'feedback'}/")
    if args.gradebook is not None:
        from autograder.gradebook import sync
        from autograder.release import nbgrader_root
        from autograder.results import Results

        root = Path(args.gradebook) if args.gradebook else nbgrader_root()
        written, problems = sync(Results(out).load().rows(), root, out / "received")
        for problem in problems:
            print(f"gradebook: {problem}", file=sys.stderr)
        print(f"gradebook: {written} submissions in {root / 'gradebook.db'} (formgrader shows them)")
        if problems:
            return 1
    return 0


def _graded_so_far(out: Path) -> set[tuple[str, str]]:
    from autograder.results import recorded_keys

    return recorded_keys(out)


if __name__ == "__main__":
    sys.exit(main())
