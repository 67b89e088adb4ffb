"""Grades that nothing loses: every finished submission is on disk before the next one is awaited.

An output folder holds, per student and chapter, one row (`grades.csv`) and one record
(`grades.json`, the same with every test's points and messages). This module owns both files:

- **A journal.** Each result is appended to `grades.journal.jsonl` the moment it arrives, so a
  grader killed at any instant (SIGKILL, a lost SSH session, the machine's OOM killer) keeps every
  finished grade; the next run replays it.
- **Atomic rewrites.** `grades.csv` and `grades.json` are rewritten from all records (a temporary
  file, then `os.replace`): a reader sees the old file or the new one, never half of one. They are
  rewritten after every result unless the last rewrite took long (a class of thousands): then at
  most a tenth of the time goes to rewriting, and the journal covers the moments in between.
- **Merging.** A run into a folder that already has grades updates the rows it grades and keeps
  every other row, including rows it cannot read back as records (a hand-made CSV), and the
  columns the grader does not own: `written_score` and any column an instructor added. The
  previous files are kept as dated backups in `backups/` before the first change.
- **Keys.** Rows are keyed by (student, assignment): a result that arrives twice (a retried
  cluster task) is one row.
- **CSV cells** that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) are
  written with a leading `'`, and read back without it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from pathlib import Path

GRADER_COLUMNS = ["student", "assignment", "score", "max_score", "written_score", "written_max_score",
                  "status", "flagged", "reason", "file", "note"]
INSTRUCTOR_COLUMNS = ["written_score"]  # filled in by hand (or from formgrader): kept on every rewrite
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
JOURNAL = "grades.journal.jsonl"

Key = tuple[str, str]


def _needs_quote(text: str) -> bool:  # a formula, or text that would read back as an escaped one
    return text.lstrip("'").startswith(FORMULA_START)


def escape_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula (OWASP's rule)."""
    return "'" + text if _needs_quote(text) else text


def unescape_cell(text: str) -> str:
    return text[1:] if text.startswith("'") and _needs_quote(text[1:]) else text


def _fmt(value: float) -> str:
    return f"{value:g}"


def csv_row(record: dict) -> dict[str, str]:
    """The grader's columns of a record, unescaped."""
    return {
        "student": record["student"], "assignment": record["assignment"],
        "score": _fmt(record.get("score", 0.0)), "max_score": _fmt(record.get("max_score", 0.0)),
        "written_score": "", "written_max_score": _fmt(record.get("written_max_score", 0.0)),
        "status": record.get("status", ""), "flagged": "yes" if record.get("flagged") else "",
        "reason": record.get("reason", ""), "file": record.get("file", ""), "note": record.get("note", ""),
    }


def _write_atomically(path: Path, data: bytes) -> None:
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    with open(part, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)


def _journal_records(path: Path) -> list[dict]:
    found = []
    if path.exists():
        for line in path.read_bytes().splitlines():
            try:  # the last line may be half-written: the grader was killed while writing it
                record = json.loads(line)
                found.append(record)
            except ValueError:
                continue
    return [r for r in found if isinstance(r, dict) and "student" in r and "assignment" in r]


def recorded_keys(out: Path) -> set[Key]:
    """(student, assignment) of every record in `out`, read without changing anything."""
    keys = set()
    try:
        keys |= {(r["student"], r["assignment"]) for r in json.loads((out / "grades.json").read_text())}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return keys | {(r["student"], r["assignment"]) for r in _journal_records(out / JOURNAL)}


class Results:
    """The grades of one output folder: load, add as results arrive, close."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.records: dict[Key, dict] = {}
        self.csv_rows: dict[Key, dict[str, str]] = {}  # as found in an existing grades.csv (unescaped)
        self.columns: list[str] = list(GRADER_COLUMNS)
        self.changed = False
        self._journal = None
        self._backed_up = False
        self._last_write = 0.0
        self._write_cost = 0.0

    # -- reading what is there --------------------------------------------------------------

    def load(self) -> Results:
        self.out.mkdir(parents=True, exist_ok=True)
        csv_path, json_path = self.out / "grades.csv", self.out / "grades.json"
        if csv_path.exists():
            with open(csv_path, newline="") as f:
                reader = csv.DictReader(f)
                extra = [c for c in reader.fieldnames or [] if c not in self.columns]
                self.columns += extra
                for row in reader:
                    row = {k: unescape_cell(v or "") for k, v in row.items() if k is not None}
                    if row.get("student") is not None and row.get("assignment") is not None:
                        self.csv_rows[(row["student"], row["assignment"])] = row
        if json_path.exists():
            try:
                for record in json.loads(json_path.read_text()):
                    self.records[(record["student"], record["assignment"])] = record
            except (ValueError, KeyError, TypeError):
                pass  # a damaged grades.json: its rows live on in grades.csv, and are regraded
        replayed = _journal_records(self.out / JOURNAL)
        for record in replayed:
            self.records[(record["student"], record["assignment"])] = record
        if replayed:  # what a killed run finished: into the files now, then the journal starts over
            self.changed = True
            self.flush()
        return self

    def has(self, key: Key, digest: str | None = None, options: dict | None = None) -> bool:
        """A result for this submission: for exactly these bytes when `digest` is given, and graded
        with these `options` (fields of the record, such as a seed) when they are."""
        record = self.records.get(key)
        if record is None:
            return False
        same = all(str(record.get(k, v)) == str(v) for k, v in (options or {}).items())
        return same and (digest is None or record.get("digest") in (None, digest))

    def get(self, key: Key) -> dict | None:
        return self.records.get(key)

    # -- adding -------------------------------------------------------------------------------

    def add(self, record: dict) -> None:
        """Record one result now (journal), and rewrite the files unless that was done a moment ago."""
        if self._journal is None:
            self._backup()
            self._journal = open(self.out / JOURNAL, "ab")
        self._journal.write(json.dumps(record).encode() + b"\n")
        self._journal.flush()
        self.records[(record["student"], record["assignment"])] = record
        self.changed = True
        if time.monotonic() - self._last_write >= 10 * self._write_cost:
            self.flush()

    def discard(self, key: Key) -> None:
        if self.records.pop(key, None) is not None or self.csv_rows.pop(key, None) is not None:
            self._backup()
            self.changed = True

    def flush(self) -> None:
        """Rewrite grades.csv and grades.json from every record (atomically)."""
        if not self.changed:
            return
        self._backup()
        start = time.monotonic()
        keys = sorted(set(self.records) | set(self.csv_rows))
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(self.columns)
        for key in keys:
            old = self.csv_rows.get(key, {})
            row = dict(old, **csv_row(self.records[key])) if key in self.records else old
            for column in INSTRUCTOR_COLUMNS:
                row[column] = old.get(column, "")
            writer.writerow([escape_cell(str(row.get(c, ""))) for c in self.columns])
        _write_atomically(self.out / "grades.csv", text.getvalue().encode())
        records = [self.records[k] for k in keys if k in self.records]
        _write_atomically(self.out / "grades.json", json.dumps(records, indent=1).encode())
        if self._journal is not None:  # everything journalled so far is in the files now
            self._journal.truncate(0)
        else:
            (self.out / JOURNAL).unlink(missing_ok=True)
        self.changed = False
        self._last_write = time.monotonic()
        self._write_cost = self._last_write - start

    def close(self) -> None:
        self.flush()
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        (self.out / JOURNAL).unlink(missing_ok=True)

    def _backup(self) -> None:
        """The files as they were before this run changed them, once per run."""
        if self._backed_up:
            return
        self._backed_up = True
        existing = [p for p in (self.out / "grades.csv", self.out / "grades.json") if p.exists()]
        if not existing:
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = self.out / "backups"
        folder.mkdir(exist_ok=True)
        for path in existing:
            target = folder / f"{path.stem}-{stamp}{path.suffix}"
            n = 1
            while target.exists():
                n += 1
                target = folder / f"{path.stem}-{stamp}-{n}{path.suffix}"
            shutil.copy2(path, target)

    def rows(self) -> list[dict]:
        return [self.records[k] for k in sorted(self.records)]
