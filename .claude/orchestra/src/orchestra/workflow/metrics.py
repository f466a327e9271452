"""Sprint metrics from the event stream: burndown with its ideal line, velocity, cycle time,
throughput, blockers, completion rate, and what a sprint's points mean (`sprint_points`). Pure
functions; the caller reads events and tasks.

A task status change is an event whose `task_id` (or `data.task`) names a task and whose type is
one of the lifecycle's task events (`task_started`, `task_completed`, ... in STATUS_OF_EVENT) or
whose `data.to` is a task status. Events may repeat or arrive late: changes are
ordered by time, then event id, and a change to the status a task already has counts once. A task's
own changes keep the order the store recorded them in (event ids) whatever their clocks say (machines
sharing a store whose clocks disagree, a clock set back): a change stamped later than one recorded
after it counts at that one's time, and none later than `now`, so the status the changes end on is
the task's status, counted today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..models import TASK_STATUSES

STARTED = frozenset({"assigned", "in_progress"})
# The event types the lifecycle appends when a task changes status (lifecycle.transitions.TASK_EVENTS).
STATUS_OF_EVENT: dict[str, str] = {
    "task_requeued": "queued", "task_assigned": "assigned", "task_started": "in_progress",
    "task_completed": "completed", "task_blocked": "blocked", "task_needs_review": "needs_review",
    "task_cancelled": "cancelled",
}
EVENT_OF_STATUS: dict[str, str] = {status: kind for kind, status in STATUS_OF_EVENT.items()}


@dataclass(frozen=True, slots=True)
class Change:
    at: dt.datetime
    task: str
    status: str
    event_id: int = 0
    reason: str | None = None  # the event's `data.reason`: why a task was blocked, say


def parse_time(value: str | dt.datetime | dt.date) -> dt.datetime:
    """ISO timestamps as stored (`...Z`) to aware UTC datetimes; dates mean midnight UTC."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def task_changes(events: Iterable[dict[str, Any]], tasks: Iterable[str] | None = None,
                 now: dt.datetime | None = None) -> list[Change]:
    """Effective status changes, oldest first, optionally only for `tasks`; none after `now` when given."""
    wanted = set(tasks) if tasks is not None else None
    raw = []
    for event in events:
        data = event.get("data") or {}
        task = event.get("task_id") or data.get("task")
        status = STATUS_OF_EVENT.get(event.get("type", "")) or data.get("to")
        if not task or status not in TASK_STATUSES or (wanted is not None and task not in wanted):
            continue
        try:
            at = parse_time(event["ts"])
        except (KeyError, TypeError, ValueError):
            continue
        at = min(at, now) if now is not None else at
        reason = data.get("reason")
        raw.append(Change(at, task, status, int(event.get("id") or 0), reason if isinstance(reason, str) else None))
    raw = _in_recorded_order(raw)
    raw.sort(key=lambda c: (c.at, c.event_id))
    last: dict[str, str] = {}
    out = []
    for change in raw:
        if last.get(change.task) != change.status:
            out.append(change)
            last[change.task] = change.status
    return out


def _in_recorded_order(raw: list[Change]) -> list[Change]:
    """Each task's changes in event id order, none later than the one recorded after it (a clock ahead of
    the others, or one set back, would otherwise reorder them)."""
    after: dict[str, dt.datetime] = {}
    out = []
    for change in sorted(raw, key=lambda c: (c.event_id, c.at), reverse=True):
        later = after.get(change.task)
        if later is not None and change.at > later:
            change = Change(later, change.task, change.status, change.event_id, change.reason)
        after[change.task] = change.at
        out.append(change)
    return out


def round_points(value: float) -> float:
    """A points figure as every output gives it: to 4 decimals (0.3, not 0.30000000000000004)."""
    return round(value, 4)


def burndown(scope: dict[str, float], changes: list[Change], start: dt.date, end: dt.date,
             today: dt.date | None = None, through: dt.date | None = None,
             since: dt.date | None = None) -> dict[str, Any]:
    """Points not yet completed at the end of each day from `start` to `end`, next to the ideal line
    that falls evenly from the total to zero by the end of the last day. Days after `today` have
    `remaining: null`. A task reopened after completion counts as remaining again. A sprint still running
    (or closed) after its end goes on `through` that day, the ideal line at zero; one started before its
    start begins `since` that day, the ideal line at the total until the start."""
    total = sum(scope.values())
    planned = (end - start).days + 1
    if planned < 1:
        raise ValueError(f"burndown: end {end} is before start {start}")
    first = min(start, since) if since else start
    early = (start - first).days
    days = (max(end, through) - first).days + 1 if through else planned + early
    status: dict[str, str] = {}
    completed = 0.0
    series = []
    pending = iter([c for c in changes if c.task in scope])
    change = next(pending, None)
    for i in range(days):
        day = first + dt.timedelta(days=i)
        cutoff = parse_time(day + dt.timedelta(days=1))
        while change is not None and change.at < cutoff:
            was = status.get(change.task) == "completed"
            now = change.status == "completed"
            completed += scope[change.task] * (now - was)
            status[change.task] = change.status
            change = next(pending, None)
        future = today is not None and day > today
        series.append({
            "date": day.isoformat(),
            "remaining": None if future else round_points(total - completed),
            "ideal": round_points(total * min(1.0, max(0.0, 1 - (i - early + 1) / planned))),
        })
    return {"total": round_points(total), "start": start.isoformat(), "end": end.isoformat(), "days": series}


def velocity(sprints: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Points completed per closed sprint, oldest first (from each sprint's retrospective)."""
    rows = []
    for sprint in sprints:
        retro = sprint.get("retrospective")
        if sprint.get("status") == "complete" and retro:
            rows.append({"sprint": sprint["id"], "points": retro.get("completed_points", 0.0),
                         "closed_at": retro.get("closed_at")})
    rows.sort(key=lambda r: (r["closed_at"] or "", r["sprint"]))
    return rows


def cycle_times(changes: list[Change]) -> dict[str, float]:
    """Hours from a task's first assignment or start to its last completion, for tasks now completed."""
    started: dict[str, dt.datetime] = {}
    finished: dict[str, dt.datetime] = {}
    current: dict[str, str] = {}
    for change in changes:
        current[change.task] = change.status
        if change.status in STARTED:
            started.setdefault(change.task, change.at)
        elif change.status == "completed":
            finished[change.task] = change.at
    out = {}
    for task, end in finished.items():
        begin = started.get(task)
        if current[task] == "completed" and begin is not None and end >= begin:
            out[task] = round((end - begin).total_seconds() / 3600, 4)
    return out


def throughput(changes: list[Change], start: dt.date, end: dt.date) -> dict[str, Any]:
    """Tasks completed (and still completed) per calendar day between `start` and `end`, inclusive."""
    last: dict[str, Change] = {}
    for change in changes:
        last[change.task] = change
    low, high = parse_time(start), parse_time(end + dt.timedelta(days=1))
    done = sum(1 for c in last.values() if c.status == "completed" and low <= c.at < high)
    days = max(1, (end - start).days + 1)
    return {"completed": done, "days": days, "per_day": round(done / days, 4)}


def carried_in(events: Iterable[dict[str, Any]], sprint_id: str, started: str | None) -> dict[str, dt.datetime]:
    """When each task that `sprint_id` took over from an earlier sprint was carried out of it (before this
    sprint started): what happened to the task until then belongs to that sprint."""
    if not started:
        return {}
    out: dict[str, dt.datetime] = {}
    try:
        began = parse_time(started)
    except (TypeError, ValueError):
        return {}
    for event in events:
        data = event.get("data") or {}
        if event.get("type") != "task_carried_over" or data.get("sprint") == sprint_id or not event.get("task_id"):
            continue
        try:
            at = parse_time(event["ts"])
        except (KeyError, TypeError, ValueError):
            continue
        if at <= began:
            out[event["task_id"]] = max(at, out.get(event["task_id"], at))
    return out


def raised_here(change: Change, since: dict[str, dt.datetime] | None) -> bool:
    """`change` blocked its task in this sprint, not before the task was carried into it (`carried_in`)."""
    return change.status == "blocked" and (not since or change.task not in since or change.at > since[change.task])


def blockers(changes: list[Change], tasks: Iterable[dict[str, Any]],
             since: dict[str, dt.datetime] | None = None) -> dict[str, Any]:
    """How often tasks became blocked (a task taken over from an earlier sprint: since it was carried out
    of it, `carried_in`), and which are blocked now with their blocker text."""
    raised = sum(1 for c in changes if raised_here(c, since))
    open_now = [{"task": t["id"], "blocker": t.get("blocker")} for t in tasks if t.get("status") == "blocked"]
    return {"raised": raised, "open": len(open_now), "tasks": open_now}


def blocker_rows(changes: list[Change], tasks: Iterable[dict[str, Any]],
                 since: dict[str, dt.datetime] | None = None) -> list[dict[str, Any]]:
    """Each task blocked now or blocked in this sprint (`since` as in `blockers`), with its blocker: the open
    one, else the reason given when it was last blocked (a resolved blocker keeps its reason), and whether
    it is still open."""
    reasons: dict[str, str | None] = {}
    for change in changes:
        if raised_here(change, since):
            reasons[change.task] = change.reason
    return [{"task": t["id"], "blocker": t.get("blocker") or reasons.get(t["id"]), "open": t.get("status") == "blocked"}
            for t in tasks if t["id"] in reasons or t.get("status") == "blocked"]


def _estimate(task: dict[str, Any]) -> float:
    return float(task.get("estimate", 1.0) or 0.0)


def sprint_points(tasks: Iterable[dict[str, Any]], carried: Iterable[dict[str, Any]] = ()) -> dict[str, float]:
    """The one meaning of a sprint's points, shared by every command and report. `tasks` are the sprint's
    tasks; `carried` the unfinished work carried out of it at close (the retrospective's rows).

    total: the points committed, every task of the sprint that was not cancelled, carried-over work
    included (it counts against the sprint that did not finish it); completed: the completed tasks;
    remaining: total - completed (once the sprint is closed, exactly the work carried over);
    carried_over: the work carried out at close; cancelled: out of scope, reported apart."""
    tasks = list(tasks)
    ids = {t["id"] for t in tasks}
    carried_out = [r for r in carried if r["id"] not in ids]
    committed = [t for t in tasks if t.get("status") != "cancelled"] + carried_out
    total = sum(_estimate(t) for t in committed)
    completed = sum(_estimate(t) for t in committed if t.get("status") == "completed")
    return {"total": round_points(total), "completed": round_points(completed),
            "remaining": round_points(total - completed),
            "carried_over": round_points(sum(_estimate(r) for r in carried_out)),
            "cancelled": round_points(sum(_estimate(t) for t in tasks if t.get("status") == "cancelled"))}


def completion_rate(tasks: Iterable[dict[str, Any]], carried: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """Completed share of the committed tasks and points (`sprint_points`): cancelled tasks are out of
    scope, work carried out at close counts as not completed."""
    tasks, carried = list(tasks), list(carried)
    points = sprint_points(tasks, carried)
    ids = {t["id"] for t in tasks}
    counted = [t for t in tasks if t.get("status") != "cancelled"] + [r for r in carried if r["id"] not in ids]
    done = [t for t in counted if t.get("status") == "completed"]
    return {
        "tasks_completed": len(done), "tasks_total": len(counted),
        "tasks_rate": round(len(done) / len(counted), 4) if counted else 0.0,
        "points_completed": points["completed"], "points_total": points["total"],
        "points_rate": round(points["completed"] / points["total"], 4) if points["total"] else 0.0,
    }
