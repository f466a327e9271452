#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""PreToolUse(Agent|Task): gates (agent type, task, dependencies, capacity), then track the delegation and brief it."""
# orchestra-hook: {"event": "PreToolUse", "matcher": "Agent|Task", "timeout": 60, "onFailure": "block"}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.lifecycle.handlers import pre_agent

if __name__ == "__main__":
    main(pre_agent, policy="guard")
