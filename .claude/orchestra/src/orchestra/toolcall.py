"""What the pack does on an ordinary tool call, in the one PreToolUse process it runs there.

Guards run first (the first objection wins); then context for the caller (new messages) is
collected. Each step is a plain function so it can be tested alone; keep their imports lean,
this runs before every tool call of every agent.
"""

from __future__ import annotations

from collections.abc import Callable

from .bus.hooks import tool_call_context
from .hookio import AddContext, Allow, HookContext, HookEvent, Verdict
from .security import tool_guard
from .worktrees.boundary import worktree_guard

Guard = Callable[[HookEvent, HookContext], Verdict | None]
ContextSource = Callable[[HookEvent, HookContext], str | None]


def resumed_run_guard(event: HookEvent, ctx: HookContext) -> Verdict | None:
    """SendMessage to a subagent that reported: its worktree is locked for it again first (or the message
    is denied while another run holds it). No import or read for any other tool."""
    if event.tool_name != "SendMessage":
        return None
    from .worktrees.resumption import relock_resumed

    return relock_resumed(event, ctx)


GUARDS: tuple[Guard, ...] = (tool_guard, worktree_guard, resumed_run_guard)
CONTEXT: tuple[ContextSource, ...] = (tool_call_context,)


def settle_guessed_link(event: HookEvent, ctx: HookContext) -> None:
    """A subagent linked to its delegation only by SubagentStart's guess: settle the link from its own
    transcript before the guards read its task and worktree (one primary-key read otherwise)."""
    if not event.agent_id:
        return
    with ctx.store.snapshot() as tx:
        link = tx.get(f"agents.{event.agent_id}.link", None)
    if link == "provisional":
        from .lifecycle.confirm import confirm_guess

        confirm_guess(event, ctx)


def check(event: HookEvent, ctx: HookContext) -> Verdict:
    settle_guessed_link(event, ctx)
    for guard in GUARDS:
        verdict = guard(event, ctx)
        if verdict is not None and not isinstance(verdict, Allow):
            return verdict
    texts = [text for source in CONTEXT if (text := source(event, ctx))]
    return AddContext("\n\n".join(texts)) if texts else Allow()
