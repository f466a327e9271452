"""A subagent resumed with SendMessage after it reported works again in its worktree: SubagentStop let go
of the lock when it reported, so the message takes it back for that run first (`worktree_locked`, with
`resumed`), or is denied while a live run of another delegation holds the worktree. A stale lock is
recovered as a delegation recovers it. The run's next SubagentStop releases the lock again.

Reached only from PreToolUse(SendMessage) (`toolcall.resumed_run_guard`); the recipient is the agentId
Claude Code showed with the report, or the `name` the delegation gave it.
"""

from __future__ import annotations

from typing import Any

from ..clock import now_iso
from ..hookio import Deny, HookContext, HookEvent
from ..store.document import is_entity_id
from . import config as worktree_config
from .locks import Owner, TxReader, WorktreeBusy, acquire, describe, same_owner


def recipient_run(tx, to: str, session_id: str) -> dict[str, Any] | None:
    """The run `to` names: its agentId, or the name given at its delegation (the latest in this session). A name
    no agentId can be (`Backend worker`, `*` for every teammate) is only looked up among the delegations."""
    run = tx.get(f"agents.{to}", None) if is_entity_id(to) else None
    if isinstance(run, dict):
        return run
    named = [d for d in tx.find("delegations", session_id=session_id, name=to) if d.get("agent_id")]
    if not named:
        return None
    latest = max(named, key=lambda d: d.get("seq") or 0)
    return tx.get(f"agents.{latest['agent_id']}", None)


def worktree_of(tx, run: dict[str, Any]) -> dict[str, Any] | None:
    """The active worktree the run works in (by its path; else the one whose last lock was its delegation's)."""
    active = tx.find("worktrees", status="active")
    for record in active:
        if record.get("path") == run.get("worktree"):
            return record
    for record in active:
        last = record.get("last_lock") or {}
        if (run.get("tool_use_id") and last.get("delegation") == run["tool_use_id"]) or last.get("agent_id") == run["id"]:
            return record
    return None


def relock_resumed(event: HookEvent, ctx: HookContext) -> Deny | None:
    """PreToolUse(SendMessage): lock the recipient run's worktree for it again, or deny while another holds it."""
    to = event.tool_input.get("to")
    if not isinstance(to, str) or not to.strip():
        return None
    ttl = worktree_config.load(ctx.root).lock_ttl
    with ctx.store.transaction() as tx:
        run = recipient_run(tx, to.strip(), event.session_id)
        if run is None or not run.get("worktree"):
            return None
        record = worktree_of(tx, run)
        if record is None:
            return None
        view, delegation = TxReader(tx), run.get("tool_use_id")
        owner = Owner(agent_id=None if delegation else run["id"], delegation=delegation,
                      session_id=run.get("session_id") or event.session_id, task=run.get("task"))
        if record.get("lock") and same_owner(record["lock"], owner, view):
            return None  # it still holds it: not reported yet, or resumed already
        now = now_iso()
        try:
            recovered = acquire(view, record, owner, now, ttl)
        except WorktreeBusy:
            ctx.audit.update(rule="worktree:resume", resource=record["id"])
            return Deny(f"Orchestra: run {run['id']} is not resumed: its worktree {record['id']} ({record.get('path')}) "
                        f"is held by {describe(view, record['lock'])} now, and two runs never share a worktree. Wait "
                        "for that run's report, then send the message again.")
        record["lock"]["resumed_at"] = now  # `locks.stale_reason`: live again although it reported before
        tx.set(f"worktrees.{record['id']}", record)
        tx.append_event("worktree_locked", {"worktree": record["id"], "delegation": delegation, "resumed": run["id"],
                                            **({"recovered": recovered} if recovered else {})},
                        agent_id=run["id"], task_id=run.get("task"), session_id=owner.session_id)
    return None
