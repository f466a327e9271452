"""The organisation from teams.yaml: who is on which team, with which role and capacity.

Parsing YAML costs tens of ms, so the parsed organisation is cached as JSON in the state dir,
keyed by the file's mtime and size; hooks on the hot path read only the cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import atomic, paths
from .record import Record, default, field_names

PLUGIN_PREFIX = f"{paths.PLUGIN_NAME}:"
DEFAULT_ROLES: dict[str, dict[str, Any]] = {
    "orchestrator": {"can_spawn_agents": True, "can_modify_state": True, "can_access_secrets": False},
    "team_member": {"can_spawn_agents": False, "can_modify_state": "own_tasks", "can_access_secrets": False},
    "reviewer": {"can_spawn_agents": False, "can_modify_state": "reviews", "can_access_secrets": False},
}


class TeamsError(ValueError):
    """teams.yaml is missing something or malformed; the message names file and line where known."""


class Member(Record):
    name: str
    team: str
    role: str
    capacity: int = 1
    specialties: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()


class TeamSettings(Record):
    auto_assign: bool = True
    require_review: bool = False
    worktree_strategy: str = "task"
    max_parallel_agents: int = 4
    points_per_sprint: float | None = None


class Team(Record):
    name: str
    orchestrator: str
    members: tuple[str, ...]
    settings: TeamSettings = default(TeamSettings)
    description: str = ""


class Organization(Record):
    name: str
    teams: dict[str, Team]
    agents: dict[str, Member]
    roles: dict[str, dict[str, Any]]
    main_session_role: str = "orchestrator"
    raw: dict[str, Any] = default(dict)

    def member(self, agent_type: str | None) -> Member | None:
        """The member behind an agent_type; plugin installs prefix it with `orchestra:`."""
        if not agent_type:
            return None
        return self.agents.get(normalize_agent_type(agent_type))

    def role_of(self, agent_type: str | None) -> str:
        """Main thread (no agent_type) -> main_session_role; unknown subagent types are team members."""
        if not agent_type:
            return self.main_session_role
        member = self.member(agent_type)
        return member.role if member else "team_member"

    def team_of(self, agent_type: str | None) -> Team | None:
        member = self.member(agent_type)
        return self.teams.get(member.team) if member else None

    def permissions(self, role: str) -> dict[str, Any]:
        return self.roles.get(role, DEFAULT_ROLES.get(role, DEFAULT_ROLES["team_member"]))

    def orchestrators(self) -> dict[str, str]:
        """Team name -> its orchestrator's agent name."""
        return {name: team.orchestrator for name, team in self.teams.items()}

    def candidates(self, task_type: str, team: str | None = None) -> list[Member]:
        """Members (not orchestrators) whose capabilities include `task_type`, optionally in one team."""
        return [m for m in self.agents.values()
                if m.role != "orchestrator" and task_type in m.capabilities and team in (None, m.team)]


def normalize_agent_type(agent_type: str) -> str:
    """`orchestra:tech-lead` (plugin) or `orchestra:engineering:tech-lead` (plugin subfolder) -> `tech-lead`."""
    if agent_type.startswith(PLUGIN_PREFIX):
        return agent_type.rsplit(":", 1)[-1]
    return agent_type


def teams_file(root: Path | None = None) -> Path:
    return paths.claude_dir(root) / "teams.yaml"


def build(raw: dict[str, Any], where: str = "teams.yaml") -> Organization:
    """Organisation from the parsed YAML mapping (already schema-checked by `load_raw`)."""
    teams: dict[str, Team] = {}
    agents: dict[str, Member] = {}
    for team_name, spec in (raw.get("teams") or {}).items():
        orchestrator = spec["orchestrator"]
        agents[orchestrator] = Member(orchestrator, team_name, "orchestrator",
                                      int(spec.get("orchestrator_capacity", 1)))
        names = []
        for m in spec.get("members") or []:
            agents[m["name"]] = Member(
                m["name"], team_name, m.get("role", "team_member"), int(m.get("capacity", 1)),
                tuple(m.get("specialties") or ()), tuple(m.get("capabilities") or ()),
            )
            names.append(m["name"])
        settings = TeamSettings(**{k: v for k, v in (spec.get("settings") or {}).items()
                                   if k in field_names(TeamSettings)})
        teams[team_name] = Team(team_name, orchestrator, tuple(names), settings, spec.get("description", ""))
    roles = {**DEFAULT_ROLES, **(raw.get("roles") or {})}
    return Organization(raw.get("organization", "Orchestra"), teams, agents, roles,
                        raw.get("main_session_role", "orchestrator"), raw)


# names the message bus gives a meaning of their own (orchestra.bus.addressing); no agent may take one
ADDRESS_WORDS = {"main": "the main thread", "human": "the user", "broadcast": "every run",
                 "orchestra": "Orchestra itself, the sender of its own notices"}


def missing_advice(path: Path) -> str:
    """Where a teams.yaml comes from: the template beside the pack that runs (a clone, or the plugin's copy),
    as a command that puts it at `path`, or an install; in plugin form only the template (an install would put
    a second pack beside the plugin)."""
    import shlex

    template = paths.PACK_DIR.parents[1] / "templates" / "teams.yaml"
    if template.is_file():
        copy = (f"copy templates/teams.yaml ({template}) there: `mkdir -p {shlex.quote(str(path.parent))} && "
                f"cp {shlex.quote(str(template))} {shlex.quote(str(path))}`")
    elif not os.environ.get(paths.PLUGIN_ENV):  # an installed pack: its own install only rewires
        root = path.parent.parent if path.parent.name == ".claude" else path.parent
        return ("copy templates/teams.yaml of a clone of Orchestra there, or install from that clone: "
                f"`uv run orchestra install {shlex.quote(str(root))}`")
    else:
        copy = "copy templates/teams.yaml"
    return copy if os.environ.get(paths.PLUGIN_ENV) else f"{copy} or run `orchestra install`"


def template_advice(path: Path) -> str:
    """How to put the pack's templates/teams.yaml at `path` (over an empty file: no install writes over a
    teams.yaml of the project's own)."""
    import shlex

    template = paths.PACK_DIR.parents[1] / "templates" / "teams.yaml"
    if template.is_file():
        return f"`cp {shlex.quote(str(template))} {shlex.quote(str(path))}`"
    return "copy templates/teams.yaml of " + ("the plugin" if os.environ.get(paths.PLUGIN_ENV) else
                                              "a clone of Orchestra") + " there"


def load_raw(path: Path) -> dict[str, Any]:
    """Parse and validate teams.yaml (schema, then names unique across the organisation); errors carry file:line."""
    from .yamlcheck import line_of, read_mapping, validate_yaml

    if not path.exists():
        raise TeamsError(f"{path}: not found; the organisation (its teams, their orchestrators and members) comes "
                         f"from it ({missing_advice(path)})")
    raw, text = read_mapping(path, TeamsError, empty=True)
    if not raw and all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        raise TeamsError(f"{path}: empty; the organisation (its teams, their orchestrators and members) comes "
                         f"from it; start from the pack's: {template_advice(path)}, then make the teams yours")
    validate_yaml(raw, text, path, "teams", TeamsError)
    seen: dict[str, tuple[str, list[Any]]] = {}  # agent -> its team and where it is first named
    for team_name, spec in raw["teams"].items():
        entries = [(spec["orchestrator"], ["teams", team_name, "orchestrator"])]
        entries += [(m["name"], ["teams", team_name, "members", i, "name"])
                    for i, m in enumerate(spec.get("members") or [])]
        for name, where in entries:
            line = line_of(text, where) or 1
            if name in ADDRESS_WORDS:
                raise TeamsError(f"{path}:{line}: agent {name!r}: the message bus reads "
                                 f"{name!r} as {ADDRESS_WORDS[name]}, so messages could never reach this agent; "
                                 "give it another name")
            if name in seen and seen[name][0] == team_name:  # twice in one team: one entry is one too many
                first = seen[name][1]
                what = ("the orchestrator of team", ", which is not also one of its members") if (
                    first[-1] == "orchestrator") else ("already in team", "")
                raise TeamsError(f"{path}:{line}: agent {name!r} is {what[0]} {team_name!r} (line "
                                 f"{line_of(text, first) or 1}){what[1]}; remove this entry")
            if name in seen:
                raise TeamsError(f"{path}:{line}: agent {name!r} is already in team "
                                 f"{seen[name][0]!r}; an agent belongs to exactly one team, so remove it from team "
                                 f"{team_name!r} or from {seen[name][0]!r}")
            seen[name] = (team_name, where)
    return raw


def check_agents(root: Path | None = None) -> list[str]:
    """Problems between teams.yaml and .claude/agents (see `agentfiles.check_agents`); [] when all agree."""
    from .agentfiles import check_agents as check

    return check(root)


def load(root: Path | None = None) -> Organization:
    """The organisation, from the JSON cache when teams.yaml has not changed since it was written."""
    path = teams_file(root)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return build({}, str(path))
    key = f"{stat.st_mtime_ns}:{stat.st_size}"
    cache = paths.state_dir(root) / "teams.cache.json"
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return build(cached["raw"], str(path))
    except (OSError, ValueError, KeyError):
        pass
    raw = load_raw(path)
    atomic.write_cache(cache, json.dumps({"key": key, "raw": raw}))
    return build(raw, str(path))
