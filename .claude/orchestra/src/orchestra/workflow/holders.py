"""Who holds each started task of a sprint right now, the way the delegation gate sees it.

A plan made mid-sprint (`/sprint:start` run again to resume) must offer again the work nobody holds any
more and never offer twice the work someone is doing. A task's status alone cannot tell: `in_progress`
is also the status a review's `changes_requested` sends work back in, after the member's run has
ended, and `blocked` is also what a run becomes when its session ends before it reports.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..lifecycle import occupancy, transitions
from ..lifecycle.config import load as lifecycle_config
from ..lifecycle.ledger import Ledger
from .view import SprintView

HELD = ("assigned", "in_progress")
OUTSIDE = "set by hand; no agent run of it is recorded"


def with_holders(tx, view: SprintView, org) -> SprintView:
    """`view` with `holders` (task -> who works on it now) and `free` (started tasks nobody holds any
    more: delegable again). Only a started sprint's tasks in state have holders."""
    if view.source != "state" or view.status not in ("active", "blocked"):
        return view
    led, cfg = Ledger(tx, org), lifecycle_config(org)
    holders: dict[str, str] = {}
    free: set[str] = set()
    for task in view.tasks:
        status = task.get("status")
        if status in HELD:
            holder = occupancy.current_holder(led, task, cfg)
            if holder or not (task.get("delegation") or task.get("agent_id")):
                holders[task["id"]] = holder or OUTSIDE  # nobody here runs it: someone outside Orchestra does
            else:
                free.add(task["id"])  # its attempt is over: sent back by a review, moved by hand, run gone stale
        elif status == "blocked" and session_ended(led, task):
            free.add(task["id"])
    return replace(view, holders=holders, free=frozenset(free))


def session_ended(led: Ledger, task: dict[str, Any]) -> bool:
    """Is the task blocked only because its run stopped before it reported: its session ended, or Claude
    Code's TaskStop stopped it (the blocker the lifecycle itself wrote)? The work can be delegated again."""
    run = led.get("agents", task.get("agent_id"))
    if run is None or transitions.run_status(run, led.ended(run)) != "stopped" or run.get("released_at"):
        return False
    return task.get("blocker") == transitions.attempt_status(None, run, True)[1]


def occupied(tx, org) -> list[tuple[str | None, str, str | None]]:
    """(agent type, label, task) of every live run and every delegation waiting to start, in any sprint or
    none, as the capacity gate counts them (nothing when the gate is off)."""
    led, cfg = Ledger(tx, org), lifecycle_config(org)
    if not cfg.capacity_gate:
        return []
    return [(agent_type, label, (led.get("agents", key) or led.get("delegations", key) or {}).get("task"))
            for agent_type, key, label in occupancy.live_attempts(led, cfg)]


def over_capacity(org, overrides: dict[str, int], member: str | None,
                  busy: list[tuple[str | None, str, str | None]]) -> str | None:
    """Why the capacity gate refuses one more delegation to `member` while `busy` (agent type, label) work:
    the member is at its capacity, or its team (at the sprint's `overrides` or `max_parallel_agents`) is."""
    person = org.member(member) if member else None
    if person is None:
        return None
    mine = [label for agent_type, label, _ in busy if agent_type == member]
    if person.capacity == 0:
        return f"{member} takes no work (capacity 0 in teams.yaml)"
    if len(mine) >= person.capacity:
        return f"waits for {member}, who takes {person.capacity} at once ({', '.join(mine)})"
    team = org.teams.get(person.team)
    if team is None or member not in team.members:  # the orchestrator running the waves takes no slot
        return None
    limit = overrides.get(team.name, team.settings.max_parallel_agents)
    if limit == 0:
        return f"team {team.name} takes no work this sprint (capacity 0 in the sprint file)"
    theirs = [label for agent_type, label, _ in busy if agent_type in team.members]
    if len(theirs) >= limit:
        return f"waits for a free slot: team {team.name} runs {limit} at once ({', '.join(theirs)})"
    return None
