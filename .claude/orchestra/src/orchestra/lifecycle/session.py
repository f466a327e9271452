"""Stop and SessionEnd on the main thread: tell the user what needs them, and release what the session held.

SessionEnd marks the session ended; settling then turns its runs that never reported into
`stopped` (their tasks blocked, with the reason) and its delegations that never launched back to
queued, so nothing stays "in progress" forever and no capacity is held by the dead.
"""

from __future__ import annotations

from collections import Counter

from .. import teams
from ..hookio import Allow, HookContext, HookEvent, Verdict
from ..worktrees.locks import release_session
from .ledger import Ledger, now_iso

ATTENTION = ("blocked", "needs_review")


def stop(event: HookEvent, ctx: HookContext) -> Verdict:
    """Stop: mention runs of this session that ended blocked or needing review since the last Stop."""
    if event.agent_id or event.get("stop_hook_active"):
        return Allow()
    with ctx.store.transaction() as tx:
        led = Ledger(tx, teams.load(ctx.root))
        session = led.session(event.session_id)
        since = session.get("last_stop_at") or ""
        fresh = [r for status in ATTENTION for r in led.find("agents", session_id=event.session_id, status=status)
                 if (r.get("ended_at") or "") > since]
        session["last_stop_at"] = led.now
        led.flush()
    if not fresh:
        return Allow()
    shown = "; ".join(f"{r.get('task') or r['id']} {r['status']}" + (f" ({r['reason'][:120]})" if r.get("reason") else "")
                      for r in sorted(fresh, key=lambda r: r["id"])[:5])
    return Allow(system_message=f"Orchestra: needs attention: {shown}. See `orchestra task list`.")


def session_end(event: HookEvent, ctx: HookContext) -> Verdict:
    with ctx.store.transaction() as tx:
        led = Ledger(tx, teams.load(ctx.root))
        session = led.session(event.session_id)
        first = not session.get("ended_at")
        if first:
            session.update(ended_at=led.now, end_reason=event.get("reason"),
                           ends=sorted({*(session.get("ends") or []), led.now}))
        runs = led.find("agents", session_id=event.session_id)
        led.runs.update(r["id"] for r in runs)
        led.tasks.update(d["task"] for d in led.find("delegations", session_id=event.session_id, status="pending")
                         if d.get("task"))
        led.settle()
        release_session(tx, event.session_id, led.now)  # the worktree locks taken in this session
        counts = Counter(led.get("agents", r["id"])["status"] for r in runs)
        if first:
            led.event("session_ended", {"reason": event.get("reason"), "runs": dict(sorted(counts.items()))},
                      session_id=event.session_id)
    ctx.audit["runs"] = sum(counts.values())
    return Allow()


def reopen(tx, event: HookEvent) -> None:
    """SessionStart of a session that had ended (`claude --resume`, `--continue` keep its id): open it again.

    What its end stopped stays stopped (`Ledger.session_ended` keeps the end times); what the resumed
    session starts is live, holds capacity and is settled by its next SessionEnd."""
    session = tx.get(f"sessions.{event.session_id}", None) if event.session_id else None
    if not session or not session.get("ended_at"):
        return
    ends = sorted({*(session.get("ends") or []), session["ended_at"]})
    tx.set(f"sessions.{event.session_id}", {**session, "ended_at": None, "end_reason": None, "ends": ends,
                                            "resumed_at": now_iso()})
    tx.append_event("session_resumed", {"source": event.get("source"), "ended_at": session["ended_at"]},
                    session_id=event.session_id)
