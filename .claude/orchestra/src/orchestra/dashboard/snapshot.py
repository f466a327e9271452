"""What the dashboard shows, as one JSON-ready dict: the sprint with its burndown, the task queue, the
tree of agent runs, system metrics, and the latest events and messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..metrics import collect, describe_event
from ..metrics.system import recent_audit
from ..models import PRIORITY_RANK

RECENT_EVENTS = 40
RECENT_MESSAGES = 15
SESSIONS_SHOWN = 3
QUEUE = {"queued": ("queued",), "active": ("assigned", "in_progress", "needs_review"), "blocked": ("blocked",),
         "completed": ("completed",)}


def task_queue(tasks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Tasks by column, most urgent first (priority, then the sprint's own order)."""
    order = {t["id"]: i for i, t in enumerate(tasks)}
    ranked = sorted(tasks, key=lambda t: (PRIORITY_RANK.get(t.get("priority", "normal"), 9), order[t["id"]]))
    columns: dict[str, list[dict[str, Any]]] = {column: [] for column in QUEUE}
    for task in ranked:
        column = next((c for c, statuses in QUEUE.items() if task.get("status", "queued") in statuses), None)
        if column:
            columns[column].append({
                "id": task["id"], "title": task.get("title", ""), "status": task.get("status", "queued"),
                "team": task.get("team"), "assignee": task.get("assignee"), "priority": task.get("priority", "normal"),
                "estimate": task.get("estimate"), "blocker": task.get("blocker"), "agent_id": task.get("agent_id"),
                "type": task.get("type"),
            })
    return columns


def recent_sessions(tree: list[dict[str, Any]], sessions: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The sessions still open plus the latest ended ones, newest first, at most SESSIONS_SHOWN."""
    def started(node: dict[str, Any]) -> str:
        return (sessions.get(node["session_id"]) or {}).get("created_at") or ""

    ranked = sorted(tree, key=lambda s: (s.get("ended_at") is None, started(s)), reverse=True)
    return [{**s, "created_at": started(s)} for s in ranked[:SESSIONS_SHOWN]]


def event_row(event: dict[str, Any]) -> dict[str, Any]:
    return {"id": event["id"], "ts": event.get("ts"), "type": event["type"], "task_id": event.get("task_id"),
            "agent_id": event.get("agent_id"), "text": describe_event(event)}


def message_text(message: dict[str, Any]) -> str:
    """What a person wants to read of a message: its own words where it has them."""
    from ..bus.delivery import describe

    payload = message.get("payload") or {}
    if message.get("type") not in ("question", "answer", "artifact_ready", "review_complete"):
        for key in ("text", "summary", "note", "reason", "blocker"):
            if isinstance(payload.get(key), str) and payload[key].strip():
                return payload[key]
    return describe(message)


def message_row(message: dict[str, Any]) -> dict[str, Any]:
    return {"id": message["id"], "from": message.get("from"), "from_type": message.get("from_type"),
            "to": message.get("to"), "type": message.get("type"), "priority": message.get("priority"),
            "status": message.get("status"), "task": message.get("task"), "timestamp": message.get("timestamp"),
            "text": message_text(message)[:300]}


def build(store, root: Path, *, sprint_id: str | None = None, now: dt.datetime | None = None,
          audit_records: list[dict[str, Any]] | None = None,
          recent_events: Iterable[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The whole dashboard state. `recent_events` (oldest first) saves reading the event log again. `problem`
    names what keeps the sprint shown by default off the page (its file half-edited or gone), else None."""
    from ..lifecycle import agent_tree
    from ..workflow.view import sprint_view

    records = audit_records if audit_records is not None else recent_audit(store, root)
    with store.snapshot() as tx:  # one moment: the queue's columns count what the sprint's counts do
        metrics = collect(store, root, sprint_id=sprint_id, now=now, audit_records=records, lenient=True, tx=tx)
        sprint = metrics["sprint"]
        # The tasks `sprint status` counts: the definition's until the sprint starts. The orchestrator's
        # run of the sprint (`orchestrates`) is not its work; it shows in the agent tree.
        tasks = sprint_view(tx, sprint["sprint"], root).tasks if sprint else list(tx.items("tasks").values())
        tree = recent_sessions(agent_tree(tx, everything=True), tx.items("sessions"))
        messages = sorted(tx.items("communication.messages").values(), key=lambda m: m.get("seq") or 0)
        events = list(recent_events)[-RECENT_EVENTS:] if recent_events is not None else tx.last_events(RECENT_EVENTS)
    return {
        "generated_at": metrics["generated_at"],
        "project": root.name,
        "sprint": sprint,
        "burndown": metrics["burndown"],
        "queue": task_queue(tasks),
        "agents": tree,
        "metrics": {k: v for k, v in metrics.items() if k not in ("sprint", "burndown", "generated_at", "sprint_problem")},
        "events": [event_row(e) for e in reversed(events)],
        "messages": [message_row(m) for m in reversed(messages[-RECENT_MESSAGES:])],
        "messages_open": sum(1 for m in messages if m.get("status") == "pending"),
        "last_event_id": events[-1]["id"] if events else 0,
        "problem": metrics["sprint_problem"],  # the sprint shown by default cannot be read: the page's banner says why
    }
