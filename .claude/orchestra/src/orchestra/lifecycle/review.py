"""Team review (teams.yaml `settings.require_review`): a team member's completed task waits for a reviewer.

One rule for every way a task gets completed, a member's SubagentStop report (`Ledger`) and a status
change through `set_status` (CLI, MCP): the task goes to needs_review and a review round opens, a
review_request to each reviewer of the task's team naming the task and its artifacts. A verdict closes
the round and moves the task (`VERDICT_STATUS`). Orchestrators, reviewers (they give the verdicts), the
main thread and people complete as they say.
"""

from __future__ import annotations

from typing import Any

from ..teams import Organization

# README, "MCP server": rejected work waits for its orchestrator's decision.
VERDICT_STATUS: dict[str, str] = {"approved": "completed", "changes_requested": "in_progress", "rejected": "blocked"}
# A status change out of needs_review without a verdict reads as one: anything but these sends the work back.
STATUS_VERDICT: dict[str, str] = {"completed": "approved", "blocked": "rejected"}
ARTIFACTS_IN_REQUEST = 20  # the payload must stay under the bus's 4,096 bytes


def reviewers(org: Organization, task: dict[str, Any], role: str | None, worker: str | None) -> tuple[str, ...]:
    """Who must review `task` before a completion by `role` (agent type `worker`) stands; () when it stands.
    The team is the task's (else the worker's); its members with the reviewer role other than the worker
    review, else its orchestrator."""
    team = org.teams.get(task.get("team") or "") or org.team_of(worker)
    if team is None or not team.settings.require_review or role != "team_member":
        return ()
    names = tuple(name for name in team.members if org.role_of(name) == "reviewer" and name != worker)
    return names or (team.orchestrator,)


def reason(names: tuple[str, ...]) -> str:
    return f"awaiting review by {', '.join(names)} (its team has require_review)"


def author(tx, by: str, agent_type: str | None = None,
           org: Organization | None = None) -> tuple[str | None, str | None]:
    """(agent type, role) of whoever changes a status: a run `agent:<id>`; (None, None) for main and people.
    A run the lifecycle never recorded is known by the `agent_type` its caller gave (the MCP server has it
    from the hook), whose role teams.yaml names; without either it counts as a team member, as unknown
    agent types do."""
    if not by.startswith("agent:"):
        return None, None
    run = tx.get(f"agents.{by.removeprefix('agent:')}", None) or {}
    kind = run.get("agent_type") or agent_type
    return kind, run.get("role") or (org.role_of(kind) if org is not None and kind else "team_member")


def request(tx, org: Organization, task: dict[str, Any], names: tuple[str, ...], *,
            worker: str | None) -> list[str]:
    """Open a review round on `task` unless one is open; returns the round's message ids (for
    `task.review_requests`). The request comes from the worker's agent type, so a verdict replied to
    it lands in the assignee's inbox. The bus takes review requests for reviewers only, so an
    orchestrator standing in for a missing reviewer gets a task_blocked notice instead. A verdict of an
    earlier round still open closes: its runs need not see it once the work is handed in again."""
    if task.get("review_requests"):
        return list(task["review_requests"])
    from .. import bus
    from ..bus.messages import MESSAGES

    for verdict in tx.find(MESSAGES, type="review_complete", task=task["id"]):
        if verdict.get("status") == "pending":  # the work it sent back is handed in again
            bus.ack(tx, verdict["id"], by=bus.SYSTEM)
    artifacts = list(task.get("artifacts") or [])
    payload = {"summary": f"[task:{task['id']}] {task.get('title') or task['id']} is done and needs a verdict "
                          "(update_task with verdict approved, changes_requested or rejected)",
               "artifacts": artifacts[:ARTIFACTS_IN_REQUEST], "reason": reason(names)}
    if task.get("worktree"):
        payload["worktree"] = task["worktree"]  # the artifacts are there, not in the main checkout
    ids = []
    for name in names:
        kind = "review_request" if org.role_of(name) == "reviewer" else "task_blocked"
        body = payload if kind == "review_request" else {**payload, "status": "needs_review"}
        try:
            message = bus.send(tx, sender=worker or bus.SYSTEM, to=name, type=kind, payload=body, priority="high",
                               task=task["id"], org=org)
        except ValueError as exc:
            tx.append_event("review_request_failed", {"to": name, "reason": str(exc)}, task_id=task["id"])
            continue
        ids.append(message["id"])
    tx.append_event("review_requested", {"to": list(names), "messages": ids}, task_id=task["id"])
    return ids


def close(tx, task: dict[str, Any], status: str, *, by: str, verdict: str | None = None,
          notes: str | None = None) -> None:
    """End the task's open review round as it leaves needs_review: the first open request gets the verdict
    (a review_complete back to the assignee), the rest are acknowledged."""
    from .. import bus
    from ..bus.messages import MESSAGES

    verdict = verdict or STATUS_VERDICT.get(status, "changes_requested")
    answered = False
    for message_id in task.get("review_requests") or []:
        message = tx.get(f"{MESSAGES}.{message_id}", None) or {}
        if message.get("status") != "pending":
            answered = answered or bool(message.get("verdict"))
            continue
        if message.get("type") == "review_request" and not answered:
            bus.complete_review(tx, sender=by, request_id=message_id, verdict=verdict, notes=(notes or "")[:2000] or None)
            answered = True
        else:
            bus.ack(tx, message_id, by=by)
    tx.update(f"tasks.{task['id']}", {"review_requests": []})


# What one verdict may carry stays readable: a review lives on the task, in its reason and in two events.
MAX_FINDINGS = 20


def check_verdict(task_id: str, task: dict[str, Any], verdict: str | None, findings: list[str] | None) -> None:
    """Refuse a verdict on a task not waiting for its review, and findings alone on a task that has no review
    to join (never reviewed, not in needs_review): either would make a review out of nothing."""
    current = task.get("status") or "queued"
    if verdict and current != "needs_review":
        raise ValueError(f"task {task_id} is {current}, not needs_review: a verdict is given on work waiting for "
                         "its review, and nothing was changed")
    if findings and not verdict and not task.get("review") and current != "needs_review":
        raise ValueError(f"task {task_id} has no review to add findings to (it is {current}, never reviewed); "
                         "findings go with a verdict on a task in needs_review, or join its latest review")


def record_verdict(tx, task_id: str, task: dict[str, Any], verdict: str | None, findings: list[str], *, by: str,
                   agent_id: str | None = None, session_id: str | None = None) -> dict[str, Any]:
    """Keep a verdict with its findings on task `task_id` (`task` is its record before the verdict moved it: `review`, event
    `task_reviewed`); findings alone join the current review, whose verdict stands. Returns the review."""
    check_verdict(task_id, task, verdict, findings)
    if verdict:
        kept = {"verdict": verdict, "findings": findings, "by": by}
    else:
        earlier = task.get("review") or {"verdict": None, "findings": []}
        joined = list(dict.fromkeys([*(earlier.get("findings") or []), *findings]))
        if len(joined) > MAX_FINDINGS:
            raise ValueError(f"the review would hold {len(joined)} findings, over {MAX_FINDINGS}: merge them into "
                             "fewer, or give a new verdict with its own findings")
        kept = {**earlier, "findings": joined, "by": by}
    tx.update(f"tasks.{task_id}", {"review": kept})
    tx.append_event("task_reviewed", kept, task_id=task_id, agent_id=agent_id, session_id=session_id)
    return kept
