"""`orchestra mcp`: the orchestra MCP server on stdio (Claude Code starts it from .mcp.json)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys


def register(sub) -> None:
    server = sub.add_parser("mcp", help="run the orchestra MCP server on stdin/stdout (Claude Code starts it "
                                        "from .mcp.json; README, \"MCP server\")")
    server.set_defaults(func=cmd_mcp)


def cmd_mcp(args) -> int:
    from ..warm.launch import start_beside

    warm = start_beside()  # hooks run warm while this server lives (README, "Warm hooks")

    def leave(*_signal: object) -> None:
        """End now. Skips the interpreter's teardown of the SDK's modules (about 0.25 s), which Claude Code
        waits for at the end of a session; a store transaction cut short commits nothing."""
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)  # also closes the warm server's lifeline, so it ends with this process

    # Claude Code ends a session's server with SIGINT, then SIGTERM 100 ms later: both mean "stop".
    signal.signal(signal.SIGINT, leave)
    signal.signal(signal.SIGTERM, leave)
    from ..mcp_server.front import serve  # the SDK loads only when the front needs it (README, "MCP server")

    try:
        serve()  # returns once the client has closed the wire and every answer is written
    except BaseException:
        if warm is not None:
            warm.stdin.close()  # the warm server's lifeline: it ends when this closes
        raise
    leave()
