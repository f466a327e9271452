"""The branches and tags a member's own run made, which it may delete, rename and move like its worktree's branch;
and that branch itself, the one Orchestra made the worktree with, also while the worktree's HEAD names another
(`git checkout -b scratch`, then back to it).

git records no maker, so the guard records one: when it lets through a command that makes a branch or tag absent
at that moment, `agents.<agent_id>.refs_made.<ref>` gets the span of time the command can run in (from then to
then + its timeout). The command may still fail, and someone else may make a ref of that name afterwards; so a
record counts only while the ref came to be under its name within one of its spans: the time of the last entry
of its reflog that made it (created, or `Branch: renamed|copied ... to` it), or, with no reflog (tags), when its
loose ref file was written. A ref made by someone else after the member's command had to end, or one deleted and
made again later, is not the member's. A command run in the background has no end, so it records nothing."""

from __future__ import annotations

import os
import time

from ..hookio import HookContext, HookEvent

FIELD = "refs_made"
KEPT = 4  # spans kept per ref: a member moving its own tag again and again needs only the latest
DEFAULT_TIMEOUT_MS = 120_000  # Claude Code's Bash timeout when the call gives none
SLACK = 2  # seconds either side: reflog times are whole seconds


def spans(ctx: HookContext, agent_id: str) -> dict[str, list[list[float]]]:
    """The run's records, ref -> spans; {} when it has none."""
    with ctx.store.snapshot() as tx:
        made = tx.get(f"agents.{agent_id}.{FIELD}", None)
    return made if isinstance(made, dict) else {}


def handed_out(ctx: HookContext, worktree: str) -> str | None:
    """The branch of the worktree record whose path is `worktree`; None for a worktree Orchestra has no record of."""
    with ctx.store.snapshot() as tx:
        found = tx.find("worktrees", path=worktree)
    branch = found[0].get("branch") if len(found) == 1 else None
    return branch if isinstance(branch, str) and branch else None


def made_by_run(common: str, ref: str, recorded: list[list[float]]) -> bool:
    """Did the run make `ref` as it stands now: it came to be under its name within one of the recorded spans."""
    at = _made_at(common, ref)
    return at is not None and any(start <= at <= end for start, end in recorded)


def record(event: HookEvent, ctx: HookContext, refs: list[str]) -> None:
    """Note that the command being let through makes (or moves) `refs` for the run: the span it can run in."""
    span = _span(event)
    if span is None or not event.agent_id:
        return
    path = f"agents.{event.agent_id}.{FIELD}"
    with ctx.store.transaction() as tx:
        made = tx.get(path, None)
        made = made if isinstance(made, dict) else {}
        for ref in refs:
            made[ref] = [*made.get(ref, []), span][-KEPT:]
        tx.set(path, made)


def _span(event: HookEvent) -> list[float] | None:
    """[from, to]: now, and now plus the call's timeout (Bash `timeout`, Monitor `timeout_ms`); None for a command
    run in the background or a Monitor without a timeout, which may go on for ever."""
    given = event.tool_input.get("timeout" if event.tool_name == "Bash" else "timeout_ms")
    if event.tool_input.get("run_in_background") or (event.tool_name != "Bash" and not given):
        return None
    if not isinstance(given, (int, float)) or isinstance(given, bool) or given <= 0:
        try:
            given = float(os.environ.get("BASH_DEFAULT_TIMEOUT_MS") or DEFAULT_TIMEOUT_MS)
        except ValueError:
            given = DEFAULT_TIMEOUT_MS
    now = time.time()
    return [int(now) - SLACK, int(now + given / 1000) + SLACK]


def _made_at(common: str, ref: str) -> float | None:
    """When `ref` came to be under its name: the last entry of its reflog that made it, else (no reflog, as for
    tags) when its loose ref file was written; None when neither says (packed, a reflog that lost that entry)."""
    try:
        with open(os.path.join(common, "logs", ref), encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        head, _, message = line.partition("\t")
        fields = head.split()
        if len(fields) >= 4 and (set(fields[0]) == {"0"} or message.endswith(f" to {ref}") and message.startswith(
                ("Branch: renamed ", "Branch: copied "))):
            try:
                return float(fields[-2])
            except ValueError:
                return None
    if lines:
        return None
    try:
        return os.stat(os.path.join(common, ref)).st_mtime
    except OSError:
        return None
