"""Starting the warm server beside the MCP server. Apart from `server`, so that the MCP server, which
starts with every session, does not import what only the warm server needs."""

from __future__ import annotations

import os
import subprocess
import sys

from . import client


def start_beside() -> subprocess.Popen | None:
    """Start a warm server tied to this process (the MCP server), unless warm hooks are off or the
    platform cannot fork. Keep the returned handle: dropping it closes the pipe and ends the server."""
    if client.disabled() or not hasattr(os, "fork"):
        return None
    return subprocess.Popen([sys.executable, "-m", "orchestra.warm.server"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, close_fds=True)
