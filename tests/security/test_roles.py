"""Role gates: who may start which subagent, and who may change which task through the MCP tools."""

from __future__ import annotations

from pathlib import Path

import pytest
from orchestra.hookio import Deny
from orchestra.security import spawn_verdict
from orchestra.security.roles import mcp_decision, spawn_decision
from orchestra.store import open_store

from tests.security.conftest import write_policy

SPAWNS = [
    # caller, target, allowed
    (None, "engineering-director", True),                  # the main thread starts orchestrators
    (None, "general-purpose", True),
    ("engineering-director", "fullstack-eng", True),       # own team
    ("engineering-director", "orchestra:tech-lead", True),  # own team, plugin prefix
    ("engineering-director", "qa-director", True),         # another orchestrator
    ("engineering-director", "market-researcher", False),  # another team's member
    ("engineering-director", "general-purpose", False),    # not in the organisation
    ("engineering-director", None, False),                 # no subagent_type = general-purpose
    ("qa-director", "qa-engineer", True),
    ("qa-director", "fullstack-eng", False),
    ("fullstack-eng", "api-engineer", False),              # members do not spawn
    ("tech-lead", "fullstack-eng", False),                 # reviewers do not spawn
    ("orchestra:fullstack-eng", "general-purpose", False),
    ("some-unknown-agent", "fullstack-eng", False),        # unknown types are team members
]


@pytest.mark.parametrize(("caller", "target", "allowed"), SPAWNS)
def test_spawn(policy, org, caller, target, allowed) -> None:
    decision = spawn_decision(policy, org, caller, target)
    assert (decision is None) == allowed, decision and decision.reason


def test_spawn_reasons_name_who_can_help(policy, org) -> None:
    member = spawn_decision(policy, org, "fullstack-eng", "api-engineer")
    assert member.rule == "can_spawn_agents" and "engineering-director" in member.reason
    cross = spawn_decision(policy, org, "engineering-director", "market-researcher")
    assert cross.rule == "own_team" and "team product" in cross.reason and "product-director" in cross.reason
    assert "fullstack-eng" in cross.reason  # what it may delegate to instead


def test_spawn_verdict_is_a_deny_or_none(policy, org) -> None:
    assert spawn_verdict(org, "engineering-director", "fullstack-eng", policy) is None
    assert isinstance(spawn_verdict(org, "fullstack-eng", "api-engineer", policy), Deny)


def test_spawn_rights_taken_away_by_the_policy_file(tree: Path, org) -> None:
    policy = write_policy(tree, "agents:\n  engineering-director: {can_spawn_agents: false}\n")
    assert spawn_decision(policy, org, "engineering-director", "fullstack-eng").rule == "can_spawn_agents"
    assert spawn_decision(policy, org, "qa-director", "qa-engineer") is None


@pytest.fixture
def tasks(tree: Path):
    with open_store(root=tree) as store:
        with store.transaction() as tx:
            tx.set("tasks.t-mine", {"title": "mine", "status": "in_progress", "assignee": "fullstack-eng",
                                    "agent_id": "run-mine"})
            tx.set("tasks.t-theirs", {"title": "theirs", "status": "in_progress", "assignee": "api-engineer",
                                      "agent_id": "run-theirs"})
            tx.set("tasks.t-typed", {"title": "by type", "status": "assigned", "assignee": "fullstack-eng"})
            tx.set("tasks.t-review", {"title": "review me", "status": "needs_review", "assignee": "api-engineer"})
            tx.set("tasks.t-linked", {"title": "linked by run", "status": "assigned"})
            tx.set("agents.run-linked", {"agent_type": "fullstack-eng", "task": "t-linked"})
        with store.snapshot() as tx:
            yield tx


MCP = [
    # caller type, caller id, tool, input, allowed
    ("fullstack-eng", "run-mine", "update_task", {"task_id": "t-mine", "status": "needs_review"}, True),
    ("fullstack-eng", "run-mine", "update_task", {"task_id": "t-theirs", "status": "completed"}, False),
    ("fullstack-eng", "run-other", "update_task", {"task_id": "t-mine", "status": "completed"}, False),  # other run
    ("fullstack-eng", "run-x", "report_status", {"task_id": "t-typed", "status": "in_progress"}, True),
    ("fullstack-eng", "run-linked", "update_task", {"task_id": "t-linked", "status": "in_progress"}, True),
    ("fullstack-eng", "run-mine", "update_task", {"task_id": "t-nope", "status": "completed"}, False),
    ("fullstack-eng", "run-mine", "update_task", {"status": "completed"}, False),          # no task named
    ("fullstack-eng", "run-mine", "plan_sprint", {"sprint": "s1"}, True),                  # computes, writes nothing
    ("fullstack-eng", "run-mine", "delegate_task", {"task_id": "t-mine"}, True),
    ("fullstack-eng", "run-mine", "assign_worktree", {"task_id": "t-mine"}, False),
    ("fullstack-eng", "run-mine", "get_task", {"task_id": "t-theirs"}, True),              # reads are free
    ("fullstack-eng", "run-mine", "send_message", {"to": "tech-lead", "type": "question"}, True),
    ("tech-lead", "run-r", "update_task", {"task_id": "t-review", "status": "completed", "verdict": "approved"}, True),
    ("tech-lead", "run-r", "update_task", {"task_id": "t-review", "status": "in_progress",
                                           "comment": "fix the tests"}, True),
    ("tech-lead", "run-r", "update_task", {"task_id": "t-review", "status": "completed", "assignee": "x"}, False),
    ("tech-lead", "run-r", "update_task", {"task_id": "t-theirs", "status": "completed"}, False),  # not in review
    ("tech-lead", "run-r", "update_task", {"task_id": "t-review", "status": "cancelled"}, False),
    ("tech-lead", "run-r", "assign_worktree", {"task_id": "t-review"}, False),
    ("engineering-director", "run-o", "update_task", {"task_id": "t-theirs", "status": "blocked"}, True),
    ("engineering-director", "run-o", "plan_sprint", {"sprint": "s1"}, True),
    (None, None, "update_task", {"task_id": "t-theirs", "status": "queued"}, True),        # main thread
]


@pytest.mark.parametrize(("caller", "agent_id", "tool", "tool_input", "allowed"), MCP)
def test_mcp(policy, org, tasks, caller, agent_id, tool, tool_input, allowed) -> None:
    decision = mcp_decision(policy, org, caller, agent_id, f"mcp__orchestra__{tool}", tool_input, tasks)
    assert (decision is None) == allowed, decision and decision.reason


def test_mcp_reasons_say_whose_task_it_is(policy, org, tasks) -> None:
    decision = mcp_decision(policy, org, "fullstack-eng", "run-mine", "mcp__orchestra__update_task",
                            {"task_id": "t-theirs", "status": "completed"}, tasks)
    assert "api-engineer" in decision.reason and "own tasks" in decision.reason
    assert decision.resource == "tasks.t-theirs" and decision.kind == "mcp"


def test_plugin_tool_names_are_recognised(policy, org, tasks) -> None:
    assert mcp_decision(policy, org, "fullstack-eng", "run-mine", "mcp__plugin_orchestra_orchestra__get_state",
                        {}, tasks) is None
    assert mcp_decision(policy, org, "fullstack-eng", "run-mine", "mcp__plugin_orchestra_orchestra__update_task",
                        {"task_id": "t-theirs"}, tasks) is not None


def test_in_plugin_form_a_spawn_denial_names_the_agents_to_start_as_claude_code_knows_them(
        policy, org, tmp_path: Path, monkeypatch) -> None:
    from orchestra import paths
    from orchestra.lifecycle.views import unassigned_text

    monkeypatch.setenv(paths.PROJECT_ENV, str(tmp_path))  # a project with no agent files of its own
    monkeypatch.setenv(paths.PLUGIN_ENV, str(paths.PACK_DIR.parent.parent))
    paths.project_root.cache_clear()
    try:
        cross = spawn_decision(policy, org, "engineering-director", "market-researcher")
        unassigned = unassigned_text(org, {"id": "t1", "team": "engineering"})
    finally:
        paths.project_root.cache_clear()
    assert "orchestra:fullstack-eng" in cross.reason and "orchestra:qa-director" in cross.reason
    assert "ask product-director to delegate it" in cross.reason  # a recipient of messages: the bare name
    assert "subagent_type is one of its members (orchestra:" in unassigned
    assert "assignee '\"<member>\"'" in unassigned  # teams.yaml names, as the task's assignee holds them
