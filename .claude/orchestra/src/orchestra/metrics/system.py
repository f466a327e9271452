"""`collect`: every metric of `orchestra metrics --json` and the dashboard's metrics panel, in one dict.

Sprint metrics (burndown, velocity, cycle time, blockers, completion, forecast) come from
`workflow.sprint_status` for the current sprint (`current.current_sprint`) or the one asked for;
the rest is computed here over all tasks and runs, the audit log's recent lines and the agents'
status reports.
"""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path
from typing import Any

from .. import paths
from ..lifecycle.transitions import LIVE_RUN_STATUSES
from ..workflow import metrics as sprint_metrics
from ..workflow.capacity import VELOCITY_WINDOW, velocity_points
from ..workflow.progress import cycle_summary
from ..workflow.view import all_events, sprint_events
from . import auditlog
from .current import current_sprint
from .quality import TASK_REPORTED, quality

THROUGHPUT_DAYS = 7
IN_PROGRESS = ("active", "blocked", "review")
DASHBOARD_TRIALS = 500  # the most forecast trials: enough for stable p50/p85, cheap enough to redo on every change
# (fewer on a large sprint: `forecast.trial_count`)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def agent_count(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Runs ever recorded, runs live now (launched or active), and both broken down."""
    by_status: dict[str, int] = {}
    live_by_team: dict[str, int] = {}
    for run in runs.values():
        status = run.get("status") or "launched"
        by_status[status] = by_status.get(status, 0) + 1
        if status in LIVE_RUN_STATUSES:
            team = run.get("team") or "other"
            live_by_team[team] = live_by_team.get(team, 0) + 1
    return {"total": len(runs), "live": sum(live_by_team.values()), "by_status": dict(sorted(by_status.items())),
            "live_by_team": dict(sorted(live_by_team.items()))}


def agent_utilization(runs: dict[str, dict[str, Any]], org, overrides: dict[str, int] | None = None) -> dict[str, Any]:
    """Live runs against the parallel capacity teams.yaml gives each team (`max_parallel_agents`), or the
    running sprint's `capacity:` where it sets one. Like the capacity gate, a team's slots hold its
    members: the orchestrator running them takes none."""
    capacity = {name: team.settings.max_parallel_agents for name, team in org.teams.items()} if org else {}
    capacity.update({name: limit for name, limit in (overrides or {}).items() if name in capacity})
    live_by_team: dict[str, int] = {}
    for run in runs.values():
        if (run.get("status") or "launched") in LIVE_RUN_STATUSES and run.get("role") != "orchestrator":
            team = run.get("team") or "other"
            live_by_team[team] = live_by_team.get(team, 0) + 1
    teams = {team: {"live": live_by_team.get(team, 0), "capacity": capacity.get(team)}
             for team in sorted({*capacity, *live_by_team})}
    total = sum(capacity.values())
    live = sum(live_by_team.values())
    return {"live": live, "capacity": total or None, "rate": round(live / total, 4) if total else None,
            "teams": teams}


def average_task_time(cycle: dict[str, float]) -> dict[str, Any]:
    """Mean and median hours from first assignment to completion, over every completed task."""
    values = list(cycle.values())
    return {"tasks": len(values), "mean_hours": round(statistics.fmean(values), 4) if values else None,
            "median_hours": round(statistics.median(values), 4) if values else None}


def _organization(root: Path):
    from .. import teams

    try:
        return teams.load(root)
    except (ValueError, OSError):  # a broken teams.yaml is doctor's to report; utilization is just unknown
        return None


def _sprint_capacity(sprint: dict[str, Any] | None) -> dict[str, int]:
    """The team limits a sprint in progress sets (`capacity:`), which the capacity gate applies to its tasks."""
    if not sprint or sprint.get("status") not in IN_PROGRESS:
        return {}
    return sprint.get("capacity") or {}


def recent_audit(store, root: Path) -> list[dict[str, Any]]:
    """The recent audit records: from the database's chain when the state is in PostgreSQL."""
    if str(getattr(store, "url", "")).startswith(("postgresql://", "postgres://")):
        from ..store import postgres_audit

        return postgres_audit.tail(store, auditlog.WINDOW)
    return auditlog.read(paths.audit_log(root))


def collect(store, root: Path | None = None, *, sprint_id: str | None = None, now: dt.datetime | None = None,
            audit_records: list[dict[str, Any]] | None = None, trials: int | None = None,
            seed: int = 0, lenient: bool = False, tx=None) -> dict[str, Any]:
    """All metrics as of `now`. `audit_records` (oldest first) saves re-reading the log; by default
    the last `auditlog.WINDOW` lines are read. `lenient`: when the sprint chosen by default (no `sprint_id`) is
    shown from a file that cannot be read (half-edited, or gone with another branch), the rest is still
    collected, `sprint` is None and `sprint_problem` says why (else the DefinitionError is raised). `tx`: an open
    snapshot of `store` to read in (the dashboard reads its other panels in the same one), else one is opened."""
    from contextlib import nullcontext

    from ..workflow.definitions import DefinitionError
    from ..workflow.progress import status_in
    from ..workflow.sprints import organization

    root = root or paths.project_root()
    now = now or dt.datetime.now(dt.UTC)
    records = audit_records if audit_records is not None else recent_audit(store, root)
    with nullcontext(tx) if tx is not None else store.snapshot() as tx:
        tasks = tx.items("tasks")
        runs = tx.items("agents")
        sprints = tx.items("sprints")
        events = sprint_events(tx)  # every status change and carry-over: read once, for sprint status too
        changes = sprint_metrics.task_changes(events, now=now)
        reports = all_events(tx, (TASK_REPORTED,))
        chosen = sprint_id is None
        if chosen:
            sprint_id = (current_sprint(sprints) or {}).get("id")
        problem = None
        try:
            status = (status_in(tx, sprint_id, root, organization(root), now=now, trials=trials, seed=seed,
                                events=events, most_trials=DASHBOARD_TRIALS)
                      if sprint_id is not None else None)  # `--sprint ""`: no such sprint
        except DefinitionError as exc:
            if not (lenient and chosen):
                raise
            status, problem = None, f"sprint {sprint_id} cannot be shown: {exc}"

    agents = agent_count(runs)
    today = now.date()
    # A director's run of a sprint (type orchestration, kept out of its task list) is no task done.
    work = [c for c in changes if (tasks.get(c.task) or {}).get("type") != "orchestration"]
    cycle_all = sprint_metrics.cycle_times(work)
    velocity = sprint_metrics.velocity(sprints.values())
    sprint_part = status["metrics"] if status else {}
    return {
        "generated_at": _stamp(now),
        "sprint": None if status is None else {
            key: status[key] for key in ("sprint", "name", "goal", "status", "epic", "start", "end", "counts",
                                         "points", "critical_path", "forecast")},
        "agent_count": agents,
        "agent_utilization": agent_utilization(runs, _organization(root), _sprint_capacity(sprints.get(sprint_id))),
        "task_throughput": sprint_metrics.throughput(work, today - dt.timedelta(days=THROUGHPUT_DAYS - 1), today),
        "average_task_time": average_task_time(cycle_all),
        "cycle_time": sprint_part.get("cycle_time") or cycle_summary(cycle_all),
        "error_rate": auditlog.tool_outcomes(records),
        "hook_latency": auditlog.hook_latency(records),
        "audit_lines": len(records),
        "blocker_count": sum(1 for t in tasks.values() if t.get("status") == "blocked"),
        "blockers": sprint_part.get("blockers") or sprint_metrics.blockers(changes, tasks.values()),
        "completion_rate": sprint_part.get("completion") or sprint_metrics.completion_rate(tasks.values()),
        "velocity": {"sprints": velocity, "mean_points": velocity_points(velocity),
                     "window": VELOCITY_WINDOW},
        "burndown": sprint_part.get("burndown"),
        **quality(reports),
        **({"sprint_problem": problem} if lenient else {}),
    }
