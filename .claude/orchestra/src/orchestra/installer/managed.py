"""Settings an organisation manages on this machine (Claude Code's managed settings), and what in them stops
the pack. Only whoever manages the machine can change them, and nothing in a project's or user's settings
overrides them.

Claude Code reads `managed-settings.json` in a fixed folder of each platform, then the drop-in documents
`managed-settings.d/*.json` in name order, a later document's key over an earlier one's. A value of the
wrong type is left out and the rest of its document still applies. `managed-mcp.json` in the same folder,
when there is one, is the only source of MCP servers. All of this was seen with Claude Code 2.1.328.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import jsondoc
from .errors import InstallError
from .source import is_our_server

FOLDER_ENV = "ORCHESTRA_MANAGED_SETTINGS_DIR"  # where to look instead of the platform's folder
ADVICE = "only whoever manages this machine can change that; no settings file of yours overrides it"


def folder() -> Path:
    override = os.environ.get(FOLDER_ENV)
    if override:
        return Path(override)
    if sys.platform == "darwin":
        return Path("/Library/Application Support/ClaudeCode")
    if os.name == "nt":
        return Path(r"C:\Program Files\ClaudeCode")
    return Path("/etc/claude-code")


@dataclass(frozen=True)
class Managed:
    """A managed setting's value and the document that sets it."""

    value: Any
    path: Path


def documents() -> list[tuple[Path, dict[str, Any]]]:
    """The managed settings documents Claude Code reads, lowest precedence first; unreadable ones left out."""
    base = folder()
    drop_ins = base / "managed-settings.d"
    paths = [base / "managed-settings.json"]
    if drop_ins.is_dir():
        paths += sorted(p for p in drop_ins.glob("*.json") if not p.name.startswith("."))
    found = []
    for path in paths:
        try:
            doc = jsondoc.read(path, "")
        except InstallError:
            continue
        if doc.exists:
            found.append((path, doc.data))
    return found


def setting(key: str, kind: type) -> Managed | None:
    """The managed value of `key`: the last document's that gives it as a `kind`."""
    found = None
    for path, data in documents():
        if isinstance(data.get(key), kind):
            found = Managed(data[key], path)
    return found


def server_blocked(name: str, entry: dict[str, Any]) -> str | None:
    """Why the managed settings keep Claude Code from starting the project's MCP server `name` (whose .mcp.json
    entry is `entry`), or None."""
    only = folder() / "managed-mcp.json"
    try:
        exclusive = jsondoc.read(only, "")
    except InstallError:
        exclusive = None  # Claude Code cannot read it either; what it then does is its own to report
    if exclusive is not None and exclusive.exists:
        servers = exclusive.data.get("mcpServers")
        if not isinstance(servers, dict) or name not in servers:
            return f"{only}: Claude Code starts only the MCP servers this file defines, and `{name}` is not one of them"
    denied = setting("deniedMcpServers", list)
    if denied is not None and any(_names(rule, name, entry) for rule in denied.value):
        return f"{denied.path}: `deniedMcpServers` names `{name}`, so Claude Code does not start the pack's server"
    allowed = setting("allowedMcpServers", list)
    if allowed is not None and not any(_names(rule, name, entry) for rule in allowed.value):
        return (f"{allowed.path}: `allowedMcpServers` does not list `{name}`, so Claude Code does not start the "
                "pack's server")
    return None


def _names(rule: Any, name: str, entry: dict[str, Any]) -> bool:
    """Does an allow- or deny-list rule name the server: its `serverName`, or its `serverCommand` (command and
    arguments), which Claude Code matches as written in .mcp.json or with its `${...}` expanded? The pack's
    launcher run by the same command with as many arguments counts as the same command."""
    if not isinstance(rule, dict):
        return False
    command, words = [entry.get("command"), *(entry.get("args") or [])], rule.get("serverCommand")
    if rule.get("serverName") == name or words == command:
        return True
    return (isinstance(words, list) and len(words) == len(command) and words[:1] == command[:1]
            and is_our_server({"command": words[0], "args": words[1:]}))
