"""`orchestra agents`: the live tree of agent runs, per session, nested under whoever delegated them."""

from __future__ import annotations

from typing import Any

from ..store import open_store
from ._output import add_json_flag, emit


def register(sub) -> None:
    agents = sub.add_parser("agents", help="the live agent tree (who delegated whom, on which task)")
    agents.add_argument("--all", action="store_true", help="also finished runs and ended sessions")
    add_json_flag(agents)
    agents.set_defaults(func=cmd_agents)


def cmd_agents(args) -> int:
    from ..lifecycle import agent_tree

    with open_store() as store, store.snapshot() as tx:
        tree = agent_tree(tx, everything=args.all)
    emit(tree, args.json, lambda tree: _text(tree, everything=args.all))
    return 0


def _text(tree: list[dict[str, Any]], everything: bool = False) -> str:
    if not tree:
        return ("no agent runs recorded yet" if everything
                else "no live agent runs (`orchestra agents --all` shows finished ones)")
    lines: list[str] = []

    def walk(nodes: list[dict[str, Any]], indent: str) -> None:
        for i, node in enumerate(nodes):
            last = i == len(nodes) - 1
            task = f" task {node['task']}" if node.get("task") else ""
            lines.append(f"{indent}{'└─' if last else '├─'} {node['id']} {node.get('agent_type')} "
                         f"[{node.get('status')}]{task}")
            walk(node["children"], indent + ("   " if last else "│  "))

    for session in tree:
        ended = f" (ended {session['ended_at']})" if session.get("ended_at") else ""
        if session.get("process_gone"):
            ended = " (its Claude Code process is gone: killed without ending; the next session or delegation ends it)"
        lines.append(f"session {session['session_id']}{ended}")
        lines.append("  main")
        walk(session["children"], "  ")
    return "\n".join(lines)
