"""Writes into the worktrees of others by a caller that works in none of its own: a reviewer changes no
worktree (the work in it is under review, or waits for it), and every other such caller (an orchestrator, a
member run without a worktree, a `claude --agent` session) changes none that a live run holds (that run's work
is under way there). Reading, diffing and running a worktree's tests stay open, and so does the temp directory;
the main thread (no agent_type) is not limited, and neither are Claude Code's own worktrees, which Orchestra
does not record as its own.

What counts as a write is the boundary's reading of the call (`boundary.shell_reach`), plus git commands that
change the worktree they work in (`git -C W commit`, `cd W && git reset --hard`). Cost on a call that writes
into no worktree: a listing of git's `.git/worktrees/` (no git process) and, for Bash, one more pass of the
shell reader; the role, the worktree's record and its lock are read only for a write that lands in one.
"""

from __future__ import annotations

import os
from typing import Any

from ..hookio import Deny, HookContext, HookEvent
from .boundary import FILE_TOOLS, absolute, inside, shell_reach


def others_guard(event: HookEvent, ctx: HookContext) -> Deny | None:
    from ..security.pathrules import Resolver

    tops = Resolver(ctx.root).worktrees()
    if not tops:
        return None

    def into(raw: str, base: str) -> str | None:
        path = absolute(raw, base)
        return path if any(inside(path, top) for top in tops) else None

    tool = event.tool_name or "Bash"
    if tool in FILE_TOOLS:
        target = event.tool_input.get(FILE_TOOLS[tool])
        hit = into(target, event.cwd) if isinstance(target, str) and target else None
        what = f"{tool} to {hit}"
    else:
        command = event.tool_input.get("command")
        found = shell_reach(command, event.cwd, ctx.root, tool, into, confined=False) \
            if isinstance(command, str) else None
        hit, what = found if found else (None, "")
    if hit is None:
        return None
    return _judge(event, ctx, hit, what, next(top for top in tops if inside(hit, top)), tool in FILE_TOOLS)


def _judge(event: HookEvent, ctx: HookContext, hit: str, what: str, top: str, file_tool: bool) -> Deny | None:
    """The write `what` lands in the worktree at `top`: deny it when that is an Orchestra worktree and the caller
    is a reviewer, or a live run other than the caller holds it."""
    from .. import teams
    from ..clock import now_iso
    from ..security import guard
    from ..security import policy as policies
    from ..security.decisions import Decision
    from . import config
    from .locks import TxReader, describe, holder_run, stale_reason

    real = os.path.realpath(top)
    with ctx.store.snapshot() as tx:
        record = next((r for r in tx.find("worktrees", status="active") if r.get("origin") != "native"
                       and isinstance(r.get("path"), str) and os.path.realpath(r["path"]) == real), None)
        lock: dict[str, Any] | None = (record or {}).get("lock")
        view = TxReader(tx)
        holder = holder_run(view, lock) if lock else None
        live = bool(lock) and holder != event.agent_id \
            and stale_reason(view, lock, now_iso(), config.load(ctx.root).lock_ttl) is None
        held_by = describe(view, lock) if live and lock else None
    if record is None:
        return None  # not one of Orchestra's worktrees (Claude Code's own, or made by hand)
    policy, org = policies.load(ctx.root), teams.load(ctx.root)
    caller = policy.caller(org, event.agent_type, event.agent_id)
    path = record["path"]
    where = f"{what} is inside the worktree {record['id']} ({path})"
    if caller.role == "reviewer":
        state = f"held by {held_by}" if held_by else "whose work is under review or waits for it"
        decision = Decision("worktree", "write" if file_tool else "exec", hit, "reviewer", (
            f"Orchestra: {where}, {state}. {caller.label} (role reviewer) reviews worktrees without changing "
            "them: read, diff and run the tests there, and keep notes in the temp directory. Give what should "
            "change as your review verdict (update_task with verdict and findings) or send_message to the task's "
            "assignee, whose worktree it is."))
    elif held_by:
        ask = f"send_message to agent:{holder}" if holder else "ask its holder (`orchestra worktree list`)"
        decision = Decision("worktree", "write" if file_tool else "exec", hit, "held", (
            f"Orchestra: {where}, held by {held_by}: that run's work is under way there, and only it writes "
            f"there. {caller.label} (role {caller.role}) may read, diff and test it. To have something changed, "
            f"{ask}; or wait until the run reports (its lock is then released) and change it after that."))
    else:
        return None
    ctx.audit.update(worktree=path)
    return guard.deny(event, ctx, decision, caller, policy, org)
