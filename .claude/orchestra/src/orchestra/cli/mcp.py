"""`orchestra mcp`: the orchestra MCP server on stdio (Claude Code starts it from .mcp.json)."""

from __future__ import annotations

import os
import sys


def register(sub) -> None:
    server = sub.add_parser("mcp", help="run the orchestra MCP server on stdin/stdout (Claude Code starts it "
                                        "from .mcp.json; README, \"MCP server\")")
    server.set_defaults(func=cmd_mcp)


def cmd_mcp(args) -> int:
    from ..warm.server import start_beside

    warm = start_beside()  # hooks run warm while this server lives (README, "Warm hooks")
    from ..mcp_server.front import serve  # the SDK loads only when the front needs it (README, "MCP server")

    try:
        serve()
    finally:
        if warm is not None:
            warm.stdin.close()  # the warm server's lifeline: it ends when this closes
    # The client has closed the wire and every answer is written: skip the interpreter's teardown of the
    # SDK's modules (about 0.25 s), which Claude Code waits for at the end of a session.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
