"""`sprint_status`: where a sprint stands — counts, points, critical path of what is left, ready queue,
blockers, metrics (burndown, cycle time, throughput, velocity, completion) and the forecast.

The output is the stable JSON of `orchestra sprint status ID --json` and of the MCP tool
`sprint_status` (README, "Sprints and epics").
"""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path
from typing import Any

from ..metrics.tally import tally
from ..models import TASK_STATUSES
from . import forecast as forecasting
from . import metrics
from .capacity import PLANNED_ANYWAY, parallel_capacity
from .graph import Pools
from .holders import with_holders
from .view import SprintView, outside_done, sprint_events, sprint_view

DEFAULT_SPRINT_DAYS = 14

CLOSED_FORECAST = {"available": False, "reason": "the sprint is closed: nothing is left to forecast"}


def no_forecast(view: SprintView) -> str | None:
    """Why a sprint gets no forecast: closed, nothing is left; blocked, its work cannot go on, so no date holds."""
    record = view.record or {}
    if record.get("status") == "complete":
        return CLOSED_FORECAST["reason"]
    if record.get("status") != "blocked":
        return None
    if record.get("hold"):
        return (f"the sprint is blocked by hand: {record['hold'].get('reason')}; no work starts in it until "
                f"`orchestra sprint unblock {view.id}`")
    return "every remaining task waits on a blocker: nothing can finish until one is resolved"


def window(view: SprintView, changes: list[metrics.Change], today: dt.date) -> tuple[dt.date, dt.date]:
    """The sprint's calendar: its `start`/`end` when defined, else from when it started, else today,
    lasting DEFAULT_SPRINT_DAYS."""
    started = ((view.record or {}).get("started_at") or "")
    # Before it starts, a sprint's tasks may have a history from an earlier sprint: not this one's calendar.
    first = changes[0].at.date() if changes and view.source == "state" else today
    start = (_day(view, "start", view.start) if view.start
             else _day(view, "started_at", started[:10], started) if started else first)
    end = _day(view, "end", view.end) if view.end else start + dt.timedelta(DEFAULT_SPRINT_DAYS - 1)
    return start, max(start, end)


def _day(view: SprintView, key: str, text: Any, written: Any = None) -> dt.date:
    """A sprint's `start`, `end` or the day of its `started_at` as a date; one written into state by hand that
    is none is refused, naming its key and the command that mends it (a sprint file's dates are checked when
    it loads)."""
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        if view.source != "state":
            raise
        value = text if written is None else written
        fix = ("a real date such as `'\"2026-12-01\"'`, or `null`" if key != "started_at"
               else "the time it started, such as `'\"2026-12-01T09:00:00Z\"'`")
        raise ValueError(f"sprints.{view.id}.{key}: {value!r} is not a calendar date (YYYY-MM-DD); it was written "
                         f"into the state store directly. Fix it with `orchestra state set sprints.{view.id}.{key} "
                         f"VALUE`, VALUE being {fix}") from None


def first_working_day(record: dict[str, Any], start: dt.date) -> dt.date:
    """The first day of a sprint's burndown and throughput: its start, or the day it was started when
    that came first (work done before the planned start counts)."""
    try:
        started = metrics.parse_time(record["started_at"]).date() if record.get("started_at") else start
    except (TypeError, ValueError):
        return start
    return min(start, started)


def last_working_day(record: dict[str, Any], now: dt.datetime) -> dt.date | None:
    """The last day a started sprint ran: the day it closed, else today (None before it started). A
    sprint closed early or late has its burndown and throughput through that day."""
    if not record.get("started_at"):
        return None
    closed = record.get("closed_at") if record.get("status") == "complete" else None
    return metrics.parse_time(closed).date() if closed else now.date()


def history_rates(tx, events: list[dict[str, Any]]) -> list[float]:
    """Hours per point of every completed task the store knows, the forecast's sample."""
    cycle = metrics.cycle_times(metrics.task_changes(events))
    estimates = {tid: float(t.get("estimate", 0) or 0) for tid, t in tx.items("tasks").items() if tid in cycle}
    return forecasting.hours_per_point(cycle, estimates)


def cycle_summary(cycle: dict[str, float]) -> dict[str, Any]:
    """Mean and median rounded as each task's hours are (`metrics.cycle_times`); the report shows these."""
    values = sorted(cycle.values())
    return {
        "tasks": cycle,
        "mean_hours": round(statistics.fmean(values), 4) if values else None,
        "median_hours": round(statistics.median(values), 4) if values else None,
    }


def closed_blockers(events: list[dict[str, Any]], view: SprintView, retro: dict[str, Any]) -> dict[str, Any]:
    """A closed sprint's `metrics.blockers` as they stood at close, the work carried out of it included:
    the blockers raised until then, and those still open (the retrospective's, with their reasons)."""
    ids = [t["id"] for t in view.tasks] + [r["id"] for r in view.carried]
    closed_at = metrics.parse_time(retro["closed_at"])
    since = metrics.carried_in(events, view.id, (view.record or {}).get("started_at"))
    raised = sum(1 for c in metrics.task_changes(events, ids)
                 if c.at <= closed_at and metrics.raised_here(c, since))
    still = [{"task": b["task"], "blocker": b.get("blocker")} for b in retro.get("blockers") or [] if b.get("open")]
    return {"raised": raised, "open": len(still), "tasks": still}


def status_view(tx, view: SprintView, org, *, now: dt.datetime, seed: int = 0,
                trials: int | None = forecasting.DEFAULT_TRIALS, events: list[dict[str, Any]] | None = None,
                most_trials: int = forecasting.MOST_TRIALS) -> dict[str, Any]:
    """`sprint_status` of `view`; `events`, when given, is `sprint_events(tx)` already read (not read again)."""
    from ..lifecycle.config import load as lifecycle_config
    from ..lifecycle.views import pool_finder

    if events is None:
        events = sprint_events(tx)  # the part of the log the metrics below read
    ids = [t["id"] for t in view.tasks]
    changes = metrics.task_changes(events, ids, now)
    start, end = window(view, changes, now.date())
    scope = {t["id"]: float(t.get("estimate", 1.0) or 0.0) for t in view.tasks if t.get("status") != "cancelled"}
    cycle = metrics.cycle_times(changes)
    counts = tally(view.tasks, view.carried, TASK_STATUSES)  # the status line's counts too
    finished = outside_done(tx, view)
    pool_of = pool_finder(org)
    graph = view.remaining_graph(finished, org, pool_of)
    capacity = parallel_capacity(org, view.capacity)
    pools = able_pools(view, graph, pool_of)
    # capacity 0: nobody takes them, the forecast leaves them out; with the capacity gate off, work named to
    # such a member or team is delegated all the same, and the forecast runs it there one task at a time
    gate = lifecycle_config(org).capacity_gate
    idle, waived = graph.staffing(capacity, Pools(members=pools), gate)
    pools = {tid: [m for m in able if capacity.members.get(m) != 0] for tid, able in pools.items() if tid not in idle}
    done = view.done  # a set built from every task: once, not once per task
    slots = {team: capacity.team_limit(team) for team in {t.get("team") for t in view.tasks if t["id"] not in done}}
    completion = metrics.completion_rate(view.tasks, view.carried)
    record = view.record or view.about
    retro = record.get("retrospective") if view.status == "complete" else None
    last_day = last_working_day(record, now)
    first_day = first_working_day(record, start)
    return {
        "sprint": view.id,
        "name": record.get("name", ""),
        "goal": record.get("goal", ""),
        "status": view.status,
        "source": view.source,
        "epic": record.get("epic"),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "history": record.get("history", []),
        "hold": record.get("hold"),
        "counts": counts,
        "points": view.points,
        "critical_path": {"tasks": graph.critical_path(), "length": metrics.round_points(graph.length)},
        "ready": graph.ready(done=done | finished, exclude=set(view.running) | view.blocked | set(idle)),
        "idle": idle,
        "warnings": {tid: f"{why}; {PLANNED_ANYWAY}" for tid, why in waived.items()},
        "running": view.running,
        "holders": {tid: view.holders[tid] for tid in view.running if tid in view.holders},  # who works on each
        "tasks": [{"id": t["id"], "title": t.get("title", ""), "status": t.get("status", "queued"),
                   "team": t.get("team"), "assignee": t.get("assignee"),
                   "estimate": float(t.get("estimate", 1.0) or 0.0), "priority": t.get("priority", "normal"),
                   "blocker": t.get("blocker")} for t in view.tasks],
        "metrics": {
            # a closed sprint's burndown, cycle times and blockers were taken at close, before its
            # unfinished work left it (the report reads the same)
            "burndown": (retro or {}).get("burndown") or metrics.burndown(
                scope, changes, start, end, today=now.date(), through=last_day, since=first_day),
            "cycle_time": (retro or {}).get("cycle_time") or cycle_summary(cycle),
            "throughput": metrics.throughput(changes, first_day,
                                             max(first_day, last_day or min(end, now.date()))),
            "blockers": closed_blockers(events, view, retro) if retro else metrics.blockers(
                changes, view.tasks, metrics.carried_in(events, view.id, record.get("started_at"))),
            "completion": completion,
            "velocity": metrics.velocity(tx.items("sprints").values()),
        },
        "forecast": {"available": False, "reason": why} if (why := no_forecast(view)) else forecasting.forecast(
            graph.without(idle), history_rates(tx, events), slots, now=now, trials=trials, seed=seed,
            members=capacity.members, pools=pools, most=most_trials),
    }


def able_pools(view: SprintView, graph, pool_of) -> dict[str, list[str]]:
    """The members able to take each task of `graph` that names nobody, as delegation picks among them
    (`views.auto_pool`, through `pool_of`, a `views.pool_finder`): the forecast gives it to one of them with a
    free place."""
    return {t["id"]: pool[0] for t in view.tasks
            if t["id"] in graph.index and not t.get("assignee") and (pool := pool_of(t)) is not None}


def sprint_status(store, sprint_id: str, root: Path | None = None, *, now: dt.datetime | None = None,
                  seed: int = 0, trials: int | None = forecasting.DEFAULT_TRIALS) -> dict[str, Any]:
    """Where `sprint_id` stands (read-only). `now` and `seed` make the answer reproducible."""
    from .sprints import organization

    org = organization(root)
    with store.snapshot() as tx:
        return status_in(tx, sprint_id, root, org, now=now or dt.datetime.now(dt.UTC), seed=seed, trials=trials)


def status_in(tx, sprint_id: str, root: Path | None, org, *, now: dt.datetime, seed: int = 0,
              trials: int | None = forecasting.DEFAULT_TRIALS, events: list[dict[str, Any]] | None = None,
              most_trials: int = forecasting.MOST_TRIALS) -> dict[str, Any]:
    """`sprint_status` read through an open snapshot `tx`, `org` being `sprints.organization(root)`; `events`,
    `sprint_events(tx)` when the caller has read them already, are not read again."""
    view = with_holders(tx, sprint_view(tx, sprint_id, root), org)
    return status_view(tx, view, org, now=now, seed=seed, trials=trials, events=events, most_trials=most_trials)
