"""Suspicious activity: every denial is counted per agent run; some raise a `security_alert`.

An alert is raised by any attempt on secret, protected state or organisation files, and by `alerts.denials`
(3) denials of one run within `alerts.window_seconds` (300). It becomes an event, a critical
message to the devops orchestrator and to `human` (at most once per run and window, so a looping
agent does not flood the bus), and a systemMessage to the user. Runs are tracked in the
`denials` collection, keyed like the bus keys runs: the agent_id, or `main:<session>`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from ..record import Record
from ..teams import Organization
from .decisions import SENSITIVE, Decision
from .policy import Caller, Policy

COLLECTION = "denials"
KEEP_TIMES = 20
ALERT_MESSAGE_TYPE = "state_updated"  # the bus has no alert type; the payload says what happened


class Alert(Record):
    run: str
    why: str
    notified: tuple[str, ...]
    system_message: str


def run_key(agent_id: str | None, session_id: str | None) -> str:
    if agent_id:
        return agent_id
    return f"main:{session_id}" if session_id else "main"


def record(tx, decision: Decision, caller: Caller, policy: Policy, org: Organization, *,
           agent_id: str | None, session_id: str | None, now: float | None = None) -> Alert | None:
    """Count one denial inside `tx`; return the Alert when it makes the run suspicious."""
    now = time.time() if now is None else now
    run = run_key(agent_id, session_id)
    entry: dict[str, Any] = tx.get(f"{COLLECTION}.{run}", None) or {}
    recent = [t for t in entry.get("times", []) if now - t < policy.alert_window] + [now]
    entry.update(times=recent[-KEEP_TIMES:], total=int(entry.get("total", 0)) + 1, agent_type=caller.agent_type,
                 role=caller.role, session=session_id,
                 last={"kind": decision.kind, "resource": decision.resource, "rule": decision.rule, "at": _iso(now)})
    why = None
    if decision.sensitive:
        why = f"attempt on {SENSITIVE[decision.kind]}"
    elif len(recent) >= policy.alert_denials:
        why = f"{len(recent)} denials within {_minutes(policy.alert_window)}"
    alert = None
    if why is not None:
        who = f"{caller.label} ({caller.role}, run {run})"
        text = (f"Orchestra security alert: {who}: {why}. Last: {decision.kind} denial on "
                f"{decision.resource} ({decision.rule}).")
        tx.append_event("security_alert", {"run": run, "why": why, "kind": decision.kind, "rule": decision.rule,
                                           "resource": decision.resource, "agent_type": caller.agent_type,
                                           "role": caller.role, "denials_in_window": len(recent)},
                        session_id=session_id, agent_id=agent_id)
        notified: tuple[str, ...] = ()
        if now - float(entry.get("notified_at", 0)) >= policy.alert_window:
            notified = _notify(tx, policy, org, text, run, decision)
            entry["notified_at"] = now
        alert = Alert(run, why, notified, text + " Details: `orchestra audit tail`.")
    tx.set(f"{COLLECTION}.{run}", entry)
    return alert


def _notify(tx, policy: Policy, org: Organization, text: str, run: str, decision: Decision) -> tuple[str, ...]:
    from ..bus import SYSTEM, send

    sent = []
    payload = {"alert": "security", "summary": text, "run": run, "kind": decision.kind,
               "resource": decision.resource}
    for to in policy.alert_recipients(org):
        try:
            send(tx, sender=SYSTEM, to=to, type=ALERT_MESSAGE_TYPE, payload=payload, priority="critical", org=org)
        except ValueError:  # an alert recipient missing from teams.yaml must not hide the alert itself
            continue
        sent.append(to)
    return tuple(sent)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"
