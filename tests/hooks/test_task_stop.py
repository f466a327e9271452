"""A background member stopped with Claude Code's TaskStop tool (captured: task-stop.jsonl). Claude Code sends
no SubagentStop for it: the successful TaskStop call settles the run, through the real hook scripts."""

from __future__ import annotations

from pathlib import Path

from orchestra.store import open_store

from tests.conftest import hook_output, run_hook
from tests.hooks.test_delegation import fixture_events, script_for, seed_sprint3, write_teams

REASON = "was stopped (TaskStop) before it reported"


def replay(events: list[dict], project: Path) -> None:
    for event in events:
        if (script := script_for(event)) is not None:
            proc = run_hook(script, event, project)
            assert proc.returncode == 0 and b"Traceback" not in proc.stderr, (script, proc.stderr)


def captured(project: Path) -> tuple[list[dict], str]:
    """The capture up to its PostToolUse(TaskStop) (the rest: the notification turn, Stop, SessionEnd), and
    the stopped agent's id."""
    write_teams(project, extra="")
    seed_sprint3(project)
    events = fixture_events("task-stop.jsonl", project)
    stop = next(e for e in events if e["hook_event_name"] == "PostToolUse" and e["tool_name"] == "TaskStop")
    return events, stop["tool_response"]["task_id"]


def snapshot(project: Path, agent_id: str) -> tuple[dict, dict, list[dict]]:
    with open_store(root=project) as store, store.snapshot() as tx:
        return tx.get(f"agents.{agent_id}"), tx.get("tasks.task-3"), tx.events_after(0, limit=100000)


def until(events: list[dict], name: str, tool: str | None = None) -> list[dict]:
    """The events before the first `name` (of `tool`), and that one."""
    at = next(i for i, e in enumerate(events) if e["hook_event_name"] == name and e.get("tool_name") == tool)
    return events[:at + 1]


def test_the_run_taskstop_stopped_is_stopped_and_its_task_blocked_before_the_session_ends(project: Path) -> None:
    events, agent_id = captured(project)
    replay(until(events, "PostToolUse", "Agent"), project)
    assert snapshot(project, agent_id)[0]["status"] == "active"

    replay(until(events, "PostToolUse", "TaskStop")[-2:], project)  # PreToolUse and PostToolUse of TaskStop

    run, task, log = snapshot(project, agent_id)
    assert run["status"] == "stopped" and run["killed_at"] and run["killed_by"] == "main", run
    assert task["status"] == "blocked" and task["blocker"] == f"agent {agent_id} {REASON}", task
    types = [e["type"] for e in log if e.get("agent_id") == agent_id]
    assert types[-2:] == ["agent_stopped", "task_blocked"], types
    # the rest of the session (the killed notification, Stop, SessionEnd) changes nothing
    replay(events[events.index(until(events, "PostToolUse", "TaskStop")[-1]) + 1:], project)
    after, task_after, log_after = snapshot(project, agent_id)
    assert (after["status"], task_after["blocker"]) == ("stopped", task["blocker"])
    assert [e["type"] for e in log_after[len(log):]] == ["session_ended"]


def test_the_task_of_a_run_taskstop_stopped_is_delegated_again_in_the_same_session(project: Path) -> None:
    events, agent_id = captured(project)
    replay(until(events, "PostToolUse", "TaskStop"), project)
    again = {**until(events, "PreToolUse", "Agent")[-1], "tool_use_id": "toolu_again"}

    out = hook_output(run_hook("pre_agent.py", again, project))

    assert out.get("hookSpecificOutput", {}).get("permissionDecision") != "deny", out
    with open_store(root=project) as store, store.snapshot() as tx:
        assert tx.get("tasks.task-3")["status"] == "assigned"
        assert tx.get("delegations.toolu_again")["status"] == "pending"


def test_the_same_run_is_refused_again_while_taskstop_has_not_stopped_it(project: Path) -> None:
    events, agent_id = captured(project)
    replay(until(events, "PostToolUse", "Agent"), project)
    again = {**until(events, "PreToolUse", "Agent")[-1], "tool_use_id": "toolu_again"}

    out = hook_output(run_hook("pre_agent.py", again, project))

    assert out["hookSpecificOutput"]["permissionDecision"] == "deny", out
    assert "already in_progress" in out["hookSpecificOutput"]["permissionDecisionReason"], out


def test_a_stopped_shell_an_unknown_agent_and_a_replayed_stop_change_nothing(project: Path) -> None:
    events, agent_id = captured(project)
    replay(until(events, "PostToolUse", "TaskStop"), project)
    stop = until(events, "PostToolUse", "TaskStop")[-1]
    _, _, before = snapshot(project, agent_id)
    shell = {**stop, "tool_use_id": "toolu_shell",
             "tool_response": {**stop["tool_response"], "task_id": "b1x2", "task_type": "local_bash"}}
    stranger = {**stop, "tool_use_id": "toolu_other", "tool_response": {**stop["tool_response"], "task_id": "a0000"}}
    broken = {**stop, "tool_use_id": "toolu_broken", "tool_response": "Successfully stopped task"}

    replay([shell, stranger, broken, stop], project)

    run, task, log = snapshot(project, agent_id)
    assert log == before and run["status"] == "stopped" and task["status"] == "blocked"
    with open_store(root=project) as store, store.snapshot() as tx:
        assert tx.get("agents.b1x2", None) is None and tx.get("agents.a0000", None) is None


def test_a_run_resumed_after_taskstop_stopped_it_is_live_again(project: Path) -> None:
    events, agent_id = captured(project)
    replay(until(events, "PostToolUse", "TaskStop"), project)
    _, _, before = snapshot(project, agent_id)
    start = until(events, "SubagentStart")[-1]

    replay([start], project)  # SendMessage to its agent id: Claude Code starts it again

    run, task, log = snapshot(project, agent_id)
    assert run["status"] == "active" and run["resumed_at"] > run["killed_at"], run
    assert task["status"] == "in_progress", task
    assert "agent_started" in [e["type"] for e in log[len(before):]], log[len(before):]


def test_a_run_its_director_stopped_names_the_director(project: Path) -> None:
    """Background subagents keep TaskStop: a director may stop its own member. Its PostToolUse carries the
    director's agent_id, and the member's run is settled the same way."""
    events, agent_id = captured(project)
    replay(until(events, "PostToolUse", "Agent"), project)
    stop = {**until(events, "PostToolUse", "TaskStop")[-1], "agent_id": "adirector0000001",
            "agent_type": "engineering-orchestrator"}

    replay([stop], project)

    run, task, _ = snapshot(project, agent_id)
    assert run["status"] == "stopped" and run["killed_by"] == "adirector0000001", run
    assert task["status"] == "blocked", task
