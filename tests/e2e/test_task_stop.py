"""A background member stopped with Claude Code's TaskStop tool, through the real CLI.

Claude Code 2.1.328 sends no SubagentStop for a run TaskStop stopped: the successful TaskStop call
(PostToolUse, `tool_response` {task_id: the agent id, task_type: local_agent}) and a later
`<task-notification>` with `<status>killed</status>` are all it says. The run must not hold its task,
its member's capacity or its worktree after that, in the same session.
"""

from __future__ import annotations

import re

from tests.e2e.fake_api import MAIN, ToolUse, delegate, say
from tests.e2e.test_delegation import (
    MEMBER,
    assert_legal_history,
    event_types,
    in_worktree,
    member_settings,
    seed_sprint,
    task,
)
from tests.e2e.test_delegation_edges import team

__all__ = ["team"]  # the fixture, shared with the delegation scenarios


def stop_launched(request) -> ToolUse:
    """TaskStop on the background agent whose launch the model was just shown (`agentId: ...`)."""
    return ToolUse("TaskStop", {"task_id": re.search(r"agentId: (\w+)", request.last_user_text).group(1)})


def test_a_member_stopped_with_taskstop_frees_its_task_and_capacity_for_a_new_delegation(team, api):
    team.edit_teams(lambda doc: member_settings(doc, "fullstack-eng").update(capacity=1))
    seed_sprint(team, task("feat-s"))
    main = api.script.on(MAIN)
    first = api.script.on(MEMBER, "[first]")
    main.reply(delegate("fullstack-eng", "[task:feat-s] [first] Build S.", "Build S", background=True)) \
        .reply(stop_launched, after=first.asked(0)) \
        .reply(delegate("fullstack-eng", "[task:feat-s] [again] Build S.", "Build S again")) \
        .reply(say("S is built."))
    # the first member is stopped while its first request waits; the reply it would get goes nowhere
    first.reply(say("STATUS: completed"), after=main.asked(2))
    api.script.on(MEMBER, "[again]").reply(in_worktree(team, "s.py", "S = 1\n")) \
        .reply(say("Built S.\nSTATUS: completed\nARTIFACTS: s.py"))

    run = team.run(api, "Build S.", allowed_tools="Bash Read Write Edit Agent TaskStop")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    stopped_result = api.conversation(main)[2].tool_results()
    assert "Successfully stopped task" in stopped_result[0]["text"], stopped_result
    again = api.conversation(main)[3].tool_results()
    assert not again[0]["is_error"], again  # not refused as already in progress, nor over capacity
    launched = {s["prompt"].split("]")[1].strip(" ["): s["agent_id"] for s in run.subagents()}
    with team.state() as tx:
        stopped, redone = tx.get(f"agents.{launched['first']}"), tx.get(f"agents.{launched['again']}")
        feat_s = tx.get("tasks.feat-s")
        blocked = [e for e in tx.events_after(0, limit=100000) if e["type"] == "task_blocked"]
        worktree = tx.get("worktrees.task-feat-s")
        types = event_types(tx, "feat-s")
    assert stopped["status"] == "stopped" and stopped["killed_at"] and stopped["killed_by"] == "main", stopped
    assert not stopped["report"], stopped  # it never reported: Claude Code sent no SubagentStop for it
    assert redone["status"] == "completed", redone
    assert feat_s["status"] == "completed" and feat_s["agent_id"] == redone["id"], feat_s
    assert [e["data"]["reason"] for e in blocked] == [f"agent {stopped['id']} was stopped (TaskStop) before it reported"]
    assert "agent_stopped" in types and types.index("agent_stopped") < types.index("task_blocked"), types
    assert_legal_history(types)
    assert worktree["lock"] is None, worktree
