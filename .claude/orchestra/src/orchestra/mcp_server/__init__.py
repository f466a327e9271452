"""The orchestra MCP server: the agent-facing API over state, tasks, sprints, messages and worktrees
(official `mcp` SDK, stdio).

Claude Code starts it as `orchestra mcp` (from `.mcp.json`, or the plugin's MCP config), one process
per session; every tool works through the store's transactions, never a cached copy, so several
servers and the hooks can write at once. Tools: `task_tools`, `message_tools`, `sprint_tools`, `worktree_tools`; the call
edge (caller identity, transactions, tool errors) is `edge`. The sender of everything is the caller the
PreToolUse hook stamped (`orchestra.bus.hooks.stamp_caller`); role checks happen in that hook
(`orchestra.security.mcp_verdict`), before a call reaches the server.
"""

from __future__ import annotations

from importlib import metadata

from mcp.server import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations

from . import message_tools, sprint_tools, task_tools, worktree_tools
from .edge import lean_schema

SERVER_NAME = "orchestra"
_MODULES = (task_tools, message_tools, sprint_tools, worktree_tools)


def tools() -> list[Tool]:
    """Every tool, its description from the function's docstring and its input schema from the signature."""
    out = []
    for module in _MODULES:
        for fn in module.TOOLS:
            name = fn.__name__
            tool = Tool.from_function(fn, description=" ".join((fn.__doc__ or "").split()),
                                      annotations=ToolAnnotations(read_only_hint=name in module.READ_ONLY))
            tool.parameters = lean_schema(tool.parameters)
            out.append(tool)
    return out


def build() -> MCPServer:
    return MCPServer(SERVER_NAME, version=metadata.version("claude-orchestra"), tools=tools(), log_level="WARNING")


def serve() -> None:
    """Serve on stdin/stdout until the client closes the stream."""
    build().run("stdio")
