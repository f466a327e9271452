"""An Agent call refused after Orchestra recorded it (a permission rule, the user, or another PreToolUse hook said
no; or it failed at once) never launches, and Claude Code sends no hook event for it: only the caller's transcript
holds the refusal, as an error tool_result. Made again, the call goes through (real hook scripts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orchestra.store import open_store

from tests.conftest import hook_output, run_hook
from tests.hooks.test_delegation import seed, write_teams
from tests.hooks.test_gates import SESSION, pre, start

REFUSED = "PreToolUse:Agent hook error: the delegation policy says not now"


def transcript_with(path: Path, *results: tuple[str, bool]) -> None:
    """The caller's transcript: its Agent calls and, for each (tool_use_id, is_error), the result it got."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for use, error in results:
        lines.append({"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": use, "name": "Agent", "input": {"prompt": "..."}}]}})
        lines.append({"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": use, "is_error": error,
             "content": REFUSED if error else "Async agent launched successfully."}]}})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def session_transcript(project: Path) -> Path:
    return project / "cc" / f"{SESSION}.jsonl"


def rewrote(proc) -> bool:
    assert proc.returncode == 0, proc.stderr
    return "updatedInput" in hook_output(proc).get("hookSpecificOutput", {})


def denial(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    return hook_output(proc)["hookSpecificOutput"]["permissionDecisionReason"]


@pytest.fixture
def ready(project: Path) -> Path:
    write_teams(project)
    seed(project, {"task-3": {"title": "OAuth"}, "task-4": {"title": "Billing"}})
    return project


def test_a_refused_call_made_again_is_not_taken_for_a_second_delegation(ready: Path) -> None:
    assert rewrote(run_hook("pre_agent.py", pre(ready, "toolu_1", "fullstack-eng", "[task:task-3] do"), ready))
    transcript_with(session_transcript(ready), ("toolu_1", True))
    assert rewrote(run_hook("pre_agent.py", pre(ready, "toolu_2", "fullstack-eng", "[task:task-3] do"), ready))
    with open_store(root=ready) as store:
        assert store.get("delegations.toolu_1.status") == "dropped"
        assert store.get("tasks.task-3.delegation") == "toolu_2"
        assert store.get("tasks.task-3.status") == "assigned"
        kinds = [e["type"] for e in store.events_after(0, limit=100) if e.get("task_id") == "task-3"]
    assert kinds == ["delegation_requested", "task_assigned", "delegation_dropped", "task_requeued",
                     "delegation_requested", "task_assigned"]


def test_a_refused_call_stops_holding_its_task_and_the_members_capacity(ready: Path) -> None:
    assert rewrote(run_hook("pre_agent.py", pre(ready, "toolu_1", "api-engineer", "[task:task-3] do"), ready))
    transcript_with(session_transcript(ready), ("toolu_1", True))
    # api-engineer has capacity 1: the refused call no longer fills it
    assert rewrote(run_hook("pre_agent.py", pre(ready, "toolu_2", "api-engineer", "[task:task-4] do"), ready))
    with open_store(root=ready) as store:
        assert store.get("tasks.task-3.status") == "queued"
        assert store.get("tasks.task-4.status") == "assigned"


def test_a_call_still_waiting_for_its_result_holds_its_task(ready: Path) -> None:
    """Two Agent calls for one task in the same message: the first has no result yet, so the second is refused."""
    assert rewrote(run_hook("pre_agent.py", pre(ready, "toolu_1", "fullstack-eng", "[task:task-3] do"), ready))
    transcript_with(session_transcript(ready))
    assert "already assigned with delegation toolu_1" in denial(
        run_hook("pre_agent.py", pre(ready, "toolu_2", "fullstack-eng", "[task:task-3] again"), ready))


def test_a_call_that_launched_holds_its_task_even_when_its_post_hook_was_lost(ready: Path) -> None:
    assert rewrote(run_hook("pre_agent.py", pre(ready, "toolu_1", "fullstack-eng", "[task:task-3] do"), ready))
    transcript_with(session_transcript(ready), ("toolu_1", False))
    assert "already assigned with delegation toolu_1" in denial(
        run_hook("pre_agent.py", pre(ready, "toolu_2", "fullstack-eng", "[task:task-3] again"), ready))


def test_an_orchestrators_refused_call_is_read_from_its_own_transcript(ready: Path) -> None:
    caller = ("a0rch", "engineering-orchestrator")
    run_hook("subagent_start.py", start(ready, *caller), ready)
    assert rewrote(run_hook("pre_agent.py", pre(ready, "toolu_1", "fullstack-eng", "[task:task-3] do", caller), ready))
    transcript_with(session_transcript(ready), ("toolu_1", True))  # the main thread's: not the caller's
    assert "already assigned" in denial(
        run_hook("pre_agent.py", pre(ready, "toolu_2", "fullstack-eng", "[task:task-3] do", caller), ready))
    transcript_with(ready / "cc" / SESSION / "subagents" / "agent-a0rch.jsonl", ("toolu_1", True))
    assert rewrote(run_hook("pre_agent.py", pre(ready, "toolu_3", "fullstack-eng", "[task:task-3] do", caller), ready))
