"""What a sprint report says, as data: progress, burndown, velocity, cycle times, blockers, agent activity.

Built from `workflow.sprint_status` while the sprint runs; once it is closed, from the retrospective
stored at close (its burndown, cycle times and blockers were taken before unfinished work was carried out).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ..workflow import metrics
from ..workflow.capacity import velocity_points
from ..workflow.view import sprint_events

REPORT_TRIALS = None  # as many as `forecast.trial_count` gives: 2000, fewer on a large sprint


def _hours_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        seconds = (metrics.parse_time(end) - metrics.parse_time(start)).total_seconds()
    except ValueError:
        return None
    return round(seconds / 3600, 4) if seconds >= 0 else None


def agent_activity(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Every run on the sprint's work, oldest first, and a summary per agent type."""
    rows = sorted(({
        "id": r["id"], "agent_type": r.get("agent_type"), "team": r.get("team"), "task": r.get("task"),
        "status": r.get("status"), "started_at": r.get("started_at") or r.get("launched_at"),
        "ended_at": r.get("ended_at"), "hours": _hours_between(r.get("started_at") or r.get("launched_at"),
                                                               r.get("ended_at")),
        "pushbacks": int(r.get("pushbacks") or 0), "artifacts": len(r.get("artifacts") or []),
    } for r in runs), key=lambda r: (r["started_at"] or "", r["id"]))
    by_type: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = by_type.setdefault(row["agent_type"] or "?", {"agent_type": row["agent_type"] or "?", "runs": 0,
                                                               "completed": 0, "blocked": 0, "other": 0,
                                                               "hours": None, "pushbacks": 0})
        entry["runs"] += 1
        key = row["status"] if row["status"] in ("completed", "blocked") else "other"
        entry[key] += 1
        if row["hours"] is not None:  # a run still going has no time yet; a type with only such runs shows none
            entry["hours"] = round((entry["hours"] or 0.0) + row["hours"], 4)
        entry["pushbacks"] += row["pushbacks"]
    return {"runs": rows, "by_type": sorted(by_type.values(), key=lambda e: (-e["runs"], e["agent_type"]))}


def while_held(run: dict[str, Any], since: dict[str, dt.datetime], closed_at: str | None) -> bool:
    """Whether `run` worked on its task while the sprint held it: not before the task was carried into the
    sprint (`since`, `metrics.carried_in`: that run is the earlier sprint's), nor after the sprint closed (a
    carried-over task's later runs are the next sprint's). A run with no time recorded counts."""
    began = run.get("started_at") or run.get("launched_at")
    try:
        at = metrics.parse_time(began) if began else None
        if at is None:
            return True
        if run.get("task") in since and at <= since[run["task"]]:
            return False
        return not closed_at or at <= metrics.parse_time(closed_at)
    except (TypeError, ValueError):  # a time written by hand that is none
        return True


def build(store, sprint_id: str, root: Path | None = None, *, now: dt.datetime | None = None,
          seed: int = 0) -> dict[str, Any]:
    """The report of `sprint_id` as of `now` (read-only)."""
    from ..workflow import sprint_status

    now = now or dt.datetime.now(dt.UTC)
    status = sprint_status(store, sprint_id, root, now=now, seed=seed, trials=REPORT_TRIALS)
    sid = status["sprint"]
    # The sprint's tasks as `sprint status` lists them: from state once started, from the definition
    # before (titles, assignees, estimates); once closed, the carried-over ones as the retrospective has them.
    tasks = {t["id"]: t for t in status["tasks"]}
    with store.snapshot() as tx:
        record = tx.get(f"sprints.{sid}", None) or {}
        retro = record.get("retrospective")
        if retro:
            for row in retro["carried_over"]:
                tasks.setdefault(row["id"], row)
        ids = list(tasks)
        orchestration = [t["id"] for t in tx.find("tasks", orchestrates=sid)]
        events = sprint_events(tx)  # the status changes and carry-overs sprint status counts
        runs = [r for r in tx.items("agents").values() if r.get("task") in {*ids, *orchestration}
                and while_held(r, metrics.carried_in(events, sid, record.get("started_at")),
                               record.get("closed_at") if retro else None)]
        changes = metrics.task_changes(events, ids, now)
    cycle_time = status["metrics"]["cycle_time"]  # one source: a closed sprint's as its retrospective took it
    cycle = cycle_time["tasks"]
    rows = []
    for tid in ids:
        task = tasks[tid]
        hours = cycle.get(tid)
        estimate = float(task.get("estimate", 1.0) or 0.0)
        rows.append({"id": tid, "title": task.get("title", ""), "status": task.get("status", "queued"),
                     "assignee": task.get("assignee"), "estimate": estimate, "cycle_hours": hours,
                     "hours_per_point": round(hours / estimate, 4) if hours is not None and estimate else None})
    blockers = retro["blockers"] if retro else metrics.blocker_rows(
        changes, [tasks[tid] for tid in ids], metrics.carried_in(events, sid, record.get("started_at")))
    velocity = status["metrics"]["velocity"]
    return {
        "sprint": sid, "name": status["name"], "goal": status["goal"], "status": status["status"],
        "epic": status["epic"], "start": status["start"], "end": status["end"],
        "generated_at": now.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "closed_at": record.get("closed_at"),
        "points": status["points"],
        "counts": status["counts"],
        "burndown": status["metrics"]["burndown"],
        "velocity": {"sprints": velocity, "mean_points": velocity_points(velocity)},
        "cycle_time": {"tasks": rows, "mean_hours": cycle_time["mean_hours"], "median_hours": cycle_time["median_hours"]},
        "blockers": [{**b, "title": tasks.get(b["task"], {}).get("title", "")} for b in blockers],
        "carried_over": [r["id"] for r in retro["carried_over"]] if retro else [],
        "agents": agent_activity(runs),
        "forecast": None if retro else status["forecast"],
    }
