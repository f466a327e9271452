"""The server starts the ways Claude Code starts it: the command in .mcp.json and in the plugin's manifest."""

from __future__ import annotations

import json
import re

import pytest
from mcp import StdioServerParameters
from orchestra import agentfiles

from tests.conftest import REPO

from .conftest import Server, server_env

CONFIGS = {".mcp.json": "CLAUDE_PROJECT_DIR", ".claude-plugin/plugin.json": "CLAUDE_PLUGIN_ROOT"}


def expanded(arg: str, variable: str) -> str:
    """Claude Code's `${VAR}` / `${VAR:-default}` expansion, with VAR pointing at this checkout."""
    return re.sub(r"\$\{(\w+)(?::-[^}]*)?\}", lambda m: str(REPO) if m.group(1) == variable else m.group(0), arg)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_the_configured_command_serves_the_project(config, mcp_project):
    entry = json.loads((REPO / config).read_text(encoding="utf-8"))["mcpServers"]["orchestra"]
    args = [expanded(arg, CONFIGS[config]) for arg in entry["args"]]
    assert entry["type"] == "stdio" and args == [str(REPO / ".claude" / "orchestra" / "bin" / "orchestra-mcp")]
    running = Server(StdioServerParameters(command=entry["command"], args=args, cwd=str(mcp_project),
                                           env=server_env(mcp_project)))
    try:
        names = {tool.name for tool in running.tools()}
        assert names <= set(agentfiles.MCP_TOOLS) and {"send_message", "update_task", "plan_sprint"} <= names
        assert running.ok("get_state")["sprints"] == {"sprint-3": "active"}  # the project's state, not this repo's
    finally:
        running.close()
