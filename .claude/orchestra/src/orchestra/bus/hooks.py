"""What the pack's hooks call on the bus: per-tool-call delivery and the caller stamp on MCP bus tools.

`tool_call_context` is a `toolcall.CONTEXT` source: it runs in the one PreToolUse process on
every ordinary tool call, so it reads once (open messages, by indexed status) and writes only
when it has something to deliver or a question to escalate. A store error here is recorded in
the audit line and the tool call goes on: missing a message must not block an agent's work.

The caller stamp (`stamp_caller`): PreToolUse on the orchestra MCP tools (`mcp__orchestra__*`, in
plugin form `mcp__plugin_orchestra_orchestra__*`) replaces the tool input with a copy in which

    caller = {"id": "main" | "agent:<agent_id>", "agent_type": <agent_type or null>,
              "session_id": <session id>}

and any `from` / `sender` argument the model wrote is overwritten with `caller["id"]`.
The MCP server takes the sender from `caller` and nothing else, so an agent cannot send as
someone it is not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..hookio import HookContext, HookEvent
from ..record import replace
from ..store import claim
from ..teams import Organization
from . import addressing
from .delivery import (
    CONTEXT_LOST,
    MIN_INTERVAL,
    Delivery,
    Receipt,
    Via,
    adopting,
    confirm,
    deliver,
    last_injection,
    main_thread_inbox,
    open_messages,
    pending_for,
)
from .messages import MESSAGES, is_expired, utcnow
from .replies import escalate_due, overdue

FORGEABLE = ("from", "sender")


def caller_of(event: HookEvent) -> dict[str, Any]:
    agent = f"{addressing.RUN_PREFIX}{event.agent_id}" if event.agent_id else addressing.MAIN
    return {"id": agent, "agent_type": event.agent_type, "session_id": event.session_id or None}


def stamp_caller(event: HookEvent) -> dict[str, Any]:
    """The whole tool input, copied, with the caller's identity stamped over anything it claimed: a sender
    the model named (`from`, `sender`: no tool takes one, the server reads `caller`) is dropped, so the
    call goes through as the real sender's."""
    stamped = {key: value for key, value in event.tool_input.items() if key not in FORGEABLE}
    stamped["caller"] = caller_of(event)
    return stamped


def tool_call_context(event: HookEvent, ctx: HookContext, now: datetime | None = None) -> str | None:
    """New messages for the calling run as context, or None (nothing new, or rate-limited)."""
    try:
        return _deliver_on_call(event, ctx, now or utcnow())
    except Exception as exc:  # noqa: BLE001 - delivery is an observer inside a guard process
        ctx.audit["bus_error"] = f"{exc.__class__.__name__}: {exc}"[:300]
        return None


def receipt_for(ctx: HookContext) -> Receipt | None:
    """What this hook hands over, to confirm once its output is written (README, "Order and delivery"): a hook
    killed before, or whose output could not be written, leaves it unconfirmed, and a later hook of the run
    shows it again once this one's timeout has passed. None outside a hook script: delivered counts as shown."""
    deadline = ctx.deadline()
    if deadline is None:
        return None
    receipt = Receipt(deadline)
    ctx.after_output(lambda: _confirm(ctx, receipt))
    return receipt


def _confirm(ctx: HookContext, receipt: Receipt) -> None:
    """One small transaction, only in a hook that handed something over, waiting for another writer no longer than
    it may still confirm: a hook held past its timeout is killed (with onFailure block, its tool call refused)."""
    import time

    from ..hookio import STORE_WAIT_S
    from ..store import open_store

    left = receipt.time_left(time.time())
    if not receipt.handed or left <= 0:
        return
    store = ctx.store if left >= STORE_WAIT_S else open_store(root=ctx.root, wait=left)
    try:
        with store.transaction() as tx:
            confirm(tx, receipt)
    finally:
        if store is not ctx.store:
            store.close()


def delivery_org(ctx: HookContext) -> tuple[Organization, str | None]:
    """The organisation messages are delivered by, and teams.yaml's error when it is broken. Delivery by run, to
    main and to the human does not depend on teams, so a broken file leaves no teams (audited) instead of
    stopping it."""
    from .. import teams

    try:
        return teams.load(ctx.root), None
    except ValueError as exc:
        ctx.audit["bus_teams_error"] = str(exc)[:300]
        return teams.build({}), str(exc)


def main_thread_delivery(tx, event: HookEvent, ctx: HookContext, *, via: Via, source: str | None = None) -> Delivery:
    """SessionStart / UserPromptSubmit on the main thread: questions left unanswered past their time escalated, then
    its open messages and the human's, also with a broken teams.yaml, whose error (file:line) then joins the
    user-visible alert."""
    org, broken = delivery_org(ctx)
    # while the session waits for the user no tool call escalates: the prompt does, and shows what reached the user
    try:
        if escalated := escalate_due(tx, org=org):
            ctx.audit["bus_escalated"] = [m["id"] for m in escalated]
    except ValueError as exc:  # a bad ORCHESTRA_ESCALATE_AFTER: audited as on tool calls, messages still shown
        ctx.audit["bus_error"] = f"{exc.__class__.__name__}: {exc}"[:300]
    key = prompt_key(event) if via == "user_prompt" else session_start_key(tx, event)
    inbox = main_thread_inbox(tx, event.session_id, via=via, org=org, agent_type=event.agent_type, source=source,
                              event=key, receipt=receipt_for(ctx))
    if broken is None:
        return inbox
    return replace(inbox, alert=" | ".join(filter(None, (inbox.alert, f"Orchestra: {broken}"))))


def prompt_key(event: HookEvent) -> str:
    """What names one UserPromptSubmit, the same when its hook runs again on it: its `prompt_id`; in a payload
    without one, a digest of the session and the prompt's text (the same prompt sent again next is then taken for
    the same event, and is shown again what the first was shown and has not closed)."""
    if isinstance(prompt_id := event.get("prompt_id"), str) and prompt_id:
        return f"prompt:{prompt_id}"
    import hashlib

    text = event.get("prompt") if isinstance(event.get("prompt"), str) else ""
    return "prompt#" + hashlib.sha256(f"{event.session_id}\0{text}".encode(errors="replace")).hexdigest()[:32]


def session_start_key(tx, event: HookEvent) -> str | None:
    """What names one SessionStart, the same when its hook runs again on it: its `source` and the time the session
    was last resumed after it had ended (`lifecycle.session.start`, which a rerun does not move). A session resumed
    again without having ended is taken for the same start, and is shown again what it was shown then and has not
    closed. None after compaction or /clear, which shows every open message again anyway."""
    if event.get("source") in CONTEXT_LOST:
        return None
    session = tx.get(f"sessions.{event.session_id}", None) if event.session_id else None
    return f"start:{event.get('source')}@{(session or {}).get('resumed_at') or ''}"


def _deliver_on_call(event: HookEvent, ctx: HookContext, now: datetime) -> str | None:
    org, _ = delivery_org(ctx)
    who = addressing.recipient(org, event.agent_id, event.agent_type, event.session_id)
    with ctx.store.snapshot() as tx:
        rows = open_messages(tx)
        who = adopting(tx, who, rows, now)
    call = event.tool_use_id  # run again on this call (a warm child died after it committed): the same messages
    fresh = pending_for(rows, who, now, call)
    late = overdue(rows, now)
    if not fresh and not late:
        return None
    last = last_injection(rows, who, call, now)
    urgent = any(m.get("priority") == "critical" for m in fresh)
    if not late and not urgent and last is not None and now - last < MIN_INTERVAL:
        ctx.audit["bus_deferred"] = len(fresh)
        return None
    via = "mcp_call" if (event.tool_name or "").startswith("mcp__") else "tool_call"
    receipt = receipt_for(ctx)
    if late or any(is_expired(m, now) for m in rows):
        with ctx.store.transaction() as tx:
            rows = open_messages(tx)  # again, now under the write lock: another process may have delivered
            escalated = escalate_due(tx, now=now, org=org, rows=rows)
            delivery = deliver(tx, who, via=via, now=now, rows=rows + escalated, event=call, receipt=receipt)
    else:
        # Only handing over: claim the messages, re-read. PostgreSQL skips one that another process is
        # handing over right now (FOR UPDATE SKIP LOCKED) instead of waiting; it comes on a later call.
        escalated = []
        with ctx.store.claiming() as tx:
            delivery = deliver(tx, who, via=via, now=now, rows=claim(tx, MESSAGES, [m["id"] for m in fresh]),
                               event=call, receipt=receipt)
    if escalated:
        ctx.audit["bus_escalated"] = [m["id"] for m in escalated]
    if delivery.messages:
        ctx.audit["bus_delivered"] = [m["id"] for m in delivery.messages]
    return delivery.text
