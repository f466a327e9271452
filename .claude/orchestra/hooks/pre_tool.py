#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""PreToolUse on every tool but delegation and our MCP tools: guards, then new messages for the caller."""
# orchestra-hook: {"event": "PreToolUse", "matcher": "^(?!(Agent|Task)$)(?!mcp__(orchestra|plugin_orchestra_orchestra)__).*", "timeout": 10, "onFailure": "block"}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.toolcall import check

if __name__ == "__main__":
    main(check, policy="guard")
