"""The sprint report as Markdown (the burndown chart is the SVG file next to it)."""

from __future__ import annotations

from typing import Any

from ..mdtext import inert
from ..metrics.formatting import DASH, duration, number


def _cell(value: Any) -> str:
    return DASH if value in (None, "") else inert(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def summary_line(report: dict[str, Any]) -> str:
    points, counts = report["points"], report["counts"]
    tasks = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in counts.items() if n)
    return (f"**{number(points['completed'])} of {number(points['total'])} points done** "
            f"({points_left(points)}); tasks: {tasks or 'none'}.")


def points_left(points: dict[str, Any]) -> str:
    """What is not done: left, or carried over once the sprint is closed; cancelled work apart."""
    left = (f"{number(points['carried_over'])} carried over" if points.get("carried_over")
            else f"{number(points['remaining'])} left")
    return left + (f", {number(points['cancelled'])} cancelled (out of scope)" if points.get("cancelled") else "")


def render(report: dict[str, Any], chart_file: str | None = None) -> str:
    name = f" — {inert(report['name'])}" if report["name"] else ""
    lines = [f"# Sprint report: {inert(report['sprint'])}{name}", ""]
    if report["goal"]:
        lines += [f"Goal: {inert(report['goal'])}", ""]
    epic = f", epic {inert(report['epic'])}" if report["epic"] else ""
    closed = f", closed {inert(report['closed_at'])}" if report["closed_at"] else ""
    lines += [f"Status **{inert(report['status'])}**, {inert(report['start'])} .. {inert(report['end'])}{epic}{closed}. "
              f"Generated {report['generated_at']}.", "", summary_line(report), ""]

    lines += ["## Burndown", ""]
    if chart_file:
        lines += [f"![Burndown of {inert(report['sprint'])}]({chart_file})", ""]
    days = [d for d in report["burndown"]["days"] if d["remaining"] is not None]
    lines += _table(["Day", "Remaining", "Ideal"], [[d["date"], number(d["remaining"]), number(d["ideal"])]
                                                    for d in days]) if days else ["No day of the sprint has ended yet."]

    velocity = report["velocity"]
    lines += ["", "## Velocity", ""]
    if velocity["sprints"]:
        lines += _table(["Sprint", "Points completed", "Closed"],
                        [[v["sprint"], number(v["points"]), v["closed_at"]] for v in velocity["sprints"]])
        lines += ["", f"Mean of the last sprints: {number(velocity['mean_points'])} points."]
    else:
        lines.append("No sprint closed yet.")

    cycle = report["cycle_time"]
    lines += ["", "## Cycle time", ""]
    lines += _table(["Task", "Title", "Status", "Assignee", "Points", "Cycle time", "Per point"],
                    [[r["id"], r["title"], r["status"], r["assignee"], number(r["estimate"]),
                      duration(r["cycle_hours"]), duration(r["hours_per_point"])] for r in cycle["tasks"]])
    lines += ["", f"Mean {duration(cycle['mean_hours'])}, median {duration(cycle['median_hours'])} "
                  "(first assignment to completion, completed tasks)."]

    lines += ["", "## Blockers", ""]
    lines += [f"- {inert(b['task'])} ({inert(b['title'] or 'untitled')}): {inert(b['blocker'] or 'no reason given')}"
              f"{' — still open' if b['open'] else ' — resolved'}" for b in report["blockers"]] or ["- none"]
    if report["carried_over"]:
        lines += ["", f"Carried over: {', '.join(inert(t) for t in report['carried_over'])}."]

    agents = report["agents"]
    lines += ["", "## Agent activity", ""]
    if agents["runs"]:
        lines += _table(["Agent", "Runs", "Completed", "Blocked", "Other", "Time", "Pushed back"],
                        [[a["agent_type"], a["runs"], a["completed"], a["blocked"], a["other"],
                          duration(a["hours"]), a["pushbacks"]] for a in agents["by_type"]])
        lines += [""] + _table(["Run", "Agent", "Task", "Status", "Started", "Time", "Pushed back", "Artifacts"],
                               [[r["id"], r["agent_type"], r["task"], r["status"], r["started_at"],
                                 duration(r["hours"]), r["pushbacks"], r["artifacts"]] for r in agents["runs"]])
    else:
        lines.append("No agent has worked on this sprint yet.")

    forecast = report["forecast"]
    if forecast is not None:
        lines += ["", "## Forecast", ""]
        lines.append(f"Remaining work done by {forecast['p50_at']} (p50) and {forecast['p85_at']} (p85), "
                     f"from {forecast['samples']} past task{'' if forecast['samples'] == 1 else 's'}, {forecast['trials']} trials."
                     if forecast.get("available") else f"Not yet: {inert(forecast.get('reason'))}.")
    return "\n".join(lines) + "\n"
