"""The sprint report as one self-contained HTML page with the burndown drawn inline as SVG."""

from __future__ import annotations

import html
from typing import Any

from ..metrics.formatting import DASH, duration, number
from ..termtext import one_line
from .svg import burndown_svg

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#0f172a;background:#f8fafc;margin:0;
overflow-wrap:anywhere}
main{max-width:960px;margin:0 auto;padding:32px 24px 64px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.meta{color:#475569;margin:0 0 16px}.goal{font-size:16px;margin:8px 0}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:12px;margin:16px 0}
.tile{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:12px 14px}
.tile b{display:block;font-size:22px}.tile span{color:#64748b;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e2e8f0;border-radius:8px;font-size:14px}
.table{overflow-x:auto}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #f1f5f9;white-space:nowrap}
td.t{white-space:normal}th{background:#f1f5f9;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.chart{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:8px}.chart svg{width:100%;height:auto}
.s-completed{color:#15803d}.s-blocked{color:#b91c1c}.s-in_progress,.s-assigned{color:#b45309}
.open{color:#b91c1c;font-weight:600}.resolved{color:#15803d}
"""


def escape(text: str) -> str:
    """Text as HTML text on one line, without escape sequences or control characters (in the file they would
    act on a terminal that shows it)."""
    return html.escape(one_line(text))


def _e(value: Any) -> str:
    return DASH if value in (None, "") else escape(str(value))


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset(),
           text: set[int] = frozenset()) -> str:
    """A table in a box that scrolls sideways rather than widen the page. Only a `text` column (free text)
    wraps; ids, statuses, names and numbers stay on one line, so a long title cannot squeeze them into a
    column one letter wide."""
    def cls(i: int) -> str:
        return " class=n" if i in numeric else " class=t" if i in text else ""

    head = "".join(f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>"
                   for row in rows)
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _status(status: str | None) -> str:
    return f'<span class="s-{escape(status or "")}">{_e(status)}</span>'


def render(report: dict[str, Any]) -> str:
    points, counts = report["points"], report["counts"]
    name = f" — {escape(report['name'])}" if report["name"] else ""
    epic = f" · epic {escape(report['epic'])}" if report["epic"] else ""
    closed = f" · closed {escape(report['closed_at'])}" if report["closed_at"] else ""
    tiles = [(f"{number(points['completed'])} / {number(points['total'])}", "points done"),
             (number(points["remaining"]), "points carried over" if points.get("carried_over") else "points left"),
             (str(counts.get("completed", 0)), "tasks completed"),
             (str(counts.get("blocked", 0)), "tasks blocked"),
             (duration(report["cycle_time"]["median_hours"]), "median cycle time"),
             (number(report["velocity"]["mean_points"]), "velocity (points)")]
    parts = [
        f"<h1>Sprint report: {escape(report['sprint'])}{name}</h1>",
        f'<p class="meta">Status <b>{escape(report["status"])}</b> · {escape(report["start"])} .. '
        f'{escape(report["end"])}{epic}{closed} · generated {escape(report["generated_at"])}</p>',
        f'<p class="goal">{escape(report["goal"])}</p>' if report["goal"] else "",
        '<div class="tiles">' + "".join(f'<div class="tile"><b>{escape(v)}</b><span>{escape(k)}</span></div>'
                                        for v, k in tiles) + "</div>",
        "<h2>Burndown</h2>",
        f'<div class="chart">{burndown_svg(report["burndown"], "Burndown of " + report["sprint"])}</div>',
        "<h2>Velocity</h2>",
        _table(["Sprint", "Points completed", "Closed"],
               [[_e(v["sprint"]), number(v["points"]), _e(v["closed_at"])] for v in report["velocity"]["sprints"]],
               {1}) if report["velocity"]["sprints"] else "<p>No sprint closed yet.</p>",
        "<h2>Cycle time</h2>",
        _table(["Task", "Title", "Status", "Assignee", "Points", "Cycle time", "Per point"],
               [[_e(r["id"]), _e(r["title"]), _status(r["status"]), _e(r["assignee"]), number(r["estimate"]),
                 duration(r["cycle_hours"]), duration(r["hours_per_point"])] for r in report["cycle_time"]["tasks"]],
               {4, 5, 6}, {1}),
        f'<p class="meta">Mean {duration(report["cycle_time"]["mean_hours"])}, median '
        f'{duration(report["cycle_time"]["median_hours"])} (first assignment to completion).</p>',
        "<h2>Blockers</h2>",
        ("<ul>" + "".join(f"<li><b>{_e(b['task'])}</b> ({_e(b['title'])}): {_e(b['blocker'])} "
                          f"<span class={'open' if b['open'] else 'resolved'}>"
                          f"{'still open' if b['open'] else 'resolved'}</span></li>" for b in report["blockers"])
         + "</ul>") if report["blockers"] else "<p>None.</p>",
        "<h2>Agent activity</h2>",
    ]
    agents = report["agents"]
    if agents["runs"]:
        parts.append(_table(["Agent", "Runs", "Completed", "Blocked", "Other", "Time", "Pushed back"],
                            [[_e(a["agent_type"]), str(a["runs"]), str(a["completed"]), str(a["blocked"]),
                              str(a["other"]), duration(a["hours"]), str(a["pushbacks"])] for a in agents["by_type"]],
                            {1, 2, 3, 4, 5, 6}))
        parts.append("<p></p>" + _table(
            ["Run", "Agent", "Task", "Status", "Started", "Time", "Pushed back", "Artifacts"],
            [[f"<code>{_e(r['id'])}</code>", _e(r["agent_type"]), _e(r["task"]), _status(r["status"]),
              _e(r["started_at"]), duration(r["hours"]), str(r["pushbacks"]), str(r["artifacts"])]
             for r in agents["runs"]], {5, 6, 7}))
    else:
        parts.append("<p>No agent has worked on this sprint yet.</p>")
    forecast = report["forecast"]
    if forecast is not None:
        text = (f"Remaining work done by {escape(forecast['p50_at'])} (p50) and {escape(forecast['p85_at'])} "
                f"(p85), from {forecast['samples']} past task{'' if forecast['samples'] == 1 else 's'}." if forecast.get("available")
                else f"Not yet: {escape(str(forecast.get('reason')))}.")
        parts += ["<h2>Forecast</h2>", f"<p>{text}</p>"]
    title = f"Sprint report {report['sprint']}"
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style></head>'
            f"<body><main>{''.join(parts)}</main></body></html>\n")
