"""The sprint state machine over a store transaction, and which task states each sprint state allows.

Planning -> Ready -> Active -> Review -> Complete; Review -> Planning when issues are found;
Active <-> Blocked. The transition table itself is `models.SPRINT_TRANSITIONS`.
"""

from __future__ import annotations

from typing import Any

from ..clock import now_iso
from ..models import (
    SPRINT_STATUSES,
    SPRINT_TRANSITIONS,
    TASK_STATES_BY_SPRINT,
    TERMINAL_TASK_STATUSES,
    check_sprint_transition,
)
from ..store import entity
from ..store.document import is_entity_id, long_id

RUNNING = frozenset({"assigned", "in_progress"})
STUCK = "every remaining task waits on a blocker"
assert set(TASK_STATES_BY_SPRINT) == set(SPRINT_STATUSES)


class InconsistentTasks(ValueError):
    """A sprint transition would leave tasks in states the new sprint state does not allow."""


def legal_next(status: str) -> list[str]:
    return sorted(SPRINT_TRANSITIONS.get(status, frozenset()))


def inconsistent_tasks(sprint_status: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks whose status `sprint_status` does not allow."""
    allowed = TASK_STATES_BY_SPRINT[sprint_status]
    return [t for t in tasks if t.get("status", "queued") not in allowed]


def sprint_tasks(tx, sprint_id: str) -> list[dict[str, Any]]:
    return tx.find("tasks", sprint=sprint_id)


def not_in_state(sprint_id: str, first: str) -> str:
    """Why `sprint_id` names no sprint; one that could be an id is to be loaded (or started) `first`."""
    if not is_entity_id(sprint_id):  # `sprint-1.name`, "" or "a b" is no id to load either
        return long_id(sprint_id, "sprint") or \
            f"sprint {sprint_id!r}: no such sprint in state; `orchestra sprint status` lists them"
    return f"sprint {sprint_id}: not in state; {first} it first (`orchestra sprint {first} {sprint_id}`)"


def transition(tx, sprint_id: str, wanted: str, reason: str | None = None, *, agent_id: str | None = None) -> dict:
    """Move a stored sprint to `wanted`, refusing illegal moves (the message lists the legal ones) and
    moves that would leave its tasks inconsistent. Re-entering the current state is a no-op."""
    sprint = entity(tx, "sprints", sprint_id)  # `sprint-1.name` is no sprint: nothing is written into it
    if sprint is None:
        raise ValueError(not_in_state(sprint_id, "load"))
    current = sprint.get("status", "planning")
    check_sprint_transition(sprint_id, current, wanted)
    if current == wanted:
        return sprint
    bad = inconsistent_tasks(wanted, sprint_tasks(tx, sprint_id))
    if bad:
        listed = ", ".join(f"{t['id']} ({t.get('status')})" for t in bad[:10])
        allowed = ", ".join(sorted(TASK_STATES_BY_SPRINT[wanted]))
        raise InconsistentTasks(f"sprint {sprint_id}: cannot go from {current} to {wanted} while tasks are "
                                f"{listed}; a {wanted} sprint allows tasks that are {allowed}")
    at = now_iso()
    history = [*sprint.get("history", []), {"from": current, "to": wanted, "at": at, "reason": reason}]
    changes: dict[str, Any] = {"status": wanted, "history": history}
    if current == "blocked":
        changes["hold"] = None  # a hand block ends when the sprint leaves blocked
    sprint = tx.update(f"sprints.{sprint_id}", changes)
    tx.append_event("sprint_status", {"sprint": sprint_id, "from": current, "to": wanted, "reason": reason},
                    agent_id=agent_id)
    return sprint


def check_task_status(tx, task: dict[str, Any], wanted: str) -> None:
    """Refuse a task status its sprint's state does not allow (e.g. starting work in a sprint that
    has not started). Tasks outside any sprint are not constrained."""
    sprint_id = task.get("sprint")
    if not sprint_id:
        return
    status = tx.get(f"sprints.{sprint_id}.status", None)
    if status is None or wanted in TASK_STATES_BY_SPRINT[status]:
        return
    hint = {"planning": f"start it first (`orchestra sprint start {sprint_id}`)",
            "ready": f"start it first (`orchestra sprint start {sprint_id}`)",
            "review": f"reopen it first (`orchestra sprint close {sprint_id} --reopen REASON`)",
            "complete": "it is closed and keeps its finished tasks; for more work on this one, add a task "
                        "with another id to an open sprint"}[status]
    raise InconsistentTasks(f"task {task['id']}: cannot become {wanted} while sprint {sprint_id} is {status}; {hint}")


def is_stuck(tasks: list[dict[str, Any]]) -> bool:
    """True when blocked tasks exist and nothing else can move: no work running or awaiting review,
    and no queued task whose dependencies are all finished."""
    status = {t["id"]: t.get("status", "queued") for t in tasks}
    if "blocked" not in status.values():
        return False
    if any(s in RUNNING or s == "needs_review" for s in status.values()):
        return False
    for task in tasks:
        if status[task["id"]] == "queued" and all(
            status.get(dep, "completed") in TERMINAL_TASK_STATUSES for dep in task.get("dependencies") or ()
        ):
            return False
    return True


def held(sprint: dict[str, Any]) -> bool:
    """True when a blocked sprint was blocked by hand: it stays blocked until someone unblocks it."""
    if sprint.get("status") != "blocked":
        return False
    return bool(sprint.get("hold")) or (sprint.get("history") or [{}])[-1].get("reason") != STUCK


def hold(tx, sprint_id: str, reason: str) -> dict:
    """Block a sprint by hand: Active -> Blocked, or, when it blocked itself on its tasks' blockers, keep
    it blocked. Either way `reason` is recorded (`hold`, event `sprint_held`) and automatic unblocking
    leaves the sprint alone until `unblock`."""
    sprint = transition(tx, sprint_id, "blocked", reason)  # refuses sprints that are not active or blocked
    sprint = tx.update(f"sprints.{sprint_id}", {"hold": {"reason": reason, "at": now_iso()}})
    tx.append_event("sprint_held", {"sprint": sprint_id, "reason": reason})
    return sprint


UNBLOCK_HINTS = {
    "planning": "to start it: `orchestra sprint load {id}`, then `orchestra sprint start {id}`",
    "ready": "to start it: `orchestra sprint start {id}`",
    "active": "nothing to unblock",
    "review": "finish it with `orchestra sprint close {id}` or reopen it with "
              "`orchestra sprint close {id} --reopen REASON`",
    "complete": "it is closed; carried-over work joins a new sprint",
}


def release(tx, sprint_id: str, reason: str | None = None) -> dict:
    """Blocked -> Active by hand, lifting a hand block. Only a blocked sprint can be unblocked; any
    other state is refused with the command that fits it."""
    sprint = entity(tx, "sprints", sprint_id)
    status = (sprint or {}).get("status")
    if sprint is not None and status != "blocked":
        hint = UNBLOCK_HINTS.get(status, "").format(id=sprint_id)
        raise ValueError(f"sprint {sprint_id} is {status}, not blocked; unblock moves only a blocked sprint "
                         f"to active; {hint}")
    return transition(tx, sprint_id, "active", reason or "unblocked")


def sync_blocked(tx, sprint_id: str) -> str | None:
    """Active -> Blocked when the sprint is stuck on blockers, Blocked -> Active when it no longer is.
    Call after changing a task of the sprint; returns the new status when it changed. A sprint
    blocked by hand (`held`) stays blocked until someone unblocks it."""
    sprint = tx.get(f"sprints.{sprint_id}", None) or {}
    status = sprint.get("status")
    if status not in ("active", "blocked"):
        return None
    stuck = is_stuck(sprint_tasks(tx, sprint_id))
    if status == "active" and stuck:
        transition(tx, sprint_id, "blocked", STUCK)
        return "blocked"
    if status == "blocked" and not held(sprint) and not stuck:
        transition(tx, sprint_id, "active", "a blocker cleared")
        return "active"
    return None
