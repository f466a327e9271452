"""A task moved to another team by hand (`orchestra task set-team`): after a team is renamed in teams.yaml,
or for a task filed under the wrong team. The team must be one teams.yaml has; work an agent of another
team is doing now stays where it is; an assignee from another team is let go, so the new team picks."""

from __future__ import annotations

from typing import Any

from ..teams import Organization
from . import config as lifecycle_config
from . import occupancy
from .ledger import Ledger
from .views import task_record


def set_team(tx, org: Organization, task_id: str, team: str, *, where: str, by: str = "human") -> dict[str, Any]:
    """Move `task_id` to `team` (a team of `org`, read from `where`); returns the task with `moved`: what
    changed (from, to, the assignee let go), or None when it already was in `team`."""
    task = task_record(tx, task_id)
    if team not in org.teams:
        known = ", ".join(sorted(org.teams))
        raise ValueError(f"team {team!r} is not in {where}; " + (f"its teams are: {known}" if known else
                                                                 "it defines no teams"))
    old = task.get("team")
    if old == team:
        return {**task, "moved": None}
    _check_not_held(tx, org, task, team)
    fields: dict[str, Any] = {"team": team}
    member = org.member(task.get("assignee"))
    if member is not None and member.team != team:
        fields["assignee"] = None
    tx.update(f"tasks.{task_id}", fields)
    if task.get("sprint"):
        _move_in_sprint(tx, task["sprint"], task_id, team)
    moved = {"from": old, "to": team, "assignee_cleared": task["assignee"] if "assignee" in fields else None}
    tx.append_event("task_team_set", {**moved, "by": by}, task_id=task_id)
    return {**task, **fields, "moved": moved}


def _check_not_held(tx, org: Organization, task: dict[str, Any], team: str) -> None:
    """An agent of another team working on the task now keeps it: its report would settle under the
    new team's rules (reviewers, orchestrator). One of `team` (the team renamed) goes on as it is."""
    led = Ledger(tx, org)
    holder = occupancy.current_holder(led, task, lifecycle_config.load(org))
    if holder is None:
        return
    delegation = led.get("delegations", task.get("delegation")) or {}
    run = led.get("agents", delegation.get("agent_id") or task.get("agent_id")) or {}
    agent_type = run.get("agent_type") if holder.startswith("agent ") else delegation.get("subagent_type")
    member = org.member(agent_type)
    if member is None or member.team == team:
        return
    raise ValueError(f"task {task['id']} is being worked on by {holder}, of team {member.team}, not {team}; "
                     f"wait for its report, or take the task back with `orchestra task set-status {task['id']} "
                     "queued` and then move it")


def _move_in_sprint(tx, sprint_id: str, task_id: str, team: str) -> None:
    """The started sprint's `team_assignments` list the task under its new team."""
    assignments = tx.get(f"sprints.{sprint_id}.team_assignments", None)
    if not isinstance(assignments, dict) or not any(task_id in (ids or []) for ids in assignments.values()):
        return
    kept = {name: [t for t in ids if t != task_id] for name, ids in assignments.items()}
    kept = {name: ids for name, ids in kept.items() if ids}
    kept[team] = [*kept.get(team, []), task_id]
    tx.update(f"sprints.{sprint_id}", {"team_assignments": kept})
