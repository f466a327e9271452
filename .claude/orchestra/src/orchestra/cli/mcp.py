"""`orchestra mcp`: the orchestra MCP server on stdio (Claude Code starts it from .mcp.json)."""

from __future__ import annotations


def register(sub) -> None:
    server = sub.add_parser("mcp", help="run the orchestra MCP server on stdin/stdout (Claude Code starts it "
                                        "from .mcp.json; README, \"MCP server\")")
    server.set_defaults(func=cmd_mcp)


def cmd_mcp(args) -> int:
    from ..mcp_server import serve  # the SDK takes about a second to import: only this command pays for it

    serve()
    return 0
