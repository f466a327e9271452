"""How a reader can read the rest of a message cut in its injection: by what its agent file grants it.

Only a message longer than one whole injection is cut (`delivery.fitting`), so this runs rarely: it reads
the reader's agent file then, never on an ordinary delivery. A main thread has the orchestra MCP tools
and Bash; a subagent run has what its `tools` list grants (every tool without one). Where the file is
not found, every way is named.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .. import agentfiles, paths
from . import addressing
from .addressing import Recipient

_ENTRY = re.compile(r"[^\s,(]+(?:\([^)]*\))?")  # a `tools` entry as Claude Code splits them, `Bash(git *)` whole


def rest_of(message: dict[str, Any], reader: Recipient | None) -> str:
    """The note's way to the rest of `message` for `reader`: the inbox tool, the CLI through Bash, asking its
    sender, or, with none of them, saying so in the report."""
    whole = f"shows {message['id']} whole"
    if reader is None or reader.agent_id is None:
        return f"the inbox tool or `orchestra msg inbox --json` {whole}"
    cli = f"`orchestra msg inbox {reader.address} --json`"
    sender = message.get("from") or ""
    askable = sender not in ("", addressing.SYSTEM)
    tools = granted(reader.agent_type)
    if tools is None:
        ask = f", or ask {sender} to send you the rest" if askable else ""
        return f"the inbox tool or {cli} {whole}{ask}"
    if tools & _named("inbox"):
        return f"the inbox tool {whole}"
    if tools & {"Bash", agentfiles.ALL_TOOLS}:
        return f"{cli} {whole}"
    for tool in ("ask", "send_message"):
        if askable and tools & _named(tool):
            return f"ask {sender} (the {tool} tool) to send you the rest of {message['id']}"
    return f"say in your report that {message['id']} from {sender or 'its sender'} was cut"


def _named(tool: str) -> set[str]:
    """The `tools` entries that grant the orchestra MCP tool `tool`, by either server name or as a whole."""
    return {*agentfiles.WHOLE_SERVER, agentfiles.MCP_PREFIX + tool, agentfiles.PLUGIN_MCP_PREFIX + tool}


def granted(agent_type: str | None) -> set[str] | None:
    """The tools the agent file of `agent_type` grants, as written (`Bash(git *)` is not `Bash`), less its
    `disallowedTools`; `{"*"}` for every tool. None when there is no such file or it cannot be read."""
    path = definition(agent_type) if agent_type else None
    if path is None:
        return None
    try:
        meta = agentfiles.read(path).meta
    except (OSError, ValueError):
        return None
    tools = meta.get("tools")
    if tools is None:  # no `tools` key, or an empty one: every tool
        return {agentfiles.ALL_TOOLS}
    entries = _ENTRY.findall(tools) if isinstance(tools, str) else [str(t).strip() for t in tools or []]
    return set(entries) - set(agentfiles.tool_names(meta.get("disallowedTools")))


def definition(agent_type: str) -> Path | None:
    """`<agent_type>.md` where Claude Code finds agents: the project's, the user's, then the plugin's."""
    homes = [paths.claude_dir(paths.project_root()) / "agents", Path.home() / ".claude" / "agents"]
    if os.environ.get("CLAUDE_CONFIG_DIR"):
        homes.append(Path(os.environ["CLAUDE_CONFIG_DIR"]) / "agents")
    if os.environ.get(paths.PLUGIN_ENV):
        homes.append(paths.PACK_DIR.parent / "agents")
    return next((found for home in homes if home.is_dir() for found in home.rglob(f"{agent_type}.md")), None)
