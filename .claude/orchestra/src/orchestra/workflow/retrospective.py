"""Sprint close: Active -> Review -> Complete (a blocked sprint is unblocked first), carrying unfinished
work over and writing the retrospective (completed, carried over, blockers, cycle times) into state and
as Markdown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from .. import atomic
from ..mdtext import inert
from ..metrics.formatting import duration  # as the report and `orchestra metrics` give it: 4 s, 2.5 h
from ..models import SPRINT_TRANSITIONS, TERMINAL_TASK_STATUSES, IllegalTransition
from ..store import entity
from . import metrics, states
from .definitions import definitions_dir
from .progress import cycle_summary, first_working_day, window
from .view import SprintView, all_events, sprint_view, stored_id


def build(tx, view: SprintView, *, now: dt.datetime) -> dict[str, Any]:
    """The retrospective of a sprint as it stands (call before unfinished work is carried over)."""
    events = all_events(tx)
    changes = metrics.task_changes(events, [t["id"] for t in view.tasks], now)
    cycle = metrics.cycle_times(changes)
    start, end = window(view, changes, now.date())

    def row(task: dict[str, Any]) -> dict[str, Any]:
        return {"id": task["id"], "title": task.get("title", ""), "status": task.get("status", "queued"),
                "estimate": float(task.get("estimate", 1.0) or 0.0), "assignee": task.get("assignee"),
                "cycle_hours": cycle.get(task["id"])}

    completed = [row(t) for t in view.tasks if t.get("status") == "completed"]
    carried = [row(t) for t in view.tasks if t.get("status") not in TERMINAL_TASK_STATUSES]
    scope = {t["id"]: float(t.get("estimate", 1.0) or 0.0) for t in view.tasks if t.get("status") != "cancelled"}
    points = view.points  # before carry-over: what is not completed yet is what will be carried over
    return {
        "sprint": view.id,
        "closed_at": now.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "planned_points": points["total"],
        "completed": completed,
        "completed_points": points["completed"],
        "carried_over": carried,
        "carried_over_points": points["remaining"],
        "cancelled": [t["id"] for t in view.tasks if t.get("status") == "cancelled"],
        "cancelled_points": points["cancelled"],
        "blockers": metrics.blocker_rows(
            changes, view.tasks, metrics.carried_in(events, view.id, (view.record or {}).get("started_at"))),
        "cycle_time": cycle_summary(cycle),
        "completion": metrics.completion_rate(view.tasks),
        "burndown": metrics.burndown(scope, changes, start, end, today=now.date(), through=now.date(),
                                     since=first_working_day(view.record or {}, start)),
    }


def cancelled_note(retro: dict[str, Any]) -> str:
    """`; N cancelled (out of scope)` when work was cancelled, else nothing."""
    points = retro.get("cancelled_points")
    return f"; {points:g} cancelled (out of scope)" if points else ""


def markdown(retro: dict[str, Any], name: str = "") -> str:
    lines = [f"# Retrospective: {inert(retro['sprint'])}{' — ' + inert(name) if name else ''}", "",
             f"Closed {inert(retro['closed_at'])}. Completed {retro['completed_points']:g} of "
             f"{retro['planned_points']:g} points committed; {retro['carried_over_points']:g} carried over"
             f"{cancelled_note(retro)}.", "",
             "## Completed", ""]
    lines += [f"- {inert(r['id'])}: {inert(r['title'])} ({r['estimate']:g} pts, cycle {duration(r['cycle_hours'])})"
              for r in retro["completed"]] or ["- nothing"]
    lines += ["", "## Carried over", ""]
    lines += [f"- {inert(r['id'])}: {inert(r['title'])} ({inert(r['status'])}, {r['estimate']:g} pts)"
              for r in retro["carried_over"]] or ["- nothing"]
    lines += ["", "## Blockers", ""]
    lines += [f"- {inert(b['task'])}: {inert(b['blocker'] or 'no reason given')}{' (still open)' if b['open'] else ''}"
              for b in retro["blockers"]] or ["- none"]
    summary = retro["cycle_time"]
    lines += ["", "## Cycle times", "",
              f"Mean {duration(summary['mean_hours'])}, median {duration(summary['median_hours'])}.", ""]
    return "\n".join(lines)


def retrospective_path(sprint_id: str, root: Path | None = None) -> Path:
    return definitions_dir("sprint", root) / "retrospectives" / f"{sprint_id}.md"


def carried_over_ids(text: str) -> list[str]:
    """The task ids under `## Carried over` of a retrospective's Markdown (as `markdown` writes them)."""
    ids, inside = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line.strip() == "## Carried over"
        elif inside and line.startswith("- ") and ":" in line:
            ids.append(line[2:].split(":", 1)[0].replace("\\", "").strip())
    return ids


def close(store, ref: str, root: Path | None = None, *, review_only: bool = False,
          now: dt.datetime | None = None) -> dict[str, Any]:
    """Close a sprint (`ref`: its id or file, see `state_id`): to Review, then (unless `review_only`) carry
    unfinished tasks out of it, store the retrospective and go to Complete. Closing a complete sprint
    returns its retrospective."""
    now = now or dt.datetime.now(dt.UTC)
    with store.transaction() as tx:
        sprint_id = stored_id(tx, ref, root)
        record = entity(tx, "sprints", sprint_id)  # `sprint-1.name` is no sprint
        if record is None:
            raise ValueError(states.not_in_state(sprint_id, "start"))
        if record.get("status") == "complete":  # closed before: nothing changes; when, and where its files are
            result = {"sprint": sprint_id, "status": "complete", "closed": False, "closed_at": record.get("closed_at"),
                      "retrospective": record.get("retrospective"), "file": record.get("retrospective_file"),
                      "report": written_report(sprint_id, root)}
            if result["file"] and result["retrospective"] and not Path(result["file"]).exists():
                # closed before, when its retrospective file could not be written: write it now
                result["problems"] = write_retrospective(Path(result["file"]), result["retrospective"],
                                                         record.get("name", ""))
            return result
        if record.get("status") == "blocked":
            refused = IllegalTransition("sprint", sprint_id, "blocked", "review", SPRINT_TRANSITIONS["blocked"])
            refused.args = (f"{refused}; to close it and carry its unfinished work over (blocked tasks too), "
                            f"first `orchestra sprint unblock {sprint_id}`",)
            raise refused
        try:
            states.transition(tx, sprint_id, "review", "sprint closed")
        except states.InconsistentTasks as exc:  # work still running: say how to close all the same
            exc.args = (f"{exc}; let that work finish, or move it back with `orchestra task set-status TASK "
                        "queued` (or blocked) and close again to carry it over",)
            raise
        if review_only:
            return {"sprint": sprint_id, "status": "review", "closed": False, "retrospective": None, "file": None}
        view = sprint_view(tx, sprint_id, root)
        retro = build(tx, view, now=now)
        for task in view.tasks:
            if task.get("status") not in TERMINAL_TASK_STATUSES:
                tx.update(f"tasks.{task['id']}", {"sprint": None, "carried_over_from": sprint_id})
                tx.append_event("task_carried_over", {"sprint": sprint_id, "status": task.get("status")},
                                task_id=task["id"])
        path = retrospective_path(sprint_id, root)
        tx.update(f"sprints.{sprint_id}", {"retrospective": retro, "closed_at": retro["closed_at"],
                                           "retrospective_file": str(path)})
        states.transition(tx, sprint_id, "complete", "retrospective written")
        tx.append_event("sprint_closed", {"sprint": sprint_id, "completed_points": retro["completed_points"],
                                          "carried_over": [r["id"] for r in retro["carried_over"]]})
    # The sprint is closed now; a file that cannot be written is reported, not raised (state is the truth).
    problems = write_retrospective(path, retro, record.get("name", ""))
    from ..report import default_dir, write_report  # the full report (burndown chart, agent activity)

    try:
        report = [str(p) for p in write_report(store, sprint_id, default_dir(root), root, now=now)]
    except OSError as exc:
        report = []
        problems.append(f"cannot write the sprint report into {default_dir(root)} ({exc.strerror or exc}); "
                        f"`orchestra report {sprint_id} --out DIR` writes it elsewhere")
    return {"sprint": sprint_id, "status": "complete", "closed": True, "retrospective": retro, "file": str(path),
            "report": report, "problems": problems}


def written_report(sprint_id: str, root: Path | None = None) -> list[str]:
    """The files of the sprint's report its close wrote into `.claude/sprints/reports`, those still there."""
    from ..report import default_dir, report_files

    return [str(p) for p in report_files(sprint_id, default_dir(root)) if p.is_file()]


def write_retrospective(path: Path, retro: dict[str, Any], name: str) -> list[str]:
    """Write the retrospective's Markdown; what went wrong, if anything, as messages that say what to do."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, markdown(retro, name))
    except OSError as exc:
        return [f"cannot write the retrospective {path} ({exc.strerror or exc}); it is kept in state, and "
                f"`orchestra sprint close {retro['sprint']}` writes the file once its folder can be written"]
    return []
