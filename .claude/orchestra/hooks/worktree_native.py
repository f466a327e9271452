#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""Claude Code's own worktrees into state: WorktreeRemove, and PostToolUse of EnterWorktree/ExitWorktree
and of Agent (an `isolation: worktree` result names its worktree). No WorktreeCreate hook on purpose: one
would replace git's worktree creation (see README, Worktrees)."""
# orchestra-hook: {"event": "WorktreeRemove", "timeout": 15}
# orchestra-hook: {"event": "PostToolUse", "matcher": "EnterWorktree|ExitWorktree|Agent|Task", "timeout": 15}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.worktrees.native import record_native

if __name__ == "__main__":
    main(record_native)
