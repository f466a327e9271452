"""Git worktrees per epic, sprint, task or team: made by strategy, locked to one agent run, kept inside
their boundary, released when the run or session ends, and cleaned up without touching live work.

Other modules use:

- `allocate_for_delegation(req, led)`: the lifecycle's PreToolUse(Agent) step (worktree + lock + path);
- `worktree_guard(event, ctx)`: the boundary check in `toolcall.GUARDS`;
- `release_run(tx, run)` / `release_session(tx, session_id)`: SubagentStop / SessionEnd;
- `relock_resumed(event, ctx)`: PreToolUse(SendMessage) through `toolcall`, a reported run resumed;
- `provision_sprint(store, sprint_id, root)`: sprint start;
- `assign(store, root, org, task_id, Owner(...))` / `release_named(store, name)`: CLI and MCP;
- `record_native(event, ctx)`: Claude Code's own worktrees mirrored into state.

Everything a hook on an ordinary tool call imports from here is stdlib or our lean modules; git
and the YAML config are reached only when a worktree is made, inspected or removed.
"""

from __future__ import annotations

import importlib
from typing import Any

# Name -> submodule. Loaded on first use, so the per-tool-call guard (which imports only
# `worktrees.boundary`) does not pay for git, locks or cleanup code.
_EXPORTS = {
    "allocate_for_delegation": "allocation", "assign": "allocation", "create": "allocation",
    "provision_sprint": "allocation", "scope_named": "allocation", "scope_of_task": "allocation",
    "worktree_guard": "boundary", "prune": "cleanup", "release_named": "cleanup", "remove": "cleanup",
    "sprint_conflicts": "conflicts", "WorktreeError": "creation", "listing": "inventory", "Owner": "locks",
    "WorktreeBusy": "locks", "release_run": "locks", "release_session": "locks", "record_native": "native",
    "STRATEGIES": "naming", "Scope": "naming",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
