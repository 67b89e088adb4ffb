"""One HTML page per student and chapter: each test's points, each hidden case's share of them,
and what went wrong (scoring version 2).

It shows the visible tests' source (students have it anyway) and, per hidden case, its label,
the shapes of its inputs, its points and one sentence on what was wrong with a hint that matches
the kind of failure; never the hidden tests' source or the reference's values. Everything from the
submission is escaped. A row says "all right" only beside full points.
"""

from __future__ import annotations

from html import escape

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #ccc; padding: .4rem; vertical-align: top; }
th { background: #f3f3f3; text-align: left; } .ok { color: #176317; } .bad { color: #a11; } .part { color: #8a5a00; }
td p { white-space: pre-wrap; margin: .2rem 0; }
table.cases td, table.cases th { font-size: .9rem; padding: .25rem; }
pre { background: #f7f7f7; padding: .5rem; overflow-x: auto; white-space: pre-wrap; margin: 0; }
.note { background: #fff6d6; border: 1px solid #e5c85a; padding: .6rem; margin: 1rem 0; }
"""


def _fmt(x: float) -> str:
    return f"{round(x, 3):g}"


def _state(points: float, max_points: float) -> str:
    if max_points > 0 and points >= max_points:
        return "ok"
    return "part" if points > 0 else "bad"


def _cases(cases: list[dict]) -> str:
    if not cases:
        return ""
    rows = []
    for c in cases:
        if not c.get("graded"):
            verdict = ("not graded: the visible test's own inputs" if c.get("visible") else
                       "not graded: the exercise statement does not ask for this error")
            if c.get("message"):
                verdict += f" ({c['message']})"
        elif c.get("message") is None:
            verdict = "right"
        else:
            verdict = c["message"] + (f" Hint: {c['hint']}" if c.get("hint") else "")
        rows.append(f"<tr><td>{c['index']}</td><td>{escape(c['label'])}</td>"
                    f"<td class='{_state(c['points'], c['max_points']) if c.get('graded') else ''}'>"
                    f"{_fmt(c['points'])} / {_fmt(c['max_points'])}</td><td>{escape(verdict)}</td></tr>")
    right = sum(1 for c in cases if c.get("graded") and c.get("message") is None)
    graded = sum(1 for c in cases if c.get("graded"))
    return (f"<details><summary>hidden cases: {right} of {graded} right</summary>"
            "<table class='cases'><tr><th>#</th><th>what it probes</th><th>points</th><th>result</th></tr>"
            + "".join(rows) + "</table></details>")


def render(result) -> str:
    """`result` is a `grade.SubmissionResult`."""
    rows = []
    for t in result.tests:
        cls = _state(t.points, t.max_points)
        messages = "".join(f"<p>{escape(m)}</p>" for m in t.messages)
        if not messages:
            messages = "<p>all right</p>" if cls == "ok" else "<p>no points: nothing was graded for this test</p>"
        rows.append(
            f"<tr><td><code>{escape(t.grade_id)}</code></td>"
            f"<td class='{cls}'>{_fmt(t.points)} / {_fmt(t.max_points)}</td><td>{messages}{_cases(t.cases)}"
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
points graded automatically. Each test's points are shared over its function's hidden cases; open
"hidden cases" to see each one.</p>
{notes}
<table><tr><th>test</th><th>points</th><th>what happened</th></tr>
{''.join(rows)}{written}
</table>
</body></html>
"""
