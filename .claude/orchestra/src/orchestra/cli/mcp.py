"""`orchestra mcp`: the orchestra MCP server on stdio (Claude Code starts it from .mcp.json)."""

from __future__ import annotations


def register(sub) -> None:
    server = sub.add_parser("mcp", help="run the orchestra MCP server on stdin/stdout (Claude Code starts it "
                                        "from .mcp.json; README, \"MCP server\")")
    server.set_defaults(func=cmd_mcp)


def cmd_mcp(args) -> int:
    from ..warm.server import start_beside

    warm = start_beside()  # hooks run warm while this server lives (README, "Warm hooks")
    from ..mcp_server import serve  # the SDK takes about a second to import: only this command pays for it

    try:
        serve()
    finally:
        if warm is not None:
            warm.stdin.close()  # the warm server's lifeline: it ends when this closes
    return 0
