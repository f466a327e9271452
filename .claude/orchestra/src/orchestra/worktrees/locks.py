"""Who holds a worktree: the lock on its state record, whether that holder is still alive, taking it
over when it is not, and letting go when a run stops or its session ends.

A lock names its owner: the delegation (tool_use_id) that asked for it and, once known, the agent
run it launched, plus the session; a lock taken from the CLI or the MCP tool names the run or session
given, and which of them took it (`by`: a human, or the main thread). One worktree has at most one
lock, and locks change only inside a store transaction, so two runs never hold one worktree. A lock
is stale (and the next taker recovers it, with an event) when its session ended, its run stopped or
reported (unless the lock was taken again when it was resumed with SendMessage, `resumption`), its
delegation never started within `pending_seconds`, or it is older than `lock_ttl_seconds`.
"""

from __future__ import annotations

from typing import Any, Protocol

from .. import liveness
from ..clock import now_iso, seconds_between
from ..record import Record
from ..store import entity

LIVE_RUN_STATUSES = ("launched", "active")  # the lifecycle's statuses of a run still working
PENDING_SECONDS = 600.0  # the lifecycle's default for a delegation that never starts
TAKEN_BY = {"cli": "a human via `orchestra worktree assign`",  # a lock naming no run or delegation, by `Owner.by`
            "mcp": "the main thread via the MCP tool assign_worktree"}


class Reader(Protocol):
    def get(self, collection: str, key: str | None) -> dict[str, Any] | None: ...


class TxReader:
    """`get(collection, key)` over a plain store transaction (the lifecycle's Ledger has the same)."""

    def __init__(self, tx) -> None:
        self.tx = tx

    def get(self, collection: str, key: str | None) -> dict[str, Any] | None:
        return entity(self.tx, collection, key)  # `t1.title`: no entity


class WorktreeBusy(ValueError):
    """The worktree is held by a live owner; the message names it and what to do."""


class Owner(Record):
    agent_id: str | None = None
    delegation: str | None = None
    session_id: str | None = None
    task: str | None = None
    by: str = "delegation"  # delegation | cli | mcp

    def lock(self, now: str) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "delegation": self.delegation, "session_id": self.session_id,
                "task": self.task, "by": self.by, "acquired_at": now}


def holder_run(view: Reader, lock: dict[str, Any]) -> str | None:
    """The agent run behind a lock: named on it, or the run its delegation launched."""
    return lock.get("agent_id") or (view.get("delegations", lock.get("delegation")) or {}).get("agent_id")


def stale_reason(view: Reader, lock: dict[str, Any] | None, now: str, ttl: float,
                 pending_seconds: float = PENDING_SECONDS) -> str | None:
    """Why `lock` no longer holds (None: its owner is alive, or there is no way to tell it is not)."""
    if not lock:
        return "not locked"
    age = seconds_between(lock.get("acquired_at"), now)
    if age > ttl:
        return f"taken {age / 3600:.1f} h ago, past lock_ttl_seconds {ttl:g}"
    sessions = [lock.get("session_id")]
    agent = holder_run(view, lock)
    run = view.get("agents", agent) if agent else None
    if run is not None:
        sessions.append(run.get("session_id"))
    for session_id in dict.fromkeys(s for s in sessions if s):
        session = view.get("sessions", session_id) or {}
        if session.get("ended_at"):
            return f"session {session_id} ended"
        if liveness.gone(session):  # killed outright: no SessionEnd ended it yet
            return f"session {session_id} is gone (its Claude Code process was killed)"
    if run is not None:
        status = run.get("outcome") or run.get("status")
        if status and status not in LIVE_RUN_STATUSES and not resumed_since(lock, run):
            return f"run {agent} is {status}"
        return None
    if lock.get("delegation") and not agent:
        delegation = view.get("delegations", lock["delegation"])
        if delegation is None:
            return f"delegation {lock['delegation']} is not in state"
        if delegation.get("status") == "dropped":
            return f"delegation {lock['delegation']} was refused before it launched"
        waited = seconds_between(delegation.get("requested_at"), now)
        if delegation.get("status") == "pending" and waited > pending_seconds:
            return f"delegation {lock['delegation']} never started ({waited:.0f}s, pending_seconds {pending_seconds:g})"
    return None


def resumed_since(lock: dict[str, Any], run: dict[str, Any]) -> bool:
    """The lock was taken again when the run was resumed (SendMessage) after it reported: the run works
    until it reports anew (its next report moves `ended_at` past the lock, and SubagentStop releases it)."""
    return bool(lock.get("resumed_at")) and (run.get("ended_at") or "") <= lock["resumed_at"]


def locked_for_run(find, agent_id: str) -> dict[str, Any] | None:
    """The active worktree whose lock names the run `agent_id` itself (`orchestra worktree assign --agent`,
    which may come before the run is in state); a delegation's lock names its delegation instead."""
    held = [r for r in find("worktrees", status="active") if (r.get("lock") or {}).get("agent_id") == agent_id]
    return held[0] if held else None


def same_owner(lock: dict[str, Any], owner: Owner, view: Reader) -> bool:
    if lock.get("delegation") and lock["delegation"] == owner.delegation:
        return True
    mine = owner.agent_id or (view.get("delegations", owner.delegation) or {}).get("agent_id")
    if mine and mine == holder_run(view, lock):
        return True
    nobody = not (lock.get("agent_id") or lock.get("delegation") or owner.agent_id or owner.delegation)
    return nobody and lock.get("session_id") == owner.session_id


def describe(view: Reader, lock: dict[str, Any]) -> str:
    """The holder in words: 'run a1 (task t-1, session 5f2c)'."""
    agent = holder_run(view, lock)
    details = [f"task {lock['task']}" if lock.get("task") else None,
               f"session {lock['session_id']}" if lock.get("session_id") else None]
    shown = f" ({', '.join(d for d in details if d)})" if any(details) else ""
    if agent:
        return f"run {agent}{shown}"
    if lock.get("delegation"):
        return f"delegation {lock['delegation']}{shown}, not started yet"
    return f"{TAKEN_BY.get(lock.get('by'), TAKEN_BY['cli'])}{shown}"


def acquire(view: Reader, record: dict[str, Any], owner: Owner, now: str, ttl: float,
            pending_seconds: float = PENDING_SECONDS) -> str | None:
    """Put `owner`'s lock on `record` (in place). Returns why a previous lock was recovered, if one was;
    raises WorktreeBusy when a live owner holds it."""
    lock = record.get("lock")
    if lock and same_owner(lock, owner, view):
        lock.update({k: v for k, v in owner.lock(now).items() if v and k != "acquired_at"})
        return None
    recovered = None
    if lock:
        recovered = stale_reason(view, lock, now, ttl, pending_seconds)
        if recovered is None:
            raise WorktreeBusy(
                f"worktree {record['id']} ({record.get('path')}) is held by {describe(view, lock)}; two runs never "
                f"share a worktree. Wait for that run to report, or free it with `orchestra worktree release "
                f"{record['id']}` if it is gone.")
        record["last_lock"] = {**lock, "released_at": now, "why": f"recovered: {recovered}"}
    record["lock"] = owner.lock(now)
    return recovered


def release(record: dict[str, Any], now: str, why: str) -> dict[str, Any] | None:
    """Take the lock off `record` (in place); returns the lock that was there."""
    lock = record.get("lock")
    if lock:
        record["last_lock"] = {**lock, "released_at": now, "why": why}
        record["lock"] = None
    return lock


def release_where(tx, now: str, why: str, match) -> list[str]:
    """Release every active worktree whose lock `match(lock)` accepts; returns their ids."""
    released = []
    for record in tx.find("worktrees", status="active"):
        lock = record.get("lock")
        if lock and match(lock):
            release(record, now, why)
            tx.set(f"worktrees.{record['id']}", record)
            tx.append_event("worktree_released", {"worktree": record["id"], "why": why},
                            agent_id=lock.get("agent_id"), task_id=lock.get("task"), session_id=lock.get("session_id"))
            released.append(record["id"])
    return released


def release_run(tx, run: dict[str, Any], now: str | None = None) -> list[str]:
    """SubagentStop: a run that reported lets go of the worktree its delegation (or it) held."""
    agent, delegation = run.get("id"), run.get("tool_use_id")
    status = run.get("outcome") or run.get("status")
    return release_where(tx, now or now_iso(), f"run {agent} {status or 'stopped'}",
                         lambda lock: (delegation and lock.get("delegation") == delegation)
                         or (agent and lock.get("agent_id") == agent))


def release_session(tx, session_id: str, now: str | None = None) -> list[str]:
    """SessionEnd: every lock taken in the session goes."""
    return release_where(tx, now or now_iso(), f"session {session_id} ended",
                         lambda lock: lock.get("session_id") == session_id)
