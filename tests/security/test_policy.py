"""Policy loading: defaults, schema errors with file:line, the JSON cache, deny-wins narrowing, lean imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from orchestra.installer import orgchecks
from orchestra.security import policy as policies
from orchestra.security.policy import Permissions, PolicyError

from tests.security.conftest import write_policy


def test_without_a_policy_file_the_built_in_rules_apply(tree: Path) -> None:
    policy = policies.load(tree)
    assert policy.source == "built-in defaults"
    assert policy.secrets.match(".env") == ".env*" and policy.secrets.match("a/b/id_rsa.pub") == "id_rsa*"
    assert policy.secrets.match(".env.example") is None
    assert policy.protected.match(".claude/state/orchestration.db") == ".claude/state/**"
    assert policy.protected.match("src/.claude/state/x") is None  # protected paths are root-anchored
    assert (policy.alert_denials, policy.alert_window) == (3, 300.0)


def test_broken_yaml_names_file_and_line(tree: Path) -> None:
    (tree / ".claude/policy.yaml").write_text("secrets:\n  paths: [unclosed\n")
    with pytest.raises(PolicyError, match=r"policy\.yaml:\d+: not valid YAML"):
        policies.load(tree)


def test_schema_errors_name_file_line_and_field(tree: Path) -> None:
    (tree / ".claude/policy.yaml").write_text("alerts:\n  denials: 0\nroles:\n  wizard: {can_spawn_agents: true}\n")
    with pytest.raises(PolicyError) as exc:
        policies.load(tree)
    text = str(exc.value)
    assert "policy.yaml:2: alerts.denials" in text and "policy.yaml:4" in text and "wizard" in text


def test_a_key_the_schema_does_not_know_is_named_at_its_own_line(tree: Path) -> None:
    (tree / ".claude/policy.yaml").write_text("alerts:\n  denials: 3\n  windw_seconds: 60\nsecretz: []\n")
    with pytest.raises(PolicyError) as exc:
        policies.load(tree)
    text = str(exc.value)
    assert "policy.yaml:3: alerts.windw_seconds:" in text and "policy.yaml:4: secretz:" in text, text


def test_cache_is_used_until_the_file_changes(tree: Path) -> None:
    write_policy(tree, "secrets: {paths: ['*.tfvars']}\n")
    cache = tree / ".claude/state/policy.cache.json"
    assert json.loads(cache.read_text())["raw"] == {"secrets": {"paths": ["*.tfvars"]}}
    assert policies.load(tree).secrets.match("infra/prod.tfvars") == "*.tfvars"
    path = tree / ".claude/policy.yaml"
    path.write_text("secrets: {paths: ['*.p12']}\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000))
    policy = policies.load(tree)
    assert policy.secrets.match("infra/prod.tfvars") is None and policy.secrets.match("a.p12") == "*.p12"


def test_the_guard_path_imports_no_yaml_jsonschema_or_pydantic(tree: Path, org) -> None:
    write_policy(tree, "protected_paths: ['.claude/teams.yaml']\n")  # parses once, and caches (as `org` did)
    code = f"""
import json, sys
from orchestra import toolcall
from orchestra.hookio import HookContext, parse_event
for command in ("cat .env", "echo x > .claude/teams.yaml", "ls"):
    event = parse_event(json.dumps({{"session_id": "s", "cwd": {str(tree)!r}, "hook_event_name": "PreToolUse",
                                    "agent_id": "a1", "agent_type": "fullstack-eng", "tool_name": "Bash",
                                    "tool_input": {{"command": command}}}}).encode())
    ctx = HookContext(event)
    print(type(toolcall.check(event, ctx)).__name__)
    ctx.close()
print(sorted(m for m in ("yaml", "jsonschema", "pydantic") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "CLAUDE_PROJECT_DIR": str(tree)})
    assert out.stdout.split() == ["Deny", "Deny", "Allow", "[]"], out.stderr


@pytest.mark.parametrize(("a", "b", "expected"), [
    (True, "own_tasks", "own_tasks"), ("own_tasks", True, "own_tasks"), ("reviews", "own_tasks", False),
    ("reviews", "reviews", "reviews"), (True, False, False), (False, True, False), (True, True, True),
])
def test_state_scopes_narrow_to_their_intersection(a, b, expected) -> None:
    assert Permissions(True, a, True).narrowed({"can_modify_state": b}).can_modify_state == expected


def test_narrowing_never_grants() -> None:
    base = Permissions(can_spawn_agents=False, can_modify_state="own_tasks", can_access_secrets=False)
    assert base.narrowed({"can_spawn_agents": True, "can_modify_state": True, "can_access_secrets": True}) == base


def test_caller_combines_teams_roles_policy_roles_and_agents(tree: Path, org) -> None:
    policy = write_policy(tree, "roles:\n  orchestrator: {can_spawn_agents: false}\n"
                                "agents:\n  orchestra:fullstack-eng: {can_modify_state: false}\n  main: {can_spawn_agents: true}\n")
    director = policy.caller(org, "engineering-director")
    assert (director.role, director.team, director.permissions.can_spawn_agents) == ("orchestrator", "engineering", False)
    assert policy.caller(org, "fullstack-eng").permissions.can_modify_state is False
    assert policy.caller(org, "api-engineer").permissions.can_modify_state == "own_tasks"
    main = policy.caller(org, None)
    assert (main.role, main.label, main.permissions.can_spawn_agents) == ("orchestrator", "the main thread", False)
    assert policy.caller(org, "unknown-helper").role == "team_member"


def test_alert_recipients_default_to_the_devops_orchestrator_and_human(tree: Path, org) -> None:
    assert policies.load(tree).alert_recipients(org) == ("devops-manager", "human")
    policy = write_policy(tree, "alerts: {notify: [security-lead, human], denials: 5, window_seconds: 60}\n")
    assert policy.alert_recipients(org) == ("security-lead", "human")
    assert (policy.alert_denials, policy.alert_window) == (5, 60.0)


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("git:\n  push: [orchestrator, maintainer]\n", 2, "git.push.1: 'maintainer' is not one of"),
    ("alerts: {denials: 3}\ngit:\n  push: team_member\n", 3, "git.push: 'team_member' is not of type 'array'"),
    ("git:\n  push: [reviewer, reviewer]\n", 2, "git.push: ['reviewer', 'reviewer'] has non-unique elements"),
    ("git:\n  pushers: [orchestrator]\n", 2, "git.pushers:"),
])
def test_who_may_push_is_checked_and_a_bad_value_named_at_file_line_and_key(tree: Path, text, line, problem) -> None:
    path = tree / ".claude/policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as exc:
        policies.load(tree)
    assert f"policy.yaml:{line}: {problem}" in str(exc.value), exc.value
    with pytest.raises(PolicyError) as doctor:  # `orchestra doctor` shows this error as its policy check fails
        orgchecks.check_policy(tree)  # (tests/installer/test_doctor.py runs doctor on an installed project)
    assert str(doctor.value).startswith(f"{path}:{line}: {problem}"), doctor.value


def test_who_may_push_defaults_to_orchestrators(tree: Path) -> None:
    assert (policies.load(tree).push_roles, policies.load(tree).push_set) == (("orchestrator",), False)
    policy = write_policy(tree, "git: {push: []}\n")
    assert (policy.push_roles, policy.push_set) == ((), True)

