"""Settling SubagentStart's guess before a run's tool call depends on it.

SubagentStart carries only the child's id and type, so when several delegations of one type wait
in a session the lifecycle links the run to the oldest of them (a provisional link) until
PostToolUse of the Agent call, or the transcript's meta file at SubagentStop, says which it was.
A guard reading the run's task or worktree before then could use another run's. By its first tool
call the run's own transcript holds its prompt, and so its `[task:<id>]` tag: that settles the
link first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import teams
from ..hookio import HookContext, HookEvent
from . import transcript
from .ledger import Ledger
from .protocol import task_tag
from .tasks import task_for_tag


def subagent_transcript(session_transcript: Any, agent_id: str) -> Path | None:
    """`<session>.jsonl` -> `<session>/subagents/agent-<id>.jsonl`, where Claude Code 2.1.328 keeps it."""
    if not isinstance(session_transcript, str) or not session_transcript.endswith(".jsonl"):
        return None
    return Path(session_transcript).with_suffix("") / "subagents" / f"agent-{agent_id}.jsonl"


def confirm_guess(event: HookEvent, ctx: HookContext) -> None:
    """Make the run's provisional link definitive, moving it to the delegation its prompt names."""
    seen = transcript.read(subagent_transcript(event.get("transcript_path"), event.agent_id))
    with ctx.store.transaction() as tx:
        led = Ledger(tx, teams.load(ctx.root))
        run = led.get("agents", event.agent_id)
        if run is None or run.get("link") != "provisional":
            return
        launched_by = _launching_delegation(led, run, seen)
        if launched_by is None:
            return
        led.link(launched_by, event.agent_id, "definitive")
        led.settle()
    ctx.audit["link_confirmed"] = launched_by


def _launching_delegation(led: Ledger, run: dict[str, Any], seen: transcript.Transcript) -> str | None:
    if seen.tool_use_id and led.get("delegations", seen.tool_use_id) is not None:
        return seen.tool_use_id
    waiting = [d for d in led.find("delegations", session_id=run.get("session_id"))
               if d.get("subagent_type") == run.get("agent_type") and d.get("link") != "definitive"]
    task_id = task_for_tag(led, task_tag(seen.prompt))
    if task_id is not None:
        waiting = [d for d in waiting if d.get("task") == task_id]
    elif len(waiting) > 1 or seen.prompt is None:
        return None  # no tag to tell them apart (or no transcript yet): leave the guess for later
    if not waiting:
        return None
    ids = [d["id"] for d in waiting]
    return run.get("tool_use_id") if run.get("tool_use_id") in ids else min(
        waiting, key=lambda d: (d.get("seq") or 0, d["id"]))["id"]
