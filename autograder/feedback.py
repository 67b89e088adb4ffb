"""One HTML page per student and chapter: each test's points and what went wrong.

It shows the visible tests' source (students have it anyway) and one sentence per failing hidden
case (its label and the shapes of its inputs), never the hidden tests' source or the reference's
values. Everything from the submission is escaped.
"""

from __future__ import annotations

from html import escape

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #ccc; padding: .4rem; vertical-align: top; }
th { background: #f3f3f3; text-align: left; } .ok { color: #176317; } .bad { color: #a11; }
td p { white-space: pre-wrap; }
pre { background: #f7f7f7; padding: .5rem; overflow-x: auto; white-space: pre-wrap; margin: 0; }
.note { background: #fff6d6; border: 1px solid #e5c85a; padding: .6rem; margin: 1rem 0; }
"""


def _fmt(x: float) -> str:
    return f"{x:g}"


def render(result) -> str:
    """`result` is a `grade.SubmissionResult`."""
    rows = []
    for t in result.tests:
        cls = "ok" if t.points == t.max_points and t.max_points > 0 else "bad"
        details = "".join(f"<p>{escape(m)}</p>" for m in t.messages) or "<p>passed</p>"
        rows.append(
            f"<tr><td><code>{escape(t.grade_id)}</code></td>"
            f"<td class='{cls}'>{_fmt(t.points)} / {_fmt(t.max_points)}</td><td>{details}"
            f"<details><summary>visible test</summary><pre>{escape(t.visible_source)}</pre></details></td></tr>")
    written = "".join(
        f"<tr><td><code>{escape(w['grade_id'])}</code></td><td>graded by hand, out of {_fmt(w['max_points'])}</td>"
        f"<td><pre>{escape(w['answer'] or '(no answer)')}</pre></td></tr>" for w in result.written)
    notes = "".join(f"<div class='note'>{escape(n)}</div>" for n in result.student_notes())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(result.assignment)}: {escape(result.student)}</title>
<style>{STYLE}</style></head><body>
<h1>{escape(result.assignment)}</h1>
<p>Student <code>{escape(result.student)}</code>: <strong>{_fmt(result.score)} / {_fmt(result.max_score)}</strong>
points graded automatically.</p>
{notes}
<table><tr><th>test</th><th>points</th><th>what happened</th></tr>
{''.join(rows)}{written}
</table>
</body></html>
"""
