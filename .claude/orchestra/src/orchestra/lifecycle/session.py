"""Stop and SessionEnd on the main thread: tell the user what needs them, and release what the session held.

SessionEnd marks the session ended; settling then turns its runs that never reported into
`stopped` (their tasks blocked, with the reason) and its delegations that never launched back to
queued, so nothing stays "in progress" forever and no capacity is held by the dead.
"""

from __future__ import annotations

from collections import Counter

from .. import liveness, teams
from ..hookio import Allow, HookContext, HookEvent, Verdict
from ..worktrees.locks import release_session
from .ledger import Ledger, now_iso

ATTENTION = ("blocked", "needs_review")
PROCESS_GONE = "process_gone"  # the end reason of a session found without its Claude Code process


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
        counts = end(Ledger(tx, teams.load(ctx.root)), event.session_id, event.get("reason"))
    ctx.audit["runs"] = sum(counts.values())
    return Allow()


def end(led: Ledger, session_id: str | None, reason: str | None) -> Counter:
    """End the session: settle its runs and waiting delegations, free its worktree locks. Its runs by status."""
    session = led.session(session_id)
    first = not session.get("ended_at")
    if first:
        session.update(ended_at=led.now, end_reason=reason, ends=sorted({*(session.get("ends") or []), led.now}))
    runs = led.find("agents", session_id=session_id)
    led.runs.update(r["id"] for r in runs)
    led.tasks.update(d["task"] for d in led.find("delegations", session_id=session_id, status="pending")
                     if d.get("task"))
    led.settle()
    release_session(led.tx, session_id, led.now)  # the worktree locks taken in this session
    counts = Counter(led.get("agents", r["id"])["status"] for r in runs)
    if first:
        led.event("session_ended", {"reason": reason, "runs": dict(sorted(counts.items()))}, session_id=session_id)
    return counts


def start(tx, event: HookEvent, root) -> None:
    """SessionStart: open a resumed session again, note the Claude Code process it runs in, and end each
    session whose process is gone without its SessionEnd (killed outright) the way that SessionEnd would have."""
    # this very session too, when it is resumed after its process was killed
    if any(liveness.gone(s) for s in tx.find("sessions", ended_at=None)):
        end_gone(Ledger(tx, teams.load(root)))
    reopen(tx, event)
    if event.session_id and (process := liveness.current()):
        session = tx.get(f"sessions.{event.session_id}", None) or {"id": event.session_id, "child_agents": [],
                                                                      "created_at": now_iso()}
        tx.set(f"sessions.{event.session_id}", {**session, **process})


def end_gone(led: Ledger) -> list[str]:
    """End each open session whose Claude Code process is gone (killed outright: no SessionEnd ran) the way
    its SessionEnd would have, so its runs stop holding capacity, tasks and worktree locks. SessionStart
    and every delegation (another session may be open all along) call it. The ids of those sessions."""
    dead = [s["id"] for s in led.find("sessions", ended_at=None) if liveness.gone(s)]
    for session_id in dead:
        end(led, session_id, PROCESS_GONE)
    return dead


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
