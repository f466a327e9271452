"""The agent and command files through the real Claude Code CLI: `plugin validate --strict`, and one
slash command run end to end (namespace, 0-based arguments, a pre-approved `!` line, the CLI shim)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import CLAUDE


def validate(claude_bin: Path, target: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / ".claude"),
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1"}
    return subprocess.run([str(claude_bin), "plugin", "validate", "--strict", "--json", str(target)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_plugin_validate_strict_passes_on_the_pack(claude_bin, tmp_path):
    out = validate(claude_bin, CLAUDE, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["success"] is True and report["contents"] == []


def test_plugin_validate_sees_nested_agent_and_command_files(claude_bin, tmp_path):
    copy = tmp_path / "pack" / ".claude"
    shutil.copytree(CLAUDE / "agents", copy / "agents")
    shutil.copytree(CLAUDE / "commands", copy / "commands")
    agent = copy / "agents" / "qa" / "qa-engineer.md"
    agent.write_text(agent.read_text().replace("description: Use for", "description: [Use for", 1)
                     .replace("features.\n", "features]\n", 1))
    command = copy / "commands" / "sprint" / "plan.md"
    command.write_text(command.read_text().replace("allowed-tools: Bash(", "allowed-tools: {a: Bash(", 1)
                       .replace(":*)\n", ":*)}\n", 1))
    out = validate(claude_bin, copy, tmp_path / "home")
    assert out.returncode == 1
    flagged = {item["file"]: [e["path"] for e in item["errors"]] for item in json.loads(out.stdout)["contents"]}
    assert flagged == {str(agent): ["description"], str(command): ["allowed-tools"]}


@pytest.mark.e2e
def test_msg_ask_runs_its_context_line_with_zero_based_arguments(tmp_path, claude_bin):
    from tests.e2e.fake_api import FakeAPI, say
    from tests.e2e.harness import Sandbox

    box = Sandbox(tmp_path, claude_bin).create()
    try:
        with FakeAPI() as api:
            rule = api.script.on("Who can be asked").reply(say("sent"))
            cmd = [str(claude_bin), "-p", '/msg:ask tech-lead "Which database for sessions?"',
                   "--output-format", "stream-json", "--verbose", "--model", "claude-sonnet-4-5"]
            proc = subprocess.run(cmd, cwd=box.repo, env=box.env(api), capture_output=True, text=True,
                                  timeout=120, stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, proc.stderr[-2000:]
            [request] = api.conversation(rule)
    finally:
        box.cleanup()
    shown = request.first_user_text
    assert "permission check failed" not in proc.stdout
    assert "tech-lead             engineering  reviewer" in shown  # the `!` line's live output
    assert "teams: team:product, team:engineering, team:qa, team:devops" in shown
    assert 'Send this question to `tech-lead`: tech-lead "Which database for sessions?"' in shown
