"""In plugin form the pack's code, agents, commands and hook wiring live in the plugin, outside the
project: the organisation guard covers them there, through the real pre_tool hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import hook_output, run_hook
from tests.security.test_hooks import audit_lines, bash_call, captured


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    root = tmp_path / "plugin dir" / "orchestra"
    for part in (".claude/orchestra/hooks", ".claude/agents", ".claude/commands", ".claude-plugin", "hooks",
                 "plugin/agents/engineering"):
        (root / part).mkdir(parents=True)
    return root


def write_call(project: Path, path: Path, agent_type: str | None) -> dict:
    event = captured(project, "PreToolUse", "Write", "fullstack-eng")
    return {**event, "agent_type": agent_type, "tool_input": {"file_path": str(path), "content": "x\n"}}


def verdict(proc) -> tuple[str | None, str]:
    out = hook_output(proc).get("hookSpecificOutput", {})
    return out.get("permissionDecision"), out.get("permissionDecisionReason", "")


@pytest.mark.parametrize(("agent_type", "target"), [
    ("fullstack-eng", ".claude/orchestra/hooks/pre_tool.py"),
    ("orchestra:tech-lead", "plugin/agents/engineering/tech-lead.md"),
    ("orchestra:engineering-director", "hooks/hooks.json"),
    ("orchestra:tech-lead", ".claude-plugin/plugin.json"),
])
def test_a_subagent_may_not_write_the_plugins_copy_of_the_pack(tree: Path, plugin: Path, agent_type: str,
                                                                target: str) -> None:
    call = write_call(tree, plugin / target, agent_type)
    assert verdict(run_hook("pre_tool.py", call, tree))[0] is None  # outside the project: no rule of its own
    decision, reason = verdict(run_hook("pre_tool.py", call, tree, env={"CLAUDE_PLUGIN_ROOT": str(plugin)}))
    assert decision == "deny" and "Orchestra's own code" in reason, reason
    assert audit_lines(tree)[-1]["rule"].startswith(f"organisation:{str(plugin).lower()}/")


def test_removing_the_plugins_code_is_denied_and_the_main_thread_may_change_it(tree: Path, plugin: Path) -> None:
    as_plugin = {"CLAUDE_PLUGIN_ROOT": str(plugin)}
    proc = run_hook("pre_tool.py", bash_call(tree, f"rm -rf '{plugin}'"), tree, env=as_plugin)
    assert verdict(proc)[0] == "deny", proc.stdout + proc.stderr
    main = write_call(tree, plugin / ".claude/orchestra/hooks/pre_tool.py", None)
    assert verdict(run_hook("pre_tool.py", {k: v for k, v in main.items() if k != "agent_id"}, tree,
                            env=as_plugin))[0] is None


def test_a_denial_names_the_mcp_tools_as_the_plugins_agents_have_them(tree: Path, plugin: Path) -> None:
    call = bash_call(tree, "echo '{}' > .claude/state/tasks.json")
    _, installed = verdict(run_hook("pre_tool.py", call, tree))
    _, as_plugin = verdict(run_hook("pre_tool.py", call, tree, env={"CLAUDE_PLUGIN_ROOT": str(plugin)}))
    assert "mcp__orchestra__update_task" in installed
    assert "mcp__plugin_orchestra_orchestra__update_task" in as_plugin and "mcp__orchestra__" not in as_plugin


def test_a_caller_written_into_another_server_is_told_the_tool_name_the_plugins_agents_have(tree: Path,
                                                                                          plugin: Path) -> None:
    event = {**captured(tree, "PreToolUse", "Bash", "fullstack-eng"), "agent_type": "orchestra:fullstack-eng",
             "tool_name": "mcp__orch__ack", "tool_input": {"id": "m1", "caller": "main"}}
    _, installed = verdict(run_hook("pre_tool.py", event, tree))
    _, as_plugin = verdict(run_hook("pre_tool.py", event, tree, env={"CLAUDE_PLUGIN_ROOT": str(plugin)}))
    assert "Use `mcp__orchestra__ack` without `caller`" in installed
    assert "Use `mcp__plugin_orchestra_orchestra__ack` without `caller`" in as_plugin, as_plugin
