"""Closing messages: acknowledgements, questions and answers, and escalation of questions left unanswered.

An unanswered high or critical question older than its escalation time (per question, else
ORCHESTRA_ESCALATE_AFTER seconds, else ten minutes) is re-asked of the recipient's orchestrator:
a copy with `escalation_of` = the original's id, sent in the asker's name so the answer goes
back to the asker. Answering or acknowledging any message of that chain closes all of it.
Every function takes `now` so tests can drive the clock.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from ..store import entity
from ..store.document import long_id
from ..teams import Organization
from . import addressing
from .messages import (
    MESSAGES,
    OPEN,
    close_chain,
    iso,
    org_for,
    read_time,
    reply_address,
    send,
    stamp_deliveries,
    utcnow,
)

ESCALATE_AFTER_ENV = "ORCHESTRA_ESCALATE_AFTER"
DEFAULT_ESCALATE_AFTER = timedelta(minutes=10)
ESCALATING_PRIORITIES = ("critical", "high")
# The longest wait a timedelta holds (whole days: the float of timedelta.max itself rounds past it).
MAX_ESCALATE_AFTER_S = float((timedelta.max.days - 1) * 86_400)


def ack(tx, message_id: str, *, by: str, now: datetime | None = None) -> dict[str, Any]:
    """`by` has dealt with the message. Closes it, except a team/broadcast message, which only `by` stops seeing.

    Acknowledging again, or a message already closed, changes nothing (duplicates are harmless).
    """
    now = now or utcnow()
    message = entity(tx, MESSAGES, message_id)  # `m1.payload` is no message
    if message is None:
        raise ValueError(long_id(message_id, "message")
                         or f"message {message_id!r}: no such message (see `orchestra msg inbox --all`)")
    if not isinstance(by, str) or not by.strip():
        raise ValueError("ack: say who acknowledges (by=main, human or agent:<id>)")
    if message.get("status") != OPEN or by in (message.get("acked") or {}):
        return message
    stamp = iso(now)
    if addressing.is_shared(message["to"]):
        acked = {**(message.get("acked") or {}), by: stamp}
        message = tx.update(f"{MESSAGES}.{message_id}", {"acked": acked})
        stamp_deliveries(tx, message, stamp, only_address=by)
    else:
        close_chain(tx, message, {"status": "acknowledged", "closed_at": stamp, "closed_by": by})
        message = tx.get(f"{MESSAGES}.{message_id}")
    tx.append_event("message.acknowledged", {"message": message_id, "by": by}, task_id=message.get("task"))
    return message


def ask(tx, *, sender: str, to: str, question: str, priority: str = "normal", task: str | None = None,
        escalate_after: float | None = None, expires_at: str | None = None, context: dict | None = None,
        org: Organization | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Send a question; it stays pending until answered or acknowledged. `escalate_after` is in seconds."""
    if escalate_after is not None and (not isinstance(escalate_after, int | float) or isinstance(escalate_after, bool)
                                       or not 0 < escalate_after <= MAX_ESCALATE_AFTER_S):
        raise ValueError(f"escalate_after: expected a positive number of seconds up to {MAX_ESCALATE_AFTER_S:.0f}, "
                         f"got {escalate_after!r}")
    extra = {"escalate_after_s": escalate_after} if escalate_after is not None else None
    return send(tx, sender=sender, to=to, type="question", payload={"question": question, **(context or {})},
                priority=priority, task=task, expires_at=expires_at, org=org, now=now, extra=extra)


def answer(tx, *, sender: str, question_id: str, answer: str, org: Organization | None = None,
           now: datetime | None = None) -> dict[str, Any]:
    """Answer a question; the answer goes to whoever asked and closes the question (and its escalations)."""
    question = entity(tx, MESSAGES, question_id)
    if question is None:
        raise ValueError(long_id(question_id, "question")
                         or f"question {question_id!r}: no such message (see `orchestra msg inbox --all`)")
    return send(tx, sender=sender, to=reply_address(question), type="answer", payload={"answer": answer}, priority=question["priority"],
                task=question.get("task"), reply_to=question_id, org=org, now=now)


def escalate_after_default() -> timedelta:
    raw = os.environ.get(ESCALATE_AFTER_ENV)
    if raw:
        try:
            seconds = float(raw)
        except ValueError:
            seconds = 0.0
        if not 0 < seconds <= MAX_ESCALATE_AFTER_S:
            raise ValueError(f"{ESCALATE_AFTER_ENV}={raw!r}: expected a positive number of seconds "
                             f"up to {MAX_ESCALATE_AFTER_S:.0f}")
        return timedelta(seconds=seconds)
    return DEFAULT_ESCALATE_AFTER


def overdue(rows: list[dict[str, Any]], now: datetime, after: timedelta | None = None) -> list[dict[str, Any]]:
    """Open high/critical questions not yet escalated and older than their escalation time."""
    out = []
    for message in rows:
        if (message.get("type") != "question" or message.get("status") != OPEN or message.get("escalated_to")
                or message.get("priority") not in ESCALATING_PRIORITIES or message.get("to") == addressing.HUMAN):
            continue
        wait = message.get("escalate_after_s")
        limit = timedelta(seconds=wait) if wait else (after or escalate_after_default())
        sent = read_time(message.get("timestamp"))
        if sent is not None and now - sent >= limit:  # one whose send time is no time is never escalated
            out.append(message)
    return out


def escalation_target(tx, address: str, org: Organization) -> str | None:
    """Who answers for `address` when it does not: its team's orchestrator, then main, then the human."""
    what = addressing.kind(address)
    if what == "human":
        return None
    if what in ("main", "broadcast"):
        return addressing.HUMAN if what == "main" else addressing.MAIN
    if what == "team":
        team = org.teams.get(address[len(addressing.TEAM_PREFIX):])
        return team.orchestrator if team else addressing.MAIN
    agent_type = address
    if what == "run":
        run = tx.get(f"agents.{address[len(addressing.RUN_PREFIX):]}", None) or {}
        agent_type = run.get("agent_type") or ""
    team = org.team_of(agent_type)
    if team is None or team.orchestrator == addressing.normalize(agent_type):
        return addressing.MAIN
    return team.orchestrator


def escalate_due(tx, *, now: datetime | None = None, org: Organization | None = None,
                 after: timedelta | None = None, rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Escalate every overdue question; returns the escalated copies that were sent."""
    now = now or utcnow()
    rows = tx.find(MESSAGES, status=OPEN) if rows is None else rows
    due = overdue(rows, now, after)
    if not due:
        return []
    org = org_for(org)
    sent = []
    for question in due:
        target = escalation_target(tx, question["to"], org)
        asker = {question["from"], addressing.agent_type_of(tx, question["from"])}  # a run, or its agent type
        while target is not None and target in asker:
            target = escalation_target(tx, target, org)
        if target is None:
            tx.update(f"{MESSAGES}.{question['id']}", {"escalated_to": "none"})
            continue
        copy = send(tx, sender=question["from"], to=target, type="question", payload=question["payload"],
                    priority=question["priority"], task=question.get("task"), org=org, now=now,
                    extra={"escalation_of": question.get("escalation_of") or question["id"],
                           "escalated_from": question["to"], "escalate_after_s": question.get("escalate_after_s")})
        tx.update(f"{MESSAGES}.{question['id']}", {"escalated_to": copy["id"], "escalated_at": iso(now)})
        tx.append_event("message.escalated", {"message": question["id"], "to": target, "copy": copy["id"]},
                        task_id=question.get("task"))
        sent.append(copy)
    return sent
