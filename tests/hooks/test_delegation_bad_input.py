"""Bad delegation input gets a clear reason and leaves the state exactly as it was (real hook scripts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orchestra.store import open_store

from tests.conftest import hook_output, run_hook
from tests.hooks.test_delegation import seed, write_teams
from tests.hooks.test_gates import launched, pre, start, stop
from tests.unit.test_lifecycle_cli import ok_json, orchestra


def snapshot(project: Path) -> dict:
    with open_store(root=project) as store:
        doc = store.export()
    return {k: doc[k] for k in ("tasks", "agents", "delegations", "sessions", "observability", "communication")}


@pytest.fixture
def ready(project: Path) -> Path:
    write_teams(project)
    seed(project, {"task-3": {"title": "OAuth"}})
    return project


def denial(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    out = hook_output(proc)["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    return out["permissionDecisionReason"]


def test_unknown_task_id(ready: Path) -> None:
    before = snapshot(ready)
    reason = denial(run_hook("pre_agent.py", pre(ready, "toolu_1", "fullstack-eng", "[task:task-99] do"), ready))
    assert "[task:task-99] names no task or sprint" in reason and "orchestra task list" in reason
    assert snapshot(ready) == before


def test_over_long_task_id_in_the_tag(ready: Path) -> None:
    before = snapshot(ready)
    tag = "[task:" + "t" * 256 + "] do"
    reason = denial(run_hook("pre_agent.py", pre(ready, "toolu_1", "fullstack-eng", tag), ready))
    assert "[task:<id>] tag" in reason and "256 characters long" in reason and "at most 255" in reason
    assert snapshot(ready) == before


def untyped(project: Path, use: str, prompt: str) -> dict:
    """An Agent call without subagent_type: Claude Code runs it as general-purpose."""
    event = pre(project, use, "fullstack-eng", prompt)
    del event["tool_input"]["subagent_type"]
    return event


def test_a_team_task_delegated_without_an_agent_type_names_the_member_to_call(ready: Path) -> None:
    seed(ready, {"t-team": {"title": "Login", "team": "engineering"},
                 "t-mine": {"title": "Tests", "team": "qa", "assignee": "test-engineer"}})
    before = snapshot(ready)
    handed = ok_json(orchestra(ready, "task", "delegate", "t-team", "--json"))["subagent_type"]
    reason = denial(run_hook("pre_agent.py", untyped(ready, "toolu_1", "[task:t-team] do"), ready))
    assert f'subagent_type: "{handed}"' in reason and "general-purpose" in reason and "team engineering" in reason
    reason = denial(run_hook("pre_agent.py", untyped(ready, "toolu_2", "[task:t-mine] do"), ready))
    assert 'subagent_type: "test-engineer"' in reason and "team qa" in reason
    assert snapshot(ready) == before
    assert hook_output(run_hook("pre_agent.py", untyped(ready, "toolu_3", "[task:task-3] do"), ready))[
        "hookSpecificOutput"].get("permissionDecision") is None  # a task of no team: general-purpose may take it
    assert hook_output(run_hook("pre_agent.py", untyped(ready, "toolu_4", "look around"), ready))[
        "hookSpecificOutput"].get("permissionDecision") is None  # ad hoc


def test_unknown_agent_type(ready: Path) -> None:
    before = snapshot(ready)
    reason = denial(run_hook("pre_agent.py", pre(ready, "toolu_1", "ghost-writer", "[task:task-3] do"), ready))
    assert "unknown agent type 'ghost-writer'" in reason and "fullstack-eng" in reason
    assert snapshot(ready) == before


def test_an_agent_file_makes_a_type_known(ready: Path) -> None:
    agents = ready / ".claude" / "agents" / "helpers"
    agents.mkdir(parents=True)
    (agents / "ghost-writer.md").write_text("---\nname: ghost-writer\ndescription: Writes.\n---\nWrite.\n")
    proc = run_hook("pre_agent.py", pre(ready, "toolu_1", "ghost-writer", "[task:task-3] do"), ready)
    assert "updatedInput" in hook_output(proc)["hookSpecificOutput"]


def test_missing_tool_use_id(ready: Path) -> None:
    before = snapshot(ready)
    event = pre(ready, "toolu_1", "fullstack-eng", "[task:task-3] do")
    del event["tool_use_id"]
    assert "no tool_use_id" in denial(run_hook("pre_agent.py", event, ready))
    assert snapshot(ready) == before


def test_missing_prompt(ready: Path) -> None:
    event = pre(ready, "toolu_1", "fullstack-eng", "x")
    event["tool_input"]["prompt"] = "   "
    assert "has no prompt" in denial(run_hook("pre_agent.py", event, ready))


@pytest.mark.parametrize("script, event_of", [
    ("subagent_start.py", lambda p: start(p, "agent-1", "fullstack-eng")),
    ("subagent_stop.py", lambda p: stop(p, "agent-1", "fullstack-eng", "STATUS: completed")),
])
def test_missing_agent_id_is_reported_and_changes_nothing(ready: Path, script: str, event_of) -> None:
    run_hook("pre_agent.py", pre(ready, "toolu_1", "fullstack-eng", "[task:task-3] do"), ready)
    before = snapshot(ready)
    event = event_of(ready)
    del event["agent_id"]
    proc = run_hook(script, event, ready)
    assert proc.returncode == 0, proc.stderr
    assert "without agent_id" in hook_output(proc)["systemMessage"]
    assert snapshot(ready) == before


def test_malformed_input_blocks_the_delegation(ready: Path) -> None:
    before = snapshot(ready)
    proc = run_hook("pre_agent.py", b'{"hook_event_name": "PreToolUse", "tool_input": "not an object"}', ready)
    assert proc.returncode == 2 and "tool_input" in proc.stderr.decode()
    assert snapshot(ready) == before


def test_a_task_already_running_is_not_delegated_twice(ready: Path) -> None:
    run_hook("pre_agent.py", pre(ready, "toolu_1", "fullstack-eng", "[task:task-3] do"), ready)
    run_hook("post_agent.py", launched(ready, "toolu_1", "agent-1", "fullstack-eng", "[task:task-3] do"), ready)
    reason = denial(run_hook("pre_agent.py", pre(ready, "toolu_2", "fullstack-eng", "[task:task-3] again"), ready))
    assert "task-3 is already in_progress with agent agent-1 (fullstack-eng)" in reason


def test_odd_tool_responses_are_tolerated(ready: Path) -> None:
    run_hook("pre_agent.py", pre(ready, "toolu_1", "fullstack-eng", "[task:task-3] do"), ready)
    event = launched(ready, "toolu_1", "agent-1", "fullstack-eng", "[task:task-3] do")
    event["tool_response"] = "launched, as text"
    proc = run_hook("post_agent.py", event, ready)
    assert proc.returncode == 0 and hook_output(proc) == {}
    with open_store(root=ready) as store:
        assert store.get("delegations.toolu_1.status") == "pending"


@pytest.mark.parametrize("script, event", [
    ("stop.py", {"hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "done"}),
    ("session_end.py", {"hook_event_name": "SessionEnd", "reason": "other"}),
])
def test_stop_and_session_end_without_session_id_skip_the_session_record(ready: Path, script: str,
                                                                         event: dict) -> None:
    before = snapshot(ready)
    proc = run_hook(script, {"transcript_path": str(ready / "cc" / "x.jsonl"), "cwd": str(ready), **event}, ready)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    lines = [json.loads(x) for x in (ready / ".claude/state/audit.jsonl").read_text().splitlines()]
    assert [a["result"] for a in lines if a["event"] == event["hook_event_name"]] == ["allowed"], lines[-1]
    assert snapshot(ready)["sessions"] == before["sessions"]


# A JavaScript string cut inside an emoji keeps half of its surrogate pair; JSON.stringify sends that
# half as a `\ud83d` escape, which Python reads as a lone surrogate that UTF-8 (SQLite, the audit log)
# cannot hold.
CUT_EMOJI = "ship it \ud83d"


def test_a_half_emoji_in_the_prompt_does_not_block_the_delegation(ready: Path) -> None:
    event = pre(ready, "toolu_1", "fullstack-eng", f"[task:task-3] {CUT_EMOJI}")
    event["tool_input"]["description"] = CUT_EMOJI
    proc = run_hook("pre_agent.py", event, ready)
    assert proc.returncode == 0, proc.stderr
    rewritten = hook_output(proc)["hookSpecificOutput"]["updatedInput"]
    assert rewritten["prompt"].startswith("[task:task-3] ship it \ufffd")
    assert rewritten["description"] == "ship it \ufffd"
    with open_store(root=ready) as store:
        assert store.get("delegations.toolu_1.task") == "task-3"
    lines = [json.loads(x) for x in (ready / ".claude/state/audit.jsonl").read_text().splitlines()]
    assert lines[-1]["hook"] == "pre_agent" and lines[-1]["decision"] == "rewrite"


def test_a_half_emoji_in_a_report_settles_the_run(ready: Path) -> None:
    run_hook("pre_agent.py", pre(ready, "toolu_1", "fullstack-eng", "[task:task-3] do"), ready)
    run_hook("post_agent.py", launched(ready, "toolu_1", "agent-1", "fullstack-eng", "[task:task-3] do"), ready)
    event = stop(ready, "agent-1", "fullstack-eng", f"Could not finish {CUT_EMOJI}\nSTATUS: blocked\nBLOCKER: no key")
    proc = run_hook("subagent_stop.py", event, ready)
    assert proc.returncode == 0 and hook_output(proc) == {}, proc.stdout
    with open_store(root=ready) as store:
        assert store.get("tasks.task-3.status") == "blocked"
        assert store.get("agents.agent-1.report.summary").startswith("Could not finish ship it \ufffd")
