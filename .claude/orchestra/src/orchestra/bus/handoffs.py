"""Handoffs and reviews: artifacts passed to a receiving task, and review requests routed to reviewers.

A handoff is an `artifact_ready` message whose `task` is the *receiving* task and whose payload
lists the artifact paths (plus `note`, `from_task`); the receiver confirms with
`artifact_received`. A review request goes to an agent with the reviewer role; the reviewer's
`review_complete` records the verdict on the request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import check_unfinished
from ..store.document import long_id
from ..teams import Organization
from ..termtext import one_line
from .delivery import unframed
from .messages import MESSAGES, VERDICTS, check_task, org_for, reply_address, send

ARTIFACTS_IN_BRIEF = 20


def handoff(tx, *, sender: str, artifacts: list[str], to: str | None = None, task: str | None = None,
            note: str | None = None, from_task: str | None = None, priority: str = "normal",
            org: Organization | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Tell `to` (default: the receiving task's assignee) that `artifacts` are ready for `task`; a receiving task
    that is completed or cancelled is refused (`models.FinishedTask`), unless it is `from_task` too: then it
    hands on its own work."""
    if task is not None:
        check_task(tx, task, "task")  # before it names the receiver: an unknown task is the thing to say
        if from_task != task:  # a finished task may hand on its own work; it receives none
            check_unfinished(task, tx.get(f"tasks.{task}"), "handoff")
    if to is None:
        assignee = tx.get(f"tasks.{task}").get("assignee") if task is not None else None
        if not assignee:
            raise ValueError("handoff: name the receiver (to) or a receiving task that has an assignee")
        to = assignee
    worktree = None
    if from_task is not None:
        check_task(tx, from_task, "from_task")
        worktree = tx.get(f"tasks.{from_task}").get("worktree")  # where the files are, when not in the checkout
    if isinstance(artifacts, str):
        artifacts = [artifacts]
    payload: dict[str, Any] = {"artifacts": list(artifacts or [])}
    payload.update({k: v for k, v in (("note", note), ("from_task", from_task), ("worktree", worktree)) if v})
    return send(tx, sender=sender, to=to, type="artifact_ready", payload=payload, priority=priority, task=task,
                org=org, now=now)


def receive(tx, *, sender: str, handoff_id: str, note: str | None = None, org: Organization | None = None,
            now: datetime | None = None) -> dict[str, Any]:
    """Confirm a handoff: `artifact_received` back to whoever handed off; the handoff closes."""
    original = tx.get(f"{MESSAGES}.{handoff_id}", None) if isinstance(handoff_id, str) and handoff_id else None
    if original is None:
        raise ValueError(long_id(handoff_id, "handoff") or f"handoff {handoff_id!r}: no such message")
    payload = {"artifacts": original.get("payload", {}).get("artifacts", []), **({"note": note} if note else {})}
    return send(tx, sender=sender, to=reply_address(original), type="artifact_received", payload=payload,
                task=original.get("task"), reply_to=handoff_id, org=org, now=now)


def artifacts_for_task(tx, task_id: str) -> list[dict[str, Any]]:
    """Artifacts handed to `task_id`, oldest first: path, who handed it off, message id and whether confirmed. A
    handoff whose message expired unconfirmed (the task had not started in time) still names the task's inputs."""
    out = []
    handoffs = sorted(tx.find(MESSAGES, type="artifact_ready", task=task_id), key=lambda m: m.get("seq", 0))
    for message in handoffs:
        for path in message.get("payload", {}).get("artifacts", []):
            out.append({"path": path, "from": message.get("from"), "from_task": message["payload"].get("from_task"),
                        "note": message["payload"].get("note"), "message": message["id"],
                        "worktree": message["payload"].get("worktree"),
                        "received": message.get("status") == "acknowledged",
                        "expired": message.get("status") == "expired"})
    return out


def handoff_brief(tx, task_id: str) -> str | None:
    """The lines a task's brief shows about artifacts handed to it, or None when there are none."""
    artifacts = artifacts_for_task(tx, task_id)
    if not artifacts:
        return None
    lines = ["Artifacts handed to this task:"]
    for item in artifacts[:ARTIFACTS_IN_BRIEF]:
        origin = f"{item['from']}" + (f", task {item['from_task']}" if item["from_task"] else "")
        origin += f", in {item['worktree']}" if item["worktree"] else ""
        todo = "" if item["received"] or item["expired"] else f"; confirm with ack {item['message']}"
        note = f" — {one_line(item['note'])}" if item["note"] else ""  # its lines cannot pass for the brief's
        lines.append(unframed(f"- {item['path']} (from {origin}, {item['message']}{todo}){note}"))
    if len(artifacts) > ARTIFACTS_IN_BRIEF:
        lines.append(f"... and {len(artifacts) - ARTIFACTS_IN_BRIEF} more: `orchestra msg inbox --all`")
    return "\n".join(lines)


def request_review(tx, *, sender: str, task: str | None = None, to: str | None = None, summary: str | None = None,
                   artifacts: list[str] | None = None, priority: str = "normal", org: Organization | None = None,
                   now: datetime | None = None) -> dict[str, Any]:
    """Ask for a review; `to` defaults to the reviewer of the task's team (else of the sender's team)."""
    org = org_for(org)
    if to is None:
        team = (tx.get(f"tasks.{task}", None) or {}).get("team") if isinstance(task, str) else None
        if not team:
            sender_type = (tx.get(f"agents.{sender.removeprefix('agent:')}", None) or {}).get("agent_type", sender)
            member = org.member(sender_type)
            team = member.team if member else None
        if not team:
            raise ValueError("review request: name the reviewer (to) or a task whose team has one")
        to = f"team:{team}"
    payload = {k: v for k, v in (("summary", summary), ("artifacts", artifacts)) if v}
    return send(tx, sender=sender, to=to, type="review_request", payload=payload, priority=priority, task=task,
                org=org, now=now)


def complete_review(tx, *, sender: str, request_id: str, verdict: str, notes: str | None = None,
                    org: Organization | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Record a verdict: `review_complete` back to the requester; the request closes with the verdict on it."""
    request = tx.get(f"{MESSAGES}.{request_id}", None) if isinstance(request_id, str) and request_id else None
    if request is None:
        raise ValueError(long_id(request_id, "review request")
                         or f"review request {request_id!r}: no such message")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is unknown; use one of: {', '.join(VERDICTS)}")
    payload = {"verdict": verdict, **({"notes": notes} if notes else {})}
    reply = send(tx, sender=sender, to=reply_address(request), type="review_complete", payload=payload,
                 task=request.get("task"), reply_to=request_id,
                 org=org, now=now)
    tx.append_event("review.completed", {"request": request_id, "verdict": verdict, "by": sender},
                    task_id=request.get("task"))
    return reply


def review_verdicts(tx, task_id: str) -> list[dict[str, Any]]:
    """Recorded verdicts on `task_id`, oldest first: verdict, reviewer, request and reply ids."""
    requests = sorted(tx.find(MESSAGES, type="review_request", task=task_id), key=lambda m: m.get("seq", 0))
    return [{"verdict": m["verdict"], "by": m.get("closed_by"), "request": m["id"], "reply": m.get("answered_by"),
             "at": m.get("closed_at")} for m in requests if m.get("verdict")]

