#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""PreToolUse on the orchestra MCP tools: stamp the caller's identity into the input, deliver new messages.

The stamped `caller` field (see orchestra.bus.hooks) is the only sender the MCP server trusts. The
tools are `mcp__orchestra__*` from .mcp.json and `mcp__plugin_orchestra_orchestra__*` in plugin form.
"""
# orchestra-hook: {"event": "PreToolUse", "matcher": "^mcp__(orchestra|plugin_orchestra_orchestra)__.*", "timeout": 10, "onFailure": "block"}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.bus.hooks import stamp_caller, tool_call_context
from orchestra.hookio import HookContext, HookEvent, Rewrite, Verdict, main
from orchestra.security import mcp_verdict


def handle(event: HookEvent, ctx: HookContext) -> Verdict:
    if (denied := mcp_verdict(event, ctx)) is not None:
        return denied
    stamped = stamp_caller(event)
    ctx.audit["caller"] = stamped["caller"]["id"]
    return Rewrite(stamped, context=tool_call_context(event, ctx))


if __name__ == "__main__":
    main(handle, policy="guard")
