"""A project that has the pack installed and also loads the plugin: Claude Code runs the project's hooks
and the plugin's copies of them side by side, so the plugin's copy of each hook stands aside there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from orchestra import wiring

from tests.conftest import HOOKS, REPO, load_fixture, run_hook

EVENTS = load_fixture("claude-code-2.1.328/nested-delegation.jsonl")
PRE_BASH = next(e for e in EVENTS if e["hook_event_name"] == "PreToolUse" and e["tool_name"] == "Bash")
AS_PLUGIN = {"CLAUDE_PLUGIN_ROOT": str(REPO)}


def audit_lines(project: Path) -> list[dict]:
    log = project / ".claude/state/audit.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def install_wiring(project: Path, settings: dict) -> None:
    shutil.copytree(HOOKS, project / ".claude/orchestra/hooks")
    (project / ".claude/settings.json").write_text(json.dumps(settings), encoding="utf-8")


def test_the_plugins_hook_stands_aside_where_the_project_runs_its_own(project: Path) -> None:
    install_wiring(project, {"hooks": wiring.hooks_block()})
    event = {**PRE_BASH, "cwd": str(project)}

    proc = run_hook("pre_tool.py", event, project, env=AS_PLUGIN)
    assert (proc.returncode, proc.stdout, audit_lines(project)) == (0, b"", [])

    proc = run_hook("pre_tool.py", event, project)  # the project's own copy, as its settings run it
    assert proc.returncode == 0, proc.stderr
    assert [line["hook"] for line in audit_lines(project)] == ["pre_tool"]


def test_the_plugins_hook_runs_where_the_project_does_not_run_that_hook(project: Path) -> None:
    event = {**PRE_BASH, "cwd": str(project)}
    cases = [
        {"hooks": wiring.hooks_block(), "disableAllHooks": True},
        {"hooks": wiring.hooks_block(), "disableAllHooks": "yes"},  # Claude Code rejects the whole file
        {"hooks": {k: v for k, v in wiring.hooks_block().items() if k != "PreToolUse"}},
        {"hooks": {"PreToolUse": [{"hooks": "not a list"}, "junk"], "Stop": 3}},
        [],
    ]
    install_wiring(project, {})
    for n, settings in enumerate(cases, start=1):
        (project / ".claude/settings.json").write_text(json.dumps(settings), encoding="utf-8")
        proc = run_hook("pre_tool.py", event, project, env=AS_PLUGIN)
        assert proc.returncode == 0, proc.stderr
        assert len(audit_lines(project)) == n, settings

    (project / ".claude/settings.json").write_text(json.dumps({"hooks": wiring.hooks_block()}), encoding="utf-8")
    (project / ".claude/orchestra/hooks/pre_tool.py").unlink()  # wired, but not there to run
    run_hook("pre_tool.py", event, project, env=AS_PLUGIN)
    assert len(audit_lines(project)) == len(cases) + 1
