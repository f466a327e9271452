"""The security policy: permissions per role and agent, secret, protected and organisation path rules,
alert limits.

Sources, combined so that a deny anywhere wins: built-in defaults, `roles:` in teams.yaml, and the
optional `.claude/policy.yaml` (schema: schemas/policy.json). The policy file is parsed once and
cached as JSON in the state dir keyed by its mtime and size, so the per-tool-call hook never
imports yaml or jsonschema.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from .. import atomic, paths
from ..record import Record, default
from ..teams import DEFAULT_ROLES, Organization, normalize_agent_type
from .pathrules import PathRules

DEFAULT_SECRET_PATHS: tuple[str, ...] = (
    ".env*", "*.pem", "*.key", "id_rsa*", "id_ed25519*", "id_ecdsa*", "credentials*", "secrets/**",
    # Where tools keep the user's tokens and passwords: git, curl/ftp, PostgreSQL, npm, docker, kubectl, gh.
    ".git-credentials", ".netrc", "_netrc", ".pgpass", "~/.npmrc", "~/.docker/**", "~/.kube/**", "~/.config/gh/**",
)
# Templates that ship in most repos and hold no values.
DEFAULT_SECRET_EXCEPTIONS: tuple[str, ...] = (".env.example", ".env.sample", ".env.template", ".env.dist")
# Written only by Orchestra itself or by a human; relative to the project root.
STATE_PATTERN = ".claude/state/**"  # the state is the project's: a worktree has none of its own
DEFAULT_PROTECTED_PATHS: tuple[str, ...] = (STATE_PATTERN, ".claude/settings*.json", ".claude/policy.yaml")
# The organisation: who has which role, what agents, commands and skills say (a skill, like a command, can
# attach files with `@path`, run `!` commands and register hooks, none of which pass a tool guard), the
# workflows that start agents, the pack's own code and the MCP servers it starts (.mcp.json runs the
# orchestra server, the one that checks task ownership). The human's main thread customises them; a
# subagent that could write them could grant itself any permission.
ORGANISATION_PATHS: tuple[str, ...] = (
    ".claude/teams.yaml", ".claude/agents/**", ".claude/commands/**", ".claude/skills/**", ".claude/workflows/**",
    ".claude/orchestra/**", ".mcp.json",
    # The user's own agents, commands and skills reach every session, and ~/.claude.json its MCP servers.
    "~/.claude/agents/**", "~/.claude/commands/**", "~/.claude/skills/**", "~/.claude.json")
# The same files in the plugin's copy of the pack, under CLAUDE_PLUGIN_ROOT (README, "Plugin").
PLUGIN_ORGANISATION_PARTS: tuple[str, ...] = (
    ".claude/teams.yaml", ".claude/agents", ".claude/commands", ".claude/orchestra", ".claude-plugin", "hooks", "plugin")
USER_PROTECTED_PATHS: tuple[str, ...] = ("~/.claude/settings*.json",)
ALERT_DENIALS = 3
ALERT_WINDOW_SECONDS = 300.0
# Roles whose agents may `git push` unless `git: {push: [...]}` says otherwise: orchestrators merge reviewed work;
# a member's or a reviewer's push would publish work nobody has reviewed yet.
DEFAULT_PUSH_ROLES: tuple[str, ...] = ("orchestrator",)
PERMISSION_KEYS = ("can_spawn_agents", "can_modify_state", "can_access_secrets")


class PolicyError(ValueError):
    """.claude/policy.yaml is malformed; the message names file:line and what to change."""


class Permissions(Record):
    """What one caller may do. `can_modify_state` is True (anything), False, `own_tasks` or `reviews`."""

    can_spawn_agents: bool = False
    can_modify_state: bool | str = False
    can_access_secrets: bool = False

    def narrowed(self, spec: dict[str, Any] | None) -> Permissions:
        """These permissions further limited by `spec`: a deny in either wins."""
        if not spec:
            return self
        return Permissions(
            self.can_spawn_agents and bool(spec.get("can_spawn_agents", True)),
            _narrow_scope(self.can_modify_state, spec.get("can_modify_state", True)),
            self.can_access_secrets and bool(spec.get("can_access_secrets", True)),
        )


def _narrow_scope(a: bool | str, b: bool | str) -> bool | str:
    """Intersection of two state scopes: True is everything, False nothing, two scopes share nothing."""
    if a is True:
        return b
    if b is True or a == b:
        return a
    return False


class Caller(Record):
    """Who is calling, as the guards see it. `agent_id`: the calling subagent run (None: the main thread)."""

    agent_type: str | None
    role: str
    team: str | None
    permissions: Permissions
    agent_id: str | None = None

    @property
    def label(self) -> str:
        return self.agent_type or "the main thread"


class Policy(Record):
    """`protected`: no caller writes these; `organisation`: only the main thread writes these."""

    secrets: PathRules
    protected: PathRules
    organisation: PathRules = PathRules.build(ORGANISATION_PATHS, anchored=True)
    roles: dict[str, dict[str, Any]] = default(dict)
    agents: dict[str, dict[str, Any]] = default(dict)
    alert_denials: int = ALERT_DENIALS
    alert_window: float = ALERT_WINDOW_SECONDS
    notify: tuple[str, ...] | None = None
    push_roles: tuple[str, ...] = DEFAULT_PUSH_ROLES
    push_set: bool = False  # True: `git.push` in the policy file chose push_roles
    source: str = "built-in defaults"
    own_protected: tuple[str, ...] = ()  # `protected_paths` of the policy file beyond the built-in ones

    def caller(self, org: Organization, agent_type: str | None, agent_id: str | None = None) -> Caller:
        """Role and permissions of `agent_type` (None: the main thread), every source narrowing the last;
        `agent_id`: the run calling, when the event names one."""
        bare = normalize_agent_type(agent_type) if agent_type else None
        role = org.role_of(bare)
        base = {**DEFAULT_ROLES.get(role, DEFAULT_ROLES["team_member"]), **org.permissions(role)}
        perms = Permissions(bool(base.get("can_spawn_agents")), base.get("can_modify_state", False),
                            bool(base.get("can_access_secrets")))
        perms = perms.narrowed(self.roles.get(role)).narrowed(self.agents.get(bare or "main"))
        team = org.team_of(bare)
        return Caller(bare, role, team.name if team else None, perms, agent_id)

    def unwritable(self, caller: Caller) -> tuple[tuple[Literal["state", "organisation"], PathRules], ...]:
        """The path rules `caller` may not write under: protected files for everyone, the organisation's
        files for every subagent (a payload with an agent_type), orchestrators included."""
        if caller.agent_type is None:
            return (("state", self.protected),)
        return (("state", self.protected), ("organisation", self.organisation))

    def alert_recipients(self, org: Organization) -> tuple[str, ...]:
        """Who hears about suspicious activity: configured, else the devops orchestrator and the human."""
        if self.notify is not None:
            return self.notify
        devops = org.teams.get("devops")
        return ((devops.orchestrator,) if devops else ()) + ("human",)


def build(raw: dict[str, Any], root: Path, source: str = "built-in defaults") -> Policy:
    """A Policy from the policy file's mapping (already schema-checked) for the project at `root`."""
    secrets = raw.get("secrets") or {}
    exceptions = secrets.get("exceptions")
    # The state dir may live outside the project (ORCHESTRA_STATE_DIR): protect it where it really is.
    state_dir = paths.state_dir(root)
    directories = dict.fromkeys((os.path.normpath(state_dir), os.path.realpath(state_dir)))
    alerts, git = raw.get("alerts") or {}, raw.get("git") or {}
    return Policy(
        secrets=PathRules.build([*DEFAULT_SECRET_PATHS, *(secrets.get("paths") or [])],
                                DEFAULT_SECRET_EXCEPTIONS if exceptions is None else exceptions),
        protected=PathRules.build([*DEFAULT_PROTECTED_PATHS, *(raw.get("protected_paths") or []),
                                   *USER_PROTECTED_PATHS], anchored=True, directories=directories,
                                  project_only=(STATE_PATTERN,)),
        organisation=PathRules.build(ORGANISATION_PATHS, anchored=True, directories=plugin_organisation()),
        roles=raw.get("roles") or {},
        agents={normalize_agent_type(k): v for k, v in (raw.get("agents") or {}).items()},
        alert_denials=int(alerts.get("denials", ALERT_DENIALS)),
        alert_window=float(alerts.get("window_seconds", ALERT_WINDOW_SECONDS)),
        notify=tuple(alerts["notify"]) if "notify" in alerts else None,
        push_roles=tuple(git["push"]) if "push" in git else DEFAULT_PUSH_ROLES,
        push_set="push" in git,
        source=source,
        own_protected=tuple(p for p in dict.fromkeys(raw.get("protected_paths") or [])
                            if p not in (*DEFAULT_PROTECTED_PATHS, *USER_PROTECTED_PATHS)),
    )


def plugin_organisation() -> list[str]:
    """Where the plugin keeps its agents, commands, hook wiring and code, when the pack runs as a plugin:
    outside the project, so the project-relative rules do not reach them."""
    plugin = os.environ.get(paths.PLUGIN_ENV)
    if not plugin:
        return []
    parts = [os.path.join(plugin, part) for part in PLUGIN_ORGANISATION_PARTS]
    return list(dict.fromkeys(form for part in parts for form in (os.path.normpath(part), os.path.realpath(part))))


def policy_file(root: Path | None = None) -> Path:
    return paths.claude_dir(root) / "policy.yaml"


def load_raw(path: Path) -> dict[str, Any]:
    """Parse and schema-check policy.yaml (imports yaml and jsonschema: never on the hot path's cache hit)."""
    from ..yamlcheck import read_mapping, validate_yaml

    raw, text = read_mapping(path, PolicyError, empty=True)  # every key is optional: no entry is no policy
    validate_yaml(raw, text, path, "policy", PolicyError)
    return raw


def broken_alert(root: Path) -> str | None:
    """The warning a session starts with when policy.yaml cannot be read (file:line): every guard then blocks
    every tool call, the Edit that would fix the file included, so only the user can fix it, by hand."""
    try:
        load(root)
    except PolicyError as exc:
        return (f"Orchestra: {exc}. Every tool call stays blocked until {policy_file(root)} is fixed, and no tool "
                "call can fix it: edit it by hand (in an editor, or with a `!` shell line in the session)")
    return None


def load(root: Path | None = None) -> Policy:
    """The project's policy; the parsed file comes from the JSON cache while the file is unchanged."""
    root = root or paths.project_root()
    path = policy_file(root)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return build({}, root)
    key = f"{stat.st_mtime_ns}:{stat.st_size}"
    cache = paths.state_dir(root) / "policy.cache.json"
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return build(cached["raw"], root, str(path))
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    raw = load_raw(path)
    atomic.write_cache(cache, json.dumps({"key": key, "raw": raw}))
    return build(raw, root, str(path))
