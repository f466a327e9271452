"""Team settings the lifecycle enforces: `require_review` (a member's completed work waits for a reviewer)
and `auto_assign` (whether delegation picks a member for an unassigned task).

The captured 2.1.328 nested delegation runs through the real hook scripts; status changes go through
`lifecycle.set_status` (the code the MCP tool update_task and the CLI share) and the real CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orchestra import bus
from orchestra.hookio import BlockStop, Deny, Rewrite
from orchestra.lifecycle import Unassigned, Unchanged, delegation_arguments, set_status
from orchestra.store import open_store
from orchestra.teams import load as load_teams

from tests.conftest import run_hook
from tests.hooks.test_delegation import TEAMS, digest, feed, fixture_events, run_captured, seed, seed_sprint3
from tests.hooks.test_gates import pre, stop
from tests.unit.test_lifecycle_cli import ok_json, orchestra

MEMBER, ORCHESTRATOR = "a48f3f9b44540da36", "a95aee35bef91164f"  # runs of the captured nested delegation


def write_settings(project: Path, engineering: str, qa: str = "") -> None:
    text = TEAMS.replace("settings: {max_parallel_agents: 5}", f"settings: {{max_parallel_agents: 5, {engineering}}}")
    if qa:
        text += f"    settings: {{{qa}}}\n"
    (project / ".claude" / "teams.yaml").write_text(text, encoding="utf-8")


def seed_run(project: Path, agent_id: str, agent_type: str, role: str) -> None:
    with open_store(root=project) as store, store.transaction() as tx:
        tx.set(f"agents.{agent_id}", {"id": agent_id, "agent_type": agent_type, "role": role, "status": "active"})


def change(project: Path, task_id: str, status: str, by: str, **options) -> dict:
    """What the MCP tool update_task does: `set_status` with the caller's id (it loads teams.yaml itself)."""
    with open_store(root=project) as store, store.transaction() as tx:
        return set_status(tx, task_id, status, by=by, **options)


def messages(project: Path, type: str) -> list[dict]:
    with open_store(root=project) as store:
        found = store.export()["communication"]["messages"].values()
    return sorted((m for m in found if m["type"] == type), key=lambda m: m["seq"])


def in_review_team(project: Path, reviewer: bool = True, **task) -> None:
    """A `require_review: true` team whose task t1 is in progress for fullstack-eng, worked by run m1 and,
    unless told otherwise, reviewed by run r1 (tech-lead)."""
    write_settings(project, "require_review: true")
    seed(project, {"t1": {"title": "Refunds", "team": "engineering", "status": "in_progress",
                          "assignee": "fullstack-eng", **task}})
    seed_run(project, "m1", "fullstack-eng", "team_member")
    if reviewer:
        seed_run(project, "r1", "tech-lead", "reviewer")


# -- require_review: a member's SubagentStop -------------------------------------------------------------

def test_member_report_of_a_reviewed_team_waits_for_its_reviewer(project: Path) -> None:
    write_settings(project, "require_review: true")
    seed_sprint3(project)
    run_captured("nested-delegation.jsonl", project)
    state = digest(root=project)
    task = state["tasks"]["task-3"]
    assert state["agents"][MEMBER]["status"] == "completed"  # the run did finish; its task waits
    assert task["status"] == "needs_review" and "awaiting review by tech-lead" in task["review_reason"]
    [request] = messages(project, "review_request")
    assert (request["from"], request["to"], request["task"]) == ("fullstack-eng", "tech-lead", "task-3")
    assert request["payload"]["artifacts"] == ["src/auth/oauth.ts"] and "[task:task-3]" in request["payload"]["summary"]
    assert task["review_requests"] == [request["id"]]
    # the orchestrator's own task is not reviewed, and it is told its member's task is in review
    assert state["tasks"]["orchestrate-sprint-3"]["status"] == "completed"
    told = next(m for m in messages(project, "task_completed") if m["task"] == "task-3")
    assert told["to"] == f"agent:{ORCHESTRATOR}" and told["payload"]["task_status"] == "needs_review"


def test_a_replayed_stop_after_the_verdict_changes_nothing(project: Path) -> None:
    write_settings(project, "require_review: true")
    seed_sprint3(project)
    run_captured("nested-delegation.jsonl", project)
    seed_run(project, "rev-1", "tech-lead", "reviewer")
    assert change(project, "task-3", "completed", "agent:rev-1")["status"] == "completed"
    member_stop = next(e for e in fixture_events("nested-delegation.jsonl", project)
                       if e["hook_event_name"] == "SubagentStop" and e["agent_id"] == MEMBER)
    assert run_hook("subagent_stop.py", member_stop, project).returncode == 0
    assert digest(root=project)["tasks"]["task-3"]["status"] == "completed"
    assert len(messages(project, "review_request")) == 1


def test_a_team_without_a_reviewer_asks_its_orchestrator(project: Path) -> None:
    write_settings(project, "require_review: false", qa="require_review: true")
    seed(project, {"t-qa": {"title": "Regression suite", "team": "qa", "type": "test"}})
    seed_run(project, "m-qa", "test-engineer", "team_member")
    task = change(project, "t-qa", "completed", "agent:m-qa")
    assert task["status"] == "needs_review" and "awaiting review by qa-director" in task["review_reason"]
    [notice] = messages(project, "task_blocked")  # the bus takes review requests for reviewers only
    assert notice["to"] == "qa-director" and notice["payload"]["status"] == "needs_review"
    assert messages(project, "review_request") == []


# -- require_review: status changes through set_status (MCP update_task, CLI) --------------------------------

def test_member_marking_its_task_completed_sends_it_to_review(project: Path) -> None:
    in_review_team(project, artifacts=["src/refunds.py"], reviewer=False)
    task = change(project, "t1", "completed", "agent:m1", reason="done")
    assert task["status"] == "needs_review"
    [request] = messages(project, "review_request")
    assert request["to"] == "tech-lead" and request["payload"]["artifacts"] == ["src/refunds.py"]
    # completing again while the review is open is refused, and asks nobody twice
    with pytest.raises(Unchanged, match="task t1 is already needs_review; nothing was changed"):
        change(project, "t1", "completed", "agent:m1")
    assert len(messages(project, "review_request")) == 1


def test_only_a_members_completion_is_reviewed(project: Path) -> None:
    """Orchestrators, reviewers, the main thread and people complete as they say; so do members of a team
    without require_review."""
    write_settings(project, "require_review: true", qa="require_review: false")
    callers = {"main": None, "human": None, "agent:o1": ("engineering-orchestrator", "orchestrator"),
               "agent:r1": ("tech-lead", "reviewer"), "agent:m1": ("fullstack-eng", "team_member"),
               "agent:q1": ("test-engineer", "team_member")}
    seed(project, {f"t-{by}": {"title": by, "status": "in_progress", "team": "qa" if by == "agent:q1" else
                               "engineering"} for by in callers})
    for by, run in callers.items():
        if run:
            seed_run(project, by.removeprefix("agent:"), *run)
    done = {by: change(project, f"t-{by}", "completed", by)["status"] for by in callers}
    assert done == {**dict.fromkeys(callers, "completed"), "agent:m1": "needs_review"}
    assert [m["task"] for m in messages(project, "review_request")] == ["t-agent:m1"]


def test_approval_closes_the_round_and_tells_the_assignee(project: Path) -> None:
    in_review_team(project)
    change(project, "t1", "completed", "agent:m1")
    task = change(project, "t1", "completed", "agent:r1", verdict="approved")
    assert task["status"] == "completed" and task["review_requests"] == []
    [request] = messages(project, "review_request")
    assert request["status"] == "answered" and request["verdict"] == "approved"
    [reply] = messages(project, "review_complete")
    assert (reply["from"], reply["to"], reply["payload"]["verdict"]) == ("agent:r1", "fullstack-eng", "approved")


def test_a_task_in_review_is_not_delegated_under_its_tag_to_its_reviewer(project: Path) -> None:
    """Tagged, the review would become the task's own attempt: the reviewer's `STATUS: completed` would complete
    the task whatever its verdict said. The review is delegated untagged; the member may still take the task."""
    in_review_team(project, reviewer=False)
    change(project, "t1", "completed", "agent:m1")
    verdict = feed(pre(project, "toolu_r1", "tech-lead", "[task:t1] Review the refunds."))
    assert isinstance(verdict, Deny), verdict
    assert "t1 is waiting for review by tech-lead" in verdict.reason and "without the [task:t1] tag" in verdict.reason
    assert digest(root=project)["tasks"]["t1"]["status"] == "needs_review"
    assert isinstance(feed(pre(project, "toolu_r2", "tech-lead", "Review the refunds (task t1).")), Rewrite)
    assert isinstance(feed(pre(project, "toolu_m2", "fullstack-eng", "[task:t1] Finish the refunds.")), Rewrite)


def test_the_next_round_closes_the_verdict_the_member_reworked_from(project: Path) -> None:
    """A verdict goes to the worker's agent type, so every run of that type sees it until one closes it: once the
    rework is handed in again, the old changes_requested must not reach later runs on other tasks."""
    in_review_team(project)
    change(project, "t1", "completed", "agent:m1")
    change(project, "t1", "in_progress", "agent:r1", verdict="changes_requested", reason="retry on timeout")
    [sent_back] = messages(project, "review_complete")
    assert sent_back["status"] == "pending" and sent_back["to"] == "fullstack-eng"
    assert change(project, "t1", "completed", "agent:m1")["status"] == "needs_review"
    [sent_back] = messages(project, "review_complete")
    assert sent_back["status"] == "acknowledged"
    with open_store(root=project) as store, store.transaction() as tx:
        later = bus.deliver(tx, bus.recipient(load_teams(project), "m9", "fullstack-eng"), via="subagent_start")
    assert "retry on timeout" not in (later.text or "")


def test_work_sent_back_or_unblocked_no_longer_shows_the_old_reason(project: Path) -> None:
    in_review_team(project)
    change(project, "t1", "completed", "agent:m1")
    change(project, "t1", "in_progress", "agent:r1", verdict="changes_requested")
    shown = orchestra(project, "task", "show", "t1")
    assert shown.returncode == 0 and "in_progress" in shown.stdout.splitlines()[0]
    assert "awaiting review" not in shown.stdout
    change(project, "t1", "blocked", "main", reason="the sandbox key is missing")
    change(project, "t1", "in_progress", "main")
    assert "sandbox key" not in orchestra(project, "task", "show", "t1").stdout


def test_work_sent_back_names_its_reviewer_by_agent_type_in_the_brief_and_task_show(project: Path) -> None:
    """The member is briefed as people see agents: "by tech-lead", not by a run id it cannot use; `task show`
    gives the verdict, the reviewer with its run, and the findings."""
    from orchestra.mcp_server.edge import Caller
    from orchestra.mcp_server.task_tools import update_task

    in_review_team(project, reviewer=False)
    seed_run(project, "a9a2c41d07be35f18", "tech-lead", "reviewer")
    change(project, "t1", "completed", "agent:m1")
    update_task("t1", verdict="changes_requested", findings=["refunds.py:12 retry on timeout"],
                caller=Caller(id="agent:a9a2c41d07be35f18", agent_type="tech-lead", session_id="s"))
    proc = run_hook("pre_agent.py", pre(project, "toolu_m2", "fullstack-eng", "[task:t1] Finish the refunds."), project)
    assert proc.returncode == 0, proc.stderr
    prompt = json.loads(proc.stdout)["hookSpecificOutput"]["updatedInput"]["prompt"]
    assert "Review: changes_requested by tech-lead; address these findings:\n- refunds.py:12 retry on timeout" in prompt
    assert "a9a2c41d07be35f18" not in prompt
    shown = orchestra(project, "task", "show", "t1")
    assert shown.returncode == 0, shown.stderr
    assert ("  review: changes_requested by tech-lead (run a9a2c41d07be35f18)\n    - refunds.py:12 retry on timeout"
            in shown.stdout), shown.stdout
    inbox = orchestra(project, "msg", "inbox", "fullstack-eng").stdout  # the verdict, as the inbox lists it
    assert "review_complete  agent:a9a2c41d07be35f18 (tech-lead)" in inbox, inbox


def test_a_verdict_given_as_a_reply_reaches_the_brief_of_the_member_who_reworks(project: Path) -> None:
    """A review_complete reply (`orchestra msg send`, the send_message tool) sends the work back as update_task
    does, and the member's next brief names it too, replacing the verdict of an earlier round."""
    in_review_team(project, reviewer=False)
    change(project, "t1", "completed", "agent:m1")
    with open_store(root=project) as store, store.transaction() as tx:  # an earlier round's verdict, answered
        tx.update("tasks.t1", {"review": {"verdict": "changes_requested", "findings": ["old.py:1 stale"],
                                          "by": "agent:r1"}})
    [request] = messages(project, "review_request")
    sent = orchestra(project, "msg", "send", "fullstack-eng", "review_complete", "--reply-to", request["id"],
                     "--payload", json.dumps({"verdict": "changes_requested", "notes": "src/refunds.py:12 retry"}),
                     "--from", "tech-lead")
    assert sent.returncode == 0, sent.stderr
    proc = run_hook("pre_agent.py", pre(project, "toolu_m2", "fullstack-eng", "[task:t1] Finish the refunds."), project)
    assert proc.returncode == 0, proc.stderr
    prompt = json.loads(proc.stdout)["hookSpecificOutput"]["updatedInput"]["prompt"]
    assert "Review: changes_requested by tech-lead; address these findings:\n- src/refunds.py:12 retry" in prompt
    assert "old.py:1 stale" not in prompt
    assert "review: changes_requested by tech-lead" in orchestra(project, "task", "show", "t1").stdout


def test_the_review_request_says_where_the_work_is(project: Path) -> None:
    in_review_team(project, worktree=str(project / ".worktrees" / "task-t1"), reviewer=False)
    change(project, "t1", "completed", "agent:m1")
    [request] = messages(project, "review_request")
    assert request["payload"]["worktree"] == str(project / ".worktrees" / "task-t1")


def test_review_complete_sent_from_the_cli_settles_the_task(project: Path) -> None:
    in_review_team(project, reviewer=False)
    change(project, "t1", "completed", "agent:m1")
    [request] = messages(project, "review_request")
    sent = orchestra(project, "msg", "send", "fullstack-eng", "review_complete", "--reply-to", request["id"],
                     "--payload", json.dumps({"verdict": "changes_requested", "notes": "src/refunds.py:12 retry"}),
                     "--from", "tech-lead")
    assert sent.returncode == 0, sent.stderr
    task = ok_json(orchestra(project, "task", "show", "t1", "--json"))["task"]
    assert task["status"] == "in_progress" and task["review_requests"] == []  # back with its assignee
    # the member's next completion opens a new round
    assert change(project, "t1", "completed", "agent:m1")["status"] == "needs_review"
    assert len(messages(project, "review_request")) == 2


# -- auto_assign ----------------------------------------------------------------------------------------

def test_a_team_that_does_not_auto_assign_picks_no_member(project: Path) -> None:
    write_settings(project, "auto_assign: false")
    seed(project, {"t1": {"title": "Refunds", "team": "engineering"},
                   "t2": {"title": "Ledger", "team": "engineering", "assignee": "api-engineer"}})
    refused = orchestra(project, "task", "delegate", "t1", "--json")
    assert refused.returncode != 0
    assert "no assignee" in refused.stderr and "auto_assign: false" in refused.stderr
    assert "fullstack-eng, api-engineer, tech-lead" in refused.stderr
    assert ok_json(orchestra(project, "task", "delegate", "t2", "--json"))["subagent_type"] == "api-engineer"
    with open_store(root=project) as store, store.snapshot() as tx, pytest.raises(Unassigned):
        delegation_arguments(tx, load_teams(project), "t1")
    write_settings(project, "auto_assign: true")  # as before: a member able to do the task's type
    teams_yaml = project / ".claude" / "teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace("{name: fullstack-eng, role: team_member, capacity: 3}",
                                                         "{name: fullstack-eng, role: team_member, capacity: 3, "
                                                         "capabilities: [implementation]}"))
    assert ok_json(orchestra(project, "task", "delegate", "t1", "--json"))["subagent_type"] == "fullstack-eng"


def test_the_gate_takes_the_member_a_call_names_and_nobody_else(project: Path) -> None:
    write_settings(project, "auto_assign: false")
    seed(project, {"t1": {"title": "Refunds", "team": "engineering"}})
    denied = feed(pre(project, "toolu_1", "general-purpose", "[task:t1] do it"))
    assert isinstance(denied, Deny) and "auto_assign: false" in denied.reason and "[task:t1]" in denied.reason
    assert digest(root=project)["tasks"]["t1"].get("assignee") is None
    assert isinstance(feed(pre(project, "toolu_2", "api-engineer", "[task:t1] do it")), Rewrite)
    assert digest(root=project)["tasks"]["t1"]["assignee"] == "api-engineer"


def test_the_false_completion_gate_comes_before_the_review(project: Path) -> None:
    """An unproven claim is pushed back, not sent to review; the proven one is."""
    write_settings(project, "require_review: true")
    seed(project, {"t1": {"title": "Refunds", "team": "engineering"}})
    assert isinstance(feed(pre(project, "toolu_1", "fullstack-eng", "[task:t1] do it")), Rewrite)
    verdict = feed(stop(project, "m1", "fullstack-eng", "Done.\nSTATUS: completed", prompt="[task:t1] do it"))
    assert isinstance(verdict, BlockStop) and messages(project, "review_request") == []
    feed(stop(project, "m1", "fullstack-eng", "Done.\nSTATUS: completed\nARTIFACTS: src/refunds.py",
              writes=["src/refunds.py"], prompt="[task:t1] do it"))
    assert digest(root=project)["tasks"]["t1"]["status"] == "needs_review"
    assert [m["to"] for m in messages(project, "review_request")] == ["tech-lead"]
