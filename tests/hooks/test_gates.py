"""The delegation gates, each on, off and at its edge: capacity, dependencies, false completion.

Payloads have the captured 2.1.328 shape; most go through the real handlers in-process (real
store, real git, real acceptance commands), a few through the real hook scripts.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from orchestra.hookio import Allow, BlockStop, Deny, Rewrite, parse_event
from orchestra.lifecycle import delegation as lifecycle_delegation
from orchestra.lifecycle.ledger import Ledger
from orchestra.store import open_store
from orchestra.teams import load as load_teams
from orchestra.workflow.states import STUCK

from tests.conftest import hook_output, run_hook
from tests.hooks.test_delegation import digest, feed, seed, write_teams, write_transcript

SESSION = "5e551011-0000-4000-8000-000000000001"


def base(project: Path) -> dict:
    return {"session_id": SESSION, "transcript_path": str(project / "cc" / f"{SESSION}.jsonl"), "cwd": str(project),
            "permission_mode": "default"}


def pre(project: Path, use: str, agent_type: str, prompt: str, caller: tuple[str, str] | None = None) -> dict:
    event = {**base(project), "hook_event_name": "PreToolUse", "tool_name": "Agent", "tool_use_id": use,
             "tool_input": {"description": prompt[:30], "prompt": prompt, "subagent_type": agent_type}}
    if caller:
        event.update(agent_id=caller[0], agent_type=caller[1])
    return event


def start(project: Path, agent_id: str, agent_type: str) -> dict:
    return {**base(project), "hook_event_name": "SubagentStart", "agent_id": agent_id, "agent_type": agent_type}


def launched(project: Path, use: str, agent_id: str, agent_type: str, prompt: str) -> dict:
    return {**base(project), "hook_event_name": "PostToolUse", "tool_name": "Agent", "tool_use_id": use,
            "tool_input": {"description": prompt[:30], "prompt": prompt, "subagent_type": agent_type},
            "tool_response": {"isAsync": True, "status": "async_launched", "agentId": agent_id, "prompt": prompt}}


def stop(project: Path, agent_id: str, agent_type: str, message: str, *, writes: list[str] = (),
         prompt: str = "", active: bool = False) -> dict:
    path = project / "cc" / SESSION / "subagents" / f"agent-{agent_id}.jsonl"
    write_transcript(path, prompt, [(str(project / w), True) for w in writes], message)
    return {**base(project), "hook_event_name": "SubagentStop", "agent_id": agent_id, "agent_type": agent_type,
            "stop_hook_active": active, "agent_transcript_path": str(path), "last_assistant_message": message,
            "background_tasks": [], "session_crons": []}


def delegate_and_start(project: Path, use: str, agent_id: str, agent_type: str, task: str) -> None:
    prompt = f"[task:{task}] do it"
    assert isinstance(feed(pre(project, use, agent_type, prompt)), Rewrite)
    feed(launched(project, use, agent_id, agent_type, prompt))
    feed(start(project, agent_id, agent_type))


def tasks(*ids: str, **fields) -> dict[str, dict]:
    return {i: {"title": i, **fields} for i in ids}


# -- capacity ----------------------------------------------------------------------------------------

def test_member_capacity_allows_up_to_its_limit_and_names_who_runs(project: Path) -> None:
    write_teams(project)  # api-engineer: capacity 1
    seed(project, tasks("t1", "t2"))
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t1")
    verdict = feed(pre(project, "toolu_2", "api-engineer", "[task:t2] next"))
    assert isinstance(verdict, Deny)
    assert "api-engineer is at its capacity of 1" in verdict.reason and "run agent-1 (t1)" in verdict.reason
    assert digest()["tasks"]["t2"]["status"] == "queued"


def test_capacity_frees_when_the_run_reports(project: Path) -> None:
    write_teams(project)
    seed(project, tasks("t1", "t2"))
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t1")
    (project / "api.py").write_text("x")
    feed(stop(project, "agent-1", "api-engineer", "STATUS: completed\nARTIFACTS: api.py", prompt="[task:t1] do it"))
    assert isinstance(feed(pre(project, "toolu_2", "api-engineer", "[task:t2] next")), Rewrite)


def test_a_pending_delegation_counts_before_its_agent_starts(project: Path) -> None:
    write_teams(project)
    seed(project, tasks("t1", "t2"))
    assert isinstance(feed(pre(project, "toolu_1", "api-engineer", "[task:t1] go")), Rewrite)
    verdict = feed(pre(project, "toolu_2", "api-engineer", "[task:t2] go"))
    assert isinstance(verdict, Deny) and "starting toolu_1 (t1)" in verdict.reason


def test_a_delegation_that_never_started_stops_counting_after_pending_seconds(project: Path) -> None:
    write_teams(project, "lifecycle: {pending_seconds: 60}\n")
    seed(project, tasks("t1", "t2"))
    assert isinstance(feed(pre(project, "toolu_1", "api-engineer", "[task:t1] go")), Rewrite)
    org = load_teams(project)
    req = lifecycle_delegation.request_from(parse_event(json.dumps(pre(project, "toolu_2", "api-engineer",
                                                                      "[task:t2] go")).encode()), org, project)
    with open_store(root=project) as store, store.transaction() as tx:
        at_edge = Ledger(tx, org, now=_later(tx, "toolu_1", 59))
        assert isinstance(lifecycle_delegation.check_capacity(_resolved(req, at_edge), at_edge), Deny)
        past = Ledger(tx, org, now=_later(tx, "toolu_1", 61))
        assert lifecycle_delegation.check_capacity(_resolved(req, past), past) is None


def test_a_resumed_session_counts_its_new_runs_and_keeps_the_old_ones_stopped(project: Path) -> None:
    """`claude --resume` keeps the session id: its SessionStart opens the ended session again."""
    write_teams(project)  # api-engineer: capacity 1
    seed(project, tasks("t1", "t2", "t3"))
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t1")
    feed({**base(project), "hook_event_name": "SessionEnd", "reason": "prompt_input_exit"})
    resumed = run_hook("session_start.py", {**base(project), "hook_event_name": "SessionStart", "source": "resume"},
                       project)
    assert resumed.returncode == 0, resumed.stderr

    delegate_and_start(project, "toolu_2", "agent-2", "api-engineer", "t2")
    verdict = feed(pre(project, "toolu_3", "api-engineer", "[task:t3] next"))
    assert isinstance(verdict, Deny) and "run agent-2 (t2)" in verdict.reason, verdict
    feed(launched(project, "toolu_1", "agent-1", "api-engineer", "[task:t1] do it"))  # a late replay re-settles it
    state = digest()
    assert state["agents"]["agent-2"]["status"] == "active" and state["tasks"]["t2"]["status"] == "in_progress"
    assert state["agents"]["agent-1"]["status"] == "stopped" and state["tasks"]["t1"]["status"] == "blocked"

    feed({**base(project), "hook_event_name": "SessionEnd", "reason": "other"})
    state = digest()
    assert state["agents"]["agent-2"]["status"] == "stopped" and state["tasks"]["t2"]["status"] == "blocked"
    with open_store(root=project) as store, store.snapshot() as tx:
        types = [e["type"] for e in tx.events_after(0, limit=1000) if e["type"].startswith("session_")]
    assert types == ["session_ended", "session_resumed", "session_ended"]


def test_a_run_silent_past_stale_run_seconds_no_longer_holds_its_task(project: Path) -> None:
    """Its session was killed outright (no SessionEnd): the capacity gate stops counting it, and the task
    can be delegated again, instead of being refused as `already in_progress` for good."""
    write_teams(project, "lifecycle: {stale_run_seconds: 60}\n")
    seed(project, tasks("t1"))
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t1")
    org = load_teams(project)
    req = lifecycle_delegation.request_from(parse_event(json.dumps(pre(project, "toolu_2", "api-engineer",
                                                                      "[task:t1] again")).encode()), org, project)
    with open_store(root=project) as store, store.transaction() as tx:
        soon = Ledger(tx, org, now=_later(tx, "toolu_1", 30))
        assert lifecycle_delegation.resolve_task(req, soon) is None
        refused = lifecycle_delegation.check_task_open(req, soon)
        assert isinstance(refused, Deny) and "agent-1" in refused.reason
        late = Ledger(tx, org, now=_later(tx, "toolu_1", 120))
        assert lifecycle_delegation.check_task_open(req, late) is None
        assert lifecycle_delegation.check_capacity(req, late) is None


def test_a_timestamp_without_a_utc_offset_counts_as_utc_instead_of_failing_the_guard(project: Path) -> None:
    """A delegation imported or edited by hand with `requested_at` written without an offset (as many tools
    write UTC): the real PreToolUse hook still decides on capacity; it blocked every delegation with
    "the guard failed (TypeError ...)", and `worktree list` ended in a traceback."""
    from tests.worktrees.conftest import cli

    write_teams(project)
    seed(project, tasks("t1", "t2"))
    assert isinstance(feed(pre(project, "toolu_1", "api-engineer", "[task:t1] go")), Rewrite)
    naive = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    with open_store(root=project) as store:
        store.set("delegations.toolu_1.requested_at", naive)
    verdict = _pre_agent(project, "toolu_2", "api-engineer", "[task:t2] go")
    assert verdict.get("permissionDecision") == "deny", verdict
    assert "at its capacity of 1" in verdict["permissionDecisionReason"]
    assert "starting toolu_1 (t1)" in verdict["permissionDecisionReason"]
    listed = cli(project, "worktree", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr


@pytest.mark.parametrize("task_id", ["_draft", "@ops/deploy+1", "-x"])
def test_a_task_whose_id_starts_with_a_symbol_is_the_one_delegated(project: Path, task_id: str) -> None:
    """Ids may start with any of `_ - : @ / +`; the tag `task delegate` prints names the task. The hook did
    not read such a tag, made an ad-hoc task and briefed the agent with both tags, and the task stayed queued."""
    write_teams(project)
    seed(project, tasks(task_id))
    verdict = _pre_agent(project, "toolu_1", "api-engineer", f"[task:{task_id}] go")
    brief = verdict["updatedInput"]["prompt"]
    assert f"[task:{task_id}] {task_id} (implementation" in brief and "adhoc" not in brief
    state = digest()
    assert state["tasks"][task_id]["status"] == "assigned" and list(state["tasks"]) == [task_id]


def _later(tx, use: str, seconds: float) -> str:
    requested = datetime.fromisoformat(tx.get(f"delegations.{use}.requested_at").replace("Z", "+00:00"))
    return (requested + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _resolved(req, led):
    assert lifecycle_delegation.resolve_task(req, led) is None
    return req


def test_team_max_parallel_agents_counts_every_member(project: Path) -> None:
    write_teams(project)
    (project / ".claude/teams.yaml").write_text((project / ".claude/teams.yaml").read_text().replace(
        "max_parallel_agents: 5", "max_parallel_agents: 2"))
    seed(project, tasks("t1", "t2", "t3"))
    delegate_and_start(project, "toolu_1", "agent-1", "fullstack-eng", "t1")
    delegate_and_start(project, "toolu_2", "agent-2", "tech-lead", "t2")
    verdict = feed(pre(project, "toolu_3", "fullstack-eng", "[task:t3] go"))
    assert isinstance(verdict, Deny)
    assert "team engineering is at max_parallel_agents 2" in verdict.reason
    assert "run agent-1 (t1) [fullstack-eng]" in verdict.reason and "run agent-2 (t2) [tech-lead]" in verdict.reason


def test_the_orchestrator_running_the_wave_is_not_counted_against_its_team(project: Path) -> None:
    """plan_sprint sizes a wave to max_parallel_agents; the orchestrator launching it must not take a slot."""
    write_teams(project)
    (project / ".claude/teams.yaml").write_text((project / ".claude/teams.yaml").read_text().replace(
        "max_parallel_agents: 5", "max_parallel_agents: 2"))
    seed(project, tasks("lead", "t1", "t2", "t3"))
    delegate_and_start(project, "toolu_0", "agent-0", "engineering-orchestrator", "lead")
    for use, agent_id, task in (("toolu_1", "agent-1", "t1"), ("toolu_2", "agent-2", "t2")):
        prompt = f"[task:{task}] go"
        assert isinstance(feed(pre(project, use, "fullstack-eng", prompt, caller=("agent-0", "engineering-orchestrator"))),
                          Rewrite), task
        feed(start(project, agent_id, "fullstack-eng"))
    verdict = feed(pre(project, "toolu_3", "fullstack-eng", "[task:t3] go", caller=("agent-0", "engineering-orchestrator")))
    assert isinstance(verdict, Deny) and "team engineering is at max_parallel_agents 2" in verdict.reason
    assert "engineering-orchestrator" not in verdict.reason


@pytest.mark.parametrize("override", [1, 3])
def test_a_sprints_capacity_sets_its_teams_limit_as_the_plan_does(project: Path, override: int) -> None:
    """`capacity: {engineering: N}` in a sprint file sizes its waves; the gate holds the same number."""
    write_teams(project)
    (project / ".claude/teams.yaml").write_text((project / ".claude/teams.yaml").read_text().replace(
        "max_parallel_agents: 5", "max_parallel_agents: 2"))
    seed(project, tasks("t1", "t2", "t3", "t4", sprint="s1"),
         {"s1": {"name": "S1", "status": "active", "capacity": {"engineering": override}}})
    verdicts = []
    for n, agent in enumerate(["fullstack-eng", "fullstack-eng", "tech-lead", "tech-lead"], 1):
        verdicts.append(feed(pre(project, f"toolu_{n}", agent, f"[task:t{n}] go")))
        feed(start(project, f"agent-{n}", agent))
    assert [type(v) for v in verdicts] == [Rewrite] * override + [Deny] * (4 - override)
    agents = "1 agent" if override == 1 else f"{override} agents"
    assert f"team engineering is at {agents} at once, the capacity sprint s1 gives it" in verdicts[-1].reason


def test_a_member_on_leave_takes_no_delegation_and_is_told_why(project: Path) -> None:
    """`capacity: 0` in teams.yaml (on leave) was refused by the schema; now the real hook denies the member
    any delegation, saying it takes no work and what to do instead."""
    write_teams(project)
    (project / ".claude/teams.yaml").write_text((project / ".claude/teams.yaml").read_text().replace(
        "{name: api-engineer, role: team_member, capacity: 1}", "{name: api-engineer, role: team_member, capacity: 0}"))
    seed(project, tasks("t1", "t2"))
    verdict = _pre_agent(project, "toolu_1", "api-engineer", "[task:t1] go")
    assert verdict.get("permissionDecision") == "deny", verdict
    reason = verdict["permissionDecisionReason"]
    assert "api-engineer takes no work (capacity 0 in teams.yaml" in reason
    assert "Delegate to another member of team engineering, or set its capacity above 0" in reason
    assert _pre_agent(project, "toolu_2", "fullstack-eng", "[task:t2] go").get("permissionDecision") != "deny"


def test_a_team_a_sprint_gives_capacity_0_takes_none_of_its_work(project: Path) -> None:
    """`capacity: {engineering: 0}` in a sprint file: the team takes no work that sprint; the gate says so."""
    write_teams(project)
    seed(project, tasks("t1", sprint="s1") | tasks("q1", sprint="s1"),
         {"s1": {"name": "S1", "status": "active", "capacity": {"engineering": 0}}})
    verdict = _pre_agent(project, "toolu_1", "fullstack-eng", "[task:t1] go")
    assert verdict.get("permissionDecision") == "deny", verdict
    assert ("team engineering takes no work in sprint s1 (capacity {engineering: 0} in its sprint file)"
            in verdict["permissionDecisionReason"])
    assert _pre_agent(project, "toolu_2", "test-engineer", "[task:q1] go").get("permissionDecision") != "deny"


def test_capacity_gate_off_lets_everything_through(project: Path) -> None:
    write_teams(project, "lifecycle:\n  gates: {capacity: false}\n")
    seed(project, tasks("t1", "t2", "t3"))
    for i in (1, 2, 3):
        assert isinstance(feed(pre(project, f"toolu_{i}", "api-engineer", f"[task:t{i}] go")), Rewrite)


ON_LEAVE = ("member", "team")


def _agent_file(project: Path, name: str) -> None:
    """The member's agent file, so `task delegate` warns of nothing else."""
    path = project / ".claude/agents/engineering" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\nname: {name}\ndescription: builds it\n---\nBuild it.\n", encoding="utf-8")


def _on_leave(project: Path, who: str, gate: bool) -> None:
    """Task t1 goes to nobody while the capacity gate is on: its assignee has `capacity: 0` (on leave), or
    its sprint gives its team capacity 0."""
    write_teams(project, "" if gate else "lifecycle:\n  gates: {capacity: false}\n")
    _agent_file(project, "api-engineer")
    if who == "member":
        (project / ".claude/teams.yaml").write_text((project / ".claude/teams.yaml").read_text().replace(
            "{name: api-engineer, role: team_member, capacity: 1}", "{name: api-engineer, role: team_member, capacity: 0}"))
        seed(project, tasks("t1", team="engineering", assignee="api-engineer"))
    else:
        seed(project, tasks("t1", sprint="s1", team="engineering", assignee="api-engineer"),
             {"s1": {"name": "S1", "status": "active", "tasks": ["t1"], "capacity": {"engineering": 0}}})


@pytest.mark.parametrize("who", ON_LEAVE)
@pytest.mark.parametrize("gate", [True, False])
def test_task_delegate_and_the_hook_agree_on_work_nobody_takes(project: Path, who: str, gate: bool) -> None:
    """`orchestra task delegate` (and delegate_task) refuse exactly what the hook denies: with the capacity gate
    off, a member on leave or a team at capacity 0 gets the work from both, and the command warns that it takes
    no work; with the gate on, both refuse, saying why."""
    from tests.unit.test_lifecycle_cli import orchestra

    _on_leave(project, who, gate)
    handed = orchestra(project, "task", "delegate", "t1")
    verdict = _pre_agent(project, "toolu_1", "api-engineer", "[task:t1] go")
    why = ("api-engineer, who takes no work (capacity 0 in teams.yaml, e.g. on leave)" if who == "member"
           else "team engineering takes no work in sprint s1 (capacity {engineering: 0} in its sprint file)")
    if gate:
        assert verdict.get("permissionDecision") == "deny", verdict
        assert handed.returncode == 1 and handed.stdout == "", handed.stdout
        assert why in handed.stderr, handed.stderr
    else:
        assert verdict.get("permissionDecision") != "deny", verdict
        assert handed.returncode == 0, handed.stderr
        assert 'subagent_type: api-engineer' in handed.stdout and "[task:t1]" in handed.stdout
        [warning] = handed.stderr.splitlines()
        assert warning.startswith("orchestra task delegate: warning: ") and why in warning, warning
        assert "the capacity gate is off (`gates: {capacity: false}` in teams.yaml)" in warning, warning


def test_auto_assign_passes_over_a_member_on_leave_with_the_gate_off(project: Path) -> None:
    """Turning the gate off lets a delegation named to a member on leave through; picking a member for work
    that names nobody still passes over one on leave, as it does with the gate on."""
    from tests.unit.test_lifecycle_cli import ok_json, orchestra

    write_teams(project, "lifecycle:\n  gates: {capacity: false}\n")
    (project / ".claude/teams.yaml").write_text((project / ".claude/teams.yaml").read_text().replace(
        "{name: fullstack-eng, role: team_member, capacity: 3}", "{name: fullstack-eng, role: team_member, capacity: 0}"))
    _agent_file(project, "api-engineer")
    seed(project, tasks("t1", team="engineering"))
    handed = orchestra(project, "task", "delegate", "t1", "--json")
    assert ok_json(handed)["subagent_type"] == "api-engineer" and handed.stderr == "", handed.stderr


def test_types_outside_the_teams_have_no_capacity(project: Path) -> None:
    write_teams(project)
    for i in range(4):
        assert isinstance(feed(pre(project, f"toolu_{i}", "Explore", f"look at part {i}")), Rewrite)


# -- dependencies ------------------------------------------------------------------------------------

def test_unfinished_dependencies_are_named(project: Path) -> None:
    write_teams(project)
    seed(project, {**tasks("a"), **tasks("b", status="in_progress", agent_id="agent-9"),
                   "c": {"title": "c", "dependencies": ["a", "b", "ghost"]}})
    verdict = feed(pre(project, "toolu_1", "fullstack-eng", "[task:c] build"))
    assert isinstance(verdict, Deny)
    assert "a (queued)" in verdict.reason and "b (in_progress, agent agent-9)" in verdict.reason
    assert "ghost (not in state)" in verdict.reason
    assert digest()["delegations"] == {}


def test_a_dependency_that_can_never_finish_is_named_with_the_command_that_mends_it(project: Path) -> None:
    """Delegating a missing task first, or the task itself, cannot be done: the denial says to fix the list."""
    write_teams(project)
    seed(project, {**tasks("a"), "c": {"title": "c", "dependencies": ["a", "ghost", "c"]}})
    verdict = feed(pre(project, "toolu_1", "fullstack-eng", "[task:c] build"))
    assert isinstance(verdict, Deny)
    assert "ghost (not in state)" in verdict.reason and "c (the task itself)" in verdict.reason
    assert "orchestra state set tasks.c.dependencies '[\"a\"]'" in verdict.reason
    assert "a (queued)" in verdict.reason and "Delegate those first" not in verdict.reason


def test_a_dependency_cycle_written_into_state_is_named_instead_of_delegate_those_first(project: Path) -> None:
    write_teams(project)
    seed(project, {"a": {"title": "a", "dependencies": ["c"]}, "b": {"title": "b", "dependencies": ["a"]},
                   "c": {"title": "c", "dependencies": ["b"]}})
    verdict = feed(pre(project, "toolu_1", "fullstack-eng", "[task:c] build"))
    assert isinstance(verdict, Deny)
    assert "dependency cycle: c waits on b, b waits on a, a waits on c" in verdict.reason
    assert "orchestra state set tasks.c.dependencies '[]'" in verdict.reason
    assert "Delegate those first" not in verdict.reason


def test_completed_dependencies_open_the_task_and_reach_its_brief(project: Path) -> None:
    write_teams(project)
    seed(project, {**tasks("a", status="completed", artifacts=["db/schema.sql"]),
                   "c": {"title": "c", "dependencies": ["a"]}})
    verdict = feed(pre(project, "toolu_1", "fullstack-eng", "[task:c] build"))
    assert isinstance(verdict, Rewrite)
    assert "- a a: db/schema.sql" in verdict.tool_input["prompt"]


def test_a_cancelled_dependency_lets_the_task_the_plan_calls_ready_be_delegated(project: Path) -> None:
    """The plan counts cancelled work as finished and hands out the dependent's Agent arguments; the gate
    must not refuse exactly those arguments."""
    from orchestra.workflow import plan_sprint

    write_teams(project)
    seed(project, {**tasks("a", status="cancelled", sprint="s1"),
                   "c": {"title": "c", "sprint": "s1", "team": "engineering", "assignee": "fullstack-eng",
                         "dependencies": ["a"]}},
         {"s1": {"name": "S1", "status": "active"}})
    with open_store(root=project) as store:
        [item] = plan_sprint(store, "s1", project)["batches"][0]["tasks"]
    assert item["id"] == "c" and item["agent"]
    event = pre(project, "toolu_1", item["agent"]["subagent_type"], item["agent"]["prompt"])
    assert isinstance(feed(event), Rewrite)


def test_dependency_gate_off(project: Path) -> None:
    write_teams(project, "lifecycle:\n  gates: {dependencies: false}\n")
    seed(project, {**tasks("a"), "c": {"title": "c", "dependencies": ["a"]}})
    assert isinstance(feed(pre(project, "toolu_1", "fullstack-eng", "[task:c] build")), Rewrite)


@pytest.mark.parametrize(("status", "hint"), [("planning", "start it first (`orchestra sprint start s1`)"),
                                              ("review", "it is in review; reopen it or move the task")])
def test_task_delegate_hands_out_no_arguments_for_a_sprint_not_running(project: Path, status: str, hint: str) -> None:
    """A sprint reopened to planning, or under review, runs no work: `task delegate` says so, as the gate does."""
    from tests.unit.test_lifecycle_cli import orchestra

    write_teams(project)
    seed(project, tasks("t1", sprint="s1", team="engineering", assignee="fullstack-eng"),
         {"s1": {"name": "S1", "status": status, "tasks": ["t1"]}})
    handed = orchestra(project, "task", "delegate", "t1")
    assert handed.returncode == 1 and handed.stdout == "", handed.stdout
    assert f"task t1 belongs to sprint s1, which is {status}: {hint}" in handed.stderr, handed.stderr
    verdict = feed(pre(project, "toolu_1", "fullstack-eng", "[task:t1] do it"))
    assert isinstance(verdict, Deny) and f"task t1 belongs to sprint s1, which is {status}: {hint}" in verdict.reason


@pytest.mark.parametrize("gate", [True, False])
def test_task_delegate_hands_out_no_arguments_the_dependency_gate_refuses(project: Path, gate: bool) -> None:
    """`orchestra task delegate` (/task:delegate) and delegate_task print ready Agent arguments: for a task
    whose dependencies are unfinished they say why instead, as the gate would."""
    from tests.unit.test_lifecycle_cli import orchestra

    write_teams(project, "" if gate else "lifecycle:\n  gates: {dependencies: false}\n")
    seed(project, {**tasks("a"), **tasks("b", status="cancelled"),
                   "c": {"title": "c", "team": "engineering", "assignee": "fullstack-eng", "dependencies": ["a", "b"]}})
    handed = orchestra(project, "task", "delegate", "c")
    if gate:
        assert handed.returncode == 1 and handed.stdout == "", handed.stdout
        assert "task c depends on unfinished work: a (queued). Delegate those first" in handed.stderr, handed.stderr
    else:
        assert handed.returncode == 0 and "[task:c]" in handed.stdout, handed.stderr
    with open_store(root=project) as store, store.transaction() as tx:
        tx.update("tasks.a", {"status": "completed"})
    assert orchestra(project, "task", "delegate", "c").returncode == 0


# -- false completion --------------------------------------------------------------------------------

def delegated(project: Path, task: str = "t1", agent: str = "fullstack-eng", extra: str = "", **fields) -> str:
    write_teams(project, extra)
    seed(project, {task: {"title": task, **fields}})
    delegate_and_start(project, "toolu_1", "agent-1", agent, task)
    return f"[task:{task}] do it"


def test_a_completed_claim_with_a_written_file_completes(project: Path) -> None:
    prompt = delegated(project)
    verdict = feed(stop(project, "agent-1", "fullstack-eng", "Done. STATUS: completed", writes=["src/x.py"],
                        prompt=prompt))
    assert isinstance(verdict, Allow)
    task = digest()["tasks"]["t1"]
    assert task["status"] == "completed" and task["artifacts"] == ["src/x.py"]


def test_no_artifacts_pushes_back_once_then_needs_review_and_tells_the_orchestrator(project: Path) -> None:
    prompt = delegated(project)
    first = feed(stop(project, "agent-1", "fullstack-eng", "All done. STATUS: completed", prompt=prompt))
    assert isinstance(first, BlockStop) and "no artifacts" in first.reason and "STATUS: blocked" in first.reason
    assert digest()["tasks"]["t1"]["status"] == "in_progress"
    second = feed(stop(project, "agent-1", "fullstack-eng", "Really done. STATUS: completed", prompt=prompt,
                       active=True))
    assert isinstance(second, Allow)
    state = digest()
    assert state["tasks"]["t1"]["status"] == "needs_review"
    assert state["tasks"]["t1"]["review_reason"].startswith("completion not verified: no artifacts")
    (message,) = state["messages"].values()
    assert (message["to"], message["type"], message["priority"]) == (f"main:{SESSION}", "task_blocked", "high")
    assert message["payload"]["status"] == "needs_review"


def test_stop_hook_active_never_loops(project: Path) -> None:
    prompt = delegated(project)
    verdict = feed(stop(project, "agent-1", "fullstack-eng", "STATUS: completed", prompt=prompt, active=True))
    assert isinstance(verdict, Allow)
    assert digest()["tasks"]["t1"]["status"] == "needs_review"


def test_listed_artifacts_count_only_when_they_exist(project: Path) -> None:
    prompt = delegated(project)
    missing = feed(stop(project, "agent-1", "fullstack-eng", "STATUS: completed\nARTIFACTS: docs/ghost.md",
                        prompt=prompt))
    assert isinstance(missing, BlockStop) and "listed but missing: docs/ghost.md" in missing.reason
    (project / "docs").mkdir()
    (project / "docs/ghost.md").write_text("now real\n")
    present = feed(stop(project, "agent-1", "fullstack-eng", "Wrote it.\nSTATUS: completed\nARTIFACTS: docs/ghost.md",
                        prompt=prompt, active=True))
    assert isinstance(present, Allow)
    assert digest()["tasks"]["t1"]["artifacts"] == ["docs/ghost.md"]


def test_a_missing_status_line_is_pushed_back_on_file_tasks(project: Path) -> None:
    prompt = delegated(project)
    verdict = feed(stop(project, "agent-1", "fullstack-eng", "I wrote the code.", writes=["a.py"], prompt=prompt))
    assert isinstance(verdict, BlockStop) and "no STATUS line" in verdict.reason


def test_report_only_types_are_judged_by_the_report(project: Path) -> None:
    prompt = delegated(project, agent="tech-lead", type="research")
    verdict = feed(stop(project, "agent-1", "tech-lead", "Found three options; B is best.", prompt=prompt))
    assert isinstance(verdict, Allow)
    assert digest()["tasks"]["t1"]["status"] == "completed"


def test_an_empty_report_on_a_report_only_task_is_pushed_back(project: Path) -> None:
    prompt = delegated(project, agent="tech-lead", type="review")
    assert isinstance(feed(stop(project, "agent-1", "tech-lead", "STATUS: completed", prompt=prompt)), BlockStop)


def test_report_only_types_are_configurable(project: Path) -> None:
    prompt = delegated(project, agent="tech-lead", type="research", extra="lifecycle: {report_only_types: [docs]}\n")
    verdict = feed(stop(project, "agent-1", "tech-lead", "Found three options. STATUS: completed", prompt=prompt))
    assert isinstance(verdict, BlockStop)


def test_acceptance_command_failing_pushes_back_with_its_output(project: Path) -> None:
    prompt = delegated(project, acceptance={"command": "echo 2 tests failed; exit 3"})
    verdict = feed(stop(project, "agent-1", "fullstack-eng", "STATUS: completed", writes=["a.py"], prompt=prompt))
    assert isinstance(verdict, BlockStop)
    assert "exited 3: 2 tests failed" in verdict.reason


def test_acceptance_command_passing_completes(project: Path) -> None:
    prompt = delegated(project, acceptance={"command": "test -d .git"})
    verdict = feed(stop(project, "agent-1", "fullstack-eng", "STATUS: completed", writes=["a.py"], prompt=prompt))
    assert isinstance(verdict, Allow) and digest()["tasks"]["t1"]["status"] == "completed"


def test_a_change_in_the_task_worktree_is_evidence(project: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "work tree"
    subprocess.run(["git", "init", "-q", str(worktree)], check=True)
    prompt = delegated(project, worktree=str(worktree))
    clean = feed(stop(project, "agent-1", "fullstack-eng", "STATUS: completed", prompt=prompt))
    assert isinstance(clean, BlockStop) and "its worktree has no change" in clean.reason
    (worktree / "feature.py").write_text("x = 1\n")
    changed = feed(stop(project, "agent-1", "fullstack-eng", "Added it. STATUS: completed", prompt=prompt,
                        active=True))
    assert isinstance(changed, Allow) and digest()["tasks"]["t1"]["status"] == "completed"


def test_false_completion_gate_off_accepts_the_claim(project: Path) -> None:
    prompt = delegated(project, extra="lifecycle:\n  gates: {false_completion: false}\n")
    assert isinstance(feed(stop(project, "agent-1", "fullstack-eng", "STATUS: completed", prompt=prompt)), Allow)
    assert digest()["tasks"]["t1"]["status"] == "completed"


def test_blocked_report_blocks_the_task_and_tells_the_parent_why(project: Path) -> None:
    prompt = delegated(project)
    verdict = feed(stop(project, "agent-1", "fullstack-eng", "STATUS: blocked\nBLOCKER: no API key for the sandbox",
                        prompt=prompt))
    assert isinstance(verdict, Allow)
    state = digest()
    assert state["tasks"]["t1"]["status"] == "blocked"
    assert state["tasks"]["t1"]["blocker"] == "no API key for the sandbox"
    (message,) = state["messages"].values()
    assert message["type"] == "task_blocked" and message["payload"]["reason"] == "no API key for the sandbox"


@pytest.mark.parametrize("message, writes, expected", [
    ("STATUS: completed", ["a.py"], {}),
    ("STATUS: completed", [], "block"),
])
def test_the_gate_through_the_real_hook_script(project: Path, message: str, writes: list[str], expected) -> None:
    prompt = delegated(project)
    proc = run_hook("subagent_stop.py", stop(project, "agent-1", "fullstack-eng", message, writes=writes,
                                             prompt=prompt), project)
    assert proc.returncode == 0, proc.stderr
    out = hook_output(proc)
    assert out == expected if expected == {} else out["decision"] == expected


@pytest.mark.parametrize("task_type, agent, message, writes, status, blocker", [
    # a blocked report in a Markdown table or under headings is a blocked task, on any task type
    ("research", "tech-lead", "Report:\n\n| Field | Value |\n|---|---|\n| Status | blocked |\n| Blocker | no wiki access |",
     [], "blocked", "no wiki access"),
    ("implementation", "fullstack-eng", "I tried.\n\n## Status\n\nBlocked\n\n## Blocker\n\nThe API key is missing.",
     [], "blocked", "The API key is missing."),
    # the real STATUS line, then the protocol restated: the template is no claim of completion
    ("implementation", "fullstack-eng",
     "STATUS: blocked\nBLOCKER: the tests need a database\n\n(Protocol: STATUS: completed|blocked|needs_review)",
     ["a.py"], "blocked", "the tests need a database"),
    ("implementation", "fullstack-eng", "STATUS: failed\nThe build does not compile.", ["a.py"], "blocked",
     "The build does not compile."),
    # completions written another way are accepted without a push-back
    ("implementation", "fullstack-eng", "All finished.\n\n**Status:** Done", ["a.py"], "completed", None),
    ("implementation", "fullstack-eng", "## Status\ncompleted\n\n## Artifacts\n- `docs/b.md`", [], "completed", None),
])
def test_reports_as_models_write_them_through_the_real_hook(project: Path, task_type: str, agent: str, message: str,
                                                            writes: list[str], status: str, blocker) -> None:
    prompt = delegated(project, agent=agent, type=task_type)
    (project / "docs").mkdir()
    (project / "docs/b.md").write_text("b\n")
    proc = run_hook("subagent_stop.py", stop(project, "agent-1", agent, message, writes=writes, prompt=prompt), project)
    assert proc.returncode == 0, proc.stderr
    assert hook_output(proc) == {}  # no push-back
    task = digest()["tasks"]["t1"]
    assert (task["status"], task.get("blocker")) == (status, blocker)


def test_a_blocker_on_a_completed_report_reaches_the_orchestrator(project: Path) -> None:
    prompt = delegated(project)
    message = "Implemented the endpoint.\nSTATUS: completed\nBLOCKER: the integration tests did not run (no database)"
    assert isinstance(feed(stop(project, "agent-1", "fullstack-eng", message, writes=["src/x.py"], prompt=prompt)), Allow)
    state = digest()
    assert state["tasks"]["t1"]["status"] == "completed"
    (sent,) = state["messages"].values()
    assert sent["type"] == "task_completed"
    assert sent["payload"]["blocker"] == "the integration tests did not run (no database)"


def test_an_empty_last_message_takes_the_report_from_the_transcript(project: Path) -> None:
    prompt = delegated(project)
    event = stop(project, "agent-1", "fullstack-eng", "Wrote it.\nSTATUS: completed\nARTIFACTS: src/x.py",
                 writes=["src/x.py"], prompt=prompt)
    event["last_assistant_message"] = ""
    proc = run_hook("subagent_stop.py", event, project)
    assert proc.returncode == 0, proc.stderr
    assert hook_output(proc) == {}
    assert digest()["tasks"]["t1"]["status"] == "completed"


def test_an_unfinished_status_is_pushed_back_even_on_report_only_tasks(project: Path) -> None:
    prompt = delegated(project, agent="tech-lead", type="research")
    first = feed(stop(project, "agent-1", "tech-lead", "Looked at two options so far.\nSTATUS: in progress",
                      prompt=prompt))
    assert isinstance(first, BlockStop) and "its STATUS says `in progress`" in first.reason
    second = feed(stop(project, "agent-1", "tech-lead", "Still looking.\nSTATUS: pending", prompt=prompt, active=True))
    assert isinstance(second, Allow)
    assert digest()["tasks"]["t1"]["status"] == "needs_review"


def test_an_unknown_status_is_named_in_the_push_back(project: Path) -> None:
    prompt = delegated(project)
    verdict = feed(stop(project, "agent-1", "fullstack-eng", "STATUS: ok", writes=["a.py"], prompt=prompt))
    assert isinstance(verdict, BlockStop)
    assert "its STATUS `ok` is not one of completed, blocked, needs_review" in verdict.reason


def test_a_listed_artifact_outside_the_project_is_no_evidence(project: Path, tmp_path: Path) -> None:
    prompt = delegated(project)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("old\n")
    verdict = feed(stop(project, "agent-1", "fullstack-eng", f"STATUS: completed\nARTIFACTS: {outside}, ../elsewhere.txt",
                        prompt=prompt))
    assert isinstance(verdict, BlockStop)
    assert f"{outside} (outside the project), ../elsewhere.txt (outside the project)" in verdict.reason
    (project / "inside.txt").write_text("new\n")
    inside = feed(stop(project, "agent-1", "fullstack-eng", f"STATUS: completed\nARTIFACTS: {project / 'inside.txt'}",
                       prompt=prompt, active=True))
    assert isinstance(inside, Allow)
    assert digest()["tasks"]["t1"]["artifacts"] == ["inside.txt"]


# -- sprint state ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sprint_status", "allowed"), [
    ("planning", False), ("ready", False), ("active", True), ("blocked", True), ("review", False),
    ("complete", False)])
def test_a_sprint_task_is_delegated_only_while_its_sprint_runs(project: Path, sprint_status: str,
                                                              allowed: bool) -> None:
    """A sprint that blocked itself (every remaining task waits on a blocker) still runs work: resolving a
    blocker is how it goes on. A sprint blocked by hand is another matter (below)."""
    write_teams(project)
    history = [{"from": "active", "to": "blocked", "reason": STUCK}] if sprint_status == "blocked" else []
    seed(project, tasks("t1", sprint="s1"), {"s1": {"name": "S1", "status": sprint_status, "history": history}})
    verdict = feed(pre(project, "toolu_1", "fullstack-eng", "[task:t1] do it"))
    if allowed:
        assert isinstance(verdict, Rewrite)
        assert digest()["tasks"]["t1"]["status"] == "assigned"
    else:
        assert isinstance(verdict, Deny) and f"sprint s1, which is {sprint_status}" in verdict.reason
        assert digest()["tasks"]["t1"]["status"] == "queued"


def _pre_agent(project: Path, use: str, agent_type: str, prompt: str) -> dict:
    """The real PreToolUse hook script's answer."""
    proc = run_hook("pre_agent.py", pre(project, use, agent_type, prompt), project)
    assert proc.returncode == 0, proc.stderr
    return hook_output(proc).get("hookSpecificOutput") or {}


def test_a_task_of_a_sprint_loaded_but_not_started_is_refused_saying_to_start_the_sprint(project: Path) -> None:
    """The tasks of a loaded sprint enter state when it starts: a delegation of one before then was refused as
    naming no task at all, with advice to create it or to drop the tag."""
    from tests.unit.test_lifecycle_cli import orchestra

    write_teams(project)
    (project / ".claude/sprints").mkdir()
    (project / ".claude/sprints/s9.yaml").write_text(
        "tasks:\n  - {id: t9, title: T9, team: engineering}\n", encoding="utf-8")
    assert orchestra(project, "sprint", "load", "s9").returncode == 0
    out = _pre_agent(project, "toolu_1", "fullstack-eng", "[task:t9] do it")
    assert out.get("permissionDecision") == "deny", out
    assert out["permissionDecisionReason"] == (
        "Orchestra: task t9 is in the file of sprint s9, which is ready, not running: its tasks enter "
        "state when it starts (`orchestra sprint start s9`).")
    out = _pre_agent(project, "toolu_2", "fullstack-eng", "[task:t8] do it")  # in no sprint: as before
    assert "[task:t8] names no task or sprint in state" in out["permissionDecisionReason"]
    ready_args = orchestra(project, "task", "delegate", "t9")  # what /task:delegate and delegate_task say
    assert ready_args.returncode == 1 and "task t9 is in the file of sprint s9, which is ready, not running" in \
        ready_args.stderr, ready_args.stderr


def test_a_sprint_blocked_by_hand_starts_no_new_work_until_it_is_unblocked(project: Path) -> None:
    """`orchestra sprint block` is a person's decision: no task of the sprint, nor its orchestration, is delegated
    until `orchestra sprint unblock`; the work already running finishes."""
    from tests.unit.test_lifecycle_cli import ok_json, orchestra

    write_teams(project)
    seed(project, tasks("t1", "t2", sprint="s1"),
         {"s1": {"name": "S1", "status": "active", "tasks": ["t1", "t2"], "started_at": "2026-12-01T00:00:00Z",
                 "team_assignments": {"engineering": ["t1", "t2"]}}})
    delegate_and_start(project, "toolu_1", "agent-1", "fullstack-eng", "t1")
    blocked = orchestra(project, "sprint", "block", "s1", "the vendor's API keys are not issued yet")
    assert blocked.returncode == 0, blocked.stderr
    for use, agent, prompt in [("toolu_2", "api-engineer", "[task:t2] do it"),
                               ("toolu_3", "engineering-orchestrator", "[task:s1] run the sprint"),
                               ("toolu_4", "engineering-orchestrator", "Run sprint s1 for the engineering team")]:
        out = _pre_agent(project, use, agent, prompt)
        assert out.get("permissionDecision") == "deny", (prompt, out)
        reason = out["permissionDecisionReason"]
        assert "sprint s1 was blocked by hand (`orchestra sprint block`" in reason, reason
        assert "the vendor's API keys are not issued yet" in reason and "`orchestra sprint unblock s1`" in reason
    state = digest()
    assert state["tasks"]["t2"]["status"] == "queued" and "toolu_2" not in state["delegations"]
    assert not [t for t in state["tasks"].values() if t.get("type") == "orchestration"]
    plan = ok_json(orchestra(project, "sprint", "plan", "s1", "--json"))
    assert plan["hold"]["reason"] == "the vendor's API keys are not issued yet"
    rows = {t["id"]: t for b in plan["batches"] for t in b["tasks"]}
    assert rows["t2"]["agent"] is None and "blocked by hand" in rows["t2"]["not_now"]
    assert rows["t1"]["not_now"] == "in_progress: agent agent-1 (fullstack-eng)"  # running work goes on
    text = orchestra(project, "sprint", "start", "s1").stdout  # what /sprint:start shows when resuming
    assert "delegate now: nothing (blocked by hand: the vendor's API keys are not issued yet" in text, text
    status = orchestra(project, "sprint", "status", "s1").stdout  # nothing is ready to start while it is blocked
    assert "\nready once unblocked: t2; running: t1 by agent agent-1 (fullstack-eng)\n" in status, status
    assert "engineering: t2" not in text
    ready_args = orchestra(project, "task", "delegate", "t2")  # what /task:delegate and delegate_task hand out
    assert ready_args.returncode == 1 and "task t2 is not to be delegated now: sprint s1 was blocked by hand" in \
        ready_args.stderr, ready_args.stderr
    (project / "api.py").write_text("x")
    feed(stop(project, "agent-1", "fullstack-eng", "STATUS: completed\nARTIFACTS: api.py", prompt="[task:t1] do it"))
    assert digest()["tasks"]["t1"]["status"] == "completed"
    assert orchestra(project, "sprint", "unblock", "s1").returncode == 0
    assert _pre_agent(project, "toolu_5", "api-engineer", "[task:t2] do it").get("permissionDecision") != "deny"
    assert digest()["tasks"]["t2"]["status"] == "assigned"


def test_a_sprint_whose_members_all_reported_blocked_blocks_itself_and_says_all_its_work_is_blocked(
        project: Path) -> None:
    """A sprint whose runs all reported STATUS: blocked blocks itself, as `task set-status` would leave it (not by
    hand: no hold), and `sprint status` says plainly that nothing can go on until a blocker is resolved."""
    from tests.unit.test_lifecycle_cli import ok_json, orchestra

    write_teams(project)
    seed(project, {**tasks("t1", "t2", sprint="s1"), "t3": {"title": "t3", "sprint": "s1", "dependencies": ["t1"]}},
         {"s1": {"name": "S1", "status": "active", "tasks": ["t1", "t2", "t3"],
                 "started_at": "2026-12-01T00:00:00Z"}})
    for n, task, why in [(1, "t1", "no sandbox key"), (2, "t2", "the design is not signed off")]:
        delegate_and_start(project, f"toolu_{n}", f"agent-{n}", "fullstack-eng", task)
        feed(stop(project, f"agent-{n}", "fullstack-eng", f"STATUS: blocked\nBLOCKER: {why}", prompt=f"[task:{task}] do it"))
    status = ok_json(orchestra(project, "sprint", "status", "s1", "--json"))
    assert status["status"] == "blocked" and status["hold"] is None
    text = orchestra(project, "sprint", "status", "s1").stdout
    assert "every remaining task waits on a blocker (blocked: t1, t2): nothing starts until one is resolved" in text
    assert "blocked: t1: no sandbox key" in text and "blocked: t2: the design is not signed off" in text


def test_untagged_delegations_leave_the_sprints_committed_points_alone(project: Path) -> None:
    """/sprint:start delegates to orchestrators without a tag, and orchestrators delegate reviews without
    one: the orchestrator's run is not work of the sprint, and unplanned work is listed at 0 points."""
    from orchestra.workflow import sprint_status

    write_teams(project)
    seed(project, tasks("t1", sprint="s1", estimate=2), {"s1": {"name": "S1", "status": "active",
                                                               "team_assignments": {"engineering": ["t1"]}}})
    assert isinstance(feed(pre(project, "toolu_0", "engineering-orchestrator", "Run sprint s1")), Rewrite)
    assert isinstance(feed(pre(project, "toolu_1", "fullstack-eng", "Fix the typo")), Rewrite)
    by_type = {t["type"]: t for t in digest()["tasks"].values() if t.get("ad_hoc")}
    assert by_type["orchestration"]["orchestrates"] == "s1" and by_type["orchestration"]["sprint"] is None
    assert by_type["implementation"]["sprint"] == "s1"  # untagged member work is unplanned sprint work
    with open_store(root=project) as store:
        status = sprint_status(store, "s1", project)
    assert sorted(t["id"] for t in status["tasks"]) == sorted(["t1", by_type["implementation"]["id"]])
    assert status["points"]["total"] == 2  # unplanned work adds no committed points


def test_an_untagged_orchestrator_runs_the_active_sprint_its_prompt_names(project: Path) -> None:
    """Two active sprints of one team: /sprint:start's delegation names which one its orchestrator runs."""
    write_teams(project)
    both = {"engineering": ["t1"]}
    seed(project, tasks("t1", sprint="s1"), {"s1": {"name": "S1", "status": "active", "team_assignments": both},
                                            "s2": {"name": "S2", "status": "active", "team_assignments": both}})
    assert isinstance(feed(pre(project, "toolu_0", "engineering-orchestrator", "Run sprint s2 for the team.")), Rewrite)
    [run] = [t for t in digest()["tasks"].values() if t.get("ad_hoc")]
    assert run["orchestrates"] == "s2"
