"""Our `orchestra` server in someone's `.mcp.json`: merged beside their servers, taken out on uninstall."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from . import jsondoc
from .errors import InstallError
from .source import SERVER_NAME, is_our_server

HINT = "fix .mcp.json (an object with an `mcpServers` object), then run the install again"
UNINSTALL_HINT = "fix .mcp.json (an object with an `mcpServers` object), then run the uninstall again"


@dataclass
class Merge:
    config: dict[str, Any]
    displaced: Any = None  # a foreign `orchestra` server replaced under --force
    kept_foreign: bool = False


def _servers(config: dict[str, Any], where: str, hint: str) -> dict[str, Any]:
    servers = config.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise InstallError(f"{where}: `mcpServers` is {jsondoc.json_type(servers)}, not an object; {hint}")
    return servers


def merge(current: dict[str, Any], entry: dict[str, Any], force: bool, previously_displaced: Any = None,
          where: str = ".mcp.json") -> Merge:
    config = copy.deepcopy(current)
    servers = _servers(config, where, HINT)
    existing = servers.get(SERVER_NAME)
    result = Merge(config, displaced=previously_displaced)
    if existing is not None and not is_our_server(existing):
        if not force:
            result.kept_foreign = True
            return result
        result.displaced = existing
    servers[SERVER_NAME] = copy.deepcopy(entry)
    config["mcpServers"] = servers
    return result


def unmerge(current: dict[str, Any], displaced: Any = None, where: str = ".mcp.json") -> dict[str, Any]:
    config = copy.deepcopy(current)
    servers = _servers(config, where, UNINSTALL_HINT)
    if not is_our_server(servers.get(SERVER_NAME)):
        return config
    if displaced is not None:
        servers[SERVER_NAME] = displaced
    else:
        del servers[SERVER_NAME]
        if not servers:
            del config["mcpServers"]
    return config
