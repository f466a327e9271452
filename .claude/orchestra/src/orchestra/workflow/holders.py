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
    """Is the task blocked only because its run's session ended before the run reported (the blocker the
    lifecycle itself wrote)? A new session resolves that: the work can be delegated again."""
    run = led.get("agents", task.get("agent_id"))
    if run is None or transitions.run_status(run, led.ended(run)) != "stopped" or run.get("released_at"):
        return False
    return task.get("blocker") == transitions.attempt_status(None, run, True)[1]
