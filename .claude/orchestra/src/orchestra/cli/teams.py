"""`orchestra teams [check]`: the organisation from teams.yaml, and its agreement with agent and command files."""

from __future__ import annotations

import argparse
from typing import Any

from ._output import add_json_flag, emit, table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("teams", help="list teams, agents, roles and capacity from teams.yaml")
    add_json_flag(parser)
    parser.set_defaults(func=show)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    check = actions.add_parser("check", help="check agent and command files against teams.yaml and "
                                             "Claude Code's frontmatter rules, and open work in state "
                                             "against its teams; exit 1 on any problem")
    add_json_flag(check, inherited=True)
    check.set_defaults(func=check_files)


def organisation() -> dict[str, Any]:
    from .. import teams

    org = teams.build(teams.load_raw(teams.teams_file()))
    return {
        "organization": org.name,
        "main_session_role": org.main_session_role,
        "teams": {name: {"description": t.description, "orchestrator": t.orchestrator, "members": list(t.members),
                         "settings": vars(t.settings)} for name, t in org.teams.items()},
        "agents": {name: {"team": m.team, "role": m.role, "capacity": m.capacity,
                          "specialties": list(m.specialties), "capabilities": list(m.capabilities)}
                   for name, m in org.agents.items()},
    }


def _text(data: dict[str, Any]) -> str:
    rows = [[name, a["team"], a["role"], "0 (takes no work)" if a["capacity"] == 0 else str(a["capacity"]),
             ", ".join(a["capabilities"])]
            for name, a in data["agents"].items()]
    teams = ", ".join(f"team:{name}" for name in data["teams"])
    return (table(rows, ["agent", "team", "role", "capacity", "takes"])
            + f"\n\nteams: {teams}\nmain session role: {data['main_session_role']}")


def show(args: argparse.Namespace) -> int:
    emit(organisation(), args.json, _text)
    return 0


def stray_work() -> list[str]:
    """Open work in state under teams teams.yaml no longer has, or assigned to members it no longer has;
    nothing when there is no state yet."""
    from .. import paths, teams
    from ..store import open_store
    from ..store.errors import StateError
    from ..workflow.strayteams import stray_assignees, stray_messages
    from ..workflow.strayteams import stray_work as stray

    root = paths.project_root()
    if not teams.teams_file(root).exists():
        return []
    try:
        org = teams.load(root)
        with open_store(root=root, create=False) as store, store.snapshot() as tx:
            found = stray(tx, org.teams) + stray_assignees(tx, org) + stray_messages(tx, org)
            return [f"state: {line}" for line in found]
    except (StateError, teams.TeamsError):
        return []  # no state yet, or a teams.yaml the file checks above report


def no_work() -> list[str]:
    """Members teams.yaml gives capacity 0 (on leave): not a problem, but no delegation reaches them."""
    from .. import paths, teams

    try:
        return [name for name, m in teams.load(paths.project_root()).agents.items() if m.capacity == 0]
    except teams.TeamsError:
        return []  # reported by the file checks


def check_files(args: argparse.Namespace) -> int:
    from .. import agentfiles, commandfiles

    problems = agentfiles.check_agents() + commandfiles.check_commands() + stray_work()
    summary = (f"teams.yaml, {len(agentfiles.agent_files())} agent files and "
               f"{len(commandfiles.command_files())} commands agree")
    idle = no_work()
    note = [f"take no work (capacity 0 in teams.yaml): {', '.join(idle)}"] if idle else []
    emit({"ok": not problems, "problems": problems, **({"no_work": idle} if idle else {})}, args.json,
         lambda d: "\n".join((d["problems"] or [summary]) + note))
    return 1 if problems else 0
