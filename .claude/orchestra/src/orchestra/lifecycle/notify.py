"""Telling a finished run's parent what happened: a TASK_COMPLETED / TASK_BLOCKED message on the bus.

The parent is the run that called the Agent tool (`agent:<id>`) or the main thread of the run's session
(`main:<session_id>`, which the next session reads once that one has ended; `main` when it is unknown).
A needs_review outcome goes out as task_blocked with `status: needs_review`, so the orchestrator
sees it among the things waiting on it; a completed task its team sends to review says so
(`task_status`, `reason`). The message id is derived from the run and outcome, so
a replayed SubagentStop cannot send it twice. When the bus refuses (or is absent), an event
records why and the outcome itself stands.
"""

from __future__ import annotations

from typing import Any

MESSAGE_TYPES = {"completed": "task_completed", "blocked": "task_blocked", "needs_review": "task_blocked"}


def payload(run: dict[str, Any]) -> dict[str, Any]:
    report = run.get("report") or {}
    body: dict[str, Any] = {"task": run.get("task"), "status": run["outcome"], "agent_id": run["id"],
                            "agent_type": run.get("agent_type"), "summary": (report.get("summary") or "")[:600],
                            "artifacts": (run.get("artifacts") or [])[:40]}
    if run["outcome"] != "completed":
        body["reason"] = (run.get("reason") or "")[:1000]
    if report.get("blocker"):  # a caveat on a completed report too: the summary leaves the BLOCKER line out
        body["blocker"] = report["blocker"][:1000]
    return body


def notify_parent(ledger, run: dict[str, Any]) -> None:
    parent = run.get("parent") or "main"
    session_id = run.get("session_id")
    if parent != "main":
        to = f"agent:{parent}"
    else:
        to = f"main:{session_id}" if session_id and ledger.get("sessions", session_id) else "main"
    data = payload(run)
    task = ledger.get("tasks", run.get("task")) or {}
    if run["outcome"] == "completed" and task.get("status") == "needs_review":
        data.update(task_status="needs_review", reason=(task.get("review_reason") or "")[:1000])
    refs = {"agent_id": run["id"], "task_id": run.get("task"), "session_id": run.get("session_id")}
    try:
        from .. import bus
    except ImportError:
        ledger.event("parent_notified", {"to": to, "via": "event", **data}, **refs)
        return
    ledger.flush()  # the bus checks that the recipient run and the task exist in the store
    try:
        message = bus.send(ledger.tx, sender=f"agent:{run['id']}", to=to, type=MESSAGE_TYPES[run["outcome"]],
                           payload=data, priority="normal" if run["outcome"] == "completed" else "high",
                           task=run.get("task"), id=f"lifecycle-{run['id']}-{run['outcome']}", org=ledger.org)
    except ValueError as exc:
        ledger.event("parent_notify_failed", {"to": to, "reason": str(exc), **data}, **refs)
        return
    ledger.event("parent_notified", {"to": to, "via": "bus", "message": message["id"]}, **refs)
