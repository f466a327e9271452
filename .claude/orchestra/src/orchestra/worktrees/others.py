"""Writes into the worktrees of others by a caller that works in none of its own: a reviewer changes no
worktree (the work in it is under review, or waits for it), and every other such caller (an orchestrator, a
member run without a worktree, a `claude --agent` session) changes none that a live run holds (that run's work
is under way there). Reading, diffing and running a worktree's tests stay open, and so does the temp directory;
the main thread (no agent_type) is not limited, and neither are Claude Code's own worktrees, which Orchestra
does not record as its own.

What counts as a write is the boundary's reading of the call (`boundary.shell_reach`), plus git commands that
change the worktree they work in (`git -C W commit`, `cd W && git reset --hard`). Cost on a call that writes
into no worktree: a listing of git's `.git/worktrees/` (no git process) and, for Bash, one more pass of the
shell reader; the role and the worktrees' records and locks are read only for a write that lands in one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ..hookio import Deny, HookContext, HookEvent
from .boundary import FILE_TOOLS, absolute, inside, shell_reach


def others_guard(event: HookEvent, ctx: HookContext) -> Deny | None:
    from ..security.pathrules import Resolver

    tops = Resolver(ctx.root).worktrees()
    if not tops or _reach(event, ctx, tops) is None:
        return None
    return _judge(event, ctx, tops)


def _reach(event: HookEvent, ctx: HookContext, tops: Iterable[str]) -> tuple[str, str, str] | None:
    """(the path, what reached it, the worktree) for the call's first write into one of the worktrees `tops`.
    (Removing a directory that holds worktrees, `rm -rf .worktrees`, the security guard denies: it holds their
    copies of protected files.)"""
    tops = tuple(tops)

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
    return None if hit is None else (hit, what, next(top for top in tops if inside(hit, top)))


def _judge(event: HookEvent, ctx: HookContext, tops: tuple[str, ...]) -> Deny | None:
    """The call writes into a worktree: deny it when it writes into one of Orchestra's that the caller may not
    change, a reviewer none, anyone else none a live run other than the caller holds."""
    from .. import teams
    from ..clock import now_iso
    from ..security import guard
    from ..security import policy as policies
    from ..security.decisions import Decision
    from . import config
    from .locks import TxReader, describe, holder_run, stale_reason

    policy, org = policies.load(ctx.root), teams.load(ctx.root)
    caller = policy.caller(org, event.agent_type, event.agent_id)
    reals = {os.path.realpath(top): top for top in tops}
    guarded: dict[str, tuple[dict[str, Any], str | None, str | None]] = {}  # top -> (record, held by, run)
    with ctx.store.snapshot() as tx:
        view, now, ttl = TxReader(tx), now_iso(), None
        for record in tx.find("worktrees", status="active"):
            top = reals.get(os.path.realpath(record["path"])) if isinstance(record.get("path"), str) else None
            if top is None or record.get("origin") == "native":
                continue  # not one of Orchestra's worktrees (Claude Code's own, or made by hand)
            lock = record.get("lock")
            holder = holder_run(view, lock) if lock else None
            if lock and holder != event.agent_id:
                ttl = config.load(ctx.root).lock_ttl if ttl is None else ttl
                held_by = describe(view, lock) if stale_reason(view, lock, now, ttl) is None else None
            else:
                held_by = None
            if caller.role == "reviewer" or held_by:
                guarded[top] = (record, held_by, holder)
    found = _reach(event, ctx, guarded) if guarded else None
    if found is None:
        return None
    hit, what, top = found
    record, held_by, holder = guarded[top]
    path, action = record["path"], "write" if event.tool_name in FILE_TOOLS else "exec"
    where = f"{what} is inside the worktree {record['id']} ({path})"
    if caller.role == "reviewer":
        state = f"held by {held_by}" if held_by else "whose work is under review or waits for it"
        decision = Decision("worktree", action, hit, "reviewer", (
            f"Orchestra: {where}, {state}. {caller.label} (role reviewer) reviews worktrees without changing "
            "them: read, diff and run the tests there, and keep notes in the temp directory. Give what should "
            "change as your review verdict (update_task with verdict and findings) or send_message to the task's "
            "assignee, whose worktree it is."))
    else:
        ask = f"send_message to agent:{holder}" if holder else "ask its holder (`orchestra worktree list`)"
        decision = Decision("worktree", action, hit, "held", (
            f"Orchestra: {where}, held by {held_by}: that run's work is under way there, and only it writes "
            f"there. {caller.label} (role {caller.role}) may read, diff and test it. To have something changed, "
            f"{ask}; or wait until the run reports (its lock is then released) and change it after that."))
    ctx.audit.update(worktree=path)
    return guard.deny(event, ctx, decision, caller, policy, org)
