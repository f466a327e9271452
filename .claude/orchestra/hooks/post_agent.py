#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""PostToolUse(Agent|Task): link the launched subagent's agentId to its delegation and task.
PostToolUse(TaskStop): settle the subagent it stopped, which sends no SubagentStop."""
# orchestra-hook: {"event": "PostToolUse", "matcher": "Agent|Task|TaskStop", "timeout": 15}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.lifecycle.handlers import post_agent

if __name__ == "__main__":
    main(post_agent)
