"""What `orchestra doctor` says about .claude/policy.yaml beyond its schema: entries that change nothing.

The guards accept such a file (a deny anywhere wins, so nothing is widened), but an entry for an agent
type nothing starts, or one asking for more than teams.yaml grants, hides a mistake: each is a warning
naming file:line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import agentfiles
from ..teams import DEFAULT_ROLES, Organization, normalize_agent_type
from .policy import PERMISSION_KEYS, Permissions


def warnings(root: Path, path: Path, raw: dict[str, Any], org: Organization) -> list[str]:
    """Problems of the schema-checked policy file `raw` (at `path`) that leave a limit without effect."""
    from ..lifecycle import config
    from ..yamlcheck import line_of

    text = path.read_text(encoding="utf-8")
    known = {*org.agents, *config.BUILTIN_AGENT_TYPES, *config.load(org).external_agent_types, "main",
             *agentfiles.defined_names(root / ".claude" / "agents")}
    found: list[str] = []
    for section, specs in (("roles", raw.get("roles") or {}), ("agents", raw.get("agents") or {})):
        for name, spec in specs.items():
            at = f"{path}:{line_of(text, [section, name]) or 1}: {section}.{name}"
            if section == "agents" and normalize_agent_type(name) not in known:
                found.append(f"{at}: no agent of that name in teams.yaml, the built-in agents or .claude/agents, "
                             "so these limits apply to nobody (fix the name)")
                continue
            role = name if section == "roles" else org.role_of(None if name == "main" else name)
            base = _role_grant(org, role)
            if section == "agents":
                base = base.narrowed((raw.get("roles") or {}).get(role))
            held = base.narrowed(spec)
            found += [f"{at}.{key}: asks for {spec[key]!r} but keeps {getattr(held, key)!r}: "
                      + _why(spec[key], getattr(base, key)) for key in PERMISSION_KEYS
                      if key in spec and spec[key] != getattr(held, key)]
    return found


SCOPE_RANK = {False: 0, "own_tasks": 1, "reviews": 2, True: 3}  # reviews: own tasks plus verdicts


def _why(asked: Any, had: Any) -> str:
    if SCOPE_RANK.get(asked, 3) > SCOPE_RANK.get(had, 0):
        return "policy.yaml only narrows what teams.yaml `roles:` grants, so grant it there"
    return f"it and {had!r} (from teams.yaml) have nothing in common (write false if that is meant)"


def _role_grant(org: Organization, role: str) -> Permissions:
    base = {**DEFAULT_ROLES.get(role, DEFAULT_ROLES["team_member"]), **org.permissions(role)}
    return Permissions(bool(base.get("can_spawn_agents")), base.get("can_modify_state", False),
                       bool(base.get("can_access_secrets")))
