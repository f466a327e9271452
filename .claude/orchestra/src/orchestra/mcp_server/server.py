"""The orchestra MCP server as the official SDK builds it: every tool, its description and input schema."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.stdio import stdio_server
from mcp.types import ToolAnnotations

from . import message_tools, sprint_tools, task_tools, worktree_tools
from .edge import NARROW, answered, lean_schema, strict

SERVER_NAME = "orchestra"
_MODULES = (task_tools, message_tools, sprint_tools, worktree_tools)


def tools() -> list[Tool]:
    """Every tool, its description from the function's docstring and its input schema from the signature; every
    one takes only arguments its schema allows, and answers only what fits in the model's context (`edge`)."""
    out = []
    for module in _MODULES:
        for fn in module.TOOLS:
            name = fn.__name__
            tool = Tool.from_function(fn, description=" ".join((fn.__doc__ or "").split()),
                                      annotations=ToolAnnotations(read_only_hint=name in module.READ_ONLY))
            tool.fn_metadata.arg_model = strict(tool.fn_metadata.arg_model)
            tool.parameters = lean_schema(tool.fn_metadata.arg_model.model_json_schema(by_alias=True))
            tool.fn = answered(fn, module.NARROWING.get(name, NARROW))
            out.append(tool)
    return out


def build() -> MCPServer:
    return MCPServer(SERVER_NAME, version=metadata.version("claude-orchestra"), tools=tools(), log_level="WARNING")


def serve_on(server: MCPServer, stdin: Any, stdout: Any) -> None:
    """Serve until `stdin` ends, reading lines from `stdin.readline()` and writing to `stdout.write()`
    (the front's wire; see `front`). What `MCPServer.run("stdio")` does on the process's own stdio, which
    takes no streams: so this drives the SDK's low-level server, which `MCPServer` keeps private."""
    lowlevel = server._lowlevel_server

    async def run() -> None:
        async with stdio_server(anyio.wrap_file(stdin), anyio.wrap_file(stdout)) as (read, write):
            await lowlevel.run(read, write, lowlevel.create_initialization_options())

    anyio.run(run)
