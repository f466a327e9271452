"""Worktrees as MCP tools: assign_worktree and release_worktree (over `orchestra.worktrees`, as the CLI's
`worktree assign|release`)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from .. import paths, worktrees
from ..store.document import MAX_ID_LENGTH
from .edge import RUN_ID, StampedCaller, identity, organization, state, store
from .task_tools import TaskId

SHOWN = ("id", "status", "branch", "path", "scope", "scope_id", "lock")


def view(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in SHOWN}


def assign_worktree(task_id: TaskId,
                    agent_id: Annotated[str | None, Field(pattern=rf"^{RUN_ID}$", description=(
                        "the agent run that will work there (default: you)"))] = None,
                    caller: StampedCaller = None) -> dict[str, Any]:
    """Lock the git worktree a task works in (made if needed, by its team's strategy) for one agent run;
    refused while another live run holds it. Returns the worktree with its path and branch."""
    by = identity(caller)
    if agent_id is not None:  # the CLI may lock for a run before it starts; a model names one it knows
        with state() as tx:
            if tx.get(f"agents.{agent_id}", None) is None:
                raise ToolError(f"assign_worktree: agent_id {agent_id!r}: no agent run with that id in state (runs "
                                "are recorded when they start; leave agent_id out to take the worktree yourself)")
    owner = worktrees.Owner(agent_id=agent_id or by.agent_id, session_id=by.session_id, task=task_id, by="mcp")
    root = paths.project_root()
    with store() as opened:
        return view(worktrees.assign(opened, root, organization(), task_id, owner))


def release_worktree(name: Annotated[str | None, Field(min_length=1, max_length=500, description=(
                         "the worktree's id, branch or path"))] = None,
                     task_id: Annotated[str | None, Field(pattern=rf"^[A-Za-z0-9_\-:@/+]{{1,{MAX_ID_LENGTH}}}$", description=(
                         "or the task whose worktree to release"))] = None,
                     caller: StampedCaller = None) -> dict[str, Any]:
    """Take the lock off a worktree, so another run can work there; the worktree and its branch stay."""
    by = identity(caller)
    if (name is None) == (task_id is None):
        raise ToolError("release_worktree: name the worktree (id, branch or path) or give task_id, not both")
    if task_id is not None:
        with state() as tx:
            task = tx.get(f"tasks.{task_id}", None)
        if task is None:
            raise ToolError(f"task {task_id!r}: no such task in state; list_tasks shows the ids")
        name = task.get("worktree")
        if name is None:
            raise ToolError(f"task {task_id!r} has no worktree in state (assign_worktree gives it one)")
    with store() as opened:
        return view(worktrees.release_named(opened, name, why=f"released by {by.id}"))


TOOLS = (assign_worktree, release_worktree)
READ_ONLY: frozenset[str] = frozenset()
NARROWING: dict[str, str] = {}  # a worktree's record is small
