"""schemas/settings-fragment.json: accepts what Claude Code 2.1.328 defines for hooks and statusLine,
and nothing it does not (one bad PreToolUse entry makes Claude Code skip the whole group)."""

from __future__ import annotations

import json

import pytest
from orchestra import wiring
from orchestra.installer import InstallError
from orchestra.installer.settings import validate

from tests.installer.conftest import REPO


def test_pack_wiring_and_every_handler_type_are_accepted() -> None:
    validate({"hooks": wiring.hooks_block()}, "pack")
    validate({"hooks": wiring.hooks_block(wiring.PLUGIN_VAR)}, "plugin")
    validate(json.loads((REPO / ".claude/settings.json").read_text()), "settings.json")
    validate({"hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "command", "command": "python3", "args": ["x.py"], "if": "Bash(rm *)", "timeout": 10,
             "onFailure": "block", "statusMessage": "Checking", "shell": "bash"},
            {"type": "http", "url": "http://127.0.0.1:9/h", "headers": {"A": "$TOKEN"}, "allowedEnvVars": ["TOKEN"]},
            {"type": "mcp_tool", "server": "orchestra", "tool": "inbox", "input": {"x": "${tool_input.file_path}"}},
            {"type": "prompt", "prompt": "ok? $ARGUMENTS", "model": "haiku", "continueOnBlock": True},
            {"type": "agent", "prompt": "check", "timeout": 60},
        ]}],
        "PostToolUse": [{"hooks": [{"type": "command", "command": "x", "async": True, "asyncRewake": True}]}],
    }, "statusLine": {"type": "command", "command": "x", "padding": 0, "refreshInterval": 5,
                      "hideVimModeIndicator": False}}, "example")


@pytest.mark.parametrize("settings, complaint", [
    ({"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "retries": 2}]}]}},
     "hooks.PreToolUse[0].hooks[0]: Additional properties are not allowed ('retries' was unexpected)"),
    ({"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "timeout": "5"}]}]}},
     "hooks.PreToolUse[0].hooks[0].timeout: '5' is not of type 'number'"),
    ({"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "timeout": 5000, "onFailure": "x"}]}]}},
     "onFailure: 'x' is not one of ['continue', 'block']"),
    ({"hooks": {"Bogus": []}}, "'Bogus' is not one of"),
    ({"hooks": {"Stop": [{"matcher": "*", "hook": []}]}}, "'hooks' is a required property"),
    ({"hooks": {"Stop": [{"hooks": [{"type": "shell", "command": "x"}]}]}}, "'shell' is not one of"),
    ({"statusLine": {"type": "command", "command": "x", "interval": 5}}, "('interval' was unexpected)"),
])
def test_keys_claude_code_does_not_define_are_refused(settings: dict, complaint: str) -> None:
    with pytest.raises(InstallError) as raised:
        validate(settings, "settings.json")
    assert complaint in str(raised.value)
