"""Write a class of test students in nbgrader's layout, for trying `grade` by hand and timing it.

    python -m tests.submissions.make_class RELEASE OUT [--honest-only] [--copies N]

RELEASE is the output of `python -m autograder release`. Students: `reference` and `blank` on every
chapter, `buggy_<chapter>` with one broken function per chapter, and (unless --honest-only) one
hostile student per family on 03_conv1d. `--copies N` repeats the honest students N times.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from autograder.course import Course
from tests.submissions import builders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("release", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--honest-only", action="store_true")
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()
    course = Course()

    def put(student: str, cid: str, data: bytes) -> None:
        path = args.out / student / cid / f"{cid}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    for cid in course.chapter_ids():
        source = json.loads(course.chapter(cid).path.read_text())
        released = json.loads((args.release / cid / f"{cid}.ipynb").read_text())
        for copy in range(args.copies):
            suffix = f"_{copy}" if args.copies > 1 else ""
            put(f"reference{suffix}", cid, builders.reference_student(source))
            put(f"blank{suffix}", cid, builders.blank_student(released))
            name = next((e.name for e in course.chapter(cid).exercises if e.name[0].islower()), None)
            if name:
                put(f"buggy{suffix}_{cid}", cid, builders.buggy_student(source, name))
        if cid == "03_conv1d" and not args.honest_only:
            for family, build in builders.HOSTILE.items():
                put(f"hostile_{family}", cid, build(released))


if __name__ == "__main__":
    main()
