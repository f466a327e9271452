"""Pure derivations: an agent run's status and its task's status from the facts the hooks recorded.

Hook events for one agent arrive in any order and may repeat, so no handler moves a status along
by itself. Each records facts (started, launched, a stop decision, the session's end) and the
statuses are recomputed from all facts known so far. The same facts give the same statuses,
whatever order they came in.
"""

from __future__ import annotations

from typing import Any

from ..models import OUTCOMES

TASK_EVENTS = {
    "queued": "task_requeued", "assigned": "task_assigned", "in_progress": "task_started",
    "completed": "task_completed", "blocked": "task_blocked", "needs_review": "task_needs_review",
}
RUN_EVENTS = {
    "launched": "agent_launched", "active": "agent_started", "completed": "agent_completed",
    "blocked": "agent_blocked", "needs_review": "agent_needs_review", "stopped": "agent_stopped",
}
LIVE_RUN_STATUSES = ("launched", "active")


def run_status(run: dict[str, Any], session_ended: bool = False) -> str:
    """launched -> active -> completed | blocked | needs_review, or stopped when its session ended first
    (or its task was set back to queued or cancelled by hand, or Claude Code's TaskStop stopped it and
    it was not resumed since).

    A run Claude Code reports finished (foreground PostToolUse `completed`) without an accepted
    SubagentStop, because its last stop was pushed back or its hook never ran, needs review.
    """
    if run.get("outcome") in OUTCOMES:
        return run["outcome"]
    if run.get("response") == "completed":
        return "needs_review"
    if session_ended or run.get("released_at") or killed(run):  # or its task was taken back by hand
        return "stopped"
    if run.get("started_at") or run.get("pushbacks") or run.get("seen_at"):
        return "active"
    return "launched"


def killed(run: dict[str, Any]) -> bool:
    """Did Claude Code's TaskStop stop the run (`killed_at`), with no SendMessage resuming it since?"""
    return bool(run.get("killed_at")) and (run.get("resumed_at") or "") <= run["killed_at"]


def attempt_status(delegation: dict[str, Any] | None, run: dict[str, Any] | None,
                   session_ended: bool) -> tuple[str | None, str | None]:
    """The task status one attempt (a delegation and the run it launched) stands for, with a reason."""
    if run is not None:
        status = run_status(run, session_ended)
        if status in OUTCOMES and run.get("outcome"):
            return status, run.get("reason")
        if status == "needs_review":
            why = f" after it was asked to go on ({run['reason']})" if run.get("reason") else ""
            return "needs_review", f"agent {run['id']} finished without an accepted report{why}; check its work"
        if status == "stopped" and killed(run):
            return "blocked", f"agent {run['id']} was stopped (TaskStop) before it reported"
        if status == "stopped":
            return "blocked", f"agent {run['id']} ended with its session before it reported"
        return "in_progress", None
    if delegation is not None:
        # A delegation whose session ended without any run was never launched (denied elsewhere, cancelled),
        # nor one whose call came back refused.
        return ("queued", None) if session_ended or delegation.get("status") == "dropped" else ("assigned", None)
    return None, None


def task_fields(status: str, reason: str | None, delegation: dict[str, Any] | None,
                run: dict[str, Any] | None) -> dict[str, Any]:
    """The task fields that go with `status`, taken from the attempt's own timestamps."""
    fields: dict[str, Any] = {"status": status, "lifecycle_status": status}
    if delegation is not None:
        fields["delegation"] = delegation["id"]
        fields["assigned_at"] = delegation.get("requested_at")
    if run is not None:
        fields["agent_id"] = run["id"]
        fields["started_at"] = run.get("started_at") or run.get("launched_at")
    fields["blocker"] = reason if status == "blocked" else None
    fields["review_reason"] = reason if status == "needs_review" else None
    fields["completed_at"] = (run or {}).get("ended_at") if status == "completed" else None
    return fields
